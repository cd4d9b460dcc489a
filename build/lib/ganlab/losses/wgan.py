"""The original Wasserstein GAN (Arjovsky et al. 2017): a critic kept Lipschitz by clipping."""

from __future__ import annotations

import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.losses.base import AdversarialLoss, Terms


class WGANLoss(AdversarialLoss):
    """Critic: ``E[D(G(z))] - E[D(x)]``; G: ``-E[D(G(z))]``; after every critic step each of
    its weights is clipped to ``[-clip, clip]`` (the paper's 0.01).

    The paper's other settings (RMSprop at 5e-5, 5 critic steps per G step) are model
    settings: ganlab/conf/loss_model/wgan_<model>.yaml.
    """

    # The critic's outputs have no fixed offset: only differences between them mean anything.
    real_threshold = None

    def __init__(self, clip: float = 0.01):
        super().__init__()
        if not clip > 0:
            raise ConfigError(f"loss.clip must be > 0, got {clip}")
        self.clip = float(clip)

    def d_loss(self, critic, real, fake, d_real, d_fake) -> tuple[torch.Tensor, Terms]:
        wasserstein = d_real.mean() - d_fake.mean()
        return -wasserstein, {"wasserstein": wasserstein}

    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        return -d_fake.mean()

    @torch.no_grad()
    def constrain(self, critic: nn.Module) -> None:
        for param in critic.parameters():
            param.clamp_(-self.clip, self.clip)
