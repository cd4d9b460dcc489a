"""Deblurring input: a Gaussian blur, optionally of a random width per image."""

from __future__ import annotations

import torch
from torch import Tensor

# torchvision, not kornia: torchvision is already a dependency and kornia is not installed;
# its gaussian_blur pads by reflection and normalises the kernel, all a blur needs here.
from torchvision.transforms.v2.functional import gaussian_blur

from ganlab.degrade.base import Degradation, generators, uniform, working
from ganlab.errors import ConfigError, check_int


def kernel_size_for(sigma: float) -> int:
    """The odd integer nearest 4 * sigma + 1 (halves up), at least 3: the kernel reaches
    about 2 sigma either side, where the Gaussian has fallen to e^-2 of its peak."""
    return max(3, 2 * int(2 * sigma + 0.5) + 1)


class Blur(Degradation):
    """Blurs each image with a Gaussian of standard deviation ``sigma`` pixels; with
    ``min_sigma``, each image's sigma is uniform in [min_sigma, sigma]. One kernel size for
    every image: ``kernel_size``, or by default ``kernel_size_for(sigma)`` (the widest sigma).

    baseline: the blurred image (no deblurring).
    """

    def __init__(
        self, sigma: float = 1.5, min_sigma: float | None = None, kernel_size: int | None = None
    ) -> None:
        if not sigma > 0:
            raise ConfigError(f"data.degrade.sigma must be > 0, got {sigma}.")
        if min_sigma is not None and not 0 < min_sigma <= sigma:
            raise ConfigError(
                f"data.degrade.min_sigma must be in (0, data.degrade.sigma={sigma}] or null, "
                f"got {min_sigma}."
            )
        if kernel_size is not None and check_int("data.degrade.kernel_size", kernel_size) % 2 == 0:
            raise ConfigError(f"data.degrade.kernel_size must be odd, got {kernel_size}.")
        self.sigma = float(sigma)
        self.min_sigma = None if min_sigma is None else float(min_sigma)
        self.kernel_size = kernel_size

    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        k = self.kernel_size or kernel_size_for(self.sigma)
        h, w = images.shape[-2:]
        if k // 2 >= min(h, w):  # reflect padding needs more pixels than it pads
            raise ConfigError(
                f"data.degrade.kernel_size: a {k}x{k} kernel needs images larger than {k // 2} "
                f"pixels a side, got {h}x{w}; set a smaller data.degrade.sigma or kernel_size."
            )
        x = working(images)
        low = self.sigma if self.min_sigma is None else self.min_sigma
        # One call per image: each its own sigma, and a result that does not depend on the
        # batch (a convolution's algorithm, and so its rounding, may change with the batch).
        out = [
            gaussian_blur(image[None], [k, k], [s, s])
            for image, s in zip(x, (uniform(g, low, self.sigma) for g in generators(seeds)))
        ]
        return torch.cat(out).clamp(-1, 1).to(images.dtype)

    def key(self) -> str:
        low = "" if self.min_sigma is None else f"{self.min_sigma:g}-"
        k = "" if self.kernel_size is None else f"-k{self.kernel_size}"
        return f"blur-{low}{self.sigma:g}{k}"
