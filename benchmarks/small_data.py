"""Small data at full speed: ganlab-train's images/s on 100 images against all of MNIST, at
the same size, nets and batch, with and without ``data.repeat`` (several passes an epoch).

    python -m benchmarks.small_data [--iters 300] [--warmup 30] [--reps 3] [--mnist-root DIR]

Rows: MNIST in memory (60,000 images: 937 batches an epoch); its first 100 digits
(``data.limit=100``) with one pass an epoch (one batch of 64 an epoch, as before
``data.repeat``) and with ``data.repeat=auto`` (100 batches an epoch); and the same 100
digits as PNG files in a folder read by 2 loader workers (``data=folder``), one pass and
auto. Each repetition runs every row in turn; images/s is taken over the iterations after
``warmup``, everything included (the epoch boundaries too).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch
from PIL import Image

from benchmarks.common import STAMPS, machine, spread, window_rate, write_results
from benchmarks.train_step import ganlab_cfg
from ganlab.data import MNISTDataModule

BATCH = 64


def write_pngs(root: str, folder: Path, n: int = 100) -> Path:
    """The first ``n`` MNIST training digits as PNG files."""
    mnist = MNISTDataModule(root)
    mnist.prepare_data()
    images = mnist.get_dataset("train").images[:n, 0]
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image.numpy()).save(folder / f"{i:03d}.png")
    return folder


def rows(mnist_root: str, folder: Path) -> dict[str, list[str]]:
    mnist = ["data=mnist", f"data.root={mnist_root}"]
    pngs = ["data=folder", f"data.root={folder}", "data.image_size=28", "data.channels=1",
            "data.num_workers=2"]  # fmt: skip
    return {
        "MNIST, 60,000 images": mnist,
        "100 digits, 1 pass an epoch": [*mnist, "data.limit=100", "data.repeat=1"],
        "100 digits, repeat=auto": [*mnist, "data.limit=100"],
        "100 PNG files, 2 workers, 1 pass an epoch": [*pngs, "data.repeat=1"],
        "100 PNG files, 2 workers, repeat=auto": pngs,
    }


def run(overrides: list[str], iters: int, warmup: int) -> float:
    from ganlab.cli.train import train

    STAMPS.clear()
    overrides = ["~callbacks.progress_bar", *overrides]
    with tempfile.TemporaryDirectory() as out:
        summary = train(ganlab_cfg(28, BATCH, iters, warmup, "cpu", out, overrides, False))
    assert summary["status"] == "completed", summary
    return window_rate(STAMPS, BATCH)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--mnist-root", default=os.environ.get("GANLAB_DATA_DIR", "data"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_pngs(args.mnist_root, Path(tmp) / "digits")
        cases = rows(args.mnist_root, folder)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for rep in range(args.reps):
            for name, overrides in cases.items():
                rates[name].append(run(overrides, args.iters, args.warmup))
                print(f"rep {rep + 1}/{args.reps} {name}: {rates[name][-1]:.1f} img/s", flush=True)
    full = spread(rates["MNIST, 60,000 images"])["median"]
    result = {
        "machine": machine(),
        "settings": {
            "model": "dcgan",
            "image_size": 28,
            "batch": BATCH,
            "iters": args.iters,
            "warmup": args.warmup,
            "reps": args.reps,
        },
        "images_per_s": {name: spread(values) for name, values in rates.items()},
    }
    lines = ["| data | images/s (median) | range | vs MNIST |", "| --- | --- | --- | --- |"]
    for name, values in rates.items():
        s = spread(values)
        lines.append(
            f"| {name} | {s['median']:.1f} | {s['min']:.1f}-{s['max']:.1f} | "
            f"{100 * (s['median'] / full - 1):+.1f}% |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    write_results("small_data", result, table)
    return result


if __name__ == "__main__":
    main()
