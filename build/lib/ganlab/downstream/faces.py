"""Face recognition on CelebA with and without an attribute-conditional GAN's faces.

Two recognisers, each trained on real faces alone and on real plus generated ones, all with
the same classifier, recipe and number of steps:

- identity: the people with at least ``min_images_per_identity`` train images, trained on
  their images and tested on held-out images of the same people (``per_identity`` split:
  the official splits share no one). A generated face has attributes but no identity, so
  it trains a second head of the same network to predict the attributes it was drawn with
  while the real faces train the identity head: the synthetic faces shape the features the
  identities are told apart by (multi-task augmentation, ``JointLoss``).
- attributes: the 40 CelebA attributes (multi-label), trained on the official train split
  and tested on the official test split; a generated face is labelled with the attributes
  its generator was conditioned on (the others are unknown and not trained).

Generated faces are conditioned on attribute vectors drawn from the real train images, so
they follow the real attribute combinations.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from ganlab.data.celeba import CelebADataModule
from ganlab.downstream.classifier import (
    JointLoss,
    Outputs,
    accuracy,
    class_loss,
    fits_progress,
    new_classifier,
    train_classifier,
)
from ganlab.downstream.data import GENERATE_BATCH, labelled_split
from ganlab.errors import ConfigError
from ganlab.models.capabilities import LabelConditioned
from ganlab.models.sampling import generate
from ganlab.pixels import to_uint8

SETTINGS = ("real", "real_gan")


class FaceRecognition:
    """``run(model, datamodule, device)`` -> identity and attribute accuracies, real and
    real + GAN. ``model`` is a CelebA attribute-conditional generator (``model=cdcgan
    data=celeba data.labels=attr``); ``datamodule`` the checkpoint's, whose faces (root,
    crop, size) are read again with identity and all-attribute labels."""

    name = "face_recognition"

    def __init__(
        self,
        classifier: Callable,
        min_images_per_identity: int = 20,
        max_identities: int | None = None,
        n_attr_train: int | None = 50000,
        n_attr_test: int | None = None,
        gan_images: int = 20000,
        real_share: float = 0.5,
        steps: int = 5000,
        batch_size: int = 128,
        lr: float = 2e-3,
        seed: int = 0,
    ):
        if not 0 < real_share < 1:
            raise ConfigError(f"downstream.real_share must be in (0, 1), got {real_share}")
        if gan_images < 1:
            raise ConfigError(f"downstream.gan_images must be >= 1, got {gan_images}")
        if max_identities is not None and max_identities < 2:
            raise ConfigError(f"downstream.max_identities must be >= 2 or null: {max_identities}")
        self.classifier, self.min_images_per_identity = classifier, min_images_per_identity
        self.max_identities, self.n_attr_train, self.n_attr_test = (
            max_identities, n_attr_train, n_attr_test,
        )  # fmt: skip
        self.gan_images, self.real_share = gan_images, real_share
        self.steps, self.batch_size, self.lr, self.seed = steps, batch_size, lr, seed

    @staticmethod
    def _check(model, datamodule) -> None:
        if not isinstance(datamodule, CelebADataModule):
            raise ConfigError(
                "face_recognition reads CelebA's identities and attributes: evaluate a "
                "checkpoint trained with data=celeba."
            )
        conditional = isinstance(model, LabelConditioned)
        if not (conditional and model.multi_label) or datamodule.labels != "attr":
            raise ConfigError(
                "face_recognition needs an attribute-conditional generator: train it with "
                "model=cdcgan data=celeba data.labels=attr (data.attributes chooses which)."
            )

    def _fit(self, images, labels, outputs, device, advance, weights=None, loss=None):
        net = new_classifier(self.classifier, outputs, images.shape[1], self.seed)
        return train_classifier(
            net, images, labels, self.steps, self.batch_size, self.lr, self.seed,
            multi_label=loss is None, weights=weights, device=device, on_step=advance, loss=loss,
        )  # fmt: skip

    def _weights(self, n_real: int, n_gan: int) -> torch.Tensor:
        """Per-item sampling weights: ``real_share`` of every batch from the real images."""
        return torch.cat([
            torch.full((n_real,), self.real_share / n_real),
            torch.full((n_gan,), (1 - self.real_share) / n_gan),
        ])  # fmt: skip

    def _identities(self, datamodule):
        """The identity data: (train, test) as (uint8 images, classes), and the class count."""
        ids = datamodule.relabelled(
            labels="identity", identity_split="per_identity",
            min_images_per_identity=self.min_images_per_identity,
        )  # fmt: skip
        count = ids.label_spec().num_classes
        classes = None
        if self.max_identities is not None and count > self.max_identities:
            # The people with the most train images (ties: lower class first).
            seen = torch.bincount(ids.get_dataset("train").targets, minlength=count)
            top = torch.argsort(seen, descending=True, stable=True)[: self.max_identities]
            classes, count = top.sort().values, self.max_identities
        train = labelled_split(ids, "train", classes=classes)
        test = labelled_split(ids, "test", classes=classes)
        return train, test, count

    def run(self, model, datamodule, device: str = "cpu") -> dict:
        self._check(model, datamodule)
        start = time.perf_counter()
        attrs = datamodule.relabelled(labels="attr")  # all 40
        names = attrs.label_spec().names
        conditioned = [names.index(n) for n in model.label_names]
        a_train = labelled_split(attrs, "train", self.n_attr_train, self.seed)
        a_test = labelled_split(attrs, "test", self.n_attr_test, self.seed)
        (id_x, id_y), (id_test_x, id_test_y), num_ids = self._identities(datamodule)

        # Generated faces, conditioned on real attribute combinations; the attributes their
        # generator does not know are unknown (NaN) to the recognisers.
        n_id, n_attr, n_gan = len(id_y), len(a_train[1]), self.gan_images
        gen = torch.Generator().manual_seed(self.seed)
        drawn = a_train[1][torch.randint(n_attr, (n_gan,), generator=gen)]
        gan_x = to_uint8(
            generate(model, n_gan, self.seed, GENERATE_BATCH, labels=drawn[:, conditioned])
        )
        gan_attrs = torch.full_like(drawn, float("nan"))
        gan_attrs[:, conditioned] = drawn[:, conditioned]

        with fits_progress("Face recognition", 4, self.steps) as (advance, label):
            label("identities, real faces")
            id_real = self._fit(id_x, id_y, num_ids, device, advance, loss=class_loss)
            label("identities, real + GAN faces")
            joint_targets = torch.cat([
                torch.cat([id_y[:, None].float(), torch.full((n_id, len(names)), float("nan"))], 1),
                torch.cat([torch.full((n_gan, 1), -1.0), gan_attrs], 1),
            ])  # fmt: skip
            id_gan = self._fit(
                torch.cat([id_x, gan_x]), joint_targets, num_ids + len(names), device, advance,
                self._weights(n_id, n_gan), JointLoss(num_ids),
            )  # fmt: skip
            label("attributes, real faces")
            attr_real = self._fit(*a_train, len(names), device, advance)
            label("attributes, real + GAN faces")
            attr_gan = self._fit(
                torch.cat([a_train[0], gan_x]), torch.cat([a_train[1], gan_attrs]), len(names),
                device, advance, self._weights(n_attr, n_gan),
            )  # fmt: skip

        identity = {
            "real": accuracy(id_real, id_test_x, id_test_y, num_ids, device=device)[0],
            "real_gan": accuracy(
                Outputs(id_gan, 0, num_ids), id_test_x, id_test_y, num_ids, device=device
            )[0],
        }
        per_attr = {
            setting: accuracy(net, *a_test, len(names), multi_label=True, device=device)[1]
            for setting, net in zip(SETTINGS, (attr_real, attr_gan))
        }

        def mean(values, columns):
            return sum(values[c] for c in columns) / len(columns)

        everything = range(len(names))
        return {
            "values": {
                "identity_real": identity["real"],
                "identity_real_gan": identity["real_gan"],
                "attributes_real": mean(per_attr["real"], everything),
                "attributes_real_gan": mean(per_attr["real_gan"], everything),
                "conditioned_attributes_real": mean(per_attr["real"], conditioned),
                "conditioned_attributes_real_gan": mean(per_attr["real_gan"], conditioned),
            },
            "per_attribute": {
                name: {s: per_attr[s][i] for s in SETTINGS} for i, name in enumerate(names)
            },
            "conditioned_attributes": list(model.label_names),
            "data": {
                "identities": num_ids, "identity_train": n_id, "identity_test": len(id_test_y),
                "attribute_train": n_attr, "attribute_test": len(a_test[1]),
                "gan_images": n_gan,
            },
            "seconds": round(time.perf_counter() - start, 3),
            "protocol": {
                "min_images_per_identity": self.min_images_per_identity,
                "max_identities": self.max_identities, "real_share": self.real_share,
                "steps": self.steps, "batch_size": self.batch_size, "lr": self.lr,
                "seed": self.seed,
                "classifier": getattr(self.classifier, "func", self.classifier).__name__,
            },
        }  # fmt: skip
