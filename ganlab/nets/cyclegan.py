"""CycleGAN networks (Zhu et al. 2017): a ResNet image-to-image generator and a PatchGAN critic.

The layers are those of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix,
``models/networks.py``: ``ResnetGenerator`` with transposed-conv upsampling and
``NLayerDiscriminator``), so with the reference settings the parameter counts are the ones it
prints: 11,378,179 for the 9-block generator, 7,837,699 for the 6-block one and 2,764,737 for
the 70x70 PatchGAN. One pair of networks serves both directions (A->B and B->A); the messages
name ``model.generator_ab/ba`` and ``model.discriminator_a/b`` because a net does not know which
of the two config keys built it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.errors import ConfigError, check_int
from ganlab.nets.dcgan import NORMS as DCGAN_NORMS

G_KEY = "model.generator_ab/ba"
D_KEY = "model.discriminator_a/b"

# The reference's instance norm has no affine parameters and no running statistics, so eval mode
# normalises with each image's own statistics, as in training. DCGAN's critic uses an affine
# instance norm (it stands in for BatchNorm's scale and shift there), so the two tables differ
# in exactly this entry.
NORMS = {
    **DCGAN_NORMS,
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
}

# Conv biases as the reference's ``use_bias`` ("norm is InstanceNorm2d"): none before batch or
# layer norm, whose shift replaces them; kept before instance norm, although its mean
# subtraction cancels them (they count in the reference's totals but get no gradient). With no
# norm the reference drops them too (its "none" is a lambda, not InstanceNorm2d), which would
# leave no learnt shift anywhere, so "none" keeps them here.
BIASED_NORMS = ("instance", "none")


def _check_norm(key: str, norm: str) -> str:
    if norm not in NORMS:
        raise ConfigError(f"unknown {key}.norm {norm!r}; choose one of {list(NORMS)}")
    return norm


def check_dropout(key: str, dropout) -> float:
    """A generator's dropout probability, a number in [0, 1), or a ConfigError naming ``key``."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
        raise ConfigError(f"{key}.dropout must be a number in [0, 1), got {dropout!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"{key}.dropout must be in [0, 1), got {dropout!r}.")
    return dropout


def check_image_generator(
    key: str, in_channels: int, out_channels: int | None, ngf: int, norm: str, dropout
) -> int:
    """The settings every image-to-image generator here shares (ResNet, U-Net), checked with
    ``key`` in the messages; returns ``out_channels`` (None: as many as ``in_channels``)."""
    out_channels = in_channels if out_channels is None else out_channels
    check_int(f"{key}.in_channels", in_channels, 1)
    check_int(f"{key}.out_channels", out_channels, 1)
    check_int(f"{key}.ngf", ngf, 1)
    _check_norm(key, norm)
    check_dropout(key, dropout)
    return out_channels


def receptive_field(n_layers: int) -> int:
    """Side of the input patch that one output logit of ``PatchDiscriminator`` sees.

    Going backwards from one output unit: the two stride-1 4x4 convs see 4 + 3 = 7 pixels, and
    each of the ``n_layers`` stride-2 4x4 convs maps a side r to 2r + 2. So r + 2 doubles from
    9: r = 9 * 2**n_layers - 2, i.e. 16, 34, 70, 142 for 1, 2, 3, 4 layers.
    """
    check_int(f"{D_KEY}.n_layers", n_layers, 1)
    return 9 * 2**n_layers - 2


def cyclegan_init(module: nn.Module) -> None:
    """The reference's ``init_weights('normal', 0.02)``: conv weights N(0, 0.02), biases 0;
    BatchNorm scales N(1, 0.02), shifts 0 (like the reference, GroupNorm keeps 1 and 0)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def check_image_size(image_size: int, n_downsampling: int = 2) -> int:
    """Raise a ConfigError unless ``ResnetGenerator`` maps image_size x image_size to itself.

    The size must survive the network: the 7x7 convs' reflection padding needs a side > 3, and
    the bottleneck (image_size / 2**n_downsampling) needs a side >= 2, for the residual blocks'
    reflection padding and because instance norm cannot normalise a single pixel in training.
    """
    check_int(f"{G_KEY}.image_size", image_size, 1)
    factor = 2**n_downsampling
    smallest = max(4, 2 * factor)  # a multiple of factor for every n_downsampling
    if image_size % factor:
        out = -(-image_size // factor) * factor
        works = [s for s in (image_size // factor * factor, out) if s >= smallest]
        raise ConfigError(
            f"{G_KEY}.image_size={image_size} is not a multiple of 2**n_downsampling = {factor}: "
            f"the generator would return {out}x{out} images, not {image_size}x{image_size}. "
            f"Use a multiple of {factor} that is >= {smallest} (e.g. "
            f"{' or '.join(map(str, works))}), via data.image_size, or change n_downsampling."
        )
    if image_size < smallest:
        raise ConfigError(
            f"{G_KEY}.image_size={image_size} is too small: with n_downsampling={n_downsampling} "
            f"the bottleneck would be {image_size // factor}x{image_size // factor}, and the "
            f"reflection padding and instance norm need >= 2x2 there and >= 4x4 at the input. "
            f"Use image_size >= {smallest}."
        )
    return image_size


class ResnetBlock(nn.Module):
    """x + F(x), F = two reflection-padded 3x3 convs that keep the size and the channels."""

    def __init__(self, channels: int, norm: str, dropout: float, bias: bool):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            NORMS[norm](channels),
            nn.ReLU(True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            NORMS[norm](channels),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """images (B, in_channels, H, W) -> images (B, out_channels, H, W) in [-1, 1].

    H and W must be multiples of ``2**n_downsampling`` (stride-2 convs round odd sizes up and the
    transposed convs double, so other sizes come back larger); ``image_size`` checks this early.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int | None = None,
        ngf: int = 64,
        n_blocks: int = 9,
        n_downsampling: int = 2,
        norm: str = "instance",
        dropout: float = 0.0,
        image_size: int | None = None,
    ):
        super().__init__()
        out_channels = check_image_generator(G_KEY, in_channels, out_channels, ngf, norm, dropout)
        check_int(f"{G_KEY}.n_blocks", n_blocks, 0)
        check_int(f"{G_KEY}.n_downsampling", n_downsampling, 0)
        if image_size is not None:
            check_image_size(image_size, n_downsampling)
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = norm in BIASED_NORMS
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            NORMS[norm](ngf),
            nn.ReLU(True),
        ]
        width = ngf
        for _ in range(n_downsampling):
            layers += [
                nn.Conv2d(width, width * 2, 3, 2, 1, bias=bias),
                NORMS[norm](width * 2),
                nn.ReLU(True),
            ]
            width *= 2
        layers += [ResnetBlock(width, norm, dropout, bias) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1, bias=bias),
                NORMS[norm](width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        # The output conv has a bias whatever the norm, as in the reference: no norm follows it.
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.apply(cyclegan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """images (B, channels, H, W) -> logits (B, 1, h, w), one per overlapping input patch.

    Each logit sees a ``receptive_field(n_layers)`` square (70x70 for n_layers=3); at 256x256 the
    map is 30x30. No sigmoid: the losses work on logits (the reference's LSGAN loss does too).
    """

    def __init__(
        self,
        channels: int = 3,
        ndf: int = 64,
        n_layers: int = 3,
        norm: str = "instance",
        spectral_norm: bool = False,
    ):
        super().__init__()
        check_int(f"{D_KEY}.channels", channels, 1)
        check_int(f"{D_KEY}.ndf", ndf, 1)
        check_int(f"{D_KEY}.n_layers", n_layers, 1)
        _check_norm(D_KEY, norm)
        self.channels = channels  # a pair D's (pix2pix) are the input's and the image's
        self.norm = norm
        self.n_layers = n_layers
        conv = _spectral_norm if spectral_norm else (lambda m: m)
        bias = norm in BIASED_NORMS
        # The first conv has no norm after it and the last is the output: both keep their bias.
        layers: list[nn.Module] = [
            conv(nn.Conv2d(channels, ndf, 4, 2, 1)),
            nn.LeakyReLU(0.2, True),
        ]
        width = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last of these keeps the size (minus one)
            layers += [
                conv(nn.Conv2d(width, out, 4, stride, 1, bias=bias)),
                NORMS[norm](out),
                nn.LeakyReLU(0.2, True),
            ]
            width = out
        layers.append(conv(nn.Conv2d(width, 1, 4, 1, 1)))
        self.model = nn.Sequential(*layers)
        self.apply(cyclegan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
