"""MNISTNet: a small MNIST classifier ganlab trains itself (~1 min on a CPU, >= 99% accurate).

Its 128-d penultimate features measure MNIST-like images (fid_mnistnet, kid_mnistnet) at a
fraction of Inception's cost and in the right domain; its logits give a classifier-based
Inception Score. The weights are cached once per user, beside their sha256 and test accuracy.
Train (or retrain) it with ``python -m ganlab.metrics.mnistnet [--force]``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganlab.errors import ConfigError, DatasetError, GanlabError
from ganlab.metrics.extractors import FeatureExtractor, file_sha256
from ganlab.metrics.reference import default_cache_dir

# Bump the version whenever the architecture or the recipe changes: old caches stay valid files.
VERSION = "v1"
TRAINING = {"epochs": 3, "seed": 0, "max_batches": None}  # what load_mnistnet trains with
TRAIN_COMMAND = "python -m ganlab.metrics.mnistnet"


def _block(cin: int, cout: int) -> list[nn.Module]:
    # Unpadded convs: a quarter fewer activations than padded ones, same accuracy on MNIST.
    return [nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class MNISTNet(nn.Module):
    """(N, 1 or 3, S, S) images in [-1, 1] -> 10 logits; ``features`` gives the 128-d layer."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_block(1, 16), *_block(16, 16), nn.MaxPool2d(2),  # 28 -> 26 -> 24 -> 12
            *_block(16, 32), *_block(32, 32), nn.MaxPool2d(2),  # 12 -> 10 -> 8 -> 4
            nn.Flatten(), nn.Linear(32 * 4 * 4, 128), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.head = nn.Linear(128, 10)
        self.to(memory_format=torch.channels_last)  # ~1.4x faster convolutions on CPUs

    @staticmethod
    def _prepare(x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[2] != x.shape[3]:
            shape = tuple(x.shape)
            raise ConfigError(f"MNISTNet measures square 1- or 3-channel images, got {shape}")
        x = x.float().clamp(-1, 1).mean(1, keepdim=True)
        if x.shape[-1] != 28:
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True)
        # Quantised to MNIST's 256 levels, as the training images are, so generated images
        # differ from real ones in content only (InceptionFeatures quantises likewise).
        return ((x + 1) * 127.5).round() / 127.5 - 1

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self._prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _Classifier(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        from torchmetrics.classification import MulticlassAccuracy

        self.net = MNISTNet()
        self.accuracy = MulticlassAccuracy(num_classes=10, average="micro")

    def training_step(self, batch, batch_idx):
        loss = F.cross_entropy(self.net(batch[0]), batch[1])
        self.log("loss", loss, prog_bar=True)
        return loss

    def test_step(self, batch, batch_idx):
        self.accuracy(self.net(batch[0]), batch[1])
        self.log("test_accuracy", self.accuracy)

    def configure_optimizers(self):
        # One-cycle Adam: 99.4% after 3 epochs where a constant rate needs about 10.
        opt = torch.optim.Adam(self.parameters(), lr=0.01)
        steps = int(self.trainer.estimated_stepping_batches)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=steps)
        return [opt], [{"scheduler": sched, "interval": "step"}]


@contextmanager
def _aside(seed: int):
    """Train as an aside to whatever runs around it: seeded, with the caller's RNG states
    restored after (a first use must not change the GAN run's random stream, so its result),
    and without Lightning's set-up chatter around the one line ganlab prints."""
    py, npy = random.getstate(), np.random.get_state()
    log = logging.getLogger("lightning.pytorch")
    level = log.level
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
        L.seed_everything(seed, verbose=False)
        log.setLevel(logging.WARNING)
        try:
            with warnings.catch_warnings():
                # The images are in memory: loader workers would only add start-up time.
                warnings.filterwarnings("ignore", message=".*does not have many workers")
                warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
                yield
        finally:
            log.setLevel(level)
            random.setstate(py)
            np.random.set_state(npy)


def train_mnistnet(
    data_root: str | Path,
    epochs: int = 3,
    seed: int = 0,
    max_batches: int | None = None,
    progress: bool = True,
) -> tuple[MNISTNet, float]:
    """Train on MNIST's train split; returns the net (eval mode, CPU) and its test accuracy."""
    from lightning.pytorch.callbacks import RichProgressBar

    from ganlab.data.mnist import MNISTDataModule

    data = MNISTDataModule(data_root, batch_size=128)
    data.prepare_data()
    with _aside(seed):
        model = _Classifier()
        trainer = L.Trainer(
            accelerator="auto", devices=1, max_epochs=epochs,
            limit_train_batches=max_batches or 1.0, logger=False, enable_checkpointing=False,
            enable_progress_bar=progress, enable_model_summary=False,
            callbacks=[RichProgressBar()] if progress else [],
        )  # fmt: skip
        trainer.fit(model, data.dataloader("train", shuffle=True, drop_last=True))
        result = trainer.test(model, data.dataloader("test", batch_size=500), verbose=False)
    net = model.net.cpu().eval()
    return net, round(float(result[0]["test_accuracy"]), 6)  # float32 noise off the record


def cache_paths(cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """The weights (.pt) and their record (.json) under ``cache_dir/mnistnet``."""
    folder = Path(cache_dir or default_cache_dir()).expanduser() / "mnistnet"
    return folder / f"mnistnet_{VERSION}.pt", folder / f"mnistnet_{VERSION}.json"


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # parallel jobs may race
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_mnistnet(net: MNISTNet, accuracy: float, cache_dir=None, **training) -> Path:
    """Cache the weights, then the record naming their sha256 (written last: the commit)."""
    pt, record = cache_paths(cache_dir)
    pt.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # torch.save names its archive after a file: same weights, same bytes
    torch.save(net.state_dict(), buffer)
    _write_atomically(pt, buffer.getvalue())
    info = {"sha256": file_sha256(pt), "test_accuracy": accuracy, **training}
    info["torch"] = torch.__version__
    _write_atomically(record, (json.dumps(info, indent=2) + "\n").encode())
    return pt


def _load(cache_dir, data_root, train_if_missing: bool, progress: bool) -> tuple[MNISTNet, dict]:
    pt, record = cache_paths(cache_dir)
    if not (pt.is_file() and record.is_file()):  # no record: an interrupted first training
        if not train_if_missing:
            raise DatasetError(
                f"The MNIST feature network is not cached in {pt.parent}; train it once with "
                f"`{TRAIN_COMMAND} --cache-dir {pt.parents[1]}`."
            )
        print(f"ganlab: training the MNIST feature network once (~1 min), cached in {pt}")
        net, accuracy = train_mnistnet(data_root, **TRAINING, progress=progress)
        save_mnistnet(net, accuracy, cache_dir, **TRAINING)
    try:
        info = json.loads(record.read_text())
        if file_sha256(pt) != info.get("sha256"):
            raise ValueError("its sha256 is not the recorded one")
        net = MNISTNet()
        net.load_state_dict(torch.load(pt, map_location="cpu", weights_only=True))
    except Exception as exc:  # unreadable, truncated, edited: all mean the same to the user
        reason = next(iter(str(exc).splitlines()), type(exc).__name__)
        raise DatasetError(
            f"The cached MNIST feature network {pt} is corrupt ({reason}); delete {pt.parent} "
            "and it will be trained again."
        ) from exc
    return net.eval(), info


def load_mnistnet(cache_dir=None, data_root="data", train_if_missing=True, progress=True):
    """The cached MNISTNet (eval mode), trained and cached first if missing."""
    return _load(cache_dir, data_root, train_if_missing, progress)[0]


class MNISTNetFeatures(FeatureExtractor):
    """MNISTNet's 128-d penultimate features (``forward``) and logits (``logits``), frozen."""

    name = "mnistnet"
    num_features = 128

    def __init__(self, cache_dir=None, data_root="data", train_if_missing: bool = True):
        super().__init__()
        self.net, info = _load(cache_dir, data_root, train_if_missing, progress=True)
        self.net.requires_grad_(False)
        self.weights_sha = info["sha256"][:12]

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.num_features}-{self.weights_sha}"

    def train(self, mode: bool = True):
        # A measuring instrument: in train mode its BatchNorm would use (and update) the
        # statistics of each batch, so a parent module's .train() must not reach it.
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(images).float()

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).float()


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) from classifier logits: mean and std over ``splits``."""
    from torchmetrics.image.inception import InceptionScore

    if logits.ndim != 2 or len(logits) < splits:
        raise ConfigError(f"the Inception Score needs >= {splits} samples, got {len(logits)}")
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.filterwarnings("ignore", message=".*will save all extracted features")
        warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom")  # 1 split
        # torchmetrics shuffles before splitting (so class-sorted samples, as a conditional
        # model gives, still mix in every split); a fixed seed makes the score repeatable
        # and leaves the caller's random stream alone. float64: with confident logits, a class
        # no sample in a split shows gets probability 0 in float32, and 0 * log(0) is NaN.
        torch.manual_seed(0)
        metric = InceptionScore(feature=nn.Identity(), splits=splits, sync_on_compute=False)
        metric.update(logits.detach().cpu().double())
        mean, std = metric.compute()
    return mean.item(), std.item() if splits > 1 else 0.0


def main(argv: list[str] | None = None) -> None:
    """``python -m ganlab.metrics.mnistnet``: train and cache MNISTNet (again with --force)."""
    parser = argparse.ArgumentParser(
        prog=TRAIN_COMMAND, description="Train ganlab's MNIST feature network once and cache it."
    )
    parser.add_argument(
        "--cache-dir", default=None, help="default: $GANLAB_CACHE_DIR or ~/.cache/ganlab"
    )
    parser.add_argument("--data-root", default="data", help="MNIST in DATA_ROOT/MNIST/raw")
    parser.add_argument("--force", action="store_true", help="retrain even if cached")
    args = parser.parse_args(argv)
    try:
        if args.force:
            net, accuracy = train_mnistnet(args.data_root, **TRAINING)
            save_mnistnet(net, accuracy, args.cache_dir, **TRAINING)
        _, info = _load(args.cache_dir, args.data_root, train_if_missing=True, progress=True)
    except GanlabError as exc:
        print(f"ganlab: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    pt = cache_paths(args.cache_dir)[0]
    print(f"MNISTNet test accuracy {info['test_accuracy']:.2%}, cached in {pt}")


if __name__ == "__main__":
    main()
