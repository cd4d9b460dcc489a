"""``summary.json``: what a run did, in one small file that sweeps and reports read."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import lightning as L

from ganlab.callbacks.evaluation import Evaluation
from ganlab.callbacks.interrupt import interrupted_by
from ganlab.errors import DivergedError


def write_summary(run_dir: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``run_dir/summary.json`` atomically (a reader never sees half a file)."""
    path = Path(run_dir) / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def load_summary(run_dir: str | Path) -> dict | None:
    """``run_dir/summary.json``, or None when there is none or it is not a JSON object
    (edited by hand, or damaged on disk: ganlab itself writes it whole)."""
    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def _scalars(metrics: dict) -> dict[str, float]:
    out = {}
    for name, value in metrics.items():
        value = float(value)
        out[name] = value if math.isfinite(value) else str(value)  # JSON has no NaN/inf
    return out


def evaluated(trainer, which: str) -> dict:
    """The latest or best results of the run's Evaluation callback, if it has one."""
    for callback in trainer.callbacks:
        if isinstance(callback, Evaluation) and getattr(callback, which):
            values = getattr(callback, which)
            return {
                k: v if isinstance(v, (str, int)) else _scalars({k: v})[k]
                for k, v in values.items()
            }
    return {}


class RunSummary(L.Callback):
    """Records status, step counts, wall time, steady-state throughput and final metrics.

    Throughput leaves out the first ``warmup_batches`` batches (allocator, cuDNN autotuning,
    data-loader start), so it measures the steady state a long run would see.
    """

    def __init__(
        self, run_dir: str | Path, info: dict[str, Any] | None = None, warmup_batches: int = 20
    ):
        self.run_dir, self.info, self.warmup_batches = (
            Path(run_dir),
            dict(info or {}),
            warmup_batches,
        )
        self._start = self._t0 = None
        self._images0 = 0
        self._batches = 0

    def on_fit_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()
        self._batches = 0
        self._t0 = None
        self.write(trainer, pl_module, "running")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._batches += 1
        if self._batches == self.warmup_batches:
            self._t0, self._images0 = time.perf_counter(), pl_module.images_seen

    def on_train_end(self, trainer, pl_module) -> None:
        self.write(trainer, pl_module, "interrupted" if trainer.interrupted else "completed")

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        signal_name = interrupted_by(exception, trainer)
        if signal_name is not None:
            status = "interrupted"
            message = f"stopped by {signal_name} at iteration {pl_module.g_steps}"
            extra = {"signal": signal_name}  # ganlab-train exits with the shell's code for it
        else:
            status = "diverged" if isinstance(exception, DivergedError) else "failed"
            message = f"{type(exception).__name__}: {exception}"
            extra = {}
        self.write(trainer, pl_module, status, message=message, **extra)

    def summary(self, trainer, pl_module, status: str, message: str | None = None, **extra) -> dict:
        now = time.perf_counter()
        wall = now - self._start if self._start is not None else 0.0
        if self._t0 is not None and now > self._t0:
            rate = (pl_module.images_seen - self._images0) / (now - self._t0)
        else:  # too short to have a steady state: the whole run's rate
            rate = pl_module.images_seen / wall if wall > 0 else 0.0
        out = {
            **self.info,
            "status": status,
            "g_steps": pl_module.g_steps,
            "d_steps": pl_module.d_steps,
            "images_seen": pl_module.images_seen,
            "wall_time_s": round(wall, 3),
            "train_images_per_s": round(rate, 2),
            "final": {**_scalars(trainer.callback_metrics), **evaluated(trainer, "latest")},
            "best": evaluated(trainer, "best"),
        }
        if message:
            out["message"] = message
        return {**out, **extra}

    def write(self, trainer, pl_module, status: str, message: str | None = None, **extra) -> None:
        if trainer.is_global_zero:
            write_summary(self.run_dir, self.summary(trainer, pl_module, status, message, **extra))
