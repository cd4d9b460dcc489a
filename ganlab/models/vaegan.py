"""The VAE-GAN of Larsen et al. 2016 ("Autoencoding beyond pixels using a learned similarity
metric", arXiv 1512.09300): a VAE whose decoder is also a GAN's generator."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganlab.augment import Augment
from ganlab.errors import ConfigError
from ganlab.likelihoods import Likelihood
from ganlab.losses.base import AdversarialLoss
from ganlab.models.base import (
    AdversarialModule,
    OptimizerFactory,
    check_augment,
    check_critic,
    prefixed,
)
from ganlab.models.vae import VariationalAutoencoder
from ganlab.regularizers import Regularizer


class VAEGAN(VariationalAutoencoder, AdversarialModule):
    """A VAE (encoder, decoder, likelihood) and a discriminator D trained with the loss group
    (``loss=js|ls|hinge|wgan_gp|...``, with ``reg`` and ``augment`` as for any GAN: the same
    ``critic_loss`` and ``generator_loss``).

    Each batch: x is encoded, z ~ q(z|x) decoded (the reconstruction x~); D then sees the
    real batch against a fake batch of the same size, its first half reconstructions and
    its second half decoded prior samples (Larsen et al.'s D sees both kinds). On every
    ``n_critic``-th batch the encoder and decoder take one step, on

        gamma * recon + w * KL + adv_weight * G's adversarial loss on the fakes,

    routed as in Larsen et al.'s Algorithm 1: the encoder gets the reconstruction and the
    KL only (weight 1 for the reconstruction: its gradient through the decoder is scaled by
    1 / gamma; the fakes are decoded from a detached z), the decoder the reconstruction
    (weight gamma) and the adversarial loss. ``recon`` is -log p(x|z) under the likelihood,
    or with ``feature_recon`` the paper's "learned similarity": half the squared distance
    between D's last hidden features of x and of x~ (a Gaussian of unit variance there).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        likelihood: Likelihood,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        nz: int | None = None,
        beta: float = 1.0,
        kl_warmup: int = 0,
        gamma: float = 1.0,
        adv_weight: float = 1.0,
        feature_recon: bool = False,
        n_critic: int = 1,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ) -> None:
        super().__init__(n_critic, reg, augment)
        self.encoder, self.decoder, self.likelihood = encoder, decoder, likelihood
        self.discriminator, self.loss = discriminator, loss
        self.check_nets(nz)
        check_critic(discriminator, loss, "model.discriminator")
        check_augment(loss, self.augment)
        self.set_kl_schedule(beta, kl_warmup)
        if not gamma > 0 or adv_weight < 0:
            raise ConfigError(
                f"model.gamma must be > 0 and model.adv_weight >= 0, got {gamma} and {adv_weight}."
            )
        self.gamma, self.adv_weight, self.feature_recon = gamma, adv_weight, bool(feature_recon)
        if self.feature_recon and not callable(getattr(type(discriminator), "features", None)):
            raise ConfigError(
                f"model.feature_recon=true needs a discriminator with features(x) (e.g. "
                f"ganlab.nets.DCGANDiscriminator); {type(discriminator).__name__} has none."
            )
        # G's optimizer and clipping are the encoder's and decoder's (named as a GAN's, so
        # that a loss's settings for G, loss_model/<loss>_vaegan.yaml, apply to them).
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {
            "encoder": self.encoder,
            "decoder": self.decoder,
            "discriminator": self.discriminator,
        }

    def configure_optimizers(self):
        vae = [*self.encoder.parameters(), *self.decoder.parameters()]
        vae += list(self.likelihood.parameters())  # a learned sigma
        return [
            self.make_optimizer(self.g_optimizer, vae),
            self.make_optimizer(self.d_optimizer, self.discriminator.parameters()),
        ]

    def fakes(self, z: torch.Tensor) -> torch.Tensor:
        """What D sees as fake: the first half decoded from ``z`` (detached: the encoder
        gets no adversarial gradient), the second half from the prior, in one pass."""
        half = len(z) // 2
        prior = torch.randn(len(z) - half, self.nz, device=z.device)
        return self.likelihood.mean(self.decoder(torch.cat([z.detach()[:half], prior])))

    def reconstruction_loss(self, real: torch.Tensor, terms: dict) -> torch.Tensor:
        """-log p(x|z) per image, or half the squared distance in D's feature space."""
        if not self.feature_recon:
            return -terms["log_px"]
        with torch.no_grad():
            target = self.discriminator.features(real)
        rebuilt = self.discriminator.features(self.likelihood.mean(terms["out"]))
        return 0.5 * (rebuilt.float() - target.float()).pow(2).sum(1)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        real = self.speed.images(real)
        opt_vae, opt_d = self.optimizers()
        g_turn = self.g_turn()
        with torch.set_grad_enabled(g_turn):  # keep the graph only when the VAE updates next
            terms = self.elbo_terms(real, encoder_share=1.0 / self.gamma)
            fake = self.fakes(terms["z"])

        logs = self.discriminator_update(opt_d, self.discriminator, real, fake)
        if logs is None:
            return

        if g_turn:
            self.toggle_optimizer(opt_vae)  # D's parameters need no gradients here
            recon = self.reconstruction_loss(real, terms)
            kl, weight = terms["kl"], self.kl_weight()
            adversarial = self.generator_loss(self.discriminator, fake)
            loss = (self.gamma * recon + weight * kl).mean() + self.adv_weight * adversarial
            values = {
                "elbo": (terms["log_px"] - kl).mean().detach(),
                "recon": recon.mean().detach(),
                "kl": kl.mean().detach(),
                "kl_weight": weight,
                "g_adv": adversarial.detach(),
            }
            g = self.optimize("g", opt_vae, loss, self.grad_clip_g, prefixed(values))
            self.untoggle_optimizer(opt_vae)
            if g.taken:
                self.g_steps += 1
                logs.update(g.logs)
        self.log_train(logs)
