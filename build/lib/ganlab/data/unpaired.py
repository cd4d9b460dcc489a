"""Two unpaired image domains (CycleGAN): datasets of (image_a, image_b) and per-domain views."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch
from torch.utils.data import Dataset

from ganlab.data.base import SPLITS, ImageDataModule
from ganlab.errors import ConfigError, DatasetError

# Each translation direction and its (source, target) domains: one definition for the data,
# the model (CycleGAN.translate) and the evaluation.
DIRECTIONS = {"a2b": ("A", "B"), "b2a": ("B", "A")}


class UnpairedDataset(Dataset):
    """Items (image_a, image_b), float tensors in [-1, 1]; the domains' targets are dropped.

    With `random_pairing` (training) `a` cycles through domain A and `b` is drawn at random
    from domain B with the global torch RNG: the reference CycleGAN implementation's
    "unaligned" pairing, so no fixed pair is ever learnt. It is reproducible because Lightning
    seeds the main process and torch seeds every loader worker from it. Without it (val/test),
    `b` is domain B's item `i % len(B)`, so fixed preview grids stay the same across runs.
    The length is the larger domain's, so an epoch sees every image of both.
    """

    def __init__(self, domain_a: Dataset, domain_b: Dataset, random_pairing: bool = True) -> None:
        for name, domain in (("A", domain_a), ("B", domain_b)):
            if len(domain) == 0:  # `i % 0` would fail on the first item, far from the cause
                raise DatasetError(f"Domain {name} has no images.")
        self.domain_a = domain_a
        self.domain_b = domain_b
        self.random_pairing = bool(random_pairing)

    def __len__(self) -> int:
        return max(len(self.domain_a), len(self.domain_b))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        len_a, len_b = len(self.domain_a), len(self.domain_b)
        if self.random_pairing:
            index_b = int(torch.randint(len_b, ()))
        else:
            index_b = index % len_b
        image_a, _ = self.domain_a[index % len_a]
        image_b, _ = self.domain_b[index_b]
        return image_a, image_b


class DomainView(ImageDataModule):
    """One domain of an UnpairedDataModule as an ordinary datamodule (items (image, target)).

    It shares the parent's datasets (nothing is built twice) and loader settings, so code
    written for single-domain datamodules (evaluation, reference statistics) works on it.
    `cache_name` names the domain's real-image features in the evaluation cache.
    """

    def __init__(self, parent: UnpairedDataModule, domain: str) -> None:
        super().__init__(
            parent.root,
            parent.image_size,
            parent.channels,
            batch_size=parent.batch_size,
            num_workers=parent.num_workers,
            pin_memory=parent.pin_memory,
            persistent_workers=parent.persistent_workers,
            drop_last=parent.drop_last,
        )
        self.parent = parent
        self.domain_name = domain

    @property
    def cache_name(self) -> str:
        """The domain's own cache name, e.g. "unpairedfolder-B" (``domain_cache_name``)."""
        return self.parent.domain_cache_name(self.domain_name)

    def prepare_data(self) -> None:
        self.parent.prepare_data()

    def get_dataset(self, split: str) -> Dataset:
        if split not in SPLITS:
            raise ConfigError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
        pair = self.parent.get_dataset(split)
        return pair.domain_a if self.domain_name == "A" else pair.domain_b

    def make_dataset(self, split: str) -> Dataset:
        return self.get_dataset(split)


class UnpairedDataModule(ImageDataModule):
    """Base for two unpaired domains: items are (image_a, image_b), so a batch is [a, b].

    Subclasses implement `make_domain(split, domain)`, a dataset of (image, target) for domain
    "A" or "B". Training pairs at random; "val" and "test" pair by index (see UnpairedDataset).
    `domain("A")` is domain A alone as a datamodule, for evaluation code.
    """

    domains: ClassVar[tuple[str, str]] = ("A", "B")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._views: dict[str, DomainView] = {}

    @abstractmethod
    def make_domain(self, split: str, domain: str) -> Dataset:
        """The dataset of `domain` ("A" or "B") for `split` ("train", "val" or "test")."""

    def make_dataset(self, split: str) -> UnpairedDataset:
        domain_a, domain_b = (self.make_domain(split, d) for d in self.domains)
        return UnpairedDataset(domain_a, domain_b, random_pairing=split == "train")

    def domain(self, name: str) -> ImageDataModule:
        """Domain `name` ("A" or "B", any case) as a datamodule sharing this one's datasets."""
        key = str(name).upper()
        if key not in self.domains:
            raise ConfigError(f"Unknown domain {name!r}; choose one of {', '.join(self.domains)}.")
        if key not in self._views:
            self._views[key] = DomainView(self, key)
        return self._views[key]

    def true_translation(self, images: torch.Tensor, direction: str) -> torch.Tensor | None:
        """The right translation of model-range ``images`` in ``direction``, for data that
        knows it (the MNIST demo), which the translation evaluation then measures; None
        here: real unpaired domains have no right answer."""
        return None

    def domain_cache_name(self, domain: str) -> str:
        """The cache key of `domain`'s real-image features, e.g. "unpairedfolder-A".

        Subclasses whose config changes what a domain holds (an attribute, a style) add it,
        so two such datasets under one root never share cached features.
        """
        return f"{type(self).__name__.removesuffix('DataModule').lower()}-{domain}"
