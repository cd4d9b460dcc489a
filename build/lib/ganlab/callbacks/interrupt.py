"""Save a checkpoint when a run is stopped by a signal, so it can be resumed."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ganlab.checkpoint_io import trainer_last_checkpoint
from ganlab.compat import request_stop_after_batch

# SIGINT arrives as KeyboardInterrupt; SIGTERM (and a scheduler's pre-emption, which SLURM
# sends as SIGTERM) as Lightning's SIGTERMException, raised between batches on every rank.
INTERRUPTS = (KeyboardInterrupt, SIGTERMException)
SIGNAL_ATTR = "ganlab_stop_signal"


def interrupted_by(exception: BaseException, trainer=None) -> str | None:
    """ "SIGINT" or "SIGTERM" when ``exception`` is how Lightning reports that signal (a
    graceful Ctrl+C travels as Lightning's SIGTERMException too; the trainer remembers)."""
    if isinstance(exception, KeyboardInterrupt):
        return "SIGINT"
    if isinstance(exception, SIGTERMException):
        return getattr(trainer, SIGNAL_ATTR, "SIGTERM")
    return None


class CheckpointOnInterrupt(L.Callback):
    """On SIGINT or SIGTERM, write ``last.ckpt`` (where the ModelCheckpoint callback keeps it)
    before the process ends; ``ckpt_path=<that file>`` resumes the run. Checkpoints are renamed
    into place (ganlab/checkpoint_io.py), so a second signal during the save cannot leave a
    torn file.

    In one process, a first Ctrl+C finishes the current batch (so the checkpoint resumes
    exactly) and a second one stops at once. Under DDP Ctrl+C stops at once, as in Lightning:
    the ranks could not agree on the batch to stop after.
    """

    def __init__(self) -> None:
        self.saved: Path | None = None
        self._trainer = None
        self._previous_handler = None

    def on_train_start(self, trainer, pl_module) -> None:
        in_main_thread = threading.current_thread() is threading.main_thread()
        if trainer.world_size == 1 and in_main_thread:
            self._trainer = trainer
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame) -> None:
        trainer = self._trainer
        if getattr(trainer, SIGNAL_ATTR, None) == "SIGINT":  # the second Ctrl+C
            raise KeyboardInterrupt
        setattr(trainer, SIGNAL_ATTR, "SIGINT")
        request_stop_after_batch(trainer)  # Lightning's SIGTERM path, taken for Ctrl+C too
        print(
            "\nganlab: stopping after this batch (Ctrl+C again to stop now)",
            file=sys.stderr,
            flush=True,
        )

    def _restore_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore_handler()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # One process: save at the batch end, where ModelCheckpoint saves too. Lightning
        # raises SIGTERMException a little later in its loop, and a checkpoint taken there
        # restores badly after an epoch's last batch (Lightning then skips the next epoch's
        # batches). Under DDP only the signalled rank knows yet, and a save needs every rank:
        # it waits for the exception, which reaches all of them.
        signalled = getattr(trainer, "received_sigterm", False) and trainer.world_size == 1
        if signalled and (path := trainer_last_checkpoint(trainer)) is not None:
            # The whole checkpoint (optimizers, callbacks), said explicitly: left unset, Lightning
            # prints that it defaulted to it on every save.
            trainer.save_checkpoint(path, weights_only=False)
            self.saved = path

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self._restore_handler()
        path = trainer_last_checkpoint(trainer)
        name = interrupted_by(exception, trainer)
        if name is None or path is None:
            return
        if self.saved is None:
            self.saved = path
            trainer.save_checkpoint(path, weights_only=False)
        if trainer.is_global_zero:
            print(
                f"ganlab: stopped by {name} at iteration "
                f"{pl_module.g_steps}; saved {self.saved}. Resume with ckpt_path={self.saved}",
                file=sys.stderr,
                flush=True,
            )
