"""Prepared images: decoded, cropped and resized once into a uint8 array file.

Decoding a JPEG and resizing it costs about a millisecond per image per core, which starves
a GPU; reading a row of an array file and scaling it to [-1, 1] costs microseconds.
``ganlab-prepare`` writes ``<name>.npy`` (N x C x S x S uint8, numpy's format so that it can
be memory-mapped: the OS pages in what is read, many workers share it) and ``<name>.json``
(the source files in row order and the settings). The datasets read a row instead of a
file when the .json matches their files and settings; the pixels are the JPEG path's
bit for bit, since the same transforms run, split where the image becomes uint8.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from rich.progress import track
from torch.utils.data import DataLoader, Dataset, default_collate

from ganlab.data.resumable import Collated
from ganlab.errors import DatasetError
from ganlab.pixels import to_model_range

PREPARED_MODES = ("auto", "always", "never")


def prepared_name(image_size: int, channels: int, crop: int | None = None) -> str:
    """The file stem for one set of training settings, e.g. ``64px_crop178_rgb``."""
    colour = "rgb" if channels == 3 else "gray"
    return f"{image_size}px{'' if crop is None else f'_crop{crop}'}_{colour}"


def prepared_folder(beside_images: Path, prepared_dir: str | Path | None, root: Path) -> Path:
    """Where a dataset's prepared arrays go: ``beside_images`` by default, or under
    ``data.prepared_dir`` (for data on a read-only or slow disk) in a subfolder named after
    the dataset's absolute path. The index knows images by file name, which two datasets can
    share (000001.jpg...), so two datasets must never share a folder there."""
    if prepared_dir is None:
        return beside_images
    source = Path(root).expanduser().resolve()
    tag = hashlib.sha1(str(source).encode()).hexdigest()[:8]
    return Path(prepared_dir).expanduser().resolve() / f"{source.name or 'root'}-{tag}"


def _cannot_write(path: Path, reason: str) -> DatasetError:
    return DatasetError(
        f"Cannot write the prepared array {path}: {reason}. Set data.prepared_dir to a folder "
        "on a disk with room that you can write to (training reads the array from there when "
        "it has the same setting)."
    )


def _reserve(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The array file, created with its disk space reserved. Writing into a memory map of a
    sparse file on a full disk kills the process with SIGBUS ("Bus error", no message), so
    the space is allocated first, where running out is an ordinary OSError."""
    need = int(np.prod(shape))
    free = shutil.disk_usage(path.parent).free
    if path.is_file():  # preparing again: the old array's space is given back first
        free += path.stat().st_size
    if free < need:
        raise _cannot_write(
            path,
            f"it needs {need / 2**20:.1f} MiB and {path.parent} has {free / 2**20:.1f} MiB free",
        )
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    if hasattr(os, "posix_fallocate"):  # Linux; elsewhere the check above has to do
        with open(path, "r+b") as file:
            try:
                os.posix_fallocate(file.fileno(), 0, os.fstat(file.fileno()).st_size)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise
                # EOPNOTSUPP/EINVAL: a file system without allocation; the check above stands
    return array


class DecodeFile:
    """A file name under ``folder`` -> ``decode(image)``: the uint8 image the training
    transforms would make from it (a class, so that DataLoader workers can pickle it)."""

    def __init__(self, folder: Path, decode: Callable) -> None:
        self.folder, self.decode = folder, decode

    def __call__(self, name: str) -> torch.Tensor:
        path = self.folder / name
        try:
            with PIL.Image.open(path) as image:
                return self.decode(image)
        except (OSError, ValueError, SyntaxError) as e:
            raise DatasetError(f"Cannot read image {path} ({e}); replace or remove it.") from e


class _Decode(Dataset):
    """Items are ``load(key)`` as uint8 C x S x S tensors: the pass that fills the array."""

    def __init__(self, keys: Sequence[str], load: Callable[[str], torch.Tensor]):
        self.keys, self.load = keys, load

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.load(self.keys[index])


def write_prepared(
    path: Path,
    keys: Sequence[str],
    load: Callable[[str], torch.Tensor],
    settings: dict,
    num_workers: int = 0,
    batch_size: int = 256,
    left_out: Sequence[str] = (),
) -> Path:
    """Decode every ``load(key)`` into ``path`` (.npy) and write the index (.json) beside it.

    ``left_out`` names the source files deliberately not in the array (unreadable ones with
    on_bad_image=skip), so that readers can tell them from files added since. The index is
    written last, so an interrupted run leaves no file that would be used."""
    index = path.with_suffix(".json")
    first = load(keys[0])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        index.unlink(missing_ok=True)
        array = _reserve(path, (len(keys), *first.shape))
    except OSError as e:
        if path.is_file() and not index.exists():
            path.unlink()  # the space reserved so far, of no use to anyone
        raise _cannot_write(path, e.strerror or str(e)) from None
    loader = DataLoader(_Decode(keys, load), batch_size=batch_size, num_workers=num_workers)
    row = 0
    for batch in track(loader, description=f"Preparing {path.name}"):
        array[row : row + len(batch)] = batch.numpy()
        row += len(batch)
    array.flush()
    del array
    saved = {"settings": settings, "keys": list(keys), "left_out": sorted(left_out)}
    try:
        index.write_text(json.dumps(saved) + "\n")
    except OSError as e:
        index.unlink(missing_ok=True)  # a half-written index must not be read
        raise _cannot_write(index, e.strerror or str(e)) from None
    return path


def decode_all(
    keys: Sequence[str],
    load: Callable[[str], torch.Tensor],
    num_workers: int = 0,
    description: str | None = None,
) -> np.ndarray:
    """Every ``load(key)`` as one uint8 array (N x C x S x S), decoded by ``num_workers``,
    with a progress bar when given its ``description``."""
    loader = DataLoader(_Decode(keys, load), batch_size=256, num_workers=num_workers)
    batches = track(loader, description=description) if description else loader
    return torch.cat(list(batches)).numpy()


def read_index(path: Path, index: Path) -> tuple[dict | None, str | None]:
    """(the index of the array at ``path``, None), or (None, what is wrong with the pair):
    an index that is not whole JSON, or an array cut short or of another length than its
    index (a copy that did not finish, a full disk)."""
    try:
        saved = json.loads(index.read_text())
        keys, _ = list(saved["keys"]), saved["settings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"its index {index} is damaged ({type(exc).__name__}: {exc})"
    try:
        rows = np.load(path, mmap_mode="r").shape[0]
    except (OSError, ValueError, EOFError) as exc:
        return None, f"{path} is cut short or damaged ({exc})"
    if rows != len(keys):
        return None, f"{path} holds {rows} images, its index {len(keys)}"
    return saved, None


class PreparedImages:
    """The rows of a prepared array file, opened memory-mapped on first use in each process
    (a DataLoader worker opens its own: a pickled memmap would copy the whole array)."""

    def __init__(self, path: Path, rows: np.ndarray):
        self.path, self.rows = path, rows
        self.kept: list[int] = list(range(len(rows)))
        self._array: np.ndarray | None = None

    @classmethod
    def find(cls, path: Path, keys: Sequence[str], settings: dict, mode: str, subset: bool = False):
        """The prepared images of ``keys`` (in that order), or None to decode the files.

        ``mode`` "auto" uses the file when it matches (and warns when one exists that does
        not), "always" requires it, "never" ignores it. A file made with other settings, or
        missing some of ``keys``, is not used; with ``subset``, the keys it was made without
        on purpose (its index's ``left_out``: unreadable files skipped) are dropped instead,
        and ``kept`` gives the positions of the others. The index knows files by name: one
        edited in place is not noticed."""
        if mode == "never":
            return None
        index = path.with_suffix(".json")
        exists = path.is_file() and index.is_file()
        problem = None
        if not exists:
            problem = f"{path} does not exist"
        else:
            saved, problem = read_index(path, index)
        if problem is None:
            position = {key: i for i, key in enumerate(saved["keys"])}
            left_out = set(saved.get("left_out", []))
            absent = [key for key in keys if key not in position]
            skipped = [key for key in absent if key in left_out]
            added = [key for key in absent if key not in left_out]
            if saved["settings"] != settings:
                problem = f"{path} was made with {saved['settings']}, not {settings}"
            elif added:
                problem = (
                    f"{path} lacks {len(added)} of the {len(keys)} images (e.g. {added[0]}: "
                    "added since it was made?)"
                )
            elif skipped and not subset:
                problem = (
                    f"{path} was made without {len(skipped)} unreadable image(s) "
                    "(data.on_bad_image=skip)"
                )
        if problem is None:
            kept = [i for i, key in enumerate(keys) if key in position]
            found = cls(path, np.array([position[keys[i]] for i in kept], dtype=np.int64))
            found.kept = kept
            return found
        if mode == "always":
            raise DatasetError(
                f"data.prepared=always, but {problem}. Run ganlab-prepare with the same data "
                "settings first, or set data.prepared=auto to decode the image files."
            )
        if exists:  # a user who prepared the data expects it to be read: say why it is not
            warnings.warn(
                f"Not reading the prepared images: {problem}. Decoding the image files "
                "instead (slower); run ganlab-prepare again to update the array.",
                stacklevel=2,
            )
        return None

    def select(self, keep: Sequence[int] | torch.Tensor) -> PreparedImages:
        """The rows of the items at positions ``keep``."""
        return PreparedImages(self.path, self.rows[np.asarray(keep, dtype=np.int64)])

    def _open(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(np.array(self._open()[self.rows[index]]))

    def batch(self, indices: Sequence[int]) -> torch.Tensor:
        """The rows of ``indices`` as one uint8 tensor, read in file order (one pass over
        the pages they are on) and returned in the order asked."""
        rows = self.rows[np.asarray(indices, dtype=np.int64)]
        order = np.argsort(rows, kind="stable")
        out = np.empty((len(rows), *self._open().shape[1:]), dtype=np.uint8)
        out[order] = self._open()[rows[order]]
        return torch.from_numpy(out)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}


class PreparedItems(ABC):
    """A dataset's items from a prepared array, when it has one: the dataset sets
    ``prepared_images`` (the rows of its items) and implements ``_targets(indices)``;
    ``uint8_batches`` (set on the training loader's copy) hands batches over as uint8, to
    be brought to the model range on the device."""

    prepared_images: PreparedImages | None = None
    uint8_batches = False

    @property
    def reads_uint8(self) -> bool:
        """Whether the training loader can ask for uint8 batches."""
        return self.prepared_images is not None

    @abstractmethod
    def _targets(self, indices: list[int]) -> list:
        """The targets of the items at ``indices``."""

    def prepared_items(self, indices: list[int]) -> list:
        images = self.prepared_images.batch(indices)
        if self.uint8_batches:  # the training loader's batch, whole
            return Collated([images, default_collate(self._targets(indices))])
        return list(zip(to_model_range(images), self._targets(indices), strict=True))

    def __getitems__(self, indices: list[int]) -> list:
        """A batch's items (DataLoader asks for them at once): prepared rows are read and
        converted in one step, which costs microseconds per image instead of a call each."""
        if self.prepared_images is None:
            return [self[i] for i in indices]
        return self.prepared_items(indices)


class ImagesInMemory(PreparedImages):
    """Decoded images held in memory, read as a prepared array's rows: a small data set
    decoded once instead of in every epoch (see ``FolderDataModule``)."""

    def __init__(self, array: np.ndarray, rows: np.ndarray | None = None):
        super().__init__(None, np.arange(len(array)) if rows is None else rows)
        self._array = array

    def select(self, keep: Sequence[int] | torch.Tensor) -> ImagesInMemory:
        return ImagesInMemory(self._array, self.rows[np.asarray(keep, dtype=np.int64)])

    def __getstate__(self) -> dict:
        return dict(self.__dict__)  # the images themselves go to the workers: they are few
