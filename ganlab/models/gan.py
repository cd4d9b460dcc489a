"""The GAN LightningModule: alternating D and G updates with manual optimization."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganlab.augment import Augment
from ganlab.errors import ConfigError
from ganlab.losses.base import AdversarialLoss
from ganlab.models.base import (
    AdversarialModule,
    OptimizerFactory,
    check_augment,
    check_critic,
    run_in_eval_mode,
)
from ganlab.models.capabilities import ImageGenerator
from ganlab.models.latents import GaussianLatents
from ganlab.regularizers import Regularizer


class GAN(GaussianLatents, AdversarialModule, ImageGenerator):
    """Holds G, D and the adversarial loss; one batch = one D update.

    After every ``n_critic`` D updates comes one G update. One *iteration* (what ``max_iters``
    counts) is therefore ``n_critic`` D updates and one G update. G's forward pass for the G
    update is computed once, on the same batch as the last D update, detached for D and reused
    for G (as in the PyTorch DCGAN example), so no iteration pays for two G forwards.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        n_critic: int = 1,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        ema_decay: float | None = None,
        ema_start: int = 0,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ):
        super().__init__(n_critic, reg, augment)
        check_critic(discriminator, loss, "model.discriminator")
        check_augment(loss, self.augment)
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d
        # An exponential moving average of G alone (Lightning's weight averaging would average
        # D too); it starts as a copy at iteration ema_start. Frozen: no optimizer or DDP
        # gradient sync ever sees it, and it is saved in every checkpoint's state_dict.
        self.ema_start = ema_start
        self.generator_ema = None
        if ema_decay is not None:
            if not 0.0 < ema_decay < 1.0:
                raise ConfigError(f"model.ema_decay must be in (0, 1), got {ema_decay}")
            avg = get_ema_multi_avg_fn(ema_decay)
            self.generator_ema = AveragedModel(generator, multi_avg_fn=avg, use_buffers=True)
            self.generator_ema.requires_grad_(False)

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    @property
    def nz(self) -> int:
        return self.generator.nz

    @property
    def sampling_generator(self) -> nn.Module:
        """The EMA generator once it has started averaging (unless ``sample_with_ema`` is
        False), else G itself."""
        ema = self.generator_ema
        if ema is None or not self.sample_with_ema or ema.n_averaged.item() == 0:
            return self.generator
        return ema.module

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for ``z``, with G (or its EMA) in eval mode."""
        return run_in_eval_mode(self.sampling_generator, z.to(self.device))

    def preview(self, n: int, seed: int, datamodule) -> tuple[torch.Tensor, int | None]:
        """The sample grid's images: G(z) for ``n`` z from a generator seeded with ``seed``
        (the same latent points in every run with that seed). No preferred row length."""
        z = self.sample_z(n, generator=torch.Generator().manual_seed(seed))
        return self.sample(z).float().cpu(), None

    def configure_optimizers(self):
        return [
            self.make_optimizer(self.g_optimizer, self.generator.parameters()),
            self.make_optimizer(self.d_optimizer, self.discriminator.parameters()),
        ]

    # What a conditional model (ConditionalGAN) changes: where labels come from, and how
    # G and D are called with them. The loop below is the same for both.
    def split_batch(self, batch: Any) -> tuple[torch.Tensor, Any]:
        """(real images, condition): an unconditional GAN ignores the targets."""
        return (batch[0] if isinstance(batch, (list, tuple)) else batch), None

    def g_forward(self, z: torch.Tensor, cond: Any) -> torch.Tensor:
        """G's forward pass in training mode, for the update (``sample`` is for images)."""
        return self.generator(z)

    def critic(self, cond: Any):
        """D as the loss sees it: a function of the images alone (for WGAN-GP's penalty)."""
        return self.discriminator

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One batch: D's update, then G's on every ``n_critic``-th batch (models/clock.py
        counts them; ``optimize`` holds the update mechanics and what a skip does)."""
        real, cond = self.split_batch(batch)
        real = self.speed.images(real)
        opt_g, opt_d = self.optimizers()
        g_turn = self.g_turn()
        z = torch.randn(real.shape[0], self.nz, device=self.device)
        with torch.set_grad_enabled(g_turn):  # keep G's graph only when G updates next
            fake = self.g_forward(z, cond)
        critic = self.critic(cond)

        # D: real against G's fakes (detached: this update does not reach G).
        logs = self.discriminator_update(opt_d, critic, real, fake)
        if logs is None:
            return

        # G: D's verdict on the same fakes, through a fresh augmentation draw.
        if g_turn:
            self.toggle_optimizer(opt_g)  # D's parameters need no gradients for G's update
            g = self.optimize("g", opt_g, self.generator_loss(critic, fake), self.grad_clip_g, {})
            self.untoggle_optimizer(opt_g)
            if g.taken:
                self.g_steps += 1
                if self.generator_ema is not None and self.g_steps >= self.ema_start:
                    self.generator_ema.update_parameters(self.generator)
                logs.update(g.logs)
        self.log_train(logs)
