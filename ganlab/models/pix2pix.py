"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks", arXiv 1611.07004): paired translation, here the restoration of degraded images.

G maps the degraded input x to y~ = G(x); a conditional D judges the pair: (x, y) real
against (x, y~) fake, both as one tensor cat(x, y) of the input's and the image's channels,
so the loss group, the regulariser and the augmentation see D's input as for any GAN.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.augment import Augment
from ganlab.data.base import ImageDataModule
from ganlab.errors import ConfigError
from ganlab.losses.base import AdversarialLoss
from ganlab.models.base import (
    AdversarialModule,
    OptimizerFactory,
    check_augment,
    check_critic,
    prefixed,
    run_in_eval_mode,
)
from ganlab.models.capabilities import Restorer
from ganlab.regularizers import Regularizer


class Pix2Pix(AdversarialModule, Restorer):
    """G (U-Net or ResNet) and a PatchGAN D on (input, image) pairs; one batch = one D
    update, then on every ``n_critic``-th batch one G update on

        adv_weight * G's adversarial loss + l1_weight * |y~ - y|  (the mean over pixels),

    the paper's objective (lambda = 100). ``adv_weight=0`` is its "L1 alone" ablation: G
    then never asks D (which still trains, so its values stay comparable in the logs). D's
    loss is scaled by ``d_loss_weight`` (the reference halves it, to slow D relative to G).
    """

    learns_from_pairs = True

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        n_critic: int = 1,
        l1_weight: float = 100.0,
        adv_weight: float = 1.0,
        d_loss_weight: float = 0.5,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ) -> None:
        super().__init__(n_critic, reg, augment)
        check_critic(discriminator, loss, "model.discriminator")
        check_augment(loss, self.augment)
        if l1_weight < 0 or adv_weight < 0 or not d_loss_weight > 0:
            raise ConfigError(
                f"model.l1_weight and model.adv_weight must be >= 0 and model.d_loss_weight "
                f"> 0, got {l1_weight}, {adv_weight} and {d_loss_weight}."
            )
        self.generator, self.discriminator, self.loss = generator, discriminator, loss
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.l1_weight, self.adv_weight = l1_weight, adv_weight
        self.d_loss_weight = d_loss_weight
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d
        self._preview_batch: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def check_data(self, datamodule) -> None:
        """Refuse data that is not (degraded, clean) pairs, or whose shapes the nets do not
        take (a mask's extra input channel, say), before any of it is loaded."""
        if not (isinstance(datamodule, ImageDataModule) and datamodule.paired):
            raise ConfigError(
                f"model=pix2pix learns from (degraded, clean) pairs, but "
                f"{type(datamodule).__name__} gives images alone: choose a degradation, e.g. "
                "data/degrade=downsample (super-resolution) or data/degrade=mask (inpainting)."
            )
        inputs = datamodule.channels + datamodule.degrade.extra_channels
        # The nets declare their channels (ResnetGenerator, UnetGenerator, PatchDiscriminator).
        expected = {
            "model.generator.in_channels": (self.generator.in_channels, inputs),
            "model.generator.out_channels": (self.generator.out_channels, datamodule.channels),
            "model.discriminator.channels": (
                self.discriminator.channels,
                inputs + datamodule.channels,
            ),
        }
        for key, (got, want) in expected.items():
            if got != want:
                raise ConfigError(
                    f"{key}={got}, but the data needs {want} (data.channels="
                    f"{datamodule.channels}, data.degrade adds "
                    f"{datamodule.degrade.extra_channels}): leave it to the model's config."
                )

    # -- restoration ---------------------------------------------------------------------

    @torch.no_grad()
    def restore(self, degraded: torch.Tensor) -> torch.Tensor:
        """G(x) in eval mode: dropout off and BatchNorm on its running statistics (the paper
        keeps both as in training at test time, as its source of noise; ganlab restores
        deterministically, so evaluations repeat exactly)."""
        return run_in_eval_mode(self.generator, degraded.to(self.device))

    @torch.no_grad()
    def preview(self, n: int, seed: int, datamodule) -> tuple[torch.Tensor, int]:
        """Rows of degraded | restored | clean for the test split's first ``n`` pairs (fixed
        degradations: ``ImageDataModule.pairs``), so successive grids are comparable."""
        if self._preview_batch is None:
            pairs = datamodule.pairs("test")
            items = pairs.__getitems__(list(range(min(n, len(pairs)))))
            self._preview_batch = (
                torch.stack([x for x, _ in items]),
                torch.stack([y for _, y in items]),
            )
        degraded, clean = (t.to(self.device) for t in self._preview_batch)
        restored = self.restore(degraded)
        shown = degraded[:, : clean.shape[1]]  # a mask's extra channel is not an image
        rows = torch.stack([shown, restored, clean], dim=1)  # n x 3 x C x H x W
        return rows.flatten(0, 1).float().cpu(), 3

    # -- optimization --------------------------------------------------------------------

    def configure_optimizers(self):
        return [
            self.make_optimizer(self.g_optimizer, self.generator.parameters()),
            self.make_optimizer(self.d_optimizer, self.discriminator.parameters()),
        ]

    def g_objective(
        self, fake: torch.Tensor, restored: torch.Tensor, clean: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """G's loss on the fake pairs ``fake`` (input beside ``restored``) and its terms to
        log. With ``adv_weight=0`` D is not asked at all: G learns from the L1 alone."""
        l1 = F.l1_loss(restored, clean)
        loss, values = self.l1_weight * l1, {"l1": l1.detach()}
        if self.adv_weight > 0:
            adversarial = self.generator_loss(self.discriminator, fake)
            loss = loss + self.adv_weight * adversarial
            values["g_adv"] = adversarial.detach()
        return loss, values

    def training_step(self, batch: Any, batch_idx: int) -> None:
        degraded, clean = (self.speed.images(t) for t in batch[:2])
        opt_g, opt_d = self.optimizers()
        g_turn = self.g_turn()
        with torch.set_grad_enabled(g_turn):  # keep G's graph only when G updates next
            restored = self.generator(degraded)
        real = torch.cat([degraded, clean], 1)
        fake = torch.cat([degraded, restored], 1)
        logs = self.discriminator_update(
            opt_d, self.discriminator, real, fake, weight=self.d_loss_weight
        )
        if logs is None:
            return
        if g_turn:
            self.toggle_optimizer(opt_g)  # D's parameters need no gradients here
            loss, values = self.g_objective(fake, restored, clean)
            g = self.optimize("g", opt_g, loss, self.grad_clip_g, prefixed(values))
            self.untoggle_optimizer(opt_g)
            if g.taken:
                self.g_steps += 1
                logs.update(g.logs)
        self.log_train(logs)
