"""Inpainting input: holes cut out of each image, filled, with the hole mask appended."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganlab.degrade.base import Degradation, generators, uniform, working
from ganlab.errors import ConfigError, check_int, did_you_mean

SHAPES = ("rect", "stroke")
FILLS = ("mean", "zero")
SEGMENTS = 4  # line segments per stroke: enough to bend, few enough to leave most visible


def rect(h: int, w: int, lo: float, hi: float, g: torch.Generator) -> Tensor:
    """A (H, W) bool hole: a rectangle with sides uniform in [lo, hi] x the image's side
    (rounded, at least 1 pixel), at a uniform position fully inside the image."""
    rows = min(h, max(1, round(uniform(g, lo, hi) * h)))
    cols = min(w, max(1, round(uniform(g, lo, hi) * w)))
    top = int(torch.randint(0, h - rows + 1, (), generator=g))
    left = int(torch.randint(0, w - cols + 1, (), generator=g))
    hole = torch.zeros(h, w, dtype=torch.bool)
    hole[top : top + rows, left : left + cols] = True
    return hole


def stroke(h: int, w: int, lo: float, hi: float, g: torch.Generator) -> Tensor:
    """A (H, W) bool hole: a random walk of SEGMENTS line segments from a uniform start, each
    at a uniform angle with a length uniform in [lo, hi] x min(H, W), its end kept inside the
    image; the pixels whose centres lie within half a brush width of the walk, the brush
    max(1, round(hi x min(H, W) / 4)) pixels wide."""
    side = min(h, w)
    radius = max(1, round(hi * side / 4)) / 2
    limit = torch.tensor([h - 1, w - 1], dtype=torch.float64)
    rows = torch.arange(h, dtype=torch.float64).view(h, 1)
    cols = torch.arange(w, dtype=torch.float64).view(1, w)
    start = torch.rand(2, generator=g, dtype=torch.float64) * limit
    hole = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(SEGMENTS):
        angle = uniform(g, 0.0, 2 * math.pi)
        length = uniform(g, lo, hi) * side
        step = torch.tensor([math.sin(angle), math.cos(angle)], dtype=torch.float64) * length
        end = torch.minimum(torch.clamp(start + step, min=0), limit)
        d = end - start
        # Each pixel's nearest point on the segment: start + t * d, t in [0, 1].
        t = ((rows - start[0]) * d[0] + (cols - start[1]) * d[1]) / d.square().sum().clamp(1e-12)
        t = t.clamp(0, 1)
        near = (rows - start[0] - t * d[0]).square() + (cols - start[1] - t * d[1]).square()
        hole |= near <= radius**2
        start = end
    return hole


class Mask(Degradation):
    """Per image, ``holes`` rectangles (``shape="rect"``) or strokes (``"stroke"``, see
    ``stroke``) of relative size in [min_size, max_size]; hole pixels set to the image's mean
    over its visible pixels per channel (``fill="mean"``; 0 if nothing is visible) or to 0,
    mid-grey (``"zero"``). Output: the filled image and a mask channel, 1 in the holes.

    baseline: the image with its holes filled (the input's image channels).
    """

    extra_channels = 1

    def __init__(
        self,
        holes: int = 1,
        min_size: float = 0.25,
        max_size: float = 0.5,
        shape: str = "rect",
        fill: str = "mean",
    ) -> None:
        self.holes = check_int("data.degrade.holes", holes)
        if not 0 < min_size <= max_size <= 1:
            raise ConfigError(
                "data.degrade.min_size and data.degrade.max_size must satisfy "
                f"0 < min_size <= max_size <= 1, got {min_size} and {max_size}."
            )
        for key, value, choices in (("shape", shape, SHAPES), ("fill", fill, FILLS)):
            if value not in choices:
                raise ConfigError(
                    f"data.degrade.{key}: unknown choice {value!r}; the choices are "
                    f"{', '.join(choices)}.{did_you_mean(value, choices)}"
                )
        self.min_size, self.max_size = float(min_size), float(max_size)
        self.shape, self.fill = shape, fill

    def masks(self, images: Tensor, seeds: Tensor) -> Tensor:
        """The holes, (B, 1, H, W) bool on the CPU."""
        h, w = images.shape[-2:]
        draw = rect if self.shape == "rect" else stroke
        out = torch.zeros(len(seeds), 1, h, w, dtype=torch.bool)
        for hole, g in zip(out, generators(seeds)):
            for _ in range(self.holes):
                hole[0] |= draw(h, w, self.min_size, self.max_size, g)
        return out

    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        x = working(images)
        holes = self.masks(images, seeds).to(x.device)
        value = x.new_zeros(())
        if self.fill == "mean":
            # Summed in float64 and rounded back: a GPU reduction's order changes with the
            # batch size, and would change the mean's last bit with the batch. (MPS has no
            # float64.)
            wide = torch.float32 if x.device.type == "mps" else torch.float64
            seen = (~holes).to(x.dtype)
            count = seen.sum((2, 3), keepdim=True, dtype=wide).clamp(min=1)
            total = (x * seen).sum((2, 3), keepdim=True, dtype=wide)
            value = (total / count).to(x.dtype)
        filled = torch.where(holes, value, x).clamp(-1, 1)
        return torch.cat((filled, holes.to(x.dtype)), 1).to(images.dtype)

    def key(self) -> str:
        # The fill is named only when it is not the default, so default keys stay short.
        fill = "" if self.fill == "mean" else f"-{self.fill}"
        return f"mask-{self.shape}-{self.holes}-{self.min_size:g}-{self.max_size:g}{fill}"
