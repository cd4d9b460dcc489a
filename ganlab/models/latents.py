"""The latent vectors every generator from noise draws (a GAN's G, a VAE's decoder)."""

from __future__ import annotations

import torch

from ganlab.errors import ConfigError


def normal_latents(
    n: int, nz: int, generator: torch.Generator | None = None, truncation: float | None = None
) -> torch.Tensor:
    """``n`` vectors from N(0, I) in ``nz`` dimensions, on the CPU (a CPU ``generator`` for
    fixed z: the same vectors on any device).

    ``truncation=t`` draws each coordinate from N(0, 1) truncated to [-t, t] (the
    truncation trick of BigGAN): typical images, less variety.
    """
    if truncation is None:
        return torch.randn(n, nz, generator=generator)
    if truncation <= 0:
        raise ConfigError(f"truncation must be > 0, got {truncation}")
    z = torch.empty(n, nz)
    torch.nn.init.trunc_normal_(z, 0.0, 1.0, -truncation, truncation, generator=generator)
    return z


class GaussianLatents:
    """``sample_z`` for a model whose latent vectors are N(0, I) in ``self.nz`` dimensions
    (a GAN's G, a VAE's prior), on the model's device."""

    nz: int

    def sample_z(
        self, n: int, generator: torch.Generator | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        return normal_latents(n, self.nz, generator, truncation).to(self.device)
