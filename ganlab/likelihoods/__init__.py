"""A VAE decoder's likelihood p(x | z): one file per likelihood next to base.py."""

from ganlab.likelihoods.base import Likelihood
from ganlab.likelihoods.bernoulli import Bernoulli
from ganlab.likelihoods.gaussian import Gaussian

__all__ = ["Bernoulli", "Gaussian", "Likelihood"]
