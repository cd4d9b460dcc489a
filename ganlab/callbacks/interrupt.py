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

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        checkpointer = trainer.checkpoint_callback
        if interrupted_by(exception) is None or checkpointer is None or not checkpointer.dirpath:
            return
        self.saved = Path(checkpointer.dirpath) / "last.ckpt"
        trainer.save_checkpoint(self.saved)
        if trainer.is_global_zero:
            print(
                f"ganlab: stopped by {interrupted_by(exception)} at iteration "
                f"{pl_module.g_steps}; saved {self.saved}. Resume with ckpt_path={self.saved}",
                file=sys.stderr,
                flush=True,
            )
