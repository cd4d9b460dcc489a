"""SNGAN ResNets (Miyato et al. 2018, "Spectral Normalization for GANs"), as in mimicry.

The layers, widths and initialisation follow kwotsin/mimicry's ``SNGANGenerator{32,48,64,128}``
and ``SNGANDiscriminator{32,48,64,128}`` (which port the paper's Chainer code); one pair of
classes covers every size through the ``LAYOUTS`` table. 28x28 (MNIST) is not in mimicry: it is
the 32x32 (CIFAR) layout started from a 7x7 instead of a 4x4 map, with one G block fewer.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.errors import ConfigError


class Layout(NamedTuple):
    """One image size; widths are ``ngf // d`` and ``ndf // d`` for the divisors ``d`` listed."""

    bottom: int  # G's first feature map is bottom x bottom, ngf channels wide
    ngf: int  # the paper's widths (the defaults)
    ndf: int
    g_blocks: tuple[int, ...]  # each upsampling G block's output width divisor
    d_blocks: tuple[int, ...]  # each D block's, the first the optimized one on the pixels
    d_flat: int  # how many of the last D blocks keep the size; the others halve it


LAYOUTS = {
    28: Layout(7, 256, 128, (1, 1), (1, 1, 1, 1), 2),  # 7 -> 28; D 28 -> 7
    32: Layout(4, 256, 128, (1, 1, 1), (1, 1, 1, 1), 2),  # 4 -> 32; D 32 -> 8
    48: Layout(6, 512, 1024, (2, 4, 8), (16, 8, 4, 2, 1), 1),  # 6 -> 48; D 48 -> 3
    64: Layout(4, 1024, 1024, (2, 4, 8, 16), (16, 8, 4, 2, 1), 0),  # 4 -> 64; D 64 -> 4
    128: Layout(4, 1024, 1024, (1, 2, 4, 8, 16), (16, 8, 4, 2, 1, 1), 1),  # D 128 -> 4
}


def layout(image_size: int) -> Layout:
    """The architecture table row for ``image_size``, or a ConfigError naming the choices."""
    if image_size not in LAYOUTS:
        raise ConfigError(
            f"SNGAN has no architecture for {image_size}x{image_size} images; set "
            f"data.image_size to one of {', '.join(map(str, LAYOUTS))}."
        )
    return LAYOUTS[image_size]


def _widths(base: int, divisors, name: str, image_size: int) -> list[int]:
    if base % max(divisors):
        raise ConfigError(
            f"SNGAN at {image_size}x{image_size} needs {name} divisible by {max(divisors)}"
        )
    return [base // d for d in divisors]


def _conv(cin: int, cout: int, kernel: int, gain: float, sn: bool = False) -> nn.Conv2d:
    # Xavier-uniform weights (gain sqrt(2) inside the ReLU blocks, 1 for shortcuts and the output
    # conv); init before spectral_norm, whose power iteration starts from the weight it wraps.
    conv = nn.Conv2d(cin, cout, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain)
    return _spectral_norm(conv) if sn else conv


class GBlock(nn.Module):
    """BN-ReLU-up-conv3-BN-ReLU-conv3 plus an up-conv1 shortcut: doubles the spatial size.

    ``forward(x, *cond)`` hands ``cond`` to the norms: none for batch norm, the labels for
    the conditional batch norm that ``ConditionalSNGANGenerator`` puts in their place."""

    def __init__(self, cin: int, cout: int, mode: str = "bilinear"):
        super().__init__()
        align = False if mode == "bilinear" else None  # mimicry's; nearest takes none

        def up() -> nn.Upsample:
            return nn.Upsample(scale_factor=2, mode=mode, align_corners=align)

        self.norm1, self.norm2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.up = up()
        self.conv1 = _conv(cin, cout, 3, math.sqrt(2))
        self.conv2 = _conv(cout, cout, 3, math.sqrt(2))
        # Every G block upsamples, so the shortcut is always learnable.
        self.shortcut = nn.Sequential(up(), _conv(cin, cout, 1, 1.0))

    def forward(self, x: torch.Tensor, *cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.up(torch.relu(self.norm1(x, *cond))))
        h = self.conv2(torch.relu(self.norm2(h, *cond)))
        return h + self.shortcut(x)


class DBlock(nn.Module):
    """ReLU-conv3-ReLU-conv3(-avgpool) plus a shortcut; ``optimized``: the first block on pixels."""

    def __init__(self, cin: int, cout: int, downsample: bool, sn: bool, optimized: bool = False):
        super().__init__()
        hidden = cout if optimized else cin
        pool = [nn.AvgPool2d(2)] if downsample else []
        # The optimized block has no leading ReLU (its input is the image). Out-of-place ReLUs: an
        # in-place one would also rectify the shortcut's input, as it does in mimicry's DBlock,
        # which departs from the paper's Chainer code.
        self.residual = nn.Sequential(
            *([] if optimized else [nn.ReLU()]),
            _conv(cin, hidden, 3, math.sqrt(2), sn),
            nn.ReLU(),
            _conv(hidden, cout, 3, math.sqrt(2), sn),
            *pool,
        )
        if optimized:  # pool first: the 1x1 conv then runs on a quarter of the pixels
            self.shortcut = nn.Sequential(*pool, _conv(cin, cout, 1, 1.0, sn))
        elif cin != cout or downsample:
            self.shortcut = nn.Sequential(_conv(cin, cout, 1, 1.0, sn), *pool)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class SNGANGenerator(nn.Module):
    """z (B, nz) -> images (B, channels, S, S) in [-1, 1]; ``ngf=None``: the paper's width."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        nz: int = 128,
        ngf: int | None = None,
        upsample: str = "bilinear",
    ):
        super().__init__()
        arch = layout(image_size)
        if upsample not in ("bilinear", "nearest"):
            raise ConfigError(f"SNGAN upsample must be bilinear or nearest, not '{upsample}'")
        self.nz, self.ngf, self.bottom = nz, ngf or arch.ngf, arch.bottom
        widths = [self.ngf, *_widths(self.ngf, arch.g_blocks, "ngf", image_size)]
        self.fc = nn.Linear(nz, self.bottom**2 * self.ngf)
        nn.init.xavier_uniform_(self.fc.weight, 1.0)
        self.blocks = nn.ModuleList(GBlock(a, b, upsample) for a, b in pairwise(widths))
        self.out_norm = nn.BatchNorm2d(widths[-1])
        self.out = nn.Sequential(nn.ReLU(), _conv(widths[-1], channels, 3, 1.0), nn.Tanh())

    def forward(self, z: torch.Tensor, *cond: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self.ngf, self.bottom, self.bottom)
        for block in self.blocks:
            h = block(h, *cond)
        return self.out(self.out_norm(h, *cond))


class SNGANDiscriminator(nn.Module):
    """images (B, channels, S, S) -> logits (B,); ``ndf=None``: the paper's width."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        ndf: int | None = None,
        spectral_norm: bool = True,
    ):
        super().__init__()
        arch = layout(image_size)
        ndf = ndf or arch.ndf
        widths = _widths(ndf, arch.d_blocks, "ndf", image_size)
        halving = len(widths) - 1 - arch.d_flat  # blocks after the first that downsample
        blocks = [DBlock(channels, widths[0], True, spectral_norm, optimized=True)]
        for i, (cin, cout) in enumerate(pairwise(widths)):
            blocks.append(DBlock(cin, cout, i < halving, spectral_norm))
        self.blocks = nn.Sequential(*blocks, nn.ReLU())
        fc = nn.Linear(widths[-1], 1)
        nn.init.xavier_uniform_(fc.weight, 1.0)
        self.fc = _spectral_norm(fc) if spectral_norm else fc

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, width): the last block's output, globally sum-pooled (not averaged), as in the
        paper's Chainer code and mimicry."""
        return self.blocks(x).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).view(-1)
