"""The jobs of a sweep as ganlab-report reads them: summary.json, overrides, metrics.csv."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from ganlab.callbacks.summary import load_summary, stale_reason
from ganlab.errors import ConfigError

# Counted and listed in this order.
STATUSES = ("completed", "interrupted", "running", "stale", "diverged", "failed")
SWEEP_HINT = "give the folder of a `ganlab-train -m` sweep (its hydra.sweep.dir)"


@dataclass
class Job:
    """One job of the sweep: its folder, its summary.json and its command-line overrides."""

    dir: Path
    summary: dict
    overrides: dict[str, str]
    config: str = "all"

    @property
    def status(self) -> str:
        """summary.json's status; ``stale`` for a run it calls running that is gone."""
        if stale_reason(self.summary) is not None:
            return "stale"
        return self.summary.get("status", "unknown")

    @property
    def message(self) -> str:
        if (reason := stale_reason(self.summary)) is not None:
            return f"summary.json says running, but {reason}; resume=auto continues it"
        return self.summary.get("message", "")

    @property
    def seed(self):
        return self.summary.get("seed", self.overrides.get("seed"))

    def value(self, metric: str, which: str) -> float | None:
        """The job's ``best`` or ``final`` value of ``metric``; None if it has none."""
        try:  # non-finite values are stored as "nan"/"inf" (JSON has no NaN)
            return float((self.summary.get(which) or {})[metric])
        except (KeyError, TypeError, ValueError):
            return None


def read_overrides(run_dir: Path, summary: dict) -> dict[str, str]:
    """``{"loss": "ls", "seed": "0", ...}`` from Hydra's record of the job's command line."""
    path = run_dir / ".hydra" / "overrides.yaml"
    try:
        items = OmegaConf.load(path) if path.is_file() else None
    except Exception:  # noqa: BLE001 (damaged: YAML's or OmegaConf's error, whichever)
        items = None
    if not OmegaConf.is_list(items):  # copied without .hydra/, or damaged: what summary keeps
        keys = ("model", "loss", "data", "trainer", "seed")
        return {key: str(summary[key]) for key in keys if key in summary}
    pairs = (str(item).partition("=") for item in items)
    # `+key=v` adds what `key=v` sets: one key, however a job's command line spelled it.
    return {key.lstrip("+"): value for key, _, value in pairs}


def find_jobs(root: Path) -> list[Job]:
    """Every folder under ``root`` with a summary.json, in job-number order, labelled."""
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory: {SWEEP_HINT}.")
    found = []
    for here, dirs, files in os.walk(root):
        if "summary.json" in files:
            found.append(Path(here))
            dirs.clear()  # a job's checkpoints/ and samples/ hold no jobs: skip their files
    if not found:
        raise ConfigError(f"no summary.json under {root}: {SWEEP_HINT}, with one folder per job.")

    def number_order(path: Path) -> tuple:  # 2 before 10
        parts = path.relative_to(root).parts
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)

    jobs = []
    for path in sorted(found, key=number_order):
        summary = load_summary(path)
        if summary is None:  # listed with the jobs that did not complete, and why
            summary = {"status": "unknown", "message": "its summary.json is not valid JSON"}
        jobs.append(Job(path, summary, read_overrides(path, summary)))
    label_configs(jobs)
    return jobs


def label_configs(jobs: list[Job]) -> None:
    """Name each job's config by the overrides that differ across the sweep, seed aside."""
    keys = dict.fromkeys(key for job in jobs for key in job.overrides)
    varying = [k for k in keys if k != "seed" and len({j.overrides.get(k) for j in jobs}) > 1]
    for job in jobs:
        label = " ".join(f"{k}={job.overrides[k]}" for k in varying if k in job.overrides)
        job.config = label or ("defaults" if varying else "all")


def by_config(jobs: list[Job]) -> dict[str, list[Job]]:
    """The jobs of each config, configs in the order the sweep ran them."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.config, []).append(job)
    return groups


def status_counts(jobs: list[Job], skip: tuple[str, ...] = ()) -> str:
    """e.g. ``"1 completed, 1 diverged"``."""
    found = [job.status for job in jobs]
    order = [*STATUSES, *sorted(set(found) - set(STATUSES))]
    return ", ".join(f"{found.count(s)} {s}" for s in order if s in found and s not in skip)


def resolve_metric(name: str, available, where: str) -> str:
    """``name`` as a logged metric; ``fid_x`` may stand for ``val/fid_x`` (or ``train/...``)."""
    candidates = [name] if "/" in name else [f"val/{name}", f"train/{name}"]
    for candidate in candidates:
        if candidate in available:
            return candidate
    names = ", ".join(sorted(available)) or "none"
    raise ConfigError(f"no job has {name} {where}; available: {names}.")


def columns(job: Job) -> list[str]:
    """The metrics in the job's metrics.csv (none if it failed before training)."""
    path = job.dir / "metrics.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    return [name for name in header if name not in ("epoch", "step")]


def read_series(job: Job, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The job's finite values of ``metric`` in metrics.csv, against iterations."""
    path = job.dir / "metrics.csv"
    g_steps, d_steps = job.summary.get("g_steps") or 0, job.summary.get("d_steps") or 0
    values: dict[float, float] = {}
    last = repeat = None
    if path.is_file() and d_steps:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if not row.get(metric):  # rows are sparse: an evaluation row has no train/ cells
                    continue
                # `step` counts batches; n_critic of them (D updates) make one iteration.
                iteration = (int(float(row["step"])) + 1) * g_steps / d_steps
                value = float(row[metric])
                # Lightning logs a training scalar again at every batch until it is given a new
                # value: G's scalars repeat on the D-only batches. One value, at its first batch.
                if value == last and not metric.startswith("val/"):
                    repeat = (iteration, value)
                    continue
                values[iteration] = last = value  # re-logged after a resume: the last stands
                repeat = None
    if repeat is not None:  # a constant (a learning rate): its line still reaches the end
        values[repeat[0]] = repeat[1]
    x = np.array(sorted(values), dtype=float)
    y = np.array([values[i] for i in x], dtype=float)
    finite = np.isfinite(y)  # a diverged run's last losses: its curve ends before them
    return x[finite], y[finite]
