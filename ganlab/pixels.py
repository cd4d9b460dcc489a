"""Pixel values, and the only conversions between the two ways ganlab holds them.

- **Stored**: uint8 in [0, 255], as image files, prepared arrays and MNIST in memory hold
  them, and as generated images are saved.
- **Model range**: float32 in [-1, 1], what every generator outputs (tanh) and every
  discriminator and feature network reads.

``to_model_range(to_uint8(x))`` is ``x`` rounded to the 256 stored levels (``quantize``),
and ``to_uint8(to_model_range(u)) == u`` for every uint8 ``u`` (tested).
"""

from __future__ import annotations

import torch
from PIL import Image
from torchvision.transforms import v2


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (a new tensor). Within one float32 rounding of
    torchvision's ``ToDtype(float32, scale=True)`` then ``Normalize(0.5, 0.5)``, in two
    operations on whole batches."""
    if images.dtype != torch.uint8:
        raise TypeError(f"to_model_range takes uint8 images, got {images.dtype}")
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> uint8 [0, 255], rounded to the nearest level (values outside are clipped):
    what a saved PNG of the images holds."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def quantize(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images rounded to the 256 stored levels, still in [-1, 1]: generated images as
    a feature network would see them saved, like the real ones."""
    return to_model_range(to_uint8(images))


class ToMode:
    """A PIL image in "RGB" or "L" (a class, not a lambda, so loader workers can pickle it)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, img: Image.Image) -> Image.Image:
        # Palette images with a transparent colour warn when converted straight to RGB.
        if img.mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA")
        return img if img.mode == self.mode else img.convert(self.mode)


class ToModelRange:
    """``to_model_range`` as a transform step (picklable, for loader workers)."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return to_model_range(images)


def pil_to_uint8(channels: int) -> list:
    """Transform steps: PIL image -> uint8 C x H x W tensor (what a prepared array stores)."""
    return [ToMode("L" if channels == 1 else "RGB"), v2.PILToTensor()]


def pil_to_model_range(channels: int) -> list:
    """Transform steps: PIL image -> float32 C x H x W tensor in [-1, 1]."""
    return [*pil_to_uint8(channels), ToModelRange()]
