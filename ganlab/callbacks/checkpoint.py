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
