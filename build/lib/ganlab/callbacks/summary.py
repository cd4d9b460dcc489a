"""``summary.json``: what a run did, in one small file that sweeps and reports read."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from datetime import datetime, timezone
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


# A running run rewrites its heartbeat every HEARTBEAT_S seconds, from a thread of its own
# (an Inception evaluation can hold the training loop for half an hour on a CPU). A heartbeat
# older than STALE_AFTER_S means its process stopped without a word (kill -9, a node lost).
HEARTBEAT_S = 60
STALE_AFTER_S = 600


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def stale_reason(summary: dict, now: datetime | None = None) -> str | None:
    """Why a summary that says ``running`` cannot be true (its process is gone, on this host,
    or its heartbeat stopped ``STALE_AFTER_S`` ago), or None: not running, or alive."""
    if summary.get("status") != "running":
        return None
    pid, host = summary.get("pid"), summary.get("host")
    if isinstance(pid, int) and host == socket.gethostname() and not process_alive(pid):
        return f"its process ({pid} on {host}) is gone"
    try:
        beat = datetime.fromisoformat(summary["heartbeat"])
    except (KeyError, TypeError, ValueError):
        return None  # written before heartbeats existed: nothing to tell
    age = ((now or datetime.now(timezone.utc)) - beat).total_seconds()
    if age > STALE_AFTER_S:
        return f"its last heartbeat was {age / 60:.0f} min ago ({summary['heartbeat']})"
    return None


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
        self._status: str | None = None  # the status last written
        self._lock = threading.Lock()  # the heartbeat thread and the training loop both write
        self._stop_beats = threading.Event()
        self._beats: threading.Thread | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()
        self._batches = 0
        self._t0 = None
        self.write(trainer, pl_module, "running")
        if trainer.is_global_zero:
            self._stop_beats.clear()
            self._beats = threading.Thread(target=self._beat, daemon=True, name="heartbeat")
            self._beats.start()

    def _beat(self) -> None:
        """Refresh summary.json's heartbeat (only that) until the run ends."""
        while not self._stop_beats.wait(HEARTBEAT_S):
            with self._lock:
                summary = load_summary(self.run_dir)
                if summary is None or summary.get("status") != "running":
                    return
                write_summary(self.run_dir, {**summary, "heartbeat": now_iso()})

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        # The counters a killed run reached are those of its last checkpoint. (Not the save
        # made after a stop: its status, interrupted or diverged, is already written.)
        if self._status == "running":
            self.write(trainer, pl_module, "running")

    def teardown(self, trainer, pl_module, stage: str) -> None:
        self._stop_beats.set()

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
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "heartbeat": now_iso(),
            "train_images_per_s": round(rate, 2),
            "final": {**_scalars(trainer.callback_metrics), **evaluated(trainer, "latest")},
            "best": evaluated(trainer, "best"),
        }
        if message:
            out["message"] = message
        return {**out, **extra}

    def write(self, trainer, pl_module, status: str, message: str | None = None, **extra) -> None:
        if trainer.is_global_zero:
            summary = self.summary(trainer, pl_module, status, message, **extra)
            self._status = status
            if status != "running":
                self._stop_beats.set()
            with self._lock:
                write_summary(self.run_dir, summary)
