"""CelebA (aligned and cropped faces) in torchvision's folder layout, with its official splits."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torchvision
from torch.utils.data import Dataset
from torchvision.transforms import v2

from ganlab.data.base import ImageDataModule, check_positive, to_model_range
from ganlab.errors import ConfigError, DatasetError

TXT_FILES = (
    "list_attr_celeba.txt",
    "identity_CelebA.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
    "list_eval_partition.txt",
)
IMAGE_DIR = "img_align_celeba"
TARGET_TYPES = ("attr", "identity", "bbox", "landmarks")
SPLIT_IDS = {"train": 0, "valid": 1, "test": 2}  # codes in list_eval_partition.txt
SPLIT_NAMES = {"train": "train", "val": "valid", "test": "test"}


class CelebAFolder(torchvision.datasets.CelebA):
    """torchvision's CelebA that checks files exist instead of their md5s, and names bad images."""

    def __init__(self, root: str, split: str, **kwargs) -> None:
        # torchvision squeezes its split mask, so a split of exactly one image (a trimmed copy)
        # fails with "iteration over a 0-d tensor": load everything, then select with 1-D indices.
        super().__init__(root, split="all", **kwargs)
        self.split = split
        partition = self._load_csv("list_eval_partition.txt").data[:, 0]
        keep = torch.nonzero(partition == SPLIT_IDS[split]).flatten()
        self.filename = [self.filename[i] for i in keep.tolist()]
        self.identity, self.bbox = self.identity[keep], self.bbox[keep]
        self.landmarks_align, self.attr = self.landmarks_align[keep], self.attr[keep]

    def _check_integrity(self) -> bool:
        # torchvision compares the txt files against the official md5s: a re-exported or
        # trimmed copy (and every test fixture) fails that with an unhelpful "corrupted" error.
        # The datamodule checks every file is there before building this; JPEG errors surface
        # per image in __getitem__ with the file's name.
        base = os.path.join(self.root, self.base_folder)
        return os.path.isdir(os.path.join(base, IMAGE_DIR)) and all(
            os.path.isfile(os.path.join(base, name)) for name in TXT_FILES
        )

    def __getitem__(self, index: int):
        try:
            image, target = super().__getitem__(index)
        except (OSError, ValueError, SyntaxError) as e:
            path = os.path.join(self.root, self.base_folder, IMAGE_DIR, self.filename[index])
            raise DatasetError(f"Cannot read CelebA image {path} ({e}); replace it.") from e
        # An empty target_type gives None, which the default collate cannot batch.
        return image, 0 if target is None else target


class CelebADataModule(ImageDataModule):
    """CelebA at `root/celeba`: centre-crop the face (crop_size), resize to image_size.

    Splits are the official partition (train / valid / test); "val" is "valid". Targets are
    what torchvision returns for `target_type`, e.g. (attributes in {0, 1}, identity).
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        channels: int = 3,
        crop_size: int = 178,
        target_type: Sequence[str] | str = ("attr", "identity"),
        download: bool = False,
        num_workers: int = 2,  # JPEG decoding is the bottleneck
        **loader_kwargs,
    ) -> None:
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 or 3 for CelebA, got {channels!r}.")
        super().__init__(root, image_size, channels, num_workers=num_workers, **loader_kwargs)
        self.crop_size = check_positive("crop_size", crop_size)
        # Hydra passes a ListConfig; torchvision wants a plain list of str.
        types = [target_type] if isinstance(target_type, str) else [str(t) for t in target_type]
        unknown = [t for t in types if t not in TARGET_TYPES]
        if unknown:
            raise ConfigError(
                f"Unknown CelebA target_type {unknown}; choose from {', '.join(TARGET_TYPES)}."
            )
        self.target_type = types
        self.download = bool(download)
        self.base_dir = self.root / "celeba"
        self.transform = v2.Compose(
            [
                v2.CenterCrop(crop_size),
                v2.Resize(image_size, antialias=True),
                *to_model_range(channels),
            ]
        )

    def missing_files(self) -> list[str]:
        """The required files and folders that are not under `root/celeba`."""
        needed = [f"{IMAGE_DIR}/", *TXT_FILES]
        return [n for n in needed if not (self.base_dir / n.rstrip("/")).exists()]

    def prepare_data(self) -> None:
        if not self.missing_files() or not self.download:
            return
        try:
            torchvision.datasets.CelebA(str(self.root), download=True)
        except Exception as e:  # gdown missing, quota exceeded, no network: all mean "no files"
            raise DatasetError(self._missing_message(f"The download failed ({e}).")) from e

    def _missing_message(self, reason: str) -> str:
        layout = "\n".join(f"    {n}" for n in (f"{IMAGE_DIR}/*.jpg", *TXT_FILES))
        return (
            f"CelebA is incomplete in {self.base_dir}: missing {', '.join(self.missing_files())}. "
            f"{reason}\nExpected layout:\n  {self.base_dir}/\n{layout}\n"
            "Download it by hand from the CelebA site (Align&Cropped images and the annotation "
            "files) and set data.root to the folder that contains celeba/."
        )

    def make_dataset(self, split: str) -> Dataset:
        if self.missing_files():
            reason = (
                "data.download is off by default because Google Drive's download quota usually "
                "breaks it; set data.download=true to try it anyway."
            )
            raise DatasetError(self._missing_message(reason))
        try:
            return CelebAFolder(
                str(self.root),
                split=SPLIT_NAMES[split],
                target_type=self.target_type,
                transform=self.transform,
            )
        except (ValueError, IndexError, RuntimeError) as e:  # torchvision's bare int() parsing
            raise DatasetError(
                f"CelebA annotation files in {self.base_dir} could not be parsed ({e}); "
                "replace them with the official ones."
            ) from e
