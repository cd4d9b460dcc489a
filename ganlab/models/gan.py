"""The GAN LightningModule: alternating D and G updates with manual optimization."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganlab.errors import ConfigError
from ganlab.losses.base import AdversarialLoss

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def grad_norm(module: nn.Module) -> torch.Tensor:
    """The 2-norm of all of ``module``'s gradients together (0 when it has none)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


class GAN(L.LightningModule):
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
    ):
        super().__init__()
        if n_critic < 1:
            raise ConfigError(f"model.n_critic must be >= 1, got {n_critic}")
        has_bn = any(isinstance(m, _BatchNorm) for m in discriminator.modules())
        if has_bn and not loss.allows_batchnorm_critic:
            raise ConfigError(
                f"{type(loss).__name__} computes a per-sample gradient penalty, which BatchNorm "
                "in the discriminator makes wrong. Use a per-sample normalisation, e.g. "
                "model.discriminator.norm=layer (or instance/none)."
            )
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.n_critic = n_critic
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d
        # Plain ints, saved in checkpoints by on_save_checkpoint; tensors would force a
        # device sync each time they are compared.
        self.g_steps = self.d_steps = self.images_seen = 0
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
    def nz(self) -> int:
        return self.generator.nz

    def sample_z(
        self, n: int, generator: torch.Generator | None = None, truncation: float | None = None
    ) -> torch.Tensor:
        """Latent vectors N(0, I) on the module's device (a CPU ``generator`` for fixed z).

        ``truncation=t`` draws each coordinate from N(0, 1) truncated to [-t, t] (the
        truncation trick of BigGAN): typical images, less variety.
        """
        if truncation is None:
            return torch.randn(n, self.nz, generator=generator).to(self.device)
        if truncation <= 0:
            raise ConfigError(f"truncation must be > 0, got {truncation}")
        z = torch.empty(n, self.nz)
        torch.nn.init.trunc_normal_(z, 0.0, 1.0, -truncation, truncation, generator=generator)
        return z.to(self.device)

    @property
    def sampling_generator(self) -> nn.Module:
        """The EMA generator once it has started averaging, else G itself."""
        ema = self.generator_ema
        return ema.module if ema is not None and ema.n_averaged.item() > 0 else self.generator

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for ``z``, with G (or its EMA) in eval mode."""
        net = self.sampling_generator
        was_training = net.training
        net.eval()
        try:
            return net(z.to(self.device))
        finally:
            net.train(was_training)

    def configure_optimizers(self):
        return [
            self.g_optimizer(self.generator.parameters()),
            self.d_optimizer(self.discriminator.parameters()),
        ]

    def _update(self, opt, loss: torch.Tensor, net: nn.Module, clip: float | None):
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        norm = grad_norm(net)  # before clipping: the norm the loss really produced
        if clip is not None:
            self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")
        opt.step()
        return norm

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = batch[0] if isinstance(batch, (list, tuple)) else batch
        opt_g, opt_d = self.optimizers()
        g_turn = (self.d_steps + 1) % self.n_critic == 0
        z = torch.randn(real.shape[0], self.nz, device=self.device)
        with torch.set_grad_enabled(g_turn):  # keep G's graph only when G updates next
            fake = self.generator(z)

        d_real = self.discriminator(real)
        d_fake = self.discriminator(fake.detach())
        d_loss, terms = self.loss.d_loss(self.discriminator, real, fake.detach(), d_real, d_fake)
        norm_d = self._update(opt_d, d_loss, self.discriminator, self.grad_clip_d)
        self.d_steps += 1
        self.images_seen += real.shape[0] * self.trainer.world_size  # all ranks together
        logs = {
            "train/d_loss": d_loss,
            "train/d_real": d_real.mean(),
            "train/d_fake": d_fake.mean(),
            "train/grad_norm_d": norm_d,
            "train/lr_d": opt_d.param_groups[0]["lr"],
            **{f"train/{name}": value for name, value in terms.items()},
        }
        if g_turn:
            # D's parameters need no gradients for G's update: toggling skips that work.
            self.toggle_optimizer(opt_g)
            g_loss = self.loss.g_loss(self.discriminator(fake))
            norm_g = self._update(opt_g, g_loss, self.generator, self.grad_clip_g)
            self.untoggle_optimizer(opt_g)
            self.g_steps += 1
            if self.generator_ema is not None and self.g_steps >= self.ema_start:
                self.generator_ema.update_parameters(self.generator)
            logs.update(
                {
                    "train/g_loss": g_loss,
                    "train/grad_norm_g": norm_g,
                    "train/lr_g": opt_g.param_groups[0]["lr"],
                }
            )
        # Live losses on the progress bar; everything goes to the loggers (metrics.csv).
        bar = {"train/d_loss", "train/g_loss"}
        detached = {k: v.detach() if torch.is_tensor(v) else v for k, v in logs.items()}
        self.log_dict({k: v for k, v in detached.items() if k in bar}, prog_bar=True)
        self.log_dict({k: v for k, v in detached.items() if k not in bar})

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganlab_counters"] = {
            "g_steps": self.g_steps,
            "d_steps": self.d_steps,
            "images_seen": self.images_seen,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        for name, value in checkpoint.get("ganlab_counters", {}).items():
            setattr(self, name, value)
