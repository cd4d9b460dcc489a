"""The interface every augmentation of what the discriminator sees implements (one file each)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn


class Augment(nn.Module, ABC):
    """Base: what D sees is ``augment.draw(batch)(images)``.

    Real, fake (and, for penalties, interpolated) images pass through the same kind of
    augmentation, differentiably, so G learns through it and D never sees the augmented
    distribution as "real" only (Zhao et al. 2020).
    """

    #: True: needs D's r_t = E[sign(D(real))] after each D step (``observe``), as ADA does.
    adaptive: ClassVar[bool] = False

    @abstractmethod
    def draw(self, images: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """One random draw for a batch shaped like ``images``; the returned function applies
        that same draw to any batch of the same shape (real, fake, interpolates, ...),
        differentiably."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` under a draw of their own."""
        return self.draw(images)(images)

    def observe(self, r_t: torch.Tensor, n: int) -> None:
        """D's r_t = E[sign(D(real))] of one D step: a 0-d tensor on the training device, the
        mean over the ``n`` real images this process scored. Default: nothing."""

    def logs(self) -> dict[str, torch.Tensor]:
        """Values logged each batch as ``train/<name>`` (ADA: ``{"augment_p": p}``)."""
        return {}


def _identity(images: torch.Tensor) -> torch.Tensor:
    return images


class NoAugment(Augment):
    """``augment=none``: D sees the images as they are."""

    def draw(self, images: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        return _identity
