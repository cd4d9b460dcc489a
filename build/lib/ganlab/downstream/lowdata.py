"""Low-data augmentation: a recogniser trained on k real images per class, with and without
a conditional GAN's images added, tested on the real test set; mean and std over seeds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch

from ganlab.downstream.classifier import (
    accuracy,
    as_float,
    fits_progress,
    new_classifier,
    train_classifier,
)
from ganlab.downstream.data import GENERATE_BATCH, labelled_split, per_class_subset
from ganlab.downstream.labels import check_conditional
from ganlab.errors import ConfigError
from ganlab.models.sampling import generate

SETTINGS = ("real", "real+gan")


class AugmentLowData:
    """``run(model, datamodule, device)`` -> one row per (k, setting) and every seed's value.

    With GAN images, ``real_share`` of each training batch is drawn from the k real images
    per class and the rest from ``gan_per_class`` generated images per class, so that the
    few real images are not drowned out; without, every batch is real.
    """

    name = "augment_lowdata"

    def __init__(
        self,
        classifier: Callable,
        ks: Sequence[int] = (10, 100),
        seeds: Sequence[int] = (0, 1, 2),
        gan_per_class: int = 1000,
        real_share: float = 0.5,
        n_test: int | None = None,
        steps: int = 1000,
        batch_size: int = 64,
        lr: float = 3e-3,
    ):
        if not ks or any(int(k) < 1 for k in ks) or not seeds:
            raise ConfigError(f"downstream.ks must be integers >= 1 and seeds not empty: {ks}")
        if not 0 < real_share < 1:
            raise ConfigError(f"downstream.real_share must be in (0, 1), got {real_share}")
        self.classifier, self.ks, self.seeds = classifier, [int(k) for k in ks], list(seeds)
        self.gan_per_class, self.real_share, self.n_test = gan_per_class, real_share, n_test
        self.steps, self.batch_size, self.lr = steps, batch_size, lr

    def run(self, model, datamodule, device: str = "cpu") -> dict:
        spec = check_conditional(model, datamodule)
        if spec.multi_label:
            raise ConfigError(
                "augment_lowdata draws k images per class: it needs one class per image."
            )
        start = time.perf_counter()
        train_x, train_y = labelled_split(datamodule, "train")
        test_x, test_y = labelled_split(datamodule, "test", self.n_test)
        per_seed = {(k, s): [] for k in self.ks for s in SETTINGS}
        fits = len(self.seeds) * len(self.ks) * len(SETTINGS)
        with fits_progress("Low-data study", fits, self.steps) as (advance, label):
            for seed in self.seeds:
                gan_y = torch.arange(spec.num_classes).repeat_interleave(self.gan_per_class)
                gan_x = generate(model, len(gan_y), seed, GENERATE_BATCH, labels=gan_y)
                for k in self.ks:
                    idx = per_class_subset(train_y, k, spec.num_classes, seed)
                    real_x, real_y = as_float(train_x[idx]), train_y[idx]
                    for setting in SETTINGS:
                        label(f"k={k}, {setting}, seed {seed}")
                        x, y, weights = real_x, real_y, None
                        if setting == "real+gan":
                            x, y = torch.cat([real_x, gan_x]), torch.cat([real_y, gan_y])
                            weights = torch.cat([
                                torch.full((len(real_y),), self.real_share / len(real_y)),
                                torch.full((len(gan_y),), (1 - self.real_share) / len(gan_y)),
                            ])  # fmt: skip
                        net = new_classifier(self.classifier, spec.num_classes, x.shape[1], seed)
                        net = train_classifier(
                            net, x, y, self.steps, self.batch_size, self.lr, seed,
                            weights=weights, device=device, on_step=advance,
                        )  # fmt: skip
                        acc, _ = accuracy(net, test_x, test_y, spec.num_classes, device=device)
                        per_seed[(k, setting)].append(acc)
        rows = [
            {
                "k": k,
                "setting": setting,
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "seeds": len(values),
                "values": values,
            }
            for (k, setting), values in per_seed.items()
        ]
        return {
            "rows": rows,
            "seconds": round(time.perf_counter() - start, 3),
            "protocol": {
                "ks": self.ks, "seeds": self.seeds, "gan_per_class": self.gan_per_class,
                "real_share": self.real_share, "n_test": len(test_y), "steps": self.steps,
                "batch_size": self.batch_size, "lr": self.lr,
                "classifier": getattr(self.classifier, "func", self.classifier).__name__,
            },
        }  # fmt: skip
