"""Variational autoencoders (Kingma & Welling 2014) in the same lab as the GANs.

An encoder maps an image to a Gaussian q(z | x) = N(mu, diag(sigma^2)); a decoder maps z back
to the parameters of p(x | z) (a likelihood: ganlab/likelihoods/); the prior is N(0, I). The
model is trained on the evidence lower bound (ELBO)

    log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || p(z))

with one z per image by the reparameterisation trick, z = mu + sigma * eps. ``VAE`` is that
alone; ``VAEGAN`` (models/vaegan.py) adds a discriminator. Both share ``VariationalAutoencoder``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ganlab.augment import Augment, NoAugment
from ganlab.errors import ConfigError
from ganlab.likelihoods import Likelihood
from ganlab.losses import JSLoss
from ganlab.models.base import GenerativeModule, OptimizerFactory, prefixed, run_in_eval_mode
from ganlab.models.capabilities import ImageGenerator, LikelihoodModel, Reconstructor
from ganlab.models.clock import Clock
from ganlab.models.latents import GaussianLatents
from ganlab.regularizers import NoRegularizer, Regularizer

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, in closed form (Kingma & Welling 2014,
    appendix B): 0.5 * sum(mu^2 + sigma^2 - 1 - log sigma^2)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


class DecodedImages(nn.Module):
    """z -> the decoded image E[x | z] in [-1, 1]: the decoder and its likelihood's mean as
    one net, for what takes a generator (ganlab-sample, ganlab-eval, ganlab-export)."""

    def __init__(self, decoder: nn.Module, likelihood: Likelihood) -> None:
        super().__init__()
        self.decoder, self.likelihood = decoder, likelihood
        self.nz = decoder.nz

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.decoder(z))


class VariationalAutoencoder(GaussianLatents, ImageGenerator, Reconstructor, LikelihoodModel):
    """What a VAE and a VAE-GAN share, over the module's ``encoder`` (images -> mu, logvar),
    ``decoder`` (z -> the likelihood's parameters) and ``likelihood``."""

    encoder: nn.Module
    decoder: nn.Module
    likelihood: Likelihood
    # No EMA of the decoder: grids, samples and evaluation use the trained one.
    sample_with_ema = False

    def check_nets(self, nz: int | None) -> None:
        """The encoder, the decoder and ``model.nz`` (None: not given) agree on z's size."""
        sizes = {self.encoder.nz, self.decoder.nz} | ({nz} if nz is not None else set())
        if len(sizes) > 1:
            raise ConfigError(
                f"the latent sizes differ: the encoder's is {self.encoder.nz}, the decoder's "
                f"{self.decoder.nz}{'' if nz is None else f', model.nz {nz}'}. Set model.nz "
                "alone (both nets follow it)."
            )

    @property
    def nz(self) -> int:
        return self.decoder.nz

    def set_kl_schedule(self, beta: float, kl_warmup: int) -> None:
        if beta < 0 or kl_warmup < 0:
            raise ConfigError(
                f"model.beta and model.kl_warmup must be >= 0, got {beta} and {kl_warmup}."
            )
        self.beta, self.kl_warmup = beta, kl_warmup

    def kl_weight(self) -> float:
        """beta, ramped up linearly over the first ``kl_warmup`` iterations."""
        if self.kl_warmup == 0:
            return self.beta
        return self.beta * min(1.0, (self.g_steps + 1) / self.kl_warmup)

    def elbo_terms(
        self, images: torch.Tensor, eps: torch.Tensor | None = None, encoder_share: float = 1.0
    ) -> dict[str, torch.Tensor]:
        """One pass through the model: per image, ``log_px`` = log p(x | z) for one z drawn
        from q (``eps``: the standard normal draw; None: fresh), ``kl``, and ``z``, ``mu``,
        ``logvar``, ``out`` (the decoder's raw output).

        ``encoder_share``: the factor on the gradient that reaches the encoder through the
        decoder (the value is unchanged): a VAE-GAN weighs the reconstruction by gamma for
        the decoder and by 1 for the encoder with ``encoder_share = 1 / gamma``."""
        mu, logvar = self.encoder(images)
        mu, logvar = mu.float(), logvar.float()
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + (0.5 * logvar).exp() * eps
        if encoder_share != 1.0:  # z's value, with its gradient times encoder_share
            z = z.detach() + (z - z.detach()) * encoder_share
        out = self.decoder(z)
        return {
            "log_px": self.likelihood.log_prob(images, out),
            "kl": gaussian_kl(mu, logvar),
            "z": z,
            "mu": mu,
            "logvar": logvar,
            "out": out,
        }

    # ImageGenerator: the decoder from the prior (sample_z: GaussianLatents).
    @property
    def sampling_generator(self) -> nn.Module:
        """The decoder with its likelihood's mean: z -> images in [-1, 1]. Built once and
        kept outside the module's children (it holds no weights of its own: the state dict
        keeps its keys, and the nets are not listed twice)."""
        decoded = self.__dict__.get("_decoded")
        if decoded is None:
            decoded = DecodedImages(self.decoder, self.likelihood)
            self.__dict__["_decoded"] = decoded
        return decoded

    @property
    def uses_ema(self) -> bool:
        return False

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Decoded images E[x | z] in [-1, 1] for ``z``, in eval mode."""
        return run_in_eval_mode(self.sampling_generator, z.to(self.device))

    def preview(self, n: int, seed: int, datamodule) -> tuple[torch.Tensor, int | None]:
        """Decoded prior samples for ``n`` fixed z (seeded as a GAN's grid: the same z)."""
        z = self.sample_z(n, generator=torch.Generator().manual_seed(seed))
        return self.sample(z).float().cpu(), None

    # Reconstructor
    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """The posterior mean of each image decoded (eval mode, no sampling)."""
        mu, _ = run_in_eval_mode(self.encoder, images.to(self.device))
        return run_in_eval_mode(self.sampling_generator, mu)

    # LikelihoodModel
    @torch.no_grad()
    def log_likelihood(
        self,
        images: torch.Tensor,
        k: int,
        generator: torch.Generator | None = None,
        chunk: int = 4096,
    ) -> torch.Tensor:
        """The importance-weighted bound of Burda et al. 2016 (IWAE), per image in nats:

            log p(x) >= log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),   z_i ~ q(z | x),

        equal to the ELBO for k = 1 and rising towards log p(x) as k grows. Eval mode; the
        k draws come from ``generator`` (CPU), ``chunk`` decoder inputs at a time."""
        images = images.to(self.device)
        mu, logvar = run_in_eval_mode(self.encoder, images)
        mu, logvar = mu.float(), logvar.float()
        std = (0.5 * logvar).exp()
        per_chunk = max(1, chunk // len(images))
        log_w = []
        for start in range(0, k, per_chunk):
            m = min(per_chunk, k - start)
            eps = torch.randn(m, *mu.shape, generator=generator).to(mu.device)
            z = mu + std * eps  # (m, B, nz)
            out = run_in_eval_mode(self.decoder, z.flatten(0, 1))
            repeated = images.unsqueeze(0).expand(m, *images.shape).flatten(0, 1)
            log_px = self.likelihood.log_prob(repeated, out).view(m, -1)
            log_pz = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)  # the prior N(0, I)
            log_qz = gaussian_log_density(z, mu, logvar)
            log_w.append(log_px + log_pz - log_qz)
        return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)

    def check_likelihood_data(self, images: torch.Tensor) -> None:
        problem = self.likelihood.check_data(images)
        if problem is not None:
            raise ConfigError(
                f"log p(x) under {type(self.likelihood).__name__} is not a likelihood here: "
                f"{problem}."
            )


class VAE(VariationalAutoencoder, GenerativeModule):
    """A VAE: one optimizer over the encoder, the decoder (and a learned likelihood
    parameter), one update per batch (one iteration; models/clock.py).

    The loss is ``-(log p(x | z) - w * KL)`` averaged over the batch, with ``w = beta``
    (``beta`` > 1: the beta-VAE of Higgins et al. 2017) ramped up linearly from 0 over the
    first ``kl_warmup`` iterations (a KL warm-up, Sonderby et al. 2016); logged per image,
    in nats: ``train/elbo`` (with w = 1, the bound itself), ``train/recon`` (-log p(x|z)),
    ``train/kl`` and ``train/kl_weight``.
    """

    progress_keys = ("train/elbo", "train/kl")
    clip_keys = "model.grad_clip"

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        likelihood: Likelihood,
        optimizer: OptimizerFactory,
        nz: int | None = None,
        beta: float = 1.0,
        kl_warmup: int = 0,
        grad_clip: float | None = None,
        loss: nn.Module | None = None,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ) -> None:
        super().__init__(Clock(1, g_updates=0))
        # ganlab-train passes every model the loss, regulariser and augmentation groups;
        # a VAE has no discriminator for them. The loss group's default (js) is ignored, the
        # ELBO being this model's loss; another loss, a regulariser or an augmentation asked
        # for is refused rather than silently dropped.
        chosen_groups = (("loss", loss, JSLoss), ("reg", reg, NoRegularizer))
        for group, chosen, none in (*chosen_groups, ("augment", augment, NoAugment)):
            if chosen is not None and not isinstance(chosen, none):
                raise ConfigError(
                    f"{group}={type(chosen).__name__} acts on a discriminator, and model=vae "
                    f"has none: leave {group} out, or use model=vaegan."
                )
        self.encoder, self.decoder, self.likelihood = encoder, decoder, likelihood
        self.check_nets(nz)
        self.set_kl_schedule(beta, kl_warmup)
        self.optimizer = optimizer
        self.grad_clip = grad_clip

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def configure_optimizers(self):
        # The module's parameters: both nets and, when learned, the likelihood's.
        return self.make_optimizer(self.optimizer, self.parameters())

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        real = self.speed.images(real)
        terms = self.elbo_terms(real)
        log_px, kl = terms["log_px"], terms["kl"]
        weight = self.kl_weight()
        loss = -(log_px - weight * kl).mean()
        values = {
            "elbo": (log_px - kl).mean().detach(),
            "recon": -log_px.mean().detach(),
            "kl": kl.mean().detach(),
            "kl_weight": weight,
        }
        update = self.optimize("vae", self.optimizers(), loss, self.grad_clip, prefixed(values))
        if not update.taken:
            return
        self.g_steps += 1
        self.d_steps += 1  # the batch counter
        self.images_seen += real.shape[0] * self.trainer.world_size
        self.log_train(update.logs)
