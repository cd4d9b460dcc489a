"""The interface every decoder likelihood implements (one file per likelihood next to this)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class Likelihood(nn.Module, ABC):
    """p(x | z) given the decoder's raw output ``out`` (the same shape as the images).

    A module: a likelihood with a learned parameter (the Gaussian's variance) is trained
    with the VAE and saved in its checkpoints. Images are in ganlab's range, [-1, 1].
    """

    @abstractmethod
    def log_prob(self, images: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(images | z) per image in nats, summed over pixels: shape (B,)."""

    @abstractmethod
    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The decoded image: E[x | z] in [-1, 1] (what grids, samples and FID see)."""

    def check_data(self, images: torch.Tensor) -> str | None:
        """Why log p of ``images`` is not a likelihood under this model (None: it is): a
        probability of discrete pixel values holds for such pixels only."""
        return None
