"""ganlab-report: one table and one plot for all the jobs of a ``ganlab-train -m`` sweep.

Jobs whose overrides differ only in ``seed`` form one config; the table gives each config's
mean and spread over seeds, and lists the jobs that failed, diverged or were interrupted.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganlab.cli.common import CONF_DIR, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides
from ganlab.cli.report_jobs import Job, by_config, find_jobs, resolve_metric, status_counts
from ganlab.cli.report_plot import plot_metric
from ganlab.errors import ConfigError

# Completed and interrupted runs have results worth averaging: an interrupted run stopped
# cleanly and its evaluations stand.
MEASURED = ("completed", "interrupted")
# Logged beside the metrics, but not measures of quality.
NOT_METRICS = re.compile(r"eval_seconds|(^|/)(kid|is)_std")  # spreads, shown as ± anyway


def choose_metrics(jobs: list[Job], wanted, which: str) -> list[str]:
    """The table's metrics: those asked for, or every val/ metric the jobs' ``which`` has."""
    if which not in ("best", "final"):
        raise ConfigError(f"value must be best or final, got {which!r}.")
    # best also holds "g_steps" and "monitor": metric names have a slash.
    available = sorted({m for job in jobs for m in job.summary.get(which) or {} if "/" in m})
    if not wanted:
        return [m for m in available if m.startswith("val/") and not NOT_METRICS.search(m)]
    hint = " (value=final also has the train/ metrics)" if which == "best" else ""
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    return [resolve_metric(str(m), available, f"in its {which} values{hint}") for m in wanted]


def spread(values: list[float]) -> tuple[float | None, float | None, int]:
    """(mean, sample standard deviation (n-1), n); None where n is too small."""
    n = len(values)
    return (
        statistics.fmean(values) if n else None,
        statistics.stdev(values) if n > 1 else None,
        n,
    )


def summarize(jobs: list[Job], metrics: list[str], which: str) -> list[dict]:
    """One row per config: its jobs, their statuses and each metric's spread over seeds."""
    rows = []
    for config, group in by_config(jobs).items():
        row = {"config": config, "jobs": len(group), "status": status_counts(group)}
        for metric in metrics:
            values = [job.value(metric, which) for job in group if job.status in MEASURED]
            row[metric] = spread([v for v in values if v is not None and math.isfinite(v)])
        rows.append(row)
    return rows


def fmt(x: float) -> str:
    """Four significant digits, without an exponent for everyday magnitudes."""
    if x == 0 or not 1e-3 <= abs(x) < 1e6:
        return f"{x:.3e}" if x else "0"
    return f"{x:.{max(0, 3 - math.floor(math.log10(abs(x))))}f}"


def cell(mean: float | None, std: float | None, n: int, jobs: int) -> str:
    """``"11.00 ± 1.414"``; the count when some of the config's jobs have no value."""
    if n == 0:
        return "n/a"
    text = fmt(mean) if std is None else f"{fmt(mean)} ± {fmt(std)}"
    return text if n == jobs else f"{text} (n={n})"


def md_table(header: list[str], rows: list[list]) -> str:
    """A markdown table; a ``|`` or a line break inside a cell would end it early."""

    def line(cells) -> str:
        return (
            "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def config_table(rows: list[dict], metrics: list[str]) -> str:
    """The report's table: one row per config, one column per metric."""
    body = [
        [r["config"], r["jobs"], r["status"], *(cell(*r[m], r["jobs"]) for m in metrics)]
        for r in rows
    ]
    return md_table(["config", "jobs", "status", *metrics], body)


def incomplete_section(jobs: list[Job], root: Path) -> str:
    """Every job that did not complete, with what its summary.json says happened."""
    left = [job for job in jobs if job.status != "completed"]
    if not left:
        return f"## Jobs that did not complete\n\nNone: all {len(jobs)} jobs completed."
    rows = [
        [
            job.dir.relative_to(root),
            job.config,
            job.seed,
            job.status,
            job.message,
        ]
        for job in left
    ]
    header = ["job", "config", "seed", "status", "message"]
    return "## Jobs that did not complete\n\n" + md_table(header, rows)


def markdown(root: Path, jobs: list[Job], table: str, which: str, png: Path | None) -> str:
    """report.md: what was averaged and how, the table, the failures, the plot."""
    what = "each run's best evaluation" if which == "best" else "each run's last values"
    intro = (
        f"`{root.resolve()}`: {len(jobs)} jobs, {len(by_config(jobs))} configs. Each cell: "
        f"mean ± standard deviation (n-1) over seeds of {what}, over the completed and "
        "interrupted jobs; (n=k) when only k of the config's jobs have the value."
    )
    parts = [f"# Sweep report: {root.name}", intro, table, incomplete_section(jobs, root)]
    if png is not None:
        parts.append(f"![{png.stem}]({png.name})")
    return "\n\n".join(parts) + "\n"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """``rows`` under ``header``; None is an empty cell."""
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def write_tables(out: Path, root: Path, jobs, rows, metrics, which) -> list[Path]:
    """report.csv (one row per config) and jobs.csv (one row per job), full precision."""
    header = ["config", "jobs", "status"]
    header += [f"{m}_{part}" for m in metrics for part in ("mean", "std", "n")]
    body = [
        [r["config"], r["jobs"], r["status"], *(v for m in metrics for v in r[m])] for r in rows
    ]
    per_job = [
        [job.dir.relative_to(root), job.config, job.seed, job.status, job.summary.get("g_steps")]
        + [job.value(m, which) for m in metrics]
        + [job.message]
        for job in jobs
    ]
    job_header = ["job", "config", "seed", "status", "iterations", *metrics, "message"]
    return [
        write_csv(out / "report.csv", header, body),
        write_csv(out / "jobs.csv", job_header, per_job),
    ]


def report(cfg: DictConfig) -> list[Path]:
    """Write the tables and the plot for the sweep ``cfg.dir``; returns the files written."""
    root = Path(str(cfg.dir)).expanduser()
    jobs = find_jobs(root)
    metrics = choose_metrics(jobs, cfg.columns, cfg.value)
    rows = summarize(jobs, metrics, cfg.value)
    out = Path(str(cfg.out)).expanduser() if cfg.out else root
    out.mkdir(parents=True, exist_ok=True)
    png = plot_metric(by_config(jobs), cfg.plot, metrics, cfg.smooth, out)
    table = config_table(rows, metrics)
    (out / "report.md").write_text(markdown(root, jobs, table, cfg.value, png))
    print(table)
    if not metrics:  # e.g. a sweep trained without the evaluation callback
        print(
            f"(no val/ metric in the jobs' {cfg.value} values: trained without evaluation? "
            "`columns=[g_loss,d_loss] value=final` shows the last training losses)"
        )
    if any(job.status != "completed" for job in jobs):
        print("\n" + incomplete_section(jobs, root))
    written = [out / "report.md", *write_tables(out, root, jobs, rows, metrics, cfg.value)]
    return written + ([png] if png else [])


def positional_dir(args: list[str]) -> list[str]:
    """``DIR ...`` -> ``dir=DIR ...``: Hydra takes overrides only, the issue's usage a path."""
    if not args or args[0].startswith("-") or "=" in args[0]:
        return args
    path = args[0]
    if not re.fullmatch(r"[\w./:~+-]+", path):  # spaces and such: quoted for Hydra's parser
        path = "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return [f"dir={path}", *args[1:]]


@checks_overrides("report")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="report")
@reports_user_errors
def run(cfg: DictConfig) -> None:
    require_values(cfg)
    written = report(cfg)
    print("\nganlab-report: wrote " + ", ".join(str(p) for p in written))


def main() -> None:
    """``ganlab-report DIR [overrides]`` or ``ganlab-report dir=DIR [overrides]``."""
    sys.argv[1:] = positional_dir(sys.argv[1:])
    run()


if __name__ == "__main__":
    main()
