"""CycleGAN (Zhu et al. 2017): unpaired translation between image domains A and B.

Names follow the direction of translation, not the reference code's letters:
``generator_ab`` maps A to B, ``discriminator_b`` judges B images (real b against G_AB(a)).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.augment import Augment
from ganlab.data.unpaired import DIRECTIONS, UnpairedDataModule
from ganlab.errors import ConfigError
from ganlab.losses.base import AdversarialLoss
from ganlab.models.base import (
    AdversarialModule,
    OptimizerFactory,
    Update,
    check_augment,
    check_critic,
    prefixed,
    run_in_eval_mode,
)
from ganlab.models.capabilities import ImageTranslator
from ganlab.models.image_pool import ImagePool
from ganlab.regularizers import Regularizer

INTERVALS = ("iteration", "epoch")


class LinearDecay:
    """Learning-rate factor: 1 for ``constant`` periods, then linearly down to 0 over ``decay``
    periods (the paper: 100 epochs constant, 100 decaying). A class, not a lambda, so LambdaLR
    saves it in checkpoints."""

    def __init__(self, constant: int, decay: int):
        self.constant, self.decay = constant, decay

    def __call__(self, t: int) -> float:
        if self.decay <= 0:
            return 1.0
        return max(0.0, 1.0 - max(0, t - self.constant) / self.decay)


class CycleGAN(AdversarialModule, ImageTranslator):
    """Two generators and two discriminators; the adversarial loss comes from the loss group.

    One iteration: a G update of both generators (adversarial + cycle + identity losses),
    preceded by ``n_critic`` D updates of both discriminators on history-pool fakes (the D
    update of the G batch follows the G update, as in the reference implementation).
    """

    def __init__(
        self,
        generator_ab: nn.Module,
        generator_ba: nn.Module,
        discriminator_a: nn.Module,
        discriminator_b: nn.Module,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        n_critic: int = 1,
        lambda_a: float = 10.0,
        lambda_b: float = 10.0,
        lambda_identity: float = 0.5,
        d_loss_weight: float = 0.5,
        pool_size: int = 50,
        lr_schedule: dict | None = None,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ):
        super().__init__(n_critic, reg, augment)
        check_critic(discriminator_a, loss, "model.discriminator_a")
        check_critic(discriminator_b, loss, "model.discriminator_b")
        check_augment(loss, self.augment)
        if pool_size < 0:
            raise ConfigError(f"model.pool_size must be >= 0 (0: no pool), got {pool_size}")
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.loss = loss
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.lambda_a, self.lambda_b = lambda_a, lambda_b
        self.lambda_identity, self.d_loss_weight = lambda_identity, d_loss_weight
        self.grad_clip_g, self.grad_clip_d = grad_clip_g, grad_clip_d
        # Fakes of A (G_BA(b)) for D_A, fakes of B for D_B.
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)
        schedule = {"interval": "iteration", "constant": None, "decay": None}
        schedule.update(lr_schedule or {})
        if schedule["interval"] not in INTERVALS:
            raise ConfigError(
                f"model.lr_schedule.interval must be one of {', '.join(INTERVALS)}, got "
                f"{schedule['interval']!r}"
            )
        self.lr_schedule = schedule
        self._preview_batch: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {
            "generator_ab": self.generator_ab,
            "generator_ba": self.generator_ba,
            "discriminator_a": self.discriminator_a,
            "discriminator_b": self.discriminator_b,
        }

    def setup(self, stage: str) -> None:
        if self._trainer is not None:
            self.check_data(self._trainer.datamodule)

    def check_data(self, datamodule) -> None:
        """Refuse data of one domain (before any of it is loaded: ganlab-train calls this)."""
        if datamodule is not None and not isinstance(datamodule, UnpairedDataModule):
            raise ConfigError(
                f"model=cyclegan translates between two image domains, but "
                f"{type(datamodule).__name__} has one. Use unpaired data: "
                "data=unpaired_folder data.root=DIR (DIR/trainA, DIR/trainB, ...), "
                "data=celeba_unpaired, or the offline demo experiment=cyclegan_mnist."
            )

    # -- translation ---------------------------------------------------------------------

    def generator(self, direction: str) -> nn.Module:
        if direction not in DIRECTIONS:
            raise ConfigError(
                f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
            )
        return self.generator_ab if direction == "a2b" else self.generator_ba

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Images in [-1, 1] translated A->B ("a2b") or B->A ("b2a"), the generator in eval
        mode (dropout off; the reference's instance norm keeps no running statistics, so
        eval mode changes nothing else)."""
        return run_in_eval_mode(self.generator(direction), images.to(self.device))

    @torch.no_grad()
    def preview(self, n: int, seed: int, datamodule) -> tuple[torch.Tensor, int]:
        """The grid's images: for the first ``n`` test pairs, a row of real A | G_AB(a) |
        G_BA(G_AB(a)) | real B | G_BA(b) | G_AB(G_BA(b)). Fixed real images (the test split's
        first pairs, never shuffled), so grids of successive iterations are comparable."""
        if self._preview_batch is None:
            dataset = datamodule.get_dataset("test")
            pairs = [dataset[i] for i in range(min(n, len(dataset)))]
            self._preview_batch = (
                torch.stack([a for a, _ in pairs]),
                torch.stack([b for _, b in pairs]),
            )
        a, b = (x.to(self.device) for x in self._preview_batch)
        fake_b = self.translate(a, "a2b")
        fake_a = self.translate(b, "b2a")
        rec_a, rec_b = self.translate(fake_b, "b2a"), self.translate(fake_a, "a2b")
        rows = torch.stack([a, fake_b, rec_a, b, fake_a, rec_b], dim=1)  # n x 6 x C x H x W
        return rows.flatten(0, 1).float().cpu(), 6

    # -- optimization --------------------------------------------------------------------

    def configure_optimizers(self):
        gens = itertools.chain(self.generator_ab.parameters(), self.generator_ba.parameters())
        discs = itertools.chain(
            self.discriminator_a.parameters(), self.discriminator_b.parameters()
        )
        opts = [
            self.make_optimizer(self.g_optimizer, gens),
            self.make_optimizer(self.d_optimizer, discs),
        ]
        factor = LinearDecay(*self._schedule_lengths())
        scheds = [torch.optim.lr_scheduler.LambdaLR(opt, factor) for opt in opts]
        return opts, scheds

    def _schedule_lengths(self) -> tuple[int, int]:
        """(constant, decay) periods; unset ones split the run in halves, as the paper does."""
        constant, decay = self.lr_schedule["constant"], self.lr_schedule["decay"]
        if constant is not None and decay is not None:
            return int(constant), int(decay)
        trainer = self._trainer
        if self.lr_schedule["interval"] == "iteration":
            total = self.max_iters
        else:
            epochs = trainer.max_epochs if trainer is not None else None
            total = epochs if epochs is not None and epochs > 0 else None
        if total is None:
            raise ConfigError(
                "model.lr_schedule needs the run's length to place the decay: set max_iters "
                "(or trainer.max_epochs with model.lr_schedule.interval=epoch), or set "
                "model.lr_schedule.constant and model.lr_schedule.decay."
            )
        constant = total // 2 if constant is None else int(constant)
        decay = max(0, total - constant) if decay is None else int(decay)
        return constant, decay

    def _step_schedulers(self) -> None:
        scheds = self.lr_schedulers()
        for sched in scheds if isinstance(scheds, list) else [scheds]:
            sched.step()

    def on_train_epoch_end(self) -> None:
        if self.lr_schedule["interval"] == "epoch":
            self._step_schedulers()

    def _d_update(self, opt_d, a, b, fake_a, fake_b) -> Update:
        logs, total = {}, 0.0
        for name, critic, real, pool, fake in (
            ("a", self.discriminator_a, a, self.pool_a, fake_a),
            ("b", self.discriminator_b, b, self.pool_b, fake_b),
        ):
            loss, values = self.critic_loss(critic, real, pool.query(fake.detach()))
            total = total + self.d_loss_weight * loss
            logs[f"train/d_loss_{name}"] = loss
            logs.update({f"train/{term}_{name}": value for term, value in values.items()})
        d = self.optimize("d", opt_d, total, self.grad_clip_d, logs)
        if d.taken:
            self.loss.constrain(self.discriminator_a)
            self.loss.constrain(self.discriminator_b)
            d.logs.update(prefixed(self.augment.logs()))
        return d

    def _g_update(self, opt_g, a, b, fake_a, fake_b) -> Update:
        # D's parameters need no gradients for G's update: toggling skips that work.
        self.toggle_optimizer(opt_g)
        adv_ab = self.generator_loss(self.discriminator_b, fake_b)
        adv_ba = self.generator_loss(self.discriminator_a, fake_a)
        cycle_a = F.l1_loss(self.generator_ba(fake_b), a)
        cycle_b = F.l1_loss(self.generator_ab(fake_a), b)
        total = adv_ab + adv_ba + self.lambda_a * cycle_a + self.lambda_b * cycle_b
        logs = {
            "train/g_adv_a2b": adv_ab,
            "train/g_adv_b2a": adv_ba,
            "train/cycle_a": cycle_a,
            "train/cycle_b": cycle_b,
        }
        # Identity: G_AB should leave a B image alone (keeps colours in photo->painting).
        # Only defined when both domains have the same number of channels.
        if self.lambda_identity > 0 and a.shape[1] == b.shape[1]:
            idt_b = F.l1_loss(self.generator_ab(b), b)
            idt_a = F.l1_loss(self.generator_ba(a), a)
            total = total + self.lambda_identity * (self.lambda_b * idt_b + self.lambda_a * idt_a)
            logs.update({"train/identity_a": idt_a, "train/identity_b": idt_b})
        g = self.optimize("g", opt_g, total, self.grad_clip_g, logs)
        self.untoggle_optimizer(opt_g)
        return g

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One batch: on every ``n_critic``-th, G's update first (as the reference
        implementation orders them: D then sees the fakes of the pools), then both D's
        (``optimize`` holds the update mechanics and what a skip does)."""
        a, b = map(self.speed.images, batch)
        opt_g, opt_d = self.optimizers()
        g_turn = self.g_turn()
        with torch.set_grad_enabled(g_turn):  # keep G's graph only when G updates next
            fake_b, fake_a = self.generator_ab(a), self.generator_ba(b)
        logs = {}
        if g_turn:
            g = self._g_update(opt_g, a, b, fake_a, fake_b)
            if not g.taken:
                return
            logs.update(g.logs)
            self.g_steps += 1
        d = self._d_update(opt_d, a, b, fake_a, fake_b)
        if d.taken:
            logs.update(d.logs)
            self.d_steps += 1
            if g_turn and self.lr_schedule["interval"] == "iteration":
                self._step_schedulers()  # after both optimizers' steps of the iteration
            self.images_seen += (a.shape[0] + b.shape[0]) * self.trainer.world_size
        self.log_train(logs)

    # -- checkpoints ---------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["ganlab_pools"] = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        pools = checkpoint.get("ganlab_pools", {})
        for name, pool in (("a", self.pool_a), ("b", self.pool_b)):
            if name in pools:
                pool.load_state_dict(pools[name], self.device)
