"""The interface every degradation implements: clean images -> a restoration model's input."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import Tensor


def generators(seeds: Tensor) -> list[torch.Generator]:
    """One CPU generator per image, seeded with that image's seed (int64, negative allowed).

    Each image draws from its own stream, so its draws depend neither on the batch it is in
    nor on the global RNG, and are the same whatever device the images are on.
    """
    return [torch.Generator().manual_seed(int(s)) for s in seeds.tolist()]


def uniform(generator: torch.Generator, low: float, high: float) -> float:
    """A float uniform in [low, high] from ``generator``; ``low`` exactly when they are equal.
    Always one draw, so an image's later draws do not depend on whether a range was set."""
    u = float(torch.rand((), generator=generator, dtype=torch.float64))
    return low + (high - low) * u


def working(images: Tensor) -> Tensor:
    """``images`` in a dtype the CPU kernels (bicubic, conv) take: half and bfloat16 are
    computed in float32 and cast back by the caller."""
    return images if images.dtype in (torch.float32, torch.float64) else images.float()


class Degradation(ABC):
    """Base: ``degradation(images, seeds)`` is a restoration model's input for clean images.

    A pure function of (images, seeds), with no state and nothing to checkpoint: image i's
    result depends only on ``images[i]`` and ``seeds[i]``, so the same seed gives an image the
    same degradation in every epoch, batch and process, and pairs can be cached under
    ``key()``. A plain class, not an ``nn.Module``: it has no parameters.
    """

    #: Channels appended to the image channels (Mask: 1, the hole mask).
    extra_channels: ClassVar[int] = 0
    #: False only for NoDegradation: the data are not (input, target) pairs.
    makes_pairs: ClassVar[bool] = True

    def __call__(self, images: Tensor, seeds: Tensor) -> Tensor:
        """images (B, C, H, W) in [-1, 1] on any device; seeds: integer tensor (B,), one per
        image. Returns (B, C + extra_channels, H, W) on the images' device, in their dtype,
        the image channels in [-1, 1]."""
        if images.dim() != 4:
            raise ValueError(f"degradations take (B, C, H, W) images, got {tuple(images.shape)}")
        if seeds.shape != images.shape[:1] or seeds.is_floating_point() or seeds.is_complex():
            raise ValueError(
                f"degradations take one integer seed per image: {images.shape[0]} images, "
                f"seeds {tuple(seeds.shape)} {seeds.dtype}"
            )
        if images.shape[0] == 0:  # torch.cat/stack of no images fails in the subclasses
            b, c, h, w = images.shape
            return images.new_empty(b, c + self.extra_channels, h, w)
        return self.degrade(images, seeds)

    @abstractmethod
    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        """``__call__`` for a checked, non-empty batch."""

    def baseline(self, degraded: Tensor, channels: int) -> Tensor:
        """The classical restoration a model is compared with: by default the input's image
        channels, ``degraded[:, :channels]`` (each subclass says what that is)."""
        return degraded[:, :channels]

    @abstractmethod
    def key(self) -> str:
        """A short name of the degradation and its settings, for cache keys and file names."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.key()}>"


class NoDegradation(Degradation):
    """``data/degrade=none``: no pairs; the images are returned as they are (the same tensor)."""

    makes_pairs: ClassVar[bool] = False

    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        return images

    def key(self) -> str:
        return "none"
