"""GPU options, each alone against a plain fp32 baseline, and the defaults together:
ganlab-train's images/s on a GPU with in-memory data (see benchmarks/train_step.py).

    python -m benchmarks.gpu_options [--sizes 64] [--batches 64 256] [--reps 3]

Each option is an override of ganlab-train's command line, so what is measured is what a
user sets. Repetitions are interleaved (each variant in turn, then again), and each gives
the images/s over the iterations after ``warmup`` (compilation and cuDNN's autotuning
are left out; the first repetition of a compiled variant also pays its compile time, which
is reported separately).
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.common import machine, spread, write_results
from benchmarks.train_step import run_ganlab

# Everything off: fp32, no autotuning, NCHW, eager, foreach Adam.
BASELINE = [
    "trainer.precision=32-true", "trainer.benchmark=false", "speed.channels_last=false",
    "speed.compile=false", "speed.fused_optimizers=false",
]  # fmt: skip
VARIANTS = {
    "fp32 baseline": [],
    "bf16-mixed": ["trainer.precision=bf16-mixed"],
    "16-mixed": ["trainer.precision=16-mixed"],
    "cudnn benchmark": ["trainer.benchmark=true"],
    "channels_last": ["speed.channels_last=true"],
    "compile": ["speed.compile=true"],
    "fused Adam": ["speed.fused_optimizers=true"],
}
# What a user gets: trainer=gpu with the speed defaults of ganlab/conf/train.yaml.
DEFAULTS = "trainer=gpu (defaults)"


def overrides_of(name: str) -> list[str]:
    return ["trainer=gpu"] if name == DEFAULTS else [*BASELINE, *VARIANTS[name]]


def runs(result: dict) -> list[tuple[str, list[dict]]]:
    """(run letter, rows) of each run: results merged from several runs (gpu_options.json
    holds three) have ``runs``; one run of ``main`` has ``rows``."""
    if "runs" in result:
        return [(chr(ord("A") + i), run["rows"]) for i, run in enumerate(result["runs"])]
    return [("", result["rows"])]


def speed(rate: dict) -> str:
    return f"{rate['median']:.0f} ({rate['min']:.0f} to {rate['max']:.0f})"


def ratio(up: dict | None) -> str:
    return f"{up['median']:.2f}x ({up['min']:.2f} to {up['max']:.2f})" if up else ""


def table(result: dict) -> str:
    """Every row of every run, as in benchmarks/results/gpu_options.md."""
    lines = [
        (
            "| run | batch | variant | img/s (median, range) | vs fp32 baseline (per repetition) "
            "| first run s |"
        ),
        "| --- " * 6 + "|",
    ]
    for run, rows in runs(result):
        for r in rows:
            lines.append(
                f"| {run} | {r['batch']} | {r['variant']} | {speed(r['img_per_s'])} "
                f"| {ratio(r.get('speedup'))} | {r['first_run_s']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def readme_table(result: dict) -> str:
    """The README's view: each option alone at the largest batch measured (from the first
    run that has it), then every row of the ``trainer=gpu`` defaults, their gain in bold
    (benchmarks/readme.py)."""
    every = [r for _, rows in runs(result) for r in rows]
    largest = max(r["batch"] for r in every)
    alone: dict[str, dict] = {}
    for r in every:
        if r["variant"] in VARIANTS and r["batch"] == largest:
            alone.setdefault(r["variant"], r)
    defaults = sorted(
        (r for r in every if r["variant"].startswith("trainer=gpu")), key=lambda r: -r["batch"]
    )
    lines = [
        "| batch | variant | img/s (median, range) | vs fp32 (median, range) |",
        "| --- | --- | --- | --- |",
    ]
    for r in [*alone.values(), *defaults]:
        up = r["speedup"]
        gain = f"{up['median']:.2f}x"
        if r in defaults:
            gain = f"**{gain}**"
        lines.append(
            f"| {r['batch']} | {r['variant']} | {speed(r['img_per_s'])} "
            f"| {gain} ({up['min']:.2f} to {up['max']:.2f}) |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=[*VARIANTS, DEFAULTS])
    parser.add_argument("--extra", nargs="*", default=[], help="overrides for every variant")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    rows = []
    for size in args.sizes:
        for batch in args.batches:
            rates = {name: [] for name in args.variants}
            first = {}
            for rep in range(args.reps):
                for name in args.variants:
                    start = time.perf_counter()
                    rate = run_ganlab(size, batch, args.iters, args.warmup, "cuda",
                                      [*overrides_of(name), *args.extra])  # fmt: skip
                    first.setdefault(name, time.perf_counter() - start)
                    rates[name].append(rate)
                    print(f"DCGAN-{size} batch {batch} rep {rep} {name}: {rate:.0f} img/s",
                          flush=True)  # fmt: skip
            base = rates.get("fp32 baseline")
            for name, values in rates.items():
                row = {"model": f"DCGAN-{size}", "batch": batch, "variant": name,
                       "overrides": overrides_of(name), "img_per_s": spread(values),
                       "first_run_s": first[name]}  # fmt: skip
                if base:
                    row["speedup"] = spread([v / b for v, b in zip(values, base)])
                rows.append(row)
    result = {"machine": machine(), "settings": vars(args), "rows": rows}
    paths = write_results("gpu_options", result, table(result))
    print(table(result))
    print("written:", ", ".join(map(str, paths)))
    return result


if __name__ == "__main__":
    main()
