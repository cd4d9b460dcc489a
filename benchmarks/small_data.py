"""Small data at full speed: ganlab-train's images/s on 100 images against all of MNIST, at
the same size, nets and batch, with and without ``data.repeat`` (several passes an epoch).

    python -m benchmarks.small_data [--iters 150] [--warmup 30] [--reps 3] [--mnist-root DIR]

The small set is 100 face-sized JPEGs (178x218, as ``benchmarks.data_pipeline`` writes
them; the case of a user's own few photos) read by ``data=folder`` with 2 loader workers
and resized to 32x32 RGB; MNIST is resized to 32x32 in memory. Rows: MNIST (60,000
images, 937 batches an epoch); the 100 JPEGs with one pass an epoch (one batch of 64 an
epoch, as before ``data.repeat``), with ``data.repeat=auto`` (100 batches an epoch),
decoded once into memory (``data.prepared=memory``) and from their ``ganlab-prepare``
array, both with ``repeat=auto``. Each repetition runs every row in
turn; images/s is taken over the iterations after ``warmup``, everything included (the
epoch boundaries too). This machine's speed drifts between repetitions, so each row is
compared with the MNIST run of the same repetition, and the table gives the median of
those ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from benchmarks.common import STAMPS, machine, spread, window_rate, write_results
from benchmarks.data_pipeline import synthetic_celeba
from benchmarks.train_step import ganlab_cfg
from ganlab.data import FolderDataModule

BATCH, SIZE = 64, 32
MNIST = "MNIST, 60,000 images"


def write_faces(folder: Path, n: int = 100) -> Path:
    """``n`` face-sized JPEGs in a folder, and their ganlab-prepare array at 32x32."""
    images = synthetic_celeba(folder, n) / "celeba" / "img_align_celeba"
    FolderDataModule(images, image_size=SIZE, channels=3, num_workers=2).prepare_images()
    return images


def rows(mnist_root: str, faces: Path) -> dict[str, list[str]]:
    jpegs = ["data=folder", f"data.root={faces}", f"data.image_size={SIZE}",
             "data.num_workers=2", "data.prepared=never"]  # fmt: skip
    return {
        MNIST: ["data=mnist", f"data.root={mnist_root}", f"data.image_size={SIZE}"],
        "100 JPEGs, 2 workers, 1 pass an epoch": [*jpegs, "data.repeat=1"],
        "100 JPEGs, 2 workers, repeat=auto": jpegs,
        "100 JPEGs, decoded into memory (data.prepared=memory), repeat=auto": [
            *jpegs[:-1],
            "data.prepared=memory",
        ],
        "100 JPEGs, prepared (ganlab-prepare), repeat=auto": [*jpegs, "data.prepared=always"],
    }


def run(overrides: list[str], iters: int, warmup: int) -> float:
    from ganlab.cli.train import train

    STAMPS.clear()
    overrides = ["~callbacks.progress_bar", *overrides]
    with tempfile.TemporaryDirectory() as out:
        summary = train(ganlab_cfg(SIZE, BATCH, iters, warmup, "cpu", out, overrides, False))
    assert summary["status"] == "completed", summary
    return window_rate(STAMPS, BATCH)


def table(result: dict) -> str:
    """The results' markdown table (also the README's: benchmarks/readme.py)."""
    lines = [
        "| data | images/s (median) | range | vs MNIST in the same repetition (median, range) |",
        "| --- | --- | --- | --- |",
    ]
    for name, s in result["images_per_s"].items():
        r = result["ratio_to_mnist"][name]
        lines.append(
            f"| {name} | {s['median']:.1f} | {s['min']:.1f}-{s['max']:.1f} | "
            f"{100 * (r['median'] - 1):+.1f}% ({100 * (r['min'] - 1):+.1f}% to "
            f"{100 * (r['max'] - 1):+.1f}%) |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iters", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--mnist-root", default=os.environ.get("GANLAB_DATA_DIR", "data"))
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        cases = rows(args.mnist_root, write_faces(Path(tmp) / "faces"))
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for rep in range(args.reps):
            for name, overrides in cases.items():
                rates[name].append(run(overrides, args.iters, args.warmup))
                print(f"rep {rep + 1}/{args.reps} {name}: {rates[name][-1]:.1f} img/s", flush=True)
    ratios = {
        name: [r / m for r, m in zip(values, rates[MNIST], strict=True)]
        for name, values in rates.items()
    }
    result = {
        "machine": machine(),
        "settings": {"model": "dcgan", "image_size": SIZE, "batch": BATCH, "iters": args.iters,
                     "warmup": args.warmup, "reps": args.reps},
        "images_per_s": {name: spread(values) for name, values in rates.items()},
        "ratio_to_mnist": {name: spread(values) for name, values in ratios.items()},
    }  # fmt: skip
    print(table(result))
    write_results("small_data", result, table(result))
    return result


if __name__ == "__main__":
    main()
