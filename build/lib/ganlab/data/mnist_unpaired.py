"""Unpaired MNIST: plain digits (A) and restyled digits (B), with a known ideal translation.

The offline CycleGAN demo: it needs only the bundled MNIST, and since B is a fixed function
of A-like digits, a translation's error against the true answer can be measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganlab.data.base import TensorImageDataset
from ganlab.data.mnist import MNISTDataModule
from ganlab.data.unpaired import DIRECTIONS, UnpairedDataModule
from ganlab.errors import ConfigError

B_STYLES = ("thick", "invert")


def restyle(images: torch.Tensor, style: str, low: float, high: float) -> torch.Tensor:
    """Apply a B style to N x C x H x W images whose black is `low` and white `high`.

    One function for the stored uint8 images (0, 255) and for model-range floats (-1, 1), so
    the ideal translation is exactly the transform that made domain B.
    "thick": grey dilation with a 3 x 3 max filter (strokes grow a pixel on every side); it
    commutes with the monotonic uint8 -> [-1, 1] map. "invert": black <-> white.
    """
    if style == "thick":
        # Padding counts as -inf, so the border is not treated as ink or as background.
        return F.max_pool2d(images, 3, stride=1, padding=1)
    if style == "invert":
        return (low + high) - images
    raise ConfigError(f"data.b_style={style!r} is not a choice; use one of {', '.join(B_STYLES)}.")


class MNISTUnpairedDataModule(UnpairedDataModule):
    """MNIST digits at even indices of a split (A) and, restyled by `b_style`, at odd ones (B).

    No image is in both domains, so they are truly unpaired. B is restyled once, at the
    training resolution, and held as uint8 like A. "val" is the official test split, as in
    MNISTDataModule (which this holds, for its files, checks and resizing).
    """

    split_aliases: ClassVar[dict[str, str]] = {"val": "test"}

    def __init__(
        self,
        root: str | Path,
        image_size: int = 32,
        channels: int = 1,
        b_style: str = "thick",
        download: bool = True,
        batch_size: int = 16,
        num_workers: int = 0,  # in memory: worker processes would only add start-up cost
        **loader_kwargs,
    ) -> None:
        if b_style not in B_STYLES:
            raise ConfigError(
                f"data.b_style={b_style!r} is not a choice; use one of {', '.join(B_STYLES)}."
            )
        self.mnist = MNISTDataModule(root, image_size, channels, download=download)
        super().__init__(
            root,
            image_size,
            channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **loader_kwargs,
        )
        self.b_style = b_style
        self.download = self.mnist.download

    def prepare_data(self) -> None:
        self.mnist.prepare_data()

    def make_domain(self, split: str, domain: str) -> Dataset:
        digits = self.mnist.get_dataset(split)  # uint8 at image_size, built once per split
        start = 0 if domain == "A" else 1
        images, labels = digits.images[start::2], digits.targets[start::2]
        if domain == "B":
            images = restyle(images, self.b_style, 0, 255)
        return TensorImageDataset(images.contiguous(), labels)

    def true_translation(self, images: torch.Tensor, direction: str) -> torch.Tensor | None:
        """The ideal translation of model-range N x C x H x W `images` ("a2b" or "b2a").

        None where it is not defined: thickening loses the stroke width, so it has no inverse.
        Inverting is its own inverse.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        if direction == "b2a" and self.b_style == "thick":
            return None
        return restyle(images, self.b_style, -1.0, 1.0)

    def domain_cache_name(self, domain: str) -> str:
        # B's images depend on the style; A's do not, so A's features serve both styles.
        name = super().domain_cache_name(domain)
        return f"{name}-{self.b_style}" if domain == "B" else name
