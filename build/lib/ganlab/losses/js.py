"""The original GAN loss (Goodfellow et al. 2014): Jensen-Shannon, on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.losses.base import AdversarialLoss, Terms


class JSLoss(AdversarialLoss):
    """D: binary cross-entropy on logits. G: non-saturating ``-log D(G(z))`` by default.

    ``saturating=True`` gives the minimax form ``log(1 - D(G(z)))``, whose gradient vanishes
    when D wins early; it is kept for comparison studies.
    """

    def __init__(self, saturating: bool = False):
        super().__init__()
        self.saturating = saturating

    def d_loss(self, critic, real, fake, d_real, d_fake) -> tuple[torch.Tensor, Terms]:
        # softplus(-x) = -log(sigmoid(x)) and softplus(x) = -log(1 - sigmoid(x)), stably.
        loss_real = F.softplus(-d_real).mean()
        loss_fake = F.softplus(d_fake).mean()
        return loss_real + loss_fake, {"d_loss_real": loss_real, "d_loss_fake": loss_fake}

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        if self.saturating:
            return -F.softplus(d_fake).mean()
        return F.softplus(-d_fake).mean()
