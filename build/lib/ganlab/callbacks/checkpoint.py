"""Lightning's ModelCheckpoint with its period in iterations, the unit a ganlab user sets."""

from __future__ import annotations

from lightning.pytorch.callbacks import ModelCheckpoint

from ganlab.compat import set_checkpoint_period
from ganlab.errors import check_int


class IterationCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` saving every ``every_n_iters`` iterations: its own
    ``every_n_train_steps`` counts Lightning steps, ``n_critic + 1`` to an iteration
    (models/clock.py), so the same number meant a different period for each ``n_critic``.
    Every other argument is ModelCheckpoint's."""

    def __init__(self, every_n_iters: int | None = None, **kwargs) -> None:
        if every_n_iters is not None:
            check_int("callbacks.checkpoint.every_n_iters", every_n_iters, 1)
            # Set in steps at setup, once n_critic is known; any positive value here
            # chooses the step trigger (and not the default one per epoch).
            kwargs["every_n_train_steps"] = every_n_iters
        super().__init__(**kwargs)
        self.every_n_iters = every_n_iters

    def setup(self, trainer, pl_module, stage: str) -> None:
        if self.every_n_iters is not None:
            set_checkpoint_period(self, pl_module.clock.steps(self.every_n_iters))
        super().setup(trainer, pl_module, stage)

    # Lightning saves last.ckpt at the end of a run only if it never saved one before, and
    # then from on_train_end, where the epoch that max_steps cut short already counts as
    # completed: a run extended from there (resume=auto with a larger max_iters) would start
    # a new epoch and see other batches than a straight run. So the run's last iteration is
    # saved here, at its batch end like every periodic save, and the epoch end that only
    # means "the run is over" saves nothing.
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if pl_module.finished() and not self._should_skip_saving_checkpoint(trainer):
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not pl_module.finished():
            super().on_train_epoch_end(trainer, pl_module)
