"""The interface every adversarial loss implements (one file per loss next to this one)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

Terms = dict[str, torch.Tensor]


class AdversarialLoss(nn.Module, ABC):
    """Turns discriminator outputs into the D and G objectives.

    ``d_loss`` returns the total to minimise and the named terms that make it up (logged as
    ``train/<name>``); it receives the critic and the images too, for losses with penalties.
    """

    #: Losses whose penalty is per sample (WGAN-GP) set this False: BatchNorm would mix the
    #: samples of a batch and make the penalty wrong, so the GAN module refuses that pairing.
    allows_batchnorm_critic: bool = True
    #: Losses that differentiate a gradient of the critic (WGAN-GP's penalty) set this True:
    #: such a critic is not compiled (speed.compile), as compiled graphs have no double
    #: backward.
    double_backward: bool = False
    #: The D output that separates "real" (above) from "fake" (below): r_t = E[sign(D(x) -
    #: real_threshold)] on real images tells how sure D is of them (ADA's overfitting
    #: signal, Karras et al. 2020). None for critics whose outputs have no fixed offset
    #: (Wasserstein losses): they log no r_t and cannot drive ADA.
    real_threshold: float | None = 0.0

    @abstractmethod
    def d_loss(
        self,
        critic: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        d_real: torch.Tensor,
        d_fake: torch.Tensor,
    ) -> tuple[torch.Tensor, Terms]: ...

    @abstractmethod
    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor: ...

    def constrain(self, critic: nn.Module) -> None:
        """Called after every update of ``critic``: a constraint the loss puts on its weights
        (WGAN's clipping). None by default."""
