"""pix2pix's U-Net generator (Isola et al. 2017): an encoder-decoder with skip connections.

The layers are those of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix,
``models/networks.py``: ``UnetGenerator`` built from nested ``UnetSkipConnectionBlock``s), so
``UnetGenerator(3, 3, 64, num_downs=8)`` is its ``unet_256`` with ``--norm batch``: 54,413,955
parameters, printed there as 54.414 M. Below five levels the reference cannot go (it always
builds the ngf..8ngf ramp); here level i has ``ngf * min(2**i, 8)`` channels for any depth, which
is the reference's width at every level it has.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlab.errors import ConfigError, check_int
from ganlab.nets.cyclegan import BIASED_NORMS, NORMS, check_image_generator, cyclegan_init

G_KEY = "model.generator"
MAX_AUTO_DOWNS = 8  # unet_256: 256 halves to a 1x1 bottleneck


def auto_num_downs(image_size: int) -> int:
    """How many times 2 divides ``image_size``, at most 8: 28 -> 2, 32 -> 5, 64 -> 6, 256 -> 8."""
    check_int(f"{G_KEY}.image_size", image_size, 1)
    n = 0
    while image_size % 2 ** (n + 1) == 0 and n < MAX_AUTO_DOWNS:
        n += 1
    if n == 0:
        raise ConfigError(
            f"{G_KEY}.image_size={image_size} is odd: the U-Net halves the image at least once. "
            f"Use an even size (e.g. {max(image_size - 1, 2)}) via data.image_size."
        )
    return n


class UnetBlock(nn.Module):
    """One level: down conv, the deeper levels, up conv; all but the outermost return
    ``cat([x, up(...)])``, the skip that hands this level's features to the decoder."""

    def __init__(
        self,
        outer_in: int,
        inner: int,
        outer_out: int,
        sub: nn.Module | None,
        norm: str,
        bias: bool,
        dropout: float,
        outermost: bool,
    ):
        super().__init__()
        self.skip = not outermost
        # Not in place, unlike the reference: its in-place LeakyReLU rewrites x before the cat.
        # That changes nothing there (the parent's ReLU follows, and relu(lrelu(x)) = relu(x)),
        # but keeping x intact makes the skip what it says.
        down = [] if outermost else [nn.LeakyReLU(0.2)]
        down.append(nn.Conv2d(outer_in, inner, 4, 2, 1, bias=bias))
        if sub is not None and not outermost:  # the bottleneck (innermost) has no norm
            down.append(NORMS[norm](inner))
        up_in = inner if sub is None else 2 * inner
        up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer_out, 4, 2, 1, bias=bias or outermost)]
        up += [nn.Tanh()] if outermost else [NORMS[norm](outer_out)]
        if dropout > 0:
            up.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*down, *([] if sub is None else [sub]), *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.model(x)], 1) if self.skip else self.model(x)


class UnetGenerator(nn.Module):
    """images (B, in_channels, H, W) -> images (B, out_channels, H, W) in [-1, 1].

    ``num_downs`` stride-2 4x4 convs halve the image down to ``H / 2**num_downs`` and as many
    transposed convs double it back, each level's encoder features concatenated to its decoder
    input. ``num_downs=None`` takes as many halvings as ``image_size`` allows (at most 8). With
    ``dropout`` > 0, as in pix2pix (where it is G's only noise), the levels that are 8ngf wide on
    both sides, save the innermost, drop out after their up conv: ``num_downs - 5`` of them (3 in
    unet_256, none below 6 levels).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int | None = None,
        ngf: int = 64,
        num_downs: int | None = None,
        norm: str = "batch",
        dropout: float = 0.5,
        image_size: int | None = None,
    ):
        super().__init__()
        out_channels = check_image_generator(G_KEY, in_channels, out_channels, ngf, norm, dropout)
        if num_downs is None:
            if image_size is None:
                raise ConfigError(
                    f"{G_KEY}.num_downs=null (as many halvings as the size allows) needs "
                    f"{G_KEY}.image_size; set it (e.g. to ${{data.image_size}}) or set num_downs."
                )
            num_downs = auto_num_downs(image_size)
        check_int(f"{G_KEY}.num_downs", num_downs, 1)
        if image_size is not None:
            self._check_size(image_size, num_downs)
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, num_downs
        # Conv biases as cyclegan.py's BIASED_NORMS: the reference's use_bias (instance norm
        # only; unlike the reference, "none" keeps them), even on the outermost and innermost
        # down convs that no norm follows, as there. The output conv always has one.
        bias = norm in BIASED_NORMS
        width = [ngf * min(2**i, 8) for i in range(num_downs)]
        block = None
        for i in reversed(range(num_downs)):  # from the bottleneck outwards
            outer_in = in_channels if i == 0 else width[i - 1]
            outer_out = out_channels if i == 0 else width[i - 1]
            drop = dropout if 4 <= i < num_downs - 1 else 0.0
            block = UnetBlock(outer_in, width[i], outer_out, block, norm, bias, drop, i == 0)
        self.model = block
        self.apply(cyclegan_init)

    @staticmethod
    def _check_size(size: int, num_downs: int) -> None:
        check_int(f"{G_KEY}.image_size", size, 1)
        factor = 2**num_downs
        if size % factor:
            works = [s for s in (size // factor * factor, -(-size // factor) * factor) if s > 0]
            raise ConfigError(
                f"{G_KEY}.image_size={size} is not a multiple of 2**num_downs = {factor}: the "
                f"skip connections need every halving to be exact. Use "
                f"{' or '.join(map(str, works))} via data.image_size, or set "
                f"{G_KEY}.num_downs=null to halve as often as {size} allows."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        factor = 2**self.num_downs
        if h % factor or w % factor:  # else a torch.cat deep inside fails on mismatched sizes
            raise ConfigError(
                f"UnetGenerator got {h}x{w} images, but with num_downs={self.num_downs} both "
                f"sides must be multiples of {factor}: set {G_KEY}.image_size to the data's size."
            )
        return self.model(x)
