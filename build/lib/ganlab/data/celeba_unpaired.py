"""Two CelebA domains chosen by attributes (e.g. with / without eyeglasses), for CycleGAN."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from ganlab.data.celeba import ATTRIBUTES, CelebADataModule
from ganlab.data.unpaired import UnpairedDataModule
from ganlab.errors import ConfigError, DatasetError


class AttributeDomain(Dataset):
    """The faces of one CelebA split at `indices`; items (image, attributes), flipped if `flip`."""

    def __init__(self, faces: Dataset, indices: list[int], flip: bool) -> None:
        self.faces = faces
        self.indices = indices
        # Flipping the finished tensor equals flipping the photo: crop and resize are centred.
        self.flip = v2.RandomHorizontalFlip() if flip else None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        image, target = self.faces[self.indices[index]]
        return (self.flip(image) if self.flip else image), target


class CelebAUnpairedDataModule(UnpairedDataModule):
    """CelebA faces split into two domains by attributes, on the official splits.

    With attribute_b unset, A holds the faces with `attribute` and B those without it. With
    attribute_b set, A holds faces with `attribute` but not `attribute_b` and B the reverse
    (Blond_Hair vs Black_Hair), so no face is in both. Files, checks, crop and resize are
    CelebADataModule's; training images are also flipped at random if `flip`.
    """

    def __init__(
        self,
        root: str | Path,
        attribute: str = "Eyeglasses",
        attribute_b: str | None = None,
        image_size: int = 64,
        channels: int = 3,
        crop_size: int = 178,
        flip: bool = True,
        download: bool = False,
        batch_size: int = 1,  # the CycleGAN paper's
        num_workers: int = 2,  # JPEG decoding is the bottleneck
        **loader_kwargs,
    ) -> None:
        for key, name in (("attribute", attribute), ("attribute_b", attribute_b)):
            if name is not None and name not in ATTRIBUTES:
                raise ConfigError(
                    f"data.{key}={name!r} is not a CelebA attribute; choose one of "
                    f"{', '.join(ATTRIBUTES)}."
                )
        if attribute is None or attribute == attribute_b:
            raise ConfigError(
                f"data.attribute={attribute!r} and data.attribute_b={attribute_b!r}: set "
                "data.attribute, and data.attribute_b to a different attribute or null."
            )
        # The CelebA checks, messages, download and transform, with one full split each.
        self.celeba = CelebADataModule(
            root,
            image_size,
            channels,
            crop_size=crop_size,
            target_type="attr",
            download=download,
        )
        super().__init__(
            root,
            image_size,
            channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **loader_kwargs,
        )
        self.attribute = attribute
        self.attribute_b = attribute_b
        self.crop_size = self.celeba.crop_size
        self.flip = bool(flip)
        self.download = self.celeba.download

    def prepare_data(self) -> None:
        self.celeba.prepare_data()

    def describe(self, domain: str) -> str:
        """Which faces `domain` holds, in words."""
        a, b = self.attribute, self.attribute_b
        if b is None:
            return f"with {a}" if domain == "A" else f"without {a}"
        return f"{a} and not {b}" if domain == "A" else f"{b} and not {a}"

    def make_domain(self, split: str, domain: str) -> Dataset:
        faces = self.celeba.get_dataset(split)  # built once per split, shared by both domains
        wanted = [n for n in (self.attribute, self.attribute_b) if n is not None]
        absent = [n for n in wanted if n not in faces.attr_names]
        if absent:
            raise DatasetError(
                f"{self.celeba.base_dir / 'list_attr_celeba.txt'} has no column "
                f"{', '.join(absent)}; replace it with the official file."
            )
        has = {n: faces.attr[:, faces.attr_names.index(n)].bool() for n in wanted}
        if self.attribute_b is None:
            mask = has[self.attribute] if domain == "A" else ~has[self.attribute]
        else:
            first, second = (self.attribute, self.attribute_b)[:: 1 if domain == "A" else -1]
            mask = has[first] & ~has[second]
        indices = torch.nonzero(mask).flatten().tolist()
        if not indices:
            raise DatasetError(
                f"The {split} split of CelebA has no faces for domain {domain} "
                f"({self.describe(domain)}), from data.attribute={self.attribute} and "
                f"data.attribute_b={self.attribute_b}; choose attributes whose domains both "
                "occur in every split."
            )
        return AttributeDomain(faces, indices, flip=self.flip and split == "train")

    def domain_cache_name(self, domain: str) -> str:
        # The attributes decide which faces a domain holds, so they are part of the key.
        names = [self.attribute, *([self.attribute_b] if self.attribute_b else [])]
        return "-".join([super().domain_cache_name(domain), *names])
