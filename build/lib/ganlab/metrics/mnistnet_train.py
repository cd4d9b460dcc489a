"""Training and caching of MNISTNet: trained once per user, stored beside its sha256 and
test accuracy, verified at every load. ``python -m ganlab.metrics.mnistnet [--force]``."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from ganlab.errors import DatasetError, GanlabError
from ganlab.metrics.extractors import file_sha256
from ganlab.metrics.mnistnet import MNISTNet
from ganlab.metrics.reference import default_cache_dir
from ganlab.quiet import quiet_lightning

# Bump the version whenever the architecture or the recipe changes: old caches stay valid files.
VERSION = "v1"
TRAINING = {"epochs": 3, "seed": 0, "max_batches": None}  # what load_mnistnet trains with
TRAIN_COMMAND = "python -m ganlab.metrics.mnistnet"


class _Classifier(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        from torchmetrics.classification import MulticlassAccuracy

        self.net = MNISTNet()
        # Trained in one process, even inside a DDP run (built by its first process, see
        # Evaluation.setup): syncing would wait on the run's other processes forever.
        self.accuracy = MulticlassAccuracy(num_classes=10, average="micro", sync_on_compute=False)

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
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())), quiet_lightning():
        L.seed_everything(seed, verbose=False)
        try:
            yield
        finally:
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
