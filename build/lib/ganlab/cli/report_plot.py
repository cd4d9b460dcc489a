"""ganlab-report's plot: a metric against iterations, one line per config, a band over seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Figure without pyplot: the Agg canvas, no display and no global backend to set.
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ganlab.cli.report_jobs import Job, columns, read_series, resolve_metric, status_counts


def rolling_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the ``window - 1`` before it (fewer at the start)."""
    if window <= 1 or len(y) == 0:
        return y
    total = np.concatenate([[0.0], np.cumsum(y)])
    end = np.arange(1, len(y) + 1)
    start = np.maximum(end - window, 0)
    return (total[end] - total[start]) / (end - start)


@dataclass
class Curve:
    """One config's line: the mean over seeds at each iteration, and its band."""

    label: str
    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray  # the band: the lowest and highest seed at each iteration
    high: np.ndarray
    seeds: int  # jobs with values
    stops: list[tuple[float, float]] = field(default_factory=list)  # where diverged runs ended


def config_curve(label: str, jobs: list[Job], metric: str, window: int) -> Curve:
    """Seeds interpolated onto the union of their iterations, each only within its own range
    (a diverged seed leaves the mean where it stopped)."""
    series = [(job, *read_series(job, metric)) for job in jobs]
    series = [(job, x, rolling_mean(y, window)) for job, x, y in series if len(x)]
    if not series:
        empty = np.array([])
        return Curve(label, empty, empty, empty, empty, 0)
    grid = np.unique(np.concatenate([x for _, x, _ in series]))
    stacked = np.full((len(series), len(grid)), np.nan)
    for row, (_, x, y) in zip(stacked, series, strict=True):
        inside = (grid >= x[0]) & (grid <= x[-1])
        row[inside] = np.interp(grid[inside], x, y)
    # Every grid point lies in some seed's range: no all-NaN column.
    stops = [(x[-1], y[-1]) for job, x, y in series if job.status == "diverged"]
    return Curve(
        label,
        grid,
        np.nanmean(stacked, axis=0),
        np.nanmin(stacked, axis=0),
        np.nanmax(stacked, axis=0),
        len(series),
        stops,
    )


def default_window(metric: str, groups: dict[str, list[Job]]) -> int:
    """1 for evaluations (few, exact); about 5% of the longest run for noisy train/ scalars."""
    if metric.startswith("val/"):
        return 1
    longest = max(len(read_series(job, metric)[0]) for jobs in groups.values() for job in jobs)
    return max(1, round(longest / 20))


def curves(groups: dict[str, list[Job]], metric: str, window: int | None = None) -> list[Curve]:
    """Each config's curve of ``metric`` (``window``: rolling mean; None: the default)."""
    window = default_window(metric, groups) if window is None else int(window)
    return [config_curve(label, jobs, metric, window) for label, jobs in groups.items()]


def legend_label(curve: Curve, jobs: list[Job]) -> str:
    """The config, plus the jobs that did not complete: ``loss=ls (1 diverged)``."""
    notes = [status_counts(jobs, skip=("completed",))]
    if curve.seeds == 0:  # still in the legend: a config is never silently missing
        notes.append("nothing logged")
    notes = [note for note in notes if note]
    return f"{curve.label} ({'; '.join(notes)})" if notes else curve.label


def draw(curves_: list[Curve], labels: list[str], metric: str, window: int, path: Path) -> None:
    """The PNG: lines, bands over seeds, an x where a diverged run stopped."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    for i, (curve, label) in enumerate(zip(curves_, labels, strict=True)):
        color = f"C{i % 10}"
        marker = "o" if len(curve.x) <= 30 else None  # a few evaluations: show each one
        ax.plot(curve.x, curve.mean, color=color, marker=marker, markersize=3, label=label)
        if curve.seeds > 1:
            ax.fill_between(curve.x, curve.low, curve.high, color=color, alpha=0.2, lw=0)
        for x, y in curve.stops:
            ax.plot(x, y, "x", color=color, markersize=10, mew=2)
    if any(curve.stops for curve in curves_):
        ax.plot([], [], "x", color="black", mew=2, label="a diverged run's last value")
    title = f"{metric}: mean over seeds, band from lowest to highest seed"
    if window > 1:
        title += f"\n(rolling mean over {window} logged values)"
    ax.set(title=title, xlabel="iteration", ylabel=metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # not 12.5
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=120)


def plot_metric(
    groups: dict[str, list[Job]], wanted: str | None, table: list[str], smooth, out: Path
) -> Path | None:
    """``out/report_<metric>.png``: ``wanted``, or by default the metric best.ckpt was chosen
    on, else the table's first, else G's loss; None if no job logged any of them."""
    available = {m for jobs in groups.values() for job in jobs for m in columns(job)}
    if wanted:
        metric = resolve_metric(str(wanted), available, "in its metrics.csv")
    else:
        monitors = [
            job.summary.get("best", {}).get("monitor") for j in groups.values() for job in j
        ]
        names = [*(f"val/{m}" for m in monitors if m), *table, "train/g_loss"]
        metric = next((m for m in names if m in available), None)
        if metric is None:
            return None
    window = default_window(metric, groups) if smooth is None else int(smooth)
    found = curves(groups, metric, window)
    labels = [legend_label(c, jobs) for c, jobs in zip(found, groups.values(), strict=True)]
    path = out / f"report_{metric.replace('/', '_')}.png"
    draw(found, labels, metric, window, path)
    return path
