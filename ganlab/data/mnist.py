"""MNIST, held in memory as uint8 and resized once, extracted from the copy bundled with ganlab."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import torch
import torchvision
from torch.utils.data import Dataset
from torchvision.datasets.utils import calculate_md5
from torchvision.transforms.v2 import functional as F

from ganlab.data.base import ImageDataModule, LabelSpec, TensorImageDataset
from ganlab.errors import ConfigError, DatasetError

BUNDLE_DIR = Path(__file__).resolve().parent.parent / "assets" / "mnist"

# The official uncompressed files' md5s (as torchvision checks them) ...
MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# ... and the sha256s of the bundled .gz copies (made with `gzip -9 -n`, so reproducible).
BUNDLE_SHA256 = {
    "train-images-idx3-ubyte": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}


# data.binarize: how grey levels become binary pixels (for a Bernoulli likelihood's NLL).
BINARIZE = ("threshold", "sample")
# The seed of binarize=sample's draw, one per split: the same binary digits in every run.
BINARIZE_SEED = {"train": 0, "test": 1}


def binarize(images: torch.Tensor, how: str, seed: int) -> torch.Tensor:
    """uint8 images made binary (0 or 255): ``threshold``, on above half intensity;
    ``sample``, on with probability intensity / 255, drawn once from a generator seeded with
    ``seed`` (a fixed stochastic binarisation, as Salakhutdinov & Murray 2008's binarised
    MNIST: the same images in every run and every evaluation)."""
    if how == "threshold":
        on = images > 127
    else:
        gen = torch.Generator().manual_seed(seed)
        on = torch.rand(images.shape, generator=gen) < images.float() / 255
    return on.to(torch.uint8) * 255


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class MNISTDataModule(ImageDataModule):
    """MNIST in torchvision's layout `root/MNIST/raw`, filled from the bundled copy if missing.

    MNIST has no validation split: "val" is the official test set (the same object as "test").
    """

    split_aliases: ClassVar[dict[str, str]] = {"val": "test"}

    def __init__(
        self,
        root: str | Path,
        image_size: int = 28,
        channels: int = 1,
        download: bool = True,
        num_workers: int = 0,  # in memory: worker processes would only add start-up and IPC
        binarize: str | None = None,
        **loader_kwargs,
    ) -> None:
        if channels != 1:
            raise ConfigError(f"MNIST is grayscale: data.channels must be 1, got {channels!r}.")
        if binarize is not None and binarize not in BINARIZE:
            raise ConfigError(
                f"data.binarize={binarize!r}: choose one of {', '.join(BINARIZE)}, or null "
                "(grey levels)."
            )
        self.binarize = binarize
        super().__init__(root, image_size, channels, num_workers=num_workers, **loader_kwargs)
        self.download = bool(download)
        self.raw_dir = self.root / "MNIST" / "raw"

    @property
    def cache_name(self) -> str:
        """ "mnist", or "mnist-bin-sample" for binarised digits: other images, other features."""
        name = super().cache_name
        return name if self.binarize is None else f"{name}-bin-{self.binarize}"

    def label_spec(self) -> LabelSpec:
        return LabelSpec(10, False, tuple(str(d) for d in range(10)))

    def missing_files(self) -> list[str]:
        """The raw files not yet under `root/MNIST/raw`."""
        return [name for name in MD5 if not (self.raw_dir / name).is_file()]

    def prepare_data(self) -> None:
        missing = self.missing_files()
        for name in MD5:
            if name not in missing:
                self._verify_raw(name)
        bundled = [n for n in missing if (BUNDLE_DIR / f"{n}.gz").is_file()]
        for name in bundled:
            self._extract(name)
        if len(bundled) < len(missing):
            self._download()

    def _verify_raw(self, name: str) -> None:
        path = self.raw_dir / name
        if calculate_md5(path) != MD5[name]:
            raise DatasetError(
                f"MNIST file {path} is corrupt (its md5 does not match the official one). "
                "Delete it and run again; it will be re-extracted."
            )

    def _extract(self, name: str) -> None:
        bundle = BUNDLE_DIR / f"{name}.gz"
        if _sha256(bundle) != BUNDLE_SHA256[name]:
            raise DatasetError(
                f"The bundled MNIST file {bundle} is corrupt (sha256 mismatch); reinstall ganlab "
                f"or put the uncompressed MNIST files in {self.raw_dir}."
            )
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so an interrupted run never leaves half a file
        # that a later run would take for the real one.
        fd, tmp = tempfile.mkstemp(dir=self.raw_dir, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as out, gzip.open(bundle, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, self.raw_dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._verify_raw(name)

    def _download(self) -> None:
        hint = (
            f"Put the four uncompressed MNIST files ({', '.join(MD5)}) in {self.raw_dir}, "
            "or reinstall ganlab to restore its bundled copy."
        )
        if not self.download:
            raise DatasetError(f"MNIST not found in {self.raw_dir} and data.download=false. {hint}")
        try:
            torchvision.datasets.MNIST(str(self.root), train=True, download=True)
        except Exception as e:  # every failure means the same to the user: no files
            msg = f"MNIST not found in {self.raw_dir} and the download failed ({e}). {hint}"
            raise DatasetError(msg) from e
        for name in MD5:
            self._verify_raw(name)

    def make_dataset(self, split: str) -> Dataset:
        missing = self.missing_files()
        if missing:
            raise DatasetError(
                f"MNIST files missing in {self.raw_dir}: {', '.join(missing)}. Run prepare_data() "
                "first (the Trainer does) or put the uncompressed MNIST files there."
            )
        try:
            mnist = torchvision.datasets.MNIST(str(self.root), train=split == "train")
        except Exception as e:  # torchvision's IDX parser fails with asserts and TypeErrors
            raise DatasetError(
                f"MNIST files in {self.raw_dir} could not be read ({e!r}); delete them and run "
                "again to re-extract them."
            ) from e
        images = mnist.data.unsqueeze(1)  # N x 1 x 28 x 28 uint8
        if self.image_size != images.shape[-1]:
            # Resizing once here instead of per item keeps the training loop free of it.
            images = F.resize(images, [self.image_size] * 2, antialias=True)
        if self.binarize is not None:
            images = binarize(images, self.binarize, BINARIZE_SEED[split])
        return TensorImageDataset(images.contiguous(), mnist.targets)
