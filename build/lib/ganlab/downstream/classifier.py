"""The recogniser the downstream measures train: a classifier on labelled images in memory.

Training is Lightning's (a fixed number of steps, so that 100 real images and 60,000 train
for the same effort); accuracy is torchmetrics'. Labels are class indices (cross-entropy)
or {0, 1} attribute vectors (one logistic output each; NaN marks an unknown attribute).
Images are float in [-1, 1] or uint8 (how real images are kept: a quarter of the memory).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import lightning as L
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset, WeightedRandomSampler
from torchmetrics.classification import MulticlassAccuracy, MultilabelAccuracy

from ganlab.pixels import to_model_range
from ganlab.quiet import quiet_lightning


class SmallCNN(nn.Module):
    """A four-conv network for small images (MNIST's size and up): fast on a CPU."""

    def __init__(self, num_classes: int, channels: int = 1, width: int = 32):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.net = nn.Sequential(
            *block(channels, width), *block(width, width), nn.MaxPool2d(2),
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(2 * width, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def resnet18(num_classes: int, channels: int = 3) -> nn.Module:
    """torchvision's ResNet-18, trained from scratch (no pretrained weights are needed)."""
    from torchvision.models import resnet18 as make

    net = make(weights=None, num_classes=num_classes)
    if channels != 3:
        net.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
    return net


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in the model range (ganlab.pixels); float images unchanged."""
    return to_model_range(images) if images.dtype == torch.uint8 else images


def attribute_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss over the known (non-NaN) attributes: generated images carry only
    the attributes their generator was conditioned on. A batch with none known gives 0
    (with a graph to step); no branch on the data, so no device sync per step."""
    known = ~torch.isnan(target)
    losses = F.binary_cross_entropy_with_logits(logits, target.nan_to_num(), reduction="none")
    return (losses * known).sum() / known.sum().clamp(min=1)


def class_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, target)


class JointLoss:
    """Identities and attributes with one network: the first ``num_classes`` outputs are
    the identity's logits, the rest the attributes'. Targets are rows ``[class, *attributes]``
    (class -1: none; NaN attributes: unknown), so real faces (identity) and generated ones
    (attributes) share a batch and each trains its own head."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def __call__(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        classes = target[:, 0].long()
        identity = F.cross_entropy(
            logits[:, : self.num_classes], classes, ignore_index=-1, reduction="sum"
        )  # a mean over the labelled rows, 0 when there are none (the mean would be NaN)
        identity = identity / (classes >= 0).sum().clamp(min=1)
        return attribute_loss(logits[:, self.num_classes :], target[:, 1:]) + identity


class Outputs(nn.Module):
    """The outputs ``[start:stop]`` of ``net``: one head of a jointly trained network."""

    def __init__(self, net: nn.Module, start: int, stop: int | None = None):
        super().__init__()
        self.net, self.start, self.stop = net, start, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, self.start : self.stop]


class _Fit(L.LightningModule):
    def __init__(self, net: nn.Module, loss: Callable, lr: float, steps: int):
        super().__init__()
        self.net, self.loss, self.lr, self.steps = net, loss, lr, steps

    def training_step(self, batch, batch_idx):
        images, labels = batch
        return self.loss(self.net(as_float(images)), labels)

    def configure_optimizers(self):
        # One-cycle Adam: a good result in a fixed, small number of steps without tuning.
        opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.steps)
        return [opt], [{"scheduler": sched, "interval": "step"}]


class _EachStep(L.Callback):
    """Calls ``on_step`` after every batch: a caller's progress bar over many fits."""

    def __init__(self, on_step: Callable[[], None]):
        self.on_step = on_step

    def on_train_batch_end(self, *args) -> None:
        self.on_step()


@contextmanager
def fits_progress(description: str, fits: int, steps: int):
    """A progress bar over ``fits`` trainings of ``steps`` batches; yields (advance, label):
    ``advance()`` after each batch, ``label(text)`` names the fit under way."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(description, total=fits * steps)
        yield (
            lambda: bar.advance(task),
            lambda text: bar.update(task, description=f"{description}: {text}"),
        )


def train_classifier(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 1000,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    multi_label: bool = False,
    weights: torch.Tensor | None = None,
    device: str = "cpu",
    on_step: Callable[[], None] | None = None,
    loss: Callable | None = None,
) -> nn.Module:
    """Train ``net`` for ``steps`` batches drawn with replacement from (images, labels),
    uniformly or with ``weights`` per item; returns it in eval mode. Seeded: the same
    inputs give the same network. ``loss(logits, labels)`` defaults to cross-entropy, or
    the attribute loss when ``multi_label``."""
    data = TensorDataset(images, labels)
    gen = torch.Generator().manual_seed(seed)
    draws = steps * batch_size
    if weights is None:
        sampler = RandomSampler(data, replacement=True, num_samples=draws, generator=gen)
    else:
        sampler = WeightedRandomSampler(weights, draws, replacement=True, generator=gen)
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler, drop_last=True)
    with quiet_lightning():
        trainer = L.Trainer(
            accelerator="gpu" if device.startswith("cuda") else "cpu", devices=1,
            max_steps=steps, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False,
            callbacks=[_EachStep(on_step)] if on_step else [],
        )  # fmt: skip
        loss = loss or (attribute_loss if multi_label else class_loss)
        trainer.fit(_Fit(net, loss, lr, steps), loader)
    return net.eval()


@torch.no_grad()
def accuracy(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    multi_label: bool = False,
    batch_size: int = 500,
    device: str = "cpu",
) -> tuple[float, list[float]]:
    """(accuracy, per-class accuracies): for attributes, the mean over attributes of the
    share of images whose attribute is predicted right, and that share per attribute."""
    if multi_label:
        overall = MultilabelAccuracy(num_labels=num_classes, average="macro")
        per_class = MultilabelAccuracy(num_labels=num_classes, average="none")
    else:
        overall = MulticlassAccuracy(num_classes=num_classes, average="micro")
        per_class = MulticlassAccuracy(num_classes=num_classes, average="none")
    net = net.to(device).eval()
    for start in range(0, len(images), batch_size):
        logits = net(as_float(images[start : start + batch_size].to(device))).float().cpu()
        target = labels[start : start + batch_size]
        target = target.long() if not multi_label else target.int()
        overall.update(logits, target)
        per_class.update(logits, target)
    return float(overall.compute()), [float(v) for v in per_class.compute()]


def new_classifier(make, num_classes: int, channels: int, seed: int) -> nn.Module:
    """``make(num_classes=..., channels=...)`` with weights drawn from ``seed`` (and the
    caller's random stream left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make(num_classes=num_classes, channels=channels)
