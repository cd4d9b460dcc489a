"""Data pipeline throughput: images/s of each datamodule alone, at the training resolution,
through the training loader with its configured workers (decoding, cropping, resizing and
scaling to [-1, 1] included), and the prepared-array path against the image-file path.

    python -m benchmarks.data_pipeline [--images 3000] [--celeba-root DIR] [--mnist-root DIR]

Without ``--celeba-root`` it writes a CelebA-format set of ``--images`` synthetic 178x218
JPEG faces (smooth colour fields with noise, about real CelebA's file size) to a temporary
folder; the folder datamodule reads the same JPEGs. MNIST is read from ``--mnist-root`` (or
``$GANLAB_DATA_DIR``) when given.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import machine, spread, write_results
from ganlab.data import CelebADataModule, FolderDataModule, MNISTDataModule
from ganlab.data.celeba import ATTRIBUTES

LANDMARKS = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"


def synthetic_celeba(root: Path, n: int) -> Path:
    """``n`` face-sized JPEGs and the five CelebA annotation files."""
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for name in names:
        coarse = Image.fromarray(rng.integers(0, 256, (10, 8, 3), dtype=np.uint8))
        face = np.asarray(coarse.resize((178, 218), Image.BICUBIC), dtype=np.int16)
        face = np.clip(face + rng.normal(0, 6, face.shape), 0, 255).astype(np.uint8)
        Image.fromarray(face).save(base / "img_align_celeba" / name, quality=90)
    count = f"{n}\n"
    attrs = "\n".join(f"{name} " + " ".join(["-1"] * 40) for name in names)
    lm = "69  109  106  113   77  142   73  152  108  154"
    files = {
        "list_attr_celeba.txt": count + " ".join(ATTRIBUTES) + "\n" + attrs,
        "identity_CelebA.txt": "\n".join(f"{name} {i % 500}" for i, name in enumerate(names)),
        "list_bbox_celeba.txt": count + "image_id x_1 y_1 width height\n"
        + "\n".join(f"{name} 95 71 226 313" for name in names),
        "list_landmarks_align_celeba.txt": count + LANDMARKS + "\n"
        + "\n".join(f"{name} {lm}" for name in names),
        "list_eval_partition.txt": "\n".join(f"{name} 0" for name in names),
    }  # fmt: skip
    for filename, text in files.items():
        (base / filename).write_text(text + "\n")
    return root


def images_per_second(datamodule, reps: int, images: int) -> dict:
    """Images/s of the training loader (shuffled, batches of 64, in [-1, 1] as the model
    gets them: a prepared array's uint8 batches are scaled as Lightning would after moving
    them to the device) over ``images`` images, passes repeated as needed, per repetition;
    the workers' start and first batch are not timed."""
    datamodule.batch_size = 64
    loader = datamodule.train_dataloader()
    next(iter(loader))  # start the (persistent) workers
    rates = []
    for _ in range(reps):
        seen, start = 0, time.perf_counter()
        while seen < images:
            for batch in loader:
                images_ = datamodule.on_after_batch_transfer(batch, 0)[0]
                seen += len(images_)
                if seen >= images:
                    break
        rates.append(seen / (time.perf_counter() - start))
    return spread(rates)


def table(result: dict) -> str:
    """The results' markdown table (also the README's: benchmarks/readme.py)."""
    lines = [
        "| data | read from | images/s (median, range) | speed-up |",
        "| --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        speedup = f"{r['speedup']:.1f}x" if "speedup" in r else ""
        lines.append(f"| {r['data']} | {r['path']} | {r['median']:.0f} ({r['min']:.0f} to "
                     f"{r['max']:.0f}) | {speedup} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--celeba-root", type=Path, default=None)
    parser.add_argument("--mnist-root", type=Path, default=os.environ.get("GANLAB_DATA_DIR"))
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        celeba = args.celeba_root or synthetic_celeba(Path(tmp) / "data", args.images)
        folder = celeba / "celeba" / "img_align_celeba"
        common = {"image_size": args.image_size, "num_workers": args.workers}
        pairs = {
            "celeba": lambda prepared: CelebADataModule(celeba, prepared=prepared, **common),
            "folder": lambda prepared: FolderDataModule(folder, prepared=prepared, **common),
        }
        for name, make in pairs.items():
            start = time.perf_counter()
            make("never").prepare_images()
            prepare_s = time.perf_counter() - start
            files = images_per_second(make("never"), args.reps, args.images)
            # The array is read so fast that a pass of a small set is over before it is
            # measurable: ten times the images (several passes).
            array = images_per_second(make("always"), args.reps, 10 * args.images)
            rows.append({"data": name, "path": "image files", **files})
            rows.append({"data": name, "path": "prepared array", **array,
                         "speedup": array["median"] / files["median"],
                         "prepare_seconds": prepare_s})  # fmt: skip
        if args.mnist_root is not None:
            mnist = MNISTDataModule(args.mnist_root, num_workers=args.workers)
            rows.append({"data": "mnist", "path": "in memory",
                         **images_per_second(mnist, args.reps, args.images)})  # fmt: skip
    size = f"{args.image_size}x{args.image_size}, {args.workers} workers, batch 64"
    result = {"machine": machine(), "settings": {**vars(args), "celeba_root": str(args.celeba_root),
              "mnist_root": str(args.mnist_root)}, "rows": rows}  # fmt: skip
    paths = write_results("data_pipeline", result, f"At {size}.\n\n" + table(result))
    print(table(result))
    print("written:", ", ".join(map(str, paths)))
    return result


if __name__ == "__main__":
    main()
