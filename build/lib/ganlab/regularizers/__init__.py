"""Regularisers of the discriminator (``reg`` group): one file each, for every model and loss."""

from ganlab.regularizers.base import NoRegularizer, Regularizer
from ganlab.regularizers.r1 import R1, r1_penalty

__all__ = ["R1", "NoRegularizer", "Regularizer", "r1_penalty"]
