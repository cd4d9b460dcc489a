"""Differentiable augmentation of what the discriminator sees (``augment`` config group)."""

from ganlab.augment.ada import ADA
from ganlab.augment.base import Augment, NoAugment
from ganlab.augment.diffaug import DiffAugment

__all__ = ["ADA", "Augment", "DiffAugment", "NoAugment"]
