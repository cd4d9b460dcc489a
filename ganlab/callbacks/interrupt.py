"""Save a checkpoint when a run is stopped by a signal, so it can be resumed."""

from __future__ import annotations

import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

# SIGINT arrives as KeyboardInterrupt; SIGTERM (and a scheduler's pre-emption, which SLURM
# sends as SIGTERM) as Lightning's SIGTERMException, raised between batches on every rank.
INTERRUPTS = (KeyboardInterrupt, SIGTERMException)


def interrupted_by(exception: BaseException) -> str | None:
    """ "SIGINT" or "SIGTERM" when ``exception`` is how Lightning reports that signal."""
    if isinstance(exception, KeyboardInterrupt):
        return "SIGINT"
    if isinstance(exception, SIGTERMException):
        return "SIGTERM"
    return None


class CheckpointOnInterrupt(L.Callback):
    """On SIGINT or SIGTERM, write ``last.ckpt`` (where the ModelCheckpoint callback keeps it)
    before the process ends; ``ckpt_path=<that file>`` resumes the run. Lightning's writer is
    atomic, so a second signal during the save cannot leave a torn file."""

    def __init__(self) -> None:
        self.saved: Path | None = None

    def path(self, trainer) -> Path | None:
        checkpointer = trainer.checkpoint_callback
        if checkpointer is None or not checkpointer.dirpath:
            return None
        return Path(checkpointer.dirpath) / "last.ckpt"

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # One process: save at the batch end, where ModelCheckpoint saves too. Lightning
        # raises SIGTERMException a little later in its loop, and a checkpoint taken there
        # restores badly after an epoch's last batch (Lightning then skips the next epoch's
        # batches). Under DDP only the signalled rank knows yet, and a save needs every rank:
        # it waits for the exception, which reaches all of them.
        signalled = getattr(trainer, "received_sigterm", False) and trainer.world_size == 1
        if signalled and (path := self.path(trainer)) is not None:
            trainer.save_checkpoint(path)
            self.saved = path

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        path = self.path(trainer)
        if interrupted_by(exception) is None or path is None:
            return
        if self.saved is None:
            self.saved = path
            trainer.save_checkpoint(path)
        if trainer.is_global_zero:
            print(
                f"ganlab: stopped by {interrupted_by(exception)} at iteration "
                f"{pl_module.g_steps}; saved {self.saved}. Resume with ckpt_path={self.saved}",
                file=sys.stderr,
                flush=True,
            )
