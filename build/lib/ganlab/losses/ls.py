"""Least-squares GAN (Mao et al. 2017) with the 0-1 coding: a=0 (fake), b=1 (real), c=1."""

from __future__ import annotations

import torch

from ganlab.losses.base import AdversarialLoss, Terms


class LSLoss(AdversarialLoss):
    """D: ``0.5 E[(D(x)-1)^2] + 0.5 E[D(G(z))^2]``; G: ``0.5 E[(D(G(z))-1)^2]``."""

    real_threshold = 0.5  # halfway between the fake (0) and real (1) targets

    def d_loss(self, critic, real, fake, d_real, d_fake) -> tuple[torch.Tensor, Terms]:
        loss_real = 0.5 * (d_real - 1).pow(2).mean()
        loss_fake = 0.5 * d_fake.pow(2).mean()
        return loss_real + loss_fake, {"d_loss_real": loss_real, "d_loss_fake": loss_fake}

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (d_fake - 1).pow(2).mean()
