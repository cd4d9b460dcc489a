"""Super-resolution input: each image down by an integer factor and back up, bicubic."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganlab.degrade.base import Degradation, working
from ganlab.errors import ConfigError, check_int


class Downsample(Degradation):
    """Down by ``factor`` then up to the original size, both bicubic; no randomness.

    Down with ``antialias=True``: PyTorch's antialiased bicubic is PIL's (the kernel widened by
    the factor, a low-pass), as torchvision's and PIL's resize do, so the small image holds
    no aliased high frequencies. Up without: enlarging has nothing to alias.

    baseline: bicubic upsampling of the small image, which the input already is.
    """

    def __init__(self, factor: int = 4) -> None:
        self.factor = check_int("data.degrade.factor", factor, minimum=2)

    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        h, w = images.shape[-2:]
        # The class does not know the image size before it sees a batch: checked here.
        if h % self.factor or w % self.factor:
            raise ConfigError(
                f"data.degrade.factor={self.factor} must divide the image size {h}x{w}; "
                f"choose a factor that divides both sides, or another data.image_size."
            )
        x = working(images)
        small = F.interpolate(
            x, size=(h // self.factor, w // self.factor), mode="bicubic", antialias=True
        )
        up = F.interpolate(small, size=(h, w), mode="bicubic")
        return up.clamp(-1, 1).to(images.dtype)

    def key(self) -> str:
        return f"downsample-x{self.factor}"
