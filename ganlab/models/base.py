"""What every ganlab LightningModule shares: counters, guarded updates, logging, checks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from ganlab.augment import Augment, NoAugment
from ganlab.checkpoint_io import trainer_last_checkpoint
from ganlab.compat import BatchNormBase, found_nonfinite, log_metrics_now, logs_due
from ganlab.errors import ConfigError, DivergedError
from ganlab.losses.base import AdversarialLoss
from ganlab.models.speed import Speed
from ganlab.regularizers import NoRegularizer, Regularizer

OptimizerFactory = Callable[..., torch.optim.Optimizer]
# Shown on the progress bar as well as logged.
PROGRESS_BAR_KEYS = ("train/d_loss", "train/g_loss")


def grads_of(opt) -> list[torch.Tensor]:
    """The gradients an optimizer is about to apply (its parameters' that have one). Read
    from its param groups, not from the nets' ``parameters()``, whose module walk cost as much
    as the norm itself at DCGAN sizes."""
    return [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]


def all_finite(grads: list[torch.Tensor]) -> bool:
    """Whether the gradients are all finite, at one fused check per device and dtype and one
    host sync (ganlab.compat.found_nonfinite). The total norm (``get_total_norm``) answers
    too, at several times the host time (its grouping and per-tensor checks, then two more
    ops), so ganlab takes the norm only on the batches it logs (``AdversarialModule.update``)."""
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


class AdversarialModule(L.LightningModule, ABC):
    """Manual optimization with G and D optimizers, and the counters every callback reads.

    ``g_steps`` (iterations, what ``max_iters`` counts), ``d_steps`` (batches) and
    ``images_seen`` (all ranks together) are plain ints, saved in checkpoints by
    ``on_save_checkpoint``; tensors would force a device sync each time they are compared.

    What every model's discriminators see goes through ``critic_loss`` and
    ``generator_loss``: the loss, the regulariser (``reg``) and the augmentation
    (``augment``) apply the same way to a GAN's D and to CycleGAN's two.
    """

    def __init__(
        self,
        n_critic: int = 1,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ) -> None:
        super().__init__()
        if n_critic < 1:
            raise ConfigError(f"model.n_critic must be >= 1, got {n_critic}")
        self.automatic_optimization = False
        self.n_critic = n_critic
        self.reg = reg if reg is not None else NoRegularizer()
        # A module: ADA's probability p is a buffer, saved in checkpoints with the weights.
        self.augment = augment if augment is not None else NoAugment()
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
    @abstractmethod
    def nets(self) -> dict[str, nn.Module]:
        """The trained nets by attribute name (each model says which it has)."""

    @property
    def critics(self) -> list[str]:
        """The names in ``nets`` of the discriminators."""
        return [name for name in self.nets if name.startswith("discriminator")]

    def configure_model(self) -> None:
        """Apply ``speed`` once, before Lightning moves the module to its device and wraps
        it for DDP. A loss with a gradient penalty keeps the critics eager."""
        if self._speed_applied:
            return
        double_backward = self.loss.double_backward or self.reg.double_backward
        eager = self.critics if double_backward else []
        device = self.trainer.strategy.root_device if self._trainer is not None else self.device
        self.speed.prepare(self, self.nets, eager, device.type)
        self._speed_applied = True

    def make_optimizer(self, factory: OptimizerFactory, params) -> torch.optim.Optimizer:
        """The configured optimizer for ``params``, fused where ``speed`` says so."""
        return self.speed.optimizer(factory, params)

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

    def generator_loss(self, critic, fake: torch.Tensor) -> torch.Tensor:
        """G's adversarial loss: D's verdict on ``fake`` through a fresh augmentation draw
        (differentiable, so the gradient reaches G through it)."""
        return self.loss.g_loss(critic(self.augment.draw(fake)(fake)))

    def g_turn(self) -> bool:
        """Whether the batch about to be trained ends with a G update."""
        return (self.d_steps + 1) % self.n_critic == 0

    def update(
        self,
        opt,
        loss: torch.Tensor,
        clip: float | None,
        terms: dict | None = None,
    ) -> dict[str, torch.Tensor] | None:
        """One optimizer step on ``loss``; returns the values it logs (``grad_norm``, the
        gradient norm before clipping, on the batches log_train records), or None when a
        non-finite gradient made it skip the step (see ``nonfinite``). ``terms`` name the
        loss's parts for that message."""
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        # fp16 (trainer.precision=16-mixed): the gradients are still multiplied by the
        # gradient scaler's scale here; Lightning divides it out inside opt.step().
        scaler = self.grad_scaler()
        scale = scaler.get_scale() if scaler is not None else None
        grads = grads_of(opt)
        norm = None
        if clip is not None or self._recording():
            norm = torch.nn.utils.get_total_norm(grads) if grads else loss.new_zeros(())
            if scale is not None:
                norm = norm / scale
            finite = bool(torch.isfinite(norm))
        else:
            finite = all_finite(grads)
        # One device sync per update: the price of stopping before a bad step spoils the
        # weights. Under DDP the check comes after the gradients' all-reduce, so every rank
        # sees the same answer and they all stop (or skip) together.
        if not finite:
            if scaler is not None and torch.isfinite(loss):
                # The scaler's overflow, not a diverging run (AMP's usual first few steps):
                # lower the scale and skip the update, without opt.step(), which Lightning
                # would count as a step of max_iters.
                scaler.unscale_(opt)  # records the overflow for update()
                scaler.update()
                opt.zero_grad(set_to_none=True)
                return None
            opt.zero_grad(set_to_none=True)
            self.nonfinite(terms or {"loss": loss})
            return None
        if clip is not None and scale is not None:
            # Clipping the scaled gradients at clip * scale is clipping the true ones at
            # clip. (Lightning's clip_gradients would clip the scaled ones at clip, and
            # refuses fused optimizers, which unscale inside their step.)
            params = [p for group in opt.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip * scale)
        elif clip is not None:
            self.clip_gradients(opt, gradient_clip_val=clip, gradient_clip_algorithm="norm")
        opt.step()
        return {} if norm is None else {"grad_norm": norm}

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """fp16's gradient scaler (trainer.precision=16-mixed), or None without one."""
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    def step(self, which: str, opt, loss: torch.Tensor, clip, logs: dict) -> dict | None:
        """Update the ``which`` ("d" or "g") optimizer on ``loss``; returns ``logs`` with
        ``train/<which>_loss``, ``train/lr_<which>`` and, on the batches log_train records,
        ``train/grad_norm_<which>`` added, or None when a non-finite gradient made it skip
        the update."""
        values = self.update(opt, loss, clip, {f"{which}_loss": loss, **logs})
        if values is None:
            return None
        return {
            **logs,
            f"train/{which}_loss": loss,
            **{f"train/{name}_{which}": value for name, value in values.items()},
            f"train/lr_{which}": opt.param_groups[0]["lr"],
        }

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
            "learning rates, clip gradients (model.grad_clip_d / grad_clip_g), or set "
            "max_nonfinite_skips=N to skip up to N such updates."
        )

    def log_train(self, logs: dict) -> None:
        """Write the batch's values to the loggers (metrics.csv, ...) on the batches Lightning
        writes (``trainer.log_every_n_steps``); ``train_values`` (floats) and
        ``trainer.callback_metrics`` keep them, and the last batch's, for the progress bar and
        summary.json's final values.

        Not through ``self.log``: its bookkeeping cost ~0.6 ms a value on a 2-core CPU (a
        deep copy of each value's metadata), 6% of a small DCGAN's time averaged over the
        batches (benchmarks/train_step.py). Here the values cross to the host in one copy,
        then go the way ``self.log``'s do: Lightning's logger connector, with the same step
        (its batch counter) and ``epoch`` column.
        """
        due = self._logs_due()
        if not due and not self._last_batch():
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
        if due:
            log_metrics_now(self.trainer, values)

    def _logs_due(self) -> bool:
        """Whether Lightning writes this batch's logs (``log_every_n_steps``, or stopping)."""
        return logs_due(self.trainer)

    def _recording(self) -> bool:
        """Whether log_train will keep this batch's values: a batch Lightning writes, or
        possibly the last (each optimizer steps at most once a batch)."""
        trainer = self.trainer
        steps_left = trainer.max_steps - trainer.global_step
        return self._logs_due() or (trainer.max_steps > 0 and steps_left <= len(trainer.optimizers))

    def _last_batch(self) -> bool:
        trainer = self.trainer
        return trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["ganlab_counters"] = {
            "g_steps": self.g_steps,
            "d_steps": self.d_steps,
            "images_seen": self.images_seen,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        for name, value in checkpoint.get("ganlab_counters", {}).items():
            setattr(self, name, value)
