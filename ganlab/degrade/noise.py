"""Denoising input: additive Gaussian noise, optionally of a random strength per image."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.degrade.base import Degradation, generators, uniform, working
from ganlab.errors import ConfigError


class Noise(Degradation):
    """Adds Gaussian noise of standard deviation ``sigma`` in units of the [0, 1] pixel range
    (``2 * sigma`` in the model's [-1, 1]), then clamps. With ``min_sigma`` each image's sigma
    is uniform in [min_sigma, sigma] (blind denoising). The noise is drawn on the CPU from
    the image's generator and moved to the images' device.

    baseline: the noisy image (no denoising).
    """

    def __init__(self, sigma: float = 0.2, min_sigma: float | None = None) -> None:
        if not sigma > 0:
            raise ConfigError(f"data.degrade.sigma must be > 0, got {sigma}.")
        if min_sigma is not None and not 0 <= min_sigma <= sigma:
            raise ConfigError(
                f"data.degrade.min_sigma must be in [0, data.degrade.sigma={sigma}] or null, "
                f"got {min_sigma}."
            )
        self.sigma = float(sigma)
        self.min_sigma = None if min_sigma is None else float(min_sigma)

    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        x = working(images)
        low = self.sigma if self.min_sigma is None else self.min_sigma
        noise = []
        for g in generators(seeds):
            sigma = uniform(g, low, self.sigma)  # first the strength, then the noise
            noise.append(torch.randn(x.shape[1:], generator=g) * (2 * sigma))
        return (x + torch.stack(noise).to(x.device, x.dtype)).clamp(-1, 1).to(images.dtype)

    def key(self) -> str:
        low = "" if self.min_sigma is None else f"{self.min_sigma:g}-"
        return f"noise-{low}{self.sigma:g}"
