"""The datamodule every ganlab dataset builds on, and the shared image-to-tensor steps."""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from ganlab.data.pairs import DegradedPairs
from ganlab.data.resumable import Collated, ResumableLoader
from ganlab.degrade import Degradation, NoDegradation
from ganlab.errors import ConfigError, DatasetError, check_int
from ganlab.pixels import to_model_range

SPLITS = ("train", "val", "test")
# data.repeat=auto: an epoch of a data set of fewer batches covers it several times, to at
# least this many batches (MNIST's 937 and CelebA's 2,543 a pass are left as they are).
MIN_EPOCH_BATCHES = 100


@dataclass(frozen=True)
class LabelSpec:
    """What a dataset's targets are as conditioning labels, for conditional models and
    downstream classifiers: ``num_classes`` classes, one per image (targets are ints in
    ``[0, num_classes)``), or ``multi_label`` (targets are float {0, 1} vectors of length
    ``num_classes``, e.g. CelebA attributes). ``names`` names the classes or attributes."""

    num_classes: int
    multi_label: bool
    names: tuple[str, ...]


class TensorImageDataset(Dataset):
    """uint8 N x C x S x S images (and labels) in memory; items are ([-1, 1] float image, int).

    ``uint8_batches`` (set on the training loader's copy) hands batches over as uint8,
    for the datamodule to bring to the model range on the device: a quarter of the bytes to copy, and one indexing op per
    batch instead of one call per image (the per-image path was a fifth of a DCGAN-64
    iteration on a GPU: README, "Benchmarks", "What this measurement changed")."""

    reads_uint8 = True  # the training loader can ask for uint8 batches
    uint8_batches = False

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        self.images = images
        self.targets = targets

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return to_model_range(self.images[index]), int(self.targets[index])

    def __getitems__(self, indices: list[int]) -> list:
        """A batch's items at once (DataLoader asks so): the same values as item by item."""
        index = torch.as_tensor(indices)
        images = self.images[index]
        if self.uint8_batches:  # the training loader's batch, whole
            return Collated([images, self.targets[index]])
        return list(zip(to_model_range(images), self.targets[index].tolist(), strict=True))


class FirstItems(Dataset):
    """The first ``n`` items of a dataset (``data.limit``), with what the training loader
    asks of it (``reads_uint8``, ``uint8_batches``, ``__getitems__``) passed through."""

    def __init__(self, dataset: Dataset, n: int) -> None:
        self.dataset, self.n = dataset, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        if not -self.n <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} items")
        return self.dataset[index % self.n]

    def __getitems__(self, indices: list[int]) -> list:
        return self.dataset.__getitems__(indices)

    @property
    def reads_uint8(self) -> bool:
        return getattr(self.dataset, "reads_uint8", False)

    @property
    def uint8_batches(self) -> bool:
        return getattr(self.dataset, "uint8_batches", False)

    @uint8_batches.setter
    def uint8_batches(self, value: bool) -> None:
        # On a copy of the dataset: the original also serves evaluation, in [-1, 1].
        self.dataset = copy.copy(self.dataset)
        self.dataset.uint8_batches = value


def random_hflip(images: torch.Tensor) -> torch.Tensor:
    """Each image of a batch mirrored left-right with probability 1/2, drawn per image on the
    batch's device (from torch's seeded generator there). By hand because torchvision's
    RandomHorizontalFlip, given a batch, flips all of it or none."""
    flip = torch.rand(images.shape[0], *[1] * (images.dim() - 1), device=images.device) < 0.5
    return torch.where(flip, images.flip(-1), images)


class ImageDataModule(L.LightningDataModule, ABC):
    """Base datamodule: items are `(image, target)`, image a float32 C x S x S tensor in [-1, 1].

    Subclasses implement `make_dataset(split)`. Only `train_dataloader` is defined, so Lightning
    runs no validation loop; evaluation code calls `dataloader("val" | "test")` itself.
    `split_aliases` maps a split a dataset lacks onto one it has (built once, shared).
    """

    split_aliases: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        root: str | Path,
        image_size: int,
        channels: int,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
        drop_last: bool = True,
        hflip: bool = False,
        limit: int | None = None,
        repeat: int | str = "auto",
        degrade: Degradation | None = None,
    ) -> None:
        super().__init__()
        # data/degrade=...: training batches become [degraded, clean, targets], made on the
        # training device (on_after_batch_transfer); ``pairs(split)`` serves evaluation.
        self.degrade = degrade if degrade is not None else NoDegradation()
        self.root = Path(root).expanduser()
        # Train on the first `limit` images of the training split only (few-shot studies);
        # evaluation's real images are not limited.
        self.limit = None if limit is None else check_int("data.limit", limit)
        # Passes over the training data in one epoch: auto, or an integer >= 1.
        if repeat != "auto":
            check_int("data.repeat", repeat)
        self.repeat = repeat
        # Training images mirrored left-right at random, on the device (random_hflip).
        self.hflip = bool(hflip)
        self.image_size = check_int("data.image_size", image_size)
        self.channels = check_int("data.channels", channels)
        self.batch_size = check_int("data.batch_size", batch_size)
        self.num_workers = check_int("data.num_workers", num_workers, minimum=0)
        self.pin_memory = None if pin_memory is None else bool(pin_memory)
        self.persistent_workers = bool(persistent_workers)
        self.drop_last = bool(drop_last)
        self.train_set: Dataset | None = None
        self._datasets: dict[str, Dataset] = {}

    def pins_memory(self, workers: int) -> bool:
        """``pin_memory`` for a loader with ``workers``; None: pin when CUDA is available and
        workers make the batches. Pinned memory only helps host-to-GPU copies (on a CPU-only
        machine it warns and costs), and without workers the training process itself pins,
        which took longer than the copy it was meant to speed up (README, "Benchmarks")."""
        if self.pin_memory is not None:
            return self.pin_memory
        return torch.cuda.is_available() and workers > 0

    @property
    def cache_name(self) -> str:
        """The data's name in the evaluation cache's keys (e.g. "mnist", "celeba")."""
        return type(self).__name__.removesuffix("DataModule").lower()

    @abstractmethod
    def make_dataset(self, split: str) -> Dataset:
        """Build the dataset for `split` ("train", "val" or "test")."""

    @property
    def paired(self) -> bool:
        """Whether the data comes as (degraded, clean) pairs (``data/degrade`` is not none)."""
        return self.degrade.makes_pairs

    def pairs(self, split: str) -> DegradedPairs:
        """``split`` as (degraded, clean) pairs, the same in every run (``DegradedPairs``)."""
        if not self.paired:
            raise ConfigError(
                "this data has no degradation, so no (degraded, clean) pairs: choose one, e.g. "
                "data/degrade=downsample (super-resolution) or data/degrade=mask (inpainting)."
            )
        return DegradedPairs(self.get_dataset(split), self.degrade)

    def label_spec(self) -> LabelSpec | None:
        """The targets as conditioning labels; None when the data has no usable labels."""
        return None

    def prepare_images(self) -> Path:
        """Decode every image once into a uint8 array file (``ganlab-prepare``); returns it."""
        raise ConfigError(
            f"{type(self).__name__} has nothing to prepare: ganlab-prepare is for data that is "
            "decoded from image files (data=celeba, data=folder)."
        )

    def get_dataset(self, split: str) -> Dataset:
        """The dataset for `split`, built on first use and cached."""
        if split not in SPLITS:
            raise ConfigError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
        split = self.split_aliases.get(split, split)
        if split not in self._datasets:
            self._datasets[split] = self.make_dataset(split)
        return self._datasets[split]

    def training_set(self) -> Dataset:
        """The training split as training sees it: its first ``limit`` images, if set."""
        dataset = self.get_dataset("train")
        if self.limit is None:
            return dataset
        if len(dataset) < self.limit:
            raise ConfigError(
                f"data.limit={self.limit}, but the training split has {len(dataset)} images."
            )
        return FirstItems(dataset, self.limit)

    def epoch_passes(self, size: int) -> int:
        """How many times one epoch covers ``size`` training images (``repeat``)."""
        if self.repeat != "auto":
            return self.repeat
        batches = size / self.batch_size
        return max(1, math.ceil(MIN_EPOCH_BATCHES / batches))

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = self.get_dataset("train")

    def dataloader(
        self,
        split: str,
        shuffle: bool = False,
        batch_size: int | None = None,
        drop_last: bool = False,
    ) -> DataLoader:
        """A DataLoader over `split` with the configured workers (for evaluation code)."""
        dataset = self.get_dataset(split)
        batch_size = self.batch_size if batch_size is None else batch_size
        self.check_loader(dataset, split, batch_size, drop_last)
        workers = self.num_workers
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            num_workers=workers,
            pin_memory=self.pins_memory(workers),
            persistent_workers=self.persistent_workers and workers > 0,
        )

    def check_loader(self, dataset: Dataset, split: str, batch_size: int, drop_last: bool) -> None:
        """Refuse a loader that would be empty, with the reason."""
        if len(dataset) == 0:
            raise DatasetError(f"The {split} split of the data in {self.root} has no images.")
        if drop_last and len(dataset) < batch_size:
            # Otherwise the loader is empty and training "finishes" without a single step.
            raise ConfigError(
                f"The {split} set has {len(dataset)} images, fewer than data.batch_size="
                f"{batch_size}, so drop_last leaves no batch; lower data.batch_size."
            )

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """On the training device: scale a uint8 batch (from a prepared array) to [-1, 1],
        the same transform as the image-file path's last steps, so the same pixels; then
        the augmentation (``hflip``), whichever path the images came by; then, for paired
        data, the degraded inputs in front: ``[degraded, clean, targets]``."""
        if not isinstance(batch, (list, tuple)) or not batch:
            return batch
        images = batch[0]
        if not isinstance(images, torch.Tensor):
            return batch
        if images.dtype == torch.uint8:  # the training loader's uint8_batches
            images = to_model_range(images)
        batch = [images, *batch[1:]]
        if self.hflip and self.trainer is not None and self.trainer.training:
            # Every image tensor of the batch: one domain's, or both of unpaired data.
            batch = [
                random_hflip(t)
                if torch.is_tensor(t) and t.dim() == 4 and t.is_floating_point()
                else t
                for t in batch
            ]
        if self.paired:
            # One seed per image from torch's CPU generator, whose state checkpoints keep
            # (RestoreRNG): a resumed run degrades its batches as a straight run does, and each
            # epoch sees new degradations of the same images (evaluation's are fixed: pairs()).
            seeds = torch.randint(2**62, (batch[0].shape[0],))
            batch = [self.degrade(batch[0], seeds), *batch]
        return batch

    def train_dataloader(self) -> DataLoader:
        """The training loader: its position is saved in checkpoints (see ResumableLoader).

        Its order comes from torch's seed when it is made, which ganlab-train sets from
        ``seed`` just before (a resumed run takes the saved one).
        """
        self.setup("fit")
        dataset = self.training_set()
        self.check_loader(dataset, "train", self.batch_size, self.drop_last)
        workers = self.num_workers
        if getattr(dataset, "reads_uint8", False):
            # A prepared array or images in memory: batches of uint8 rows (a quarter of the
            # bytes to the GPU), scaled by on_after_batch_transfer where the model is. Read
            # in this process: handing batches over from workers costs more than reading
            # them (benchmarks/data_pipeline.py).
            dataset = copy.copy(dataset)
            dataset.uint8_batches = True
            workers = 0
        return ResumableLoader(
            dataset,
            seed=torch.initial_seed(),
            passes=self.epoch_passes(len(dataset)),
            batch_size=self.batch_size,
            drop_last=self.drop_last,
            num_workers=workers,
            pin_memory=self.pins_memory(workers),
            persistent_workers=self.persistent_workers and workers > 0,
        )
