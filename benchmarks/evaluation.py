"""Evaluation cost: seconds per 1,000 generated images for generation, each feature network
and each metric, with the real images' reference features already cached.

    python -m benchmarks.evaluation [--n 1000] [--data-dir DIR] [--inception-weights FILE]

MNIST (``--data-dir`` or ``$GANLAB_DATA_DIR``; the bundled copy otherwise) and an untrained
DCGAN generator at 28x28: the cost does not depend on the weights. The MNIST classifier is
trained once into ``$GANLAB_CACHE_DIR`` if it is not there. Inception runs on ``--n-inception``
images (it is slow on a CPU): generation and features scale with the images and are given
per 1,000 too; a metric's cost does not (FID's is the square root of a 2048x2048 matrix,
precision/recall's grows with the square of n), so it is given for the images it ran on.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from benchmarks.common import machine, spread, sync, write_results
from ganlab.cli.common import CONF_DIR
from ganlab.data import MNISTDataModule
from ganlab.metrics import Evaluator
from ganlab.metrics.evaluator import build_extractors
from ganlab.metrics.extractors import ClassifierFeatures
from ganlab.nets import DCGANGenerator


def metrics():
    return {
        name: instantiate(OmegaConf.load(f"{CONF_DIR}/metrics/{name}.yaml")[name])
        for name in ("fid", "kid", "pr", "is")
    }


def features(args, cache_dir: str):
    feats = {"mnistnet": {"_target_": "ganlab.metrics.mnistnet.MNISTNetFeatures", "_partial_": True,
                          "cache_dir": cache_dir, "data_root": args.data_dir}}  # fmt: skip
    if args.inception_weights:
        feats["inception"] = {"_target_": "ganlab.metrics.InceptionFeatures", "_partial_": True,
                              "weights_path": args.inception_weights, "feature": 2048}  # fmt: skip
    return build_extractors(instantiate(feats))


def timed(device, fn, *args):
    """(fn(*args), seconds), the device synchronised before and after."""
    sync(device)
    start = time.perf_counter()
    out = fn(*args)
    sync(device)
    return out, time.perf_counter() - start


def table(result: dict) -> str:
    """The results' markdown table (also the README's: benchmarks/readme.py)."""
    lines = [
        "| step | images | seconds (median, range) | seconds per 1,000 images |",
        "| --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        per_1000 = f"{1000 * r['median'] / r['images']:.3f}" if r["per_1000"] else ""
        lines.append(
            f"| {r['step']} | {r['images']} | {r['median']:.3f} ({r['min']:.3f} to "
            f"{r['max']:.3f}) | {per_1000} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--n-inception", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--data-dir", default=os.environ.get("GANLAB_DATA_DIR", "data"))
    parser.add_argument("--inception-weights", default=os.environ.get("GANLAB_INCEPTION_WEIGHTS"))
    parser.add_argument("--cache-dir", default=os.environ.get("GANLAB_CACHE_DIR"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    device = args.device
    cache_dir = args.cache_dir or os.path.expanduser("~/.cache/ganlab")
    data = MNISTDataModule(args.data_dir)
    data.prepare_data()
    torch.manual_seed(0)
    generator = DCGANGenerator(28, 1).to(device).eval()
    extractors = features(args, cache_dir)
    rows: dict[tuple[str, int, bool], list[float]] = {}  # (step, images, linear in n)
    with tempfile.TemporaryDirectory() as refs:
        for name, ext in extractors.items():
            n = args.n_inception if name == "inception" else args.n
            per_metric = {
                k: m
                for k, m in metrics().items()
                if not m.uses_logits or isinstance(ext, ClassifierFeatures)
            }
            evaluator = Evaluator({name: ext}, per_metric, n, "train", refs, batch_size=500)
            real = evaluator.real(data, device)  # computed and cached once: not timed

            def generate(k):
                with torch.no_grad():
                    return generator(torch.randn(k, generator.nz, device=device))

            for _ in range(args.reps):
                per_1000 = {}  # seconds of each step, for n images
                _, per_1000["generation (DCGAN, 28x28)"] = timed(device, generate, n)
                fake, per_1000[f"generation + {name} features"] = timed(
                    device, evaluator.fake, generate, n, device
                )
                _, per_1000[f"{name} reference features, from the cache"] = timed(
                    device, evaluator.real, data, device
                )
                for key, metric in per_metric.items():
                    inputs = (
                        (None, fake[f"{name}:logits"])
                        if metric.uses_logits
                        else (real[name], fake[name])
                    )
                    _, per_1000[f"{key} on {name} features"] = timed(device, metric, *inputs)
                for step, seconds in per_1000.items():
                    linear = " on " not in step  # generation and features; not a metric
                    rows.setdefault((step, n, linear), []).append(seconds)
    result = {
        "machine": machine(),
        "settings": vars(args),
        "rows": [
            {"step": step, "images": n, "per_1000": linear, **spread(v)}
            for (step, n, linear), v in rows.items()
        ],
    }
    note = f"{args.n} images ({args.n_inception} for Inception), {args.reps} repetitions."
    paths = write_results("evaluation", result, note + "\n\n" + table(result))
    print(table(result))
    print("written:", ", ".join(map(str, paths)))
    return result


if __name__ == "__main__":
    main()
