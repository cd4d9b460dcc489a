"""Pixel values, and the only conversions between the two ways ganlab holds them.

- **Stored**: uint8 in [0, 255], as image files, prepared arrays and MNIST in memory hold
  them, and as generated images are saved.
- **Model range**: float32 in [-1, 1], what every generator outputs (tanh) and every
  discriminator and feature network reads.

``to_model_range(to_uint8(x))`` is ``x`` rounded to the 256 stored levels (``quantize``),
and ``to_uint8(to_model_range(u)) == u`` for every uint8 ``u`` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
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


# Transparent pixels are composited on white, as most viewers and browsers show them on a
# page; a training image has no alpha channel.
BACKGROUND = (255, 255, 255)
HIGH_BIT_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # 16-bit grayscale as PIL opens it
ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


# Part of a prepared array's settings: an array decoded otherwise (before AsViewed: palette
# images resized as indices, 16-bit ones clipped) is not read as if it were this one.
DECODING = "as-viewed"


class AsViewed:
    """A PIL image as an image viewer shows it, in mode "RGB" or "L" (a class, not a
    lambda, so loader workers can pickle it):

    - the EXIF orientation applied (phones store photos unrotated, with a tag saying how
      to turn them): PIL's ``ImageOps.exif_transpose``;
    - 16-bit grayscale (PNG, TIFF) scaled to 8 bits, ``round(v * 255 / 65535)``; PIL's own
      conversion clips it, which made every pixel of a 16-bit PNG white. (16-bit RGB PNGs
      PIL already reads as 8-bit RGB.) Mode "I" is taken as 16-bit too;
    - transparency (RGBA, LA, a palette with a transparent colour) composited on white;
    - palette, CMYK (Pillow's conversion, no ICC profile), 1-bit and the rest converted with
      PIL's ``convert``; colour to grayscale by PIL's ITU-R 601-2 luma, grayscale to RGB by
      repeating the channel.

    It comes first in the decoding, before resizing: a palette image resized as indices
    would be resized by its nearest neighbours.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, img: Image.Image) -> Image.Image:
        img = ImageOps.exif_transpose(img)
        if img.mode in HIGH_BIT_DEPTH:
            wide = np.asarray(img, dtype=np.int64).clip(0, 65535)
            img = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode in ALPHA:
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, (*BACKGROUND, 255)), rgba)
        return img if img.mode == self.mode else img.convert(self.mode)


class ToModelRange:
    """``to_model_range`` as a transform step (picklable, for loader workers)."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return to_model_range(images)


def pil_to_uint8(channels: int, geometry: Sequence = ()) -> list:
    """Transform steps: PIL image -> ``AsViewed`` -> ``geometry`` (resize, crop) -> uint8
    C x H x W tensor (what a prepared array stores)."""
    return [AsViewed("L" if channels == 1 else "RGB"), *geometry, v2.PILToTensor()]


def pil_to_model_range(channels: int, geometry: Sequence = ()) -> list:
    """Transform steps: PIL image -> float32 C x H x W tensor in [-1, 1]."""
    return [*pil_to_uint8(channels, geometry), ToModelRange()]
