"""Differentiable augmentation (DiffAugment, Zhao et al. 2020).

A handful of pure tensor functions of the images and per-image parameters, and how a policy
draws those parameters; the ranges are those of DiffAugment's ``DiffAugment_pytorch.py``
(github mit-han-lab/data-efficient-gans). Everything runs on the images' device from torch's
generator there, with no host round trip: no ``.item()``, no branch on a tensor's value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch

from ganlab.augment.base import Augment
from ganlab.errors import ConfigError, did_you_mean

Op = Callable[[torch.Tensor], torch.Tensor]


def brightness(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``x + (u - 0.5)``: u in [0, 1) per image, shape (B, 1, 1, 1)."""
    return x + (u.to(x.dtype) - 0.5)


def saturation(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Distance from the channel mean scaled by ``2u`` (one channel: unchanged)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (2 * u.to(x.dtype)) + mean


def contrast(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Distance from the image's mean (over C, H, W) scaled by ``u + 0.5``."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (u.to(x.dtype) + 0.5) + mean


def _grid(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor):
    """Per image, row ``i + dy`` and column ``j + dx`` of each pixel (i, j): (B, H, 1), (B, 1, W)."""
    b, _, h, w = x.shape
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy.view(b, 1, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx.view(b, 1, 1)
    return rows, cols


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """``out[b, :, i, j] = x[b, :, i + dy[b], j + dx[b]]``, zero where that is outside the image
    (the content moves by -dy, -dx). A gather, so gradients reach the pixels kept in view."""
    b, c, h, w = x.shape
    rows, cols = _grid(x, dy, dx)
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).unsqueeze(1)
    index = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)
    moved = x.flatten(2).gather(2, index.view(b, 1, h * w).expand(b, c, h * w)).view_as(x)
    return moved.masked_fill(~inside, 0)


def cutout(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: tuple[int, int]):
    """Zeroes rows ``[top, top + size[0])`` x columns ``[left, left + size[1])`` of each image,
    the part of that rectangle inside the image (top, left: (B,), may be negative)."""
    rows, cols = _grid(x, -top, -left)
    hole = (rows >= 0) & (rows < size[0]) & (cols >= 0) & (cols < size[1])
    return x.masked_fill(hole.unsqueeze(1), 0)


def _unit(images: torch.Tensor) -> torch.Tensor:
    return torch.rand(images.shape[0], 1, 1, 1, device=images.device)


def _draw_color(images: torch.Tensor, aug: DiffAugment) -> list[Op]:
    return [partial(op, u=_unit(images)) for op in (brightness, saturation, contrast)]


def _draw_translation(images: torch.Tensor, aug: DiffAugment) -> list[Op]:
    # Integer shifts in [-s, s] per axis, s = int(size * ratio + 0.5).
    b, (h, w) = images.shape[0], images.shape[-2:]
    sh, sw = int(h * aug.translation + 0.5), int(w * aug.translation + 0.5)
    dy = torch.randint(-sh, sh + 1, (b,), device=images.device)
    dx = torch.randint(-sw, sw + 1, (b,), device=images.device)
    return [partial(translate, dy=dy, dx=dx)]


def _draw_cutout(images: torch.Tensor, aug: DiffAugment) -> list[Op]:
    # A square of side s = int(size * ratio + 0.5) centred in [0, size - s % 2], its corner
    # s // 2 before the centre: it may hang over any border (then only its inside is zeroed).
    b, (h, w) = images.shape[0], images.shape[-2:]
    sh, sw = int(h * aug.cutout + 0.5), int(w * aug.cutout + 0.5)
    top = torch.randint(0, h + 1 - sh % 2, (b,), device=images.device) - sh // 2
    left = torch.randint(0, w + 1 - sw % 2, (b,), device=images.device) - sw // 2
    return [partial(cutout, top=top, left=left, size=(sh, sw))]


# Policy names (DiffAugment's): each draws its operations, applied in this order.
POLICIES = {"color": _draw_color, "translation": _draw_translation, "cutout": _draw_cutout}


class DiffAugment(Augment):
    """The policy's operations, each applied to each image with probability ``p`` (1 for
    DiffAugment; ADA adapts it), with parameters drawn per image."""

    def __init__(
        self,
        policy: str | Sequence[str] = "color,translation,cutout",
        translation: float = 0.125,
        cutout: float = 0.5,
        p: float = 1.0,
    ) -> None:
        super().__init__()
        names = policy.split(",") if isinstance(policy, str) else [str(n) for n in policy]
        self.policy = tuple(n.strip() for n in names if n.strip())
        for name in self.policy:
            if name not in POLICIES:
                raise ConfigError(
                    f"augment.policy: unknown operation {name!r}; the choices are "
                    f"{', '.join(POLICIES)} (e.g. augment.policy=[translation,cutout])."
                    f"{did_you_mean(name, list(POLICIES))}"
                )
        for key, value in {"translation": translation, "cutout": cutout, "p": p}.items():
            if not 0 <= value <= 1:
                raise ConfigError(f"augment.{key} must be in [0, 1], got {value}.")
        self.translation, self.cutout = float(translation), float(cutout)
        # A buffer: on the training device, in the checkpoint, adaptable in place (ADA).
        self.register_buffer("p", torch.tensor(float(p), dtype=torch.float32))

    def draw(self, images: torch.Tensor) -> Op:
        ops = [op for name in self.policy for op in POLICIES[name](images, self)]
        # Which images each operation applies to (rand < 0 never holds, rand < 1 always).
        chosen = [
            (torch.rand(images.shape[0], 1, 1, 1, device=images.device) < self.p) for _ in ops
        ]
        shape = images.shape

        def apply(x: torch.Tensor) -> torch.Tensor:
            if x.shape != shape:
                raise ValueError(f"a draw for a batch of {tuple(shape)} got {tuple(x.shape)}")
            for op, use in zip(ops, chosen):
                x = torch.where(use, op(x), x)
            return x

        return apply
