"""DCGAN (Radford et al. 2016) for any square size ``s0 * 2**k`` with 3 <= s0 <= 7.

One pair of classes serves 28x28 (7->14->28), 32, 64 and 128 (4->...->S): the image size
decides the number of stride-2 stages, so there is no file per resolution. At 64x64 with
ngf=ndf=64, nz=100 the layers are exactly those of the PyTorch examples' DCGAN (same
parameter count), which keeps throughput comparable with that reference loop.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.errors import ConfigError

# Layer norm over (C, H, W) as in the WGAN-GP reference code is GroupNorm with one group.
NORMS = {
    "batch": nn.BatchNorm2d,
    "layer": lambda c: nn.GroupNorm(1, c),
    "instance": lambda c: nn.InstanceNorm2d(c, affine=True),
    "none": lambda c: nn.Identity(),
}


def stages(image_size: int) -> tuple[int, int]:
    """Return ``(s0, k)`` with ``image_size == s0 * 2**k``, the start size and stride-2 stages."""
    s0, k = image_size, 0
    while s0 % 2 == 0 and s0 > 7:
        s0, k = s0 // 2, k + 1
    if k < 1 or not 3 <= s0 <= 7:
        raise ConfigError(
            f"DCGAN cannot build {image_size}x{image_size} images: the size must be s0 * 2**k "
            "with 3 <= s0 <= 7 and k >= 1 (e.g. 28, 32, 64, 128). Set data.image_size."
        )
    return s0, k


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02); norm scales N(1, 0.02), shifts 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# The generator's last activation: tanh for images in [-1, 1]; none for a VAE decoder, whose
# likelihood maps the raw output (ganlab/likelihoods/: Bernoulli logits, a Gaussian's mean).
OUTPUTS = {"tanh": nn.Tanh, "none": nn.Identity}


class DCGANGenerator(nn.Module):
    """z (B, nz) -> images (B, channels, S, S) in [-1, 1] (``output="none"``: the raw last
    layer, for a VAE decoder)."""

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        nz: int = 100,
        ngf: int = 64,
        output: str = "tanh",
    ):
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"unknown generator output '{output}'; choose one of {list(OUTPUTS)}")
        s0, k = stages(image_size)
        self.nz = nz
        width = ngf * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, width, s0, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(k - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), OUTPUTS[output]()]
        self.main = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], self.nz, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (B, channels, S, S) -> logits (B,). No sigmoid: the losses work on logits.

    ``features(x)``: the activations before the last layer (a VAE-GAN's reconstruction
    space, Larsen et al. 2016). ``outputs`` > 1: (B, outputs) instead, for an encoder.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
        outputs: int = 1,
    ):
        super().__init__()
        if norm not in NORMS:
            raise ConfigError(f"unknown discriminator norm '{norm}'; choose one of {list(NORMS)}")
        s0, k = stages(image_size)
        self.norm = norm
        conv = _spectral_norm if spectral_norm else (lambda m: m)
        width = ndf
        layers: list[nn.Module] = [
            conv(nn.Conv2d(channels, width, 4, 2, 1, bias=False)),
            nn.LeakyReLU(0.2, True),
        ]
        for _ in range(k - 1):
            layers += [
                conv(nn.Conv2d(width, width * 2, 4, 2, 1, bias=False)),
                NORMS[norm](width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        layers.append(conv(nn.Conv2d(width, outputs, s0, 1, 0, bias=False)))
        self.main = nn.Sequential(*layers)
        self.outputs = outputs
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.main(x)
        return out.view(-1) if self.outputs == 1 else out.flatten(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations, (B, C, s0, s0) flattened to (B, C*s0*s0)."""
        return self.main[:-1](x).flatten(1)


class DCGANEncoder(DCGANDiscriminator):
    """images -> (mu, logvar) of a Gaussian q(z | x) with ``nz`` dimensions: DCGAN's D with
    ``2 * nz`` outputs, the mirror of DCGANGenerator as a VAE's encoder."""

    def __init__(
        self, image_size: int = 64, channels: int = 3, nz: int = 100, ndf: int = 64, norm="batch"
    ):
        super().__init__(image_size, channels, ndf, norm, outputs=2 * nz)
        self.nz = nz

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = super().forward(x).chunk(2, dim=1)
        return mu, logvar
