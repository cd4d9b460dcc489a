"""GAN-train / GAN-test (Shmelkov et al. 2018; "classification accuracy score").

GAN-train: a classifier trained on generated labelled images, tested on the real test set
(do the samples carry what a recogniser needs?). GAN-test: a classifier trained on real
images, tested on generated ones (does each sample look like its label?). Both beside
real-train / real-test, the same classifier and recipe on real images.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ganlab.downstream.classifier import (
    accuracy,
    fits_progress,
    new_classifier,
    train_classifier,
)
from ganlab.downstream.data import GENERATE_BATCH, labelled_split
from ganlab.downstream.labels import check_conditional
from ganlab.models.sampling import generate


class GANTrainTest:
    """``run(model, datamodule, device)`` -> the report's values (accuracies in [0, 1])."""

    name = "gan_train_test"

    def __init__(
        self,
        classifier: Callable,
        n_train: int = 10000,
        n_test: int | None = None,
        steps: int = 1500,
        batch_size: int = 64,
        lr: float = 3e-3,
        seed: int = 0,
    ):
        self.classifier, self.n_train, self.n_test = classifier, n_train, n_test
        self.steps, self.batch_size, self.lr, self.seed = steps, batch_size, lr, seed

    def _fit(self, images, labels, spec, device, advance):
        net = new_classifier(self.classifier, spec.num_classes, images.shape[1], self.seed)
        return train_classifier(
            net, images, labels, self.steps, self.batch_size, self.lr, self.seed,
            spec.multi_label, device=device, on_step=advance,
        )  # fmt: skip

    def run(self, model, datamodule, device: str = "cpu") -> dict:
        spec = check_conditional(model, datamodule)
        start = time.perf_counter()
        train_x, train_y = labelled_split(datamodule, "train", self.n_train, self.seed)
        test_x, test_y = labelled_split(datamodule, "test", self.n_test, self.seed)
        # Generated images of the real training labels: the same label distribution.
        fake_x = generate(model, len(train_y), self.seed, GENERATE_BATCH, labels=train_y)
        fake_test_x = generate(model, len(test_y), self.seed + 1, GENERATE_BATCH, labels=test_y)

        def score(net, x, y):
            return accuracy(net, x, y, spec.num_classes, spec.multi_label, device=device)

        with fits_progress("GAN-train / GAN-test", 2, self.steps) as (advance, label):
            label("trained on real images")
            real_net = self._fit(train_x, train_y, spec, device, advance)
            label("trained on generated images")
            gan_net = self._fit(fake_x, train_y, spec, device, advance)
        real_real, real_per_class = score(real_net, test_x, test_y)
        gan_train, gan_train_per_class = score(gan_net, test_x, test_y)
        gan_test, gan_test_per_class = score(real_net, fake_test_x, test_y)
        return {
            "values": {
                "real_train_real_test": real_real,
                "gan_train": gan_train,
                "gan_test": gan_test,
            },
            "per_class": {
                name: {"real_train_real_test": a, "gan_train": b, "gan_test": c}
                for name, a, b, c in zip(
                    spec.names, real_per_class, gan_train_per_class, gan_test_per_class
                )
            },
            "seconds": round(time.perf_counter() - start, 3),
            "protocol": {
                "n_train": len(train_y), "n_test": len(test_y), "steps": self.steps,
                "batch_size": self.batch_size, "lr": self.lr, "seed": self.seed,
                "classifier": getattr(self.classifier, "func", self.classifier).__name__,
            },
        }  # fmt: skip
