"""Where a training run starts from: scratch, ``ckpt_path=FILE``, or ``resume=auto``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from omegaconf import DictConfig

from ganlab.callbacks.config_in_checkpoint import CONFIG_KEY
from ganlab.callbacks.summary import load_summary
from ganlab.checkpoint_io import run_last_checkpoint
from ganlab.cli.resume_guard import check_same_experiment
from ganlab.errors import CheckpointError, ConfigError
from ganlab.models.loading import read_checkpoint

RESUME_CHOICES = (None, "auto")


def resume_point(cfg: DictConfig, run_dir: Path) -> Path | None:
    """The checkpoint this run continues from, or None to start afresh.

    ``resume=auto`` takes ``<run dir>/checkpoints/last.ckpt`` when it exists. With a fixed run
    directory (``hydra.run.dir=...``, or the same ``hydra.sweep.dir`` for a sweep) the same
    command then starts a run the first time and continues it every time after, which is what
    a pre-empted cluster job re-queued with an unchanged command needs; a command whose
    settings differ from that checkpoint's is refused (cli/resume_guard.py).
    """
    resume = cfg.get("resume")
    if resume not in RESUME_CHOICES:
        raise ConfigError(f"resume must be auto or null, got {resume!r}.")
    if resume == "auto" and cfg.ckpt_path is not None:
        raise ConfigError(
            "set resume=auto (continue this run directory's last.ckpt) or ckpt_path=FILE "
            "(continue from that checkpoint), not both."
        )
    if cfg.get("init_from") is not None and cfg.ckpt_path is not None:
        raise ConfigError(
            "set ckpt_path=FILE (continue that run's whole state) or init_from=FILE (a new run "
            "from its weights), not both."
        )
    if cfg.ckpt_path is not None:
        path = Path(cfg.ckpt_path).expanduser()
        if not path.is_file():
            raise CheckpointError(f"ckpt_path={cfg.ckpt_path}: no such checkpoint file.")
        read_checkpoint(path, mmap=True)  # one clear message for a file torch cannot read
        return path
    if resume == "auto":
        path = run_last_checkpoint(run_dir)
        if path.is_file():
            check_same_experiment(read_checkpoint(path, mmap=True).get(CONFIG_KEY), cfg, path)
            return path
        print(f"ganlab: resume=auto: no {path} yet, so the run starts from the beginning.")
    return None


def finished_summary(run_dir: Path, max_iters: int | None) -> dict | None:
    """The run directory's summary if it already completed ``max_iters`` iterations."""
    summary = load_summary(run_dir) if max_iters is not None else None
    if summary is None:  # none, or unreadable: the checkpoint says where the run is
        return None
    done = summary.get("status") == "completed" and summary.get("g_steps", 0) >= max_iters
    return summary if done else None


def checkpoint_position(path: Path, checkpoint: dict | None = None) -> dict:
    """The iteration counters a ganlab checkpoint was saved at (read without building nets,
    unless ``checkpoint``, its content, was read already)."""
    if checkpoint is None:
        checkpoint = read_checkpoint(path, mmap=True)
    counters = checkpoint.get("ganlab_counters")
    if counters is None:
        raise CheckpointError(
            f"{path} is not a ganlab training checkpoint (no iteration counters)."
        )
    return counters


def trim_metrics(run_dir: Path, d_steps: int) -> int:
    """Drop the rows of ``metrics.csv`` logged after the checkpoint being resumed (batches
    the resumed run will train again), so the file reads as one uninterrupted run. Lightning's
    ``step`` there is the batch counter: rows up to ``d_steps - 1`` stay. Returns rows dropped.
    """
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return 0
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames or [], list(reader)
    keep = [row for row in rows if row.get("step") and int(row["step"]) <= d_steps - 1]
    if len(keep) < len(rows):
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(keep)
        os.replace(tmp, path)
    return len(rows) - len(keep)
