"""Checkpoints written beside their destination, then renamed over it.

Lightning 2.6 saves through fsspec's transaction, which stages the whole file in the system
temp folder ($TMPDIR: on clusters often small, or a RAM disk) and then moves it into place.
Across file systems that move is a copy, so a disk that fills up mid-copy leaves the
destination truncated: the previous best.ckpt or last.ckpt is destroyed, not kept (Lightning
issue #21253; the fix, PR #21744, is not released). Lightning has no setting for this, so
this plugin writes the file in the checkpoint's own folder, syncs it and renames it over the
old one with ``os.replace``, which is atomic within one file system: a save that fails or is
interrupted leaves the old checkpoint as it was. Remote paths (s3://...) keep Lightning's way.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import torch
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

# ModelCheckpoint(save_last=True)'s file: "last.ckpt".
LAST_NAME = f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}"


def run_last_checkpoint(run_dir: str | Path) -> Path:
    """A run directory's last.ckpt (ganlab/conf/callbacks/default.yaml keeps it in checkpoints/)."""
    return Path(run_dir) / "checkpoints" / LAST_NAME


def trainer_last_checkpoint(trainer) -> Path | None:
    """Where the trainer's ModelCheckpoint keeps last.ckpt; None without a checkpoint folder."""
    checkpointer = trainer.checkpoint_callback
    if checkpointer is None or not checkpointer.dirpath:
        return None
    return Path(checkpointer.dirpath) / LAST_NAME


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        fs, local_path = url_to_fs(str(path))
        if storage_options is not None or not isinstance(fs, LocalFileSystem):
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(local_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Hidden and per process, so that nothing reads it as a checkpoint or writes it twice.
        part = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            with open(part, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())  # on disk before it replaces the old one
            os.replace(part, path)
        except BaseException as exc:
            part.unlink(missing_ok=True)
            # torch.save reports a full disk as a RuntimeError from its zip writer, with the
            # OSError only as its context and no file name: name the checkpoint.
            cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
            if isinstance(cause, OSError) and cause.filename is None:
                raise OSError(cause.errno, cause.strerror, str(path)) from exc
            raise
        with contextlib.suppress(OSError):  # tidying up must never fail a save
            remove_stale_parts(path)
        return None


def remove_stale_parts(path: Path) -> None:
    """Delete what saves of ``path`` by processes killed mid-write (SIGKILL, the OOM killer,
    a node lost) left behind: a run has one writer, so another live pid's part is not ours
    to touch, and a dead one's is garbage as large as a checkpoint."""
    for part in path.parent.glob(f".{path.name}.*.part"):
        pid = part.name[len(path.name) + 2 : -len(".part")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
