"""What every ganlab LightningModule shares: counters, guarded updates, logging, checks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from ganlab.augment import Augment, NoAugment
from ganlab.checkpoint_io import trainer_last_checkpoint
from ganlab.compat import BatchNormBase, found_nonfinite, log_metrics_now, logs_due
from ganlab.data.base import ImageDataModule
from ganlab.errors import ConfigError, DivergedError
from ganlab.losses.base import AdversarialLoss
from ganlab.models.clock import Clock
from ganlab.models.speed import Speed
from ganlab.regularizers import NoRegularizer, Regularizer

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def grads_of(opt) -> list[torch.Tensor]:
    """The gradients an optimizer is about to apply (its parameters' that have one). Read
    from its param groups, not from the nets' ``parameters()``, whose module walk cost as much
    as the norm itself at DCGAN sizes."""
    return [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]


def all_finite(grads: list[torch.Tensor]) -> bool:
    """Whether the gradients are all finite, at one fused check per device and dtype and one
    host sync (ganlab.compat.found_nonfinite). The total norm (``get_total_norm``) answers
    too, at several times the host time (its grouping and per-tensor checks, then two more
    ops), so ganlab takes the norm only on the batches it logs (``AdversarialModule.optimize``)."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for grad in grads:
        groups.setdefault((grad.device, grad.dtype), []).append(grad)
    flags = []
    for (device, _), group in groups.items():
        if device.type in ("cpu", "cuda"):
            found = found_nonfinite(group, device)
        else:  # a device without the fused check
            found = ~torch.isfinite(torch.nn.utils.get_total_norm(group))
        flags.append(found)
    return not any(bool(found) for found in flags)


def prefixed(values: dict) -> dict:
    """Training values under their logged names: ``d_real`` -> ``train/d_real``."""
    return {f"train/{name}": value for name, value in values.items()}


@torch.no_grad()
def run_in_eval_mode(net: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """``net(*inputs)`` in eval mode (dropout off, BatchNorm on running statistics), without
    gradients; the net's mode is restored afterwards, so training resumes unchanged."""
    was_training = net.training
    net.eval()
    try:
        return net(*inputs)
    finally:
        net.train(was_training)


def check_critic(discriminator: nn.Module, loss: AdversarialLoss, key: str) -> None:
    """Refuse BatchNorm in a critic whose loss has a per-sample gradient penalty."""
    has_bn = any(isinstance(m, BatchNormBase) for m in discriminator.modules())
    if has_bn and not loss.allows_batchnorm_critic:
        raise ConfigError(
            f"{type(loss).__name__} computes a per-sample gradient penalty, which BatchNorm "
            f"in the discriminator makes wrong. Use a per-sample normalisation, e.g. "
            f"{key}.norm=layer (or instance/none)."
        )


def check_augment(loss: AdversarialLoss, augment: Augment) -> None:
    """Refuse an adaptive augmentation (ADA) with a loss whose D outputs have no sign."""
    if augment.adaptive and loss.real_threshold is None:
        raise ConfigError(
            f"{type(augment).__name__} (augment=ada) adapts its probability to r_t = "
            f"E[sign(D(real))], but "
            f"{type(loss).__name__}'s critic outputs have no fixed offset, so their sign means "
            "nothing. Use it with loss=js, ls or hinge, or use augment=diffaug."
        )


@dataclass(frozen=True)
class Update:
    """What ``AdversarialModule.optimize`` did: the step was ``taken`` (and ``logs`` are its
    values to log), or it was skipped for a non-finite gradient (``Update.SKIPPED``)."""

    taken: bool
    logs: dict = field(default_factory=dict)


Update.SKIPPED = Update(False)


class GenerativeModule(L.LightningModule, ABC):
    """What every ganlab model shares: manual optimization through ``optimize`` (the finite
    check, clipping, AMP's scaler), the counters every callback reads, and the logging.

    ``g_steps`` (iterations, what ``max_iters`` counts), ``d_steps`` (batches) and
    ``images_seen`` (all ranks together) are plain ints, saved in checkpoints by
    ``on_save_checkpoint``; tensors would force a device sync each time they are compared.
    ``clock`` converts them to Lightning's steps (models/clock.py). An adversarial model
    (``AdversarialModule``) adds the losses of its discriminators; a VAE is one of these
    with one optimizer, one update per batch.
    """

    # The training values shown on the progress bar as well as logged.
    progress_keys: tuple[str, ...] = ()

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.clock = clock
        self.g_steps = self.d_steps = self.images_seen = 0
        # Updates with a non-finite gradient that may be skipped before the run stops as
        # diverged (ganlab-train sets it from the top-level max_nonfinite_skips).
        self.max_nonfinite_skips = 0
        self.nonfinite_skips = 0
        # The latest training values as floats: those last written to the loggers, or the last
        # batch's (see log_train).
        self.train_values: dict[str, float] = {}
        # Memory layout, compilation, fused optimizers (ganlab-train sets it from `speed`).
        self.speed = Speed()
        self._speed_applied = False

    @property
    def max_iters(self) -> int | None:
        """The run's length in iterations: the trainer's ``max_steps`` converted (None when
        unbounded or not training)."""
        trainer = self._trainer
        return None if trainer is None else self.clock.iterations(trainer.max_steps)

    def finished(self) -> bool:
        """Whether the run's ``max_iters`` iterations are done (from its last batch's end)."""
        max_iters = self.max_iters
        return max_iters is not None and self.g_steps >= max_iters

    def in_last_iteration(self) -> bool:
        """Whether the batch being trained belongs to the run's last iteration."""
        max_iters = self.max_iters
        return max_iters is not None and self.g_steps + 1 >= max_iters

    @property
    @abstractmethod
    def nets(self) -> dict[str, nn.Module]:
        """The trained nets by attribute name (each model says which it has)."""

    # Whether the model learns from (degraded, clean) pairs (``data/degrade``: Pix2Pix).
    learns_from_pairs: ClassVar[bool] = False

    def check_data(self, datamodule) -> None:
        """Refuse data this model cannot train on, before any of it is loaded (ganlab-train
        calls it). Here: pairs for a model of images alone, whose batches would then start
        with the degraded inputs; a model that takes any image data keeps this."""
        paired = isinstance(datamodule, ImageDataModule) and datamodule.paired
        if paired and not self.learns_from_pairs:
            raise ConfigError(
                f"{type(self).__name__} learns from images alone, but "
                f"data.degrade ({datamodule.degrade.key()}) makes (degraded, clean) pairs: "
                "use data/degrade=none, or a restoration model (model=pix2pix)."
            )

    @abstractmethod
    def preview(self, n: int, seed: int, datamodule) -> tuple[torch.Tensor, int | None]:
        """The sample grid's images for ``n`` and a fixed ``seed`` (the same every time),
        and its row length (None: square). ``datamodule`` is the run's data, for models
        that show real images beside their output."""

    def eager_nets(self) -> list[str]:
        """The names in ``nets`` that ``speed.compile`` leaves eager (none by default)."""
        return []

    def configure_model(self) -> None:
        """Apply ``speed`` once, before Lightning moves the module to its device and wraps
        it for DDP; the nets in ``eager_nets`` stay eager."""
        if self._speed_applied:
            return
        eager = self.eager_nets()
        device = self.trainer.strategy.root_device if self._trainer is not None else self.device
        self.speed.prepare(self, self.nets, eager, device.type)
        self._speed_applied = True

    def make_optimizer(self, factory: OptimizerFactory, params) -> torch.optim.Optimizer:
        """The configured optimizer for ``params``, fused where ``speed`` says so."""
        return self.speed.optimizer(factory, params)

    def optimize(
        self, which: str, opt, loss: torch.Tensor, clip: float | None, logs: dict
    ) -> Update:
        """One update of ``which`` ("d" or "g") on ``loss``, all of its mechanics here:
        zero_grad, backward, the finite check, clipping, step.

        Returns what happened (``Update``): taken, with ``logs`` plus ``train/<which>_loss``,
        ``train/lr_<which>`` and, on the batches log_train records, ``train/grad_norm_<which>``
        (the norm before clipping); or skipped, when the gradient is not finite
        (``nonfinite`` decides between skipping and stopping the run).

        In every model a skipped update ends its batch: the updates made before it in the
        batch stand and are logged, those after it are not made (a GAN's D comes first, so a
        skipped D drops the batch and a skipped G keeps D's step; CycleGAN's G comes first,
        as in its reference implementation, so there it is the other way round).
        """
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        # fp16 (trainer.precision=16-mixed): the gradients are still multiplied by the
        # gradient scaler's scale here; Lightning divides it out inside opt.step().
        scaler = self.grad_scaler()
        scale = scaler.get_scale() if scaler is not None else None

        # The finite check: one device sync per update, the price of stopping before a bad
        # step spoils the weights. Under DDP it comes after the gradients' all-reduce, so
        # every rank sees the same answer and they all stop (or skip) together.
        grads = grads_of(opt)
        norm = None
        if clip is not None or self._recording():
            norm = torch.nn.utils.get_total_norm(grads) if grads else loss.new_zeros(())
            if scale is not None:
                norm = norm / scale
            finite = bool(torch.isfinite(norm))
        else:
            finite = all_finite(grads)
        if not finite:
            if scaler is not None and torch.isfinite(loss):
                # The scaler's overflow, not a diverging run (AMP's usual first few steps):
                # lower the scale and skip the update, without opt.step(), which Lightning
                # would count as a step of max_iters.
                scaler.unscale_(opt)  # records the overflow for update()
                scaler.update()
                opt.zero_grad(set_to_none=True)
            else:
                opt.zero_grad(set_to_none=True)
                self.nonfinite({f"train/{which}_loss": loss, **logs})
            return Update.SKIPPED

        # Clipping. Under fp16, clipping the scaled gradients at clip * scale is clipping
        # the true ones at clip (Lightning's clip_gradients would clip the scaled ones at
        # clip, and refuses fused optimizers, which unscale inside their step).
        if clip is not None and scale is not None:
            params = [p for group in opt.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip * scale)
        elif clip is not None:
            self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")

        opt.step()
        taken = {**logs, f"train/{which}_loss": loss}
        if norm is not None:
            taken[f"train/grad_norm_{which}"] = norm
        taken[f"train/lr_{which}"] = opt.param_groups[0]["lr"]
        return Update(True, taken)

    # The settings that clip this model's gradients, as the divergence message names them.
    clip_keys = "model.grad_clip_d / grad_clip_g"

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """fp16's gradient scaler (trainer.precision=16-mixed), or None without one."""
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    def nonfinite(self, terms: dict) -> None:
        """Skip this update if skips are left, else save the weights (still those of the
        last good step: none was taken) as last.ckpt and stop with DivergedError."""
        bad = [
            name.removeprefix("train/")
            for name, value in terms.items()
            if torch.is_tensor(value) and not torch.isfinite(value).all()
        ]
        what = ", ".join(bad) if bad else "gradient (the loss itself is finite)"
        iteration = self.g_steps + 1
        if self.nonfinite_skips < self.max_nonfinite_skips:
            self.nonfinite_skips += 1
            rank_zero_warn(
                f"iteration {iteration}: non-finite {what}; update skipped "
                f"({self.nonfinite_skips} of max_nonfinite_skips={self.max_nonfinite_skips})."
            )
            return
        saved = ""
        if (path := trainer_last_checkpoint(self.trainer)) is not None:
            self.trainer.save_checkpoint(path, weights_only=False)
            saved = f" The weights before it are in {path}."
        raise DivergedError(
            f"training diverged at iteration {iteration}: non-finite {what}.{saved} Lower the "
            f"learning rates, clip gradients ({self.clip_keys}), or set "
            "max_nonfinite_skips=N to skip up to N such updates."
        )

    def log_train(self, logs: dict) -> None:
        """Write the batch's values to the loggers (metrics.csv, ...) on the batches Lightning
        writes (``trainer.log_every_n_steps``) and on the run's last batch, however short the
        run; ``train_values`` (floats) and ``trainer.callback_metrics`` keep them for the
        progress bar and summary.json's final values.

        Not through ``self.log``: its bookkeeping (a deep copy of each value's metadata) was
        a measurable share of a small DCGAN's step (README, "Benchmarks": "Training values
        are not logged with self.log"). Here the values cross to the host in one copy,
        then go the way ``self.log``'s do: Lightning's logger connector, with the same step
        (its batch counter) and ``epoch`` column.
        """
        due = self._logs_due() or self.finished()  # the run's last batch is always written
        if not due:
            return
        values = dict(logs)
        tensors = {k: v for k, v in logs.items() if torch.is_tensor(v)}
        if tensors:
            stacked = torch.stack([v.detach().float().reshape(()) for v in tensors.values()])
            values.update(zip(tensors, stacked.tolist(), strict=True))
        self.train_values = values
        # As self.log's would be: in callback_metrics (a ModelCheckpoint or EarlyStopping
        # can monitor them, summary.json reads them), as tensors.
        as_tensors = torch.tensor(list(values.values()), dtype=torch.float64).unbind()
        self.trainer.callback_metrics.update(zip(values, as_tensors, strict=True))
        log_metrics_now(self.trainer, values)

    def _logs_due(self) -> bool:
        """Whether Lightning writes this batch's logs (``log_every_n_steps``, or stopping)."""
        return logs_due(self.trainer)

    def _recording(self) -> bool:
        """Whether log_train will keep this batch's values: a batch Lightning writes, or
        one of the last iteration's (the run's last batch is kept, see log_train)."""
        return self._logs_due() or self.in_last_iteration()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganlab_counters"] = {
            "g_steps": self.g_steps,
            "d_steps": self.d_steps,
            "images_seen": self.images_seen,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        for name, value in checkpoint.get("ganlab_counters", {}).items():
            setattr(self, name, value)


class AdversarialModule(GenerativeModule):
    """A model trained against discriminators: ``n_critic`` D updates, then the generators'.

    What every model's discriminators see goes through ``critic_loss`` and
    ``generator_loss``: the loss, the regulariser (``reg``) and the augmentation
    (``augment``) apply the same way to a GAN's D, CycleGAN's two and a VAE-GAN's.
    """

    progress_keys = ("train/d_loss", "train/g_loss")

    def __init__(
        self,
        n_critic: int = 1,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ) -> None:
        if n_critic < 1:
            raise ConfigError(f"model.n_critic must be >= 1, got {n_critic}")
        super().__init__(Clock(n_critic))  # iterations <-> Lightning steps (models/clock.py)
        self.n_critic = n_critic
        self.reg = reg if reg is not None else NoRegularizer()
        # A module: ADA's probability p is a buffer, saved in checkpoints with the weights.
        self.augment = augment if augment is not None else NoAugment()

    @property
    def critics(self) -> list[str]:
        """The names in ``nets`` of the discriminators."""
        return [name for name in self.nets if name.startswith("discriminator")]

    def eager_nets(self) -> list[str]:
        """A loss or regulariser with a gradient penalty keeps the critics eager."""
        double_backward = self.loss.double_backward or self.reg.double_backward
        return self.critics if double_backward else []

    def critic_loss(
        self, critic, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's objective on real and (detached) fake images, and its values to log:
        ``d_real``, ``d_fake`` (mean outputs), the loss's terms, the regulariser's on the
        steps it is due, and ``r_t`` = E[sign(D(real))] (relative to the loss's threshold).

        Everything here sees the images through one augmentation draw, so real, fake and
        the penalties' images (interpolates, R1's reals) are transformed alike; ``critic``
        is D as a function of the images alone (a conditional model binds the labels).
        """
        seen = self.augment.draw(real)

        def judge(images: torch.Tensor) -> torch.Tensor:
            return critic(seen(images))

        d_real, d_fake = judge(real), judge(fake)
        loss, terms = self.loss.d_loss(judge, real, fake, d_real, d_fake)
        values = {"d_real": d_real.mean(), "d_fake": d_fake.mean(), **terms}
        if self.reg.due(self.d_steps):
            penalty, reg_terms = self.reg.penalty(judge, real)
            loss = loss + penalty
            values.update(reg_terms)
        threshold = self.loss.real_threshold
        if threshold is not None:
            # Near 1: D calls (almost) every training image real with confidence, the sign
            # that it memorises them (README, "Small data"). Stays on the device.
            r_t = torch.sign(d_real.detach().float() - threshold).mean()
            values["r_t"] = r_t
            self.augment.observe(r_t, real.shape[0])  # this process's: ADA sums over ranks
        return loss, values

    def discriminator_update(
        self, opt_d, critic, real: torch.Tensor, fake: torch.Tensor, weight: float = 1.0
    ) -> dict | None:
        """One update of ``self.discriminator``: ``weight`` times ``critic_loss`` of ``real``
        against ``fake`` (detached: it does not reach G), then the loss's constraint (WGAN's
        clipping) and the counters. Returns the values to log, or None when ``optimize``
        skipped it (the batch then ends)."""
        loss, values = self.critic_loss(critic, real, fake.detach())
        if weight != 1.0:
            loss = weight * loss
        d = self.optimize("d", opt_d, loss, self.grad_clip_d, prefixed(values))
        if not d.taken:
            return None
        self.loss.constrain(self.discriminator)  # e.g. WGAN's weight clipping
        self.d_steps += 1
        self.images_seen += real.shape[0] * self.trainer.world_size  # all ranks together
        return {**d.logs, **prefixed(self.augment.logs())}

    def generator_loss(self, critic, fake: torch.Tensor) -> torch.Tensor:
        """G's adversarial loss: D's verdict on ``fake`` through a fresh augmentation draw
        (differentiable, so the gradient reaches G through it)."""
        return self.loss.g_loss(critic(self.augment.draw(fake)(fake)))

    def g_turn(self) -> bool:
        """Whether the batch about to be trained ends with a G update."""
        return (self.d_steps + 1) % self.n_critic == 0
