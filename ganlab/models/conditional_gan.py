"""A class- or attribute-conditional GAN: G(z, y) and D(x, y), the data's targets as y."""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from omegaconf import DictConfig, open_dict
from torch import nn

from ganlab.augment import Augment
from ganlab.data.base import LabelSpec
from ganlab.errors import ConfigError, did_you_mean
from ganlab.losses.base import AdversarialLoss
from ganlab.models.base import OptimizerFactory, run_in_eval_mode
from ganlab.models.capabilities import LabelConditioned
from ganlab.models.gan import GAN
from ganlab.regularizers import Regularizer

# Rows of the per-class preview grid (for more classes, the first ones).
MAX_PREVIEW_ROWS = 16
LABELLED_DATA = (
    "data=mnist (digits), data=celeba data.labels=attr (attributes) or data.labels=identity, "
    "data=folder data.labels=subfolder"
)


class ConditionalGAN(GAN, LabelConditioned):
    """The GAN loop with labels: D judges (image, label) pairs and G draws the images of
    the labels of the real batch, so G learns the data's label distribution as it is.

    Labels are class indices, or {0, 1} vectors when ``multi_label`` (CelebA attributes).
    Sampling without labels (evaluation, ``ganlab-sample`` without ``label=``) cycles
    through the classes, or draws each attribute with its frequency in the training data.
    Every loss of the ``loss`` group works: the loss sees D with the labels bound.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        g_optimizer: OptimizerFactory,
        d_optimizer: OptimizerFactory,
        num_classes: int | None = None,
        multi_label: bool = False,
        label_names: list[str] | None = None,
        n_critic: int = 1,
        grad_clip_g: float | None = None,
        grad_clip_d: float | None = None,
        ema_decay: float | None = None,
        ema_start: int = 0,
        reg: Regularizer | None = None,
        augment: Augment | None = None,
    ):
        super().__init__(
            generator, discriminator, loss, g_optimizer, d_optimizer,
            n_critic, grad_clip_g, grad_clip_d, ema_decay, ema_start, reg, augment,
        )  # fmt: skip
        if num_classes is None or num_classes < 1:
            raise ConfigError(
                f"model.num_classes must be >= 1 (null takes it from the data), got {num_classes}"
            )
        self.num_classes, self.multi_label = int(num_classes), bool(multi_label)
        names = [str(n) for n in label_names] if label_names else []
        self.label_names = names or [str(i) for i in range(self.num_classes)]
        # Label counts seen in training: the attribute frequencies unlabelled sampling uses.
        self.register_buffer("label_counts", torch.zeros(self.num_classes, dtype=torch.float32))
        self.register_buffer("labels_seen", torch.zeros((), dtype=torch.float32))

    def check_data(self, datamodule) -> None:
        super().check_data(datamodule)
        spec = data_labels(datamodule)
        if (spec.num_classes, spec.multi_label) != (self.num_classes, self.multi_label):
            raise ConfigError(
                f"The data has {spec.num_classes} {'attributes' if spec.multi_label else 'classes'}"
                f" but model.num_classes={self.num_classes}, model.multi_label="
                f"{str(self.multi_label).lower()}; leave model.num_classes=null to take them "
                "from the data."
            )

    # -- the training loop's hooks -------------------------------------------------------
    def split_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        real, labels = batch[0], batch[1]
        if self.multi_label:
            labels = labels.float()
        if self.training:
            counts = (
                labels.sum(0) if self.multi_label else labels.bincount(minlength=self.num_classes)
            )
            self.label_counts += counts.to(self.label_counts)
            self.labels_seen += len(labels)
        return real, labels

    def g_forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.generator(z, cond)

    def critic(self, cond: torch.Tensor):
        return partial(self.discriminator, y=cond)

    # -- sampling --------------------------------------------------------------------------
    def label_frequency(self) -> torch.Tensor:
        """Each class's (attribute's) share of the training labels so far; uniform (0.5)
        before any were seen."""
        if self.labels_seen.item() == 0:
            fill = 0.5 if self.multi_label else 1 / self.num_classes
            return torch.full((self.num_classes,), fill)
        return (self.label_counts / self.labels_seen).float().cpu()

    def default_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Labels for n unlabelled samples: every class in turn, or attributes drawn with
        their training frequencies (independently: their correlations are not kept)."""
        if not self.multi_label:
            return torch.arange(n) % self.num_classes
        gen = generator or torch.Generator().manual_seed(0)
        return torch.bernoulli(self.label_frequency().expand(n, -1), generator=gen)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] for ``z`` and ``labels`` (default: ``default_labels``)."""
        if labels is None:
            labels = self.default_labels(len(z))
        if len(labels) != len(z):
            raise ConfigError(f"{len(labels)} labels for {len(z)} latent vectors")
        net = self.sampling_generator
        return run_in_eval_mode(net, z.to(self.device), labels.to(self.device))

    def preview_labels(self) -> torch.Tensor:
        """One row per class; multi-label: the most common attribute set, then that set with
        one attribute switched at a time."""
        if not self.multi_label:
            return torch.arange(min(self.num_classes, MAX_PREVIEW_ROWS))
        common = (self.label_frequency() > 0.5).float()
        flips = torch.eye(self.num_classes)[: MAX_PREVIEW_ROWS - 1]  # every attribute, to 15
        return torch.cat([common[None], (common[None] + flips) % 2])

    def preview(self, n: int, seed: int, datamodule) -> tuple[torch.Tensor, int]:
        """The per-class grid (``per_class``)."""
        return self.per_class(n, seed)

    def per_class(self, n: int, seed: int) -> tuple[torch.Tensor, int]:
        """One row per class (``preview_labels``), and the same z in each column."""
        labels = self.preview_labels()
        cols = max(2, min(10, round(n**0.5)))
        z = self.sample_z(cols, generator=torch.Generator().manual_seed(seed))
        z_grid = z.repeat(len(labels), 1)
        label_grid = labels.repeat_interleave(cols, dim=0)
        return self.sample(z_grid, label_grid).float().cpu(), cols

    def parse_labels(self, value: Any, n: int) -> torch.Tensor:
        """``ganlab-sample label=...`` as n labels: a class index or name (``7``, ``Smiling``
        for a single-label model's names); for multi-label models a list of attribute names
        (those present, the others absent) or a full 0/1 vector."""
        if self.multi_label:
            items = list(value) if isinstance(value, (list, tuple)) else [value]
            if len(items) == self.num_classes and all(str(v) in "01" for v in items):
                vec = torch.tensor([float(v) for v in items])
            else:
                vec = torch.zeros(self.num_classes)
                for item in items:
                    vec[self._label_index(item)] = 1.0
            return vec.expand(n, -1).clone()
        if isinstance(value, (list, tuple)):
            raise ConfigError(f"label= takes one class for this model, got {list(value)}")
        return torch.full((n,), self._label_index(value), dtype=torch.long)

    def _label_index(self, value: Any) -> int:
        name = str(value)
        if name in self.label_names:
            return self.label_names.index(name)
        if not self.multi_label and name.isdigit() and int(name) < self.num_classes:
            return int(name)
        hint = did_you_mean(name, self.label_names)
        shown = ", ".join(self.label_names[:40]) + (" ..." if self.num_classes > 40 else "")
        raise ConfigError(
            f"label {name!r} is not one of this model's labels.{hint} They are: {shown}"
        )


def fill_label_config(model_cfg: DictConfig, datamodule) -> None:
    """A conditional model config with ``num_classes: null`` takes the number of classes,
    multi_label and the label names from the data, before the model is built."""
    if "num_classes" not in model_cfg or model_cfg.num_classes is not None:
        return
    spec = data_labels(datamodule)
    with open_dict(model_cfg):
        model_cfg.num_classes = spec.num_classes
        model_cfg.multi_label = spec.multi_label
        model_cfg.label_names = list(spec.names)


def data_labels(datamodule) -> LabelSpec:
    """The data's labels, or the error naming the data that has them."""
    spec = datamodule.label_spec()
    if spec is None:
        raise ConfigError(f"A conditional model needs labelled data: {LABELLED_DATA}.")
    return spec
