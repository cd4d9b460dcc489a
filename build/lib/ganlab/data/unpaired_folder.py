"""Unpaired domains in the CycleGAN datasets' layout: root/trainA, trainB and optional testA, testB."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from torch.utils.data import Dataset
from torchvision.transforms import v2

from ganlab.data.folder import (
    EXTENSIONS,
    ImageFileDataset,
    check_images,
    check_on_bad_image,
    drop_bad_images,
    find_images,
)
from ganlab.data.unpaired import UnpairedDataModule, UnpairedDataset
from ganlab.errors import ConfigError, DatasetError, check_int
from ganlab.pixels import pil_to_model_range

LAYOUT = (
    "  trainA/   images of domain A (searched recursively)",
    "  trainB/   images of domain B",
    "  testA/    optional: held-out images of domain A, for evaluation",
    "  testB/    optional: held-out images of domain B",
)


class UnpairedFolderDataModule(UnpairedDataModule):
    """Two folders of unpaired images, as horse2zebra, monet2photo etc. are downloaded.

    Transforms follow the paper (the reference `resize_and_crop`): training images are resized
    to load_size x load_size, randomly cropped to image_size and randomly flipped; "val" and
    "test" images are resized to image_size x image_size. "train" reads trainA/trainB; "val"
    and "test" (one shared set) read testA/testB, or trainA/trainB with a warning if those
    are absent.
    """

    split_aliases: ClassVar[dict[str, str]] = {"test": "val"}  # the same folders and transform

    def __init__(
        self,
        root: str | Path,
        image_size: int = 256,
        load_size: int = 286,
        flip: bool = True,
        channels: int = 3,
        extensions: Sequence[str] = EXTENSIONS,
        check_images: bool = True,
        on_bad_image: str = "error",
        batch_size: int = 1,  # the paper's: its instance norm and Adam settings assume it
        num_workers: int = 2,  # image decoding is the bottleneck
        **loader_kwargs,
    ) -> None:
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 or 3, got {channels!r}.")
        check_on_bad_image(on_bad_image)
        super().__init__(
            root,
            image_size,
            channels,
            batch_size=batch_size,
            num_workers=num_workers,
            **loader_kwargs,
        )
        self.load_size = check_int("data.load_size", load_size)
        if load_size < image_size:
            raise ConfigError(
                f"data.load_size={load_size} is smaller than data.image_size={image_size}, "
                "but training crops image_size out of the load_size resize; set data.load_size "
                "to at least image_size (the paper resizes to 286 and crops 256)."
            )
        self.flip = bool(flip)
        self.extensions = tuple(str(e) for e in extensions)  # Hydra passes a ListConfig
        self.check_images = bool(check_images)
        self.on_bad_image = on_bad_image
        train_geometry = [
            v2.Resize((load_size, load_size), antialias=True),
            v2.RandomCrop(image_size),
            *([v2.RandomHorizontalFlip()] if self.flip else []),
        ]
        self.train_transform = v2.Compose(pil_to_model_range(channels, train_geometry))
        self.test_transform = v2.Compose(
            pil_to_model_range(channels, [v2.Resize((image_size, image_size), antialias=True)])
        )

    def _layout_error(self, problem: str) -> DatasetError:
        layout = "\n".join(f"  {line}" for line in LAYOUT)
        return DatasetError(
            f"{problem}\nExpected layout (as the CycleGAN datasets, e.g. horse2zebra, unpack):\n"
            f"  {self.root}/\n{layout}\nSet data.root to the folder that holds trainA and trainB."
        )

    def _has_test_folders(self) -> bool:
        """Whether testA and testB exist; checks the whole layout first, so errors come early."""
        if not self.root.is_dir():
            raise self._layout_error(f"Unpaired image folder {self.root} does not exist.")
        missing = [d for d in ("trainA", "trainB") if not (self.root / d).is_dir()]
        if missing:
            raise self._layout_error(f"{self.root} has no {' or '.join(missing)} folder.")
        tests = [(self.root / f"test{d}").is_dir() for d in self.domains]
        if any(tests) and not all(tests):
            # Evaluating one domain on held-out images and the other on training images
            # would quietly compare unlike things: a half-unpacked download is likelier.
            have, lack = ("testA", "testB") if tests[0] else ("testB", "testA")
            raise self._layout_error(
                f"{self.root} has {have} but no {lack}; add {lack}, or remove {have} to "
                "evaluate on the training images."
            )
        return all(tests)

    def make_dataset(self, split: str) -> UnpairedDataset:
        has_tests = self._has_test_folders()
        if split != "train" and not has_tests:
            warnings.warn(
                f"{self.root} has no testA/testB folders, so evaluation (the val and test "
                "splits) uses the training images in trainA/trainB, with the test transform.",
                stacklevel=2,
            )
        return super().make_dataset(split)

    def make_domain(self, split: str, domain: str) -> Dataset:
        prefix = "train" if split == "train" or not self._has_test_folders() else "test"
        folder = self.root / f"{prefix}{domain}"
        paths = find_images(folder, self.extensions)
        if not paths:
            raise DatasetError(
                f"No images in {folder} (searched recursively for "
                f"{', '.join(self.extensions)}); put the images of domain {domain} there, or "
                "set data.extensions to their file types."
            )
        if self.check_images:
            paths = drop_bad_images(paths, check_images(paths), folder, self.on_bad_image)
        transform = self.train_transform if split == "train" else self.test_transform
        return ImageFileDataset(paths, transform)
