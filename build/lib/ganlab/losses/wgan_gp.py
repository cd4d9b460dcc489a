"""Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ganlab.losses.base import AdversarialLoss, Terms


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``E[(||grad D(x_hat)||_2 - 1)^2]`` on random interpolates of real and fake images.

    Computed in float32 with autocast off: under fp16/bf16 the squared gradient norms
    overflow or lose precision and the critic diverges (StudioGAN issue 175).
    """
    with torch.autocast(device_type=real.device.type, enabled=False):
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        x_hat = (eps * real.float() + (1 - eps) * fake.float()).requires_grad_(True)
        out = critic(x_hat).float()
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


class WGANGPLoss(AdversarialLoss):
    """Critic: ``E[D(G(z))] - E[D(x)] + gp_weight * GP``; G: ``-E[D(G(z))]``."""

    allows_batchnorm_critic = False
    double_backward = True
    real_threshold = None  # the critic's outputs have no fixed offset

    def __init__(self, gp_weight: float = 10.0):
        super().__init__()
        self.gp_weight = gp_weight

    def d_loss(self, critic, real, fake, d_real, d_fake) -> tuple[torch.Tensor, Terms]:
        gp = gradient_penalty(critic, real, fake)
        # The negated critic loss estimates the Wasserstein-1 distance; it is the curve to watch.
        wasserstein = d_real.mean() - d_fake.mean()
        return -wasserstein + self.gp_weight * gp, {"gp": gp, "wasserstein": wasserstein}

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        return -d_fake.mean()
