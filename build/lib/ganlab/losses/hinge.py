"""Hinge loss (Lim and Ye 2017; Tran et al. 2017), as in SNGAN and BigGAN."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.losses.base import AdversarialLoss, Terms


class HingeLoss(AdversarialLoss):
    """D: ``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]``; G: ``-E[D(G(z))]``.

    D stops pushing an image once its margin exceeds 1, so a confident D spends no effort
    on images it already separates.
    """

    def d_loss(self, critic, real, fake, d_real, d_fake) -> tuple[torch.Tensor, Terms]:
        loss_real = F.relu(1 - d_real).mean()
        loss_fake = F.relu(1 + d_fake).mean()
        return loss_real + loss_fake, {"d_loss_real": loss_real, "d_loss_fake": loss_fake}

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        return -d_fake.mean()
