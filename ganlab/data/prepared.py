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

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from rich.progress import track
from torch.utils.data import DataLoader, Dataset, default_collate

from ganlab.data.resumable import Collated
from ganlab.errors import DatasetError

PREPARED_MODES = ("auto", "always", "never")


def prepared_name(image_size: int, channels: int, crop: int | None = None) -> str:
    """The file stem for one set of training settings, e.g. ``64px_crop178_rgb``."""
    colour = "rgb" if channels == 3 else "gray"
    return f"{image_size}px{'' if crop is None else f'_crop{crop}'}_{colour}"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    index = path.with_suffix(".json")
    index.unlink(missing_ok=True)
    loader = DataLoader(_Decode(keys, load), batch_size=batch_size, num_workers=num_workers)
    first = load(keys[0])
    array = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.uint8, shape=(len(keys), *first.shape)
    )
    row = 0
    for batch in track(loader, description=f"Preparing {path.name}"):
        array[row : row + len(batch)] = batch.numpy()
        row += len(batch)
    array.flush()
    del array
    saved = {"settings": settings, "keys": list(keys), "left_out": sorted(left_out)}
    index.write_text(json.dumps(saved) + "\n")
    return path


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
            saved = json.loads(index.read_text())
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


class PreparedItems:
    """A dataset's items from a prepared array, when it has one: the dataset sets
    ``prepared`` (the rows of its items) and ``scale`` (uint8 -> [-1, 1]), and implements
    ``_targets(indices)``; ``raw`` keeps the images uint8 (the training loader's copy,
    scaled on the device)."""

    prepared: PreparedImages | None = None
    scale: Callable | None = None
    raw = False

    @property
    def reads_uint8(self) -> bool:
        """Whether the training loader can ask for raw (uint8) batches."""
        return self.prepared is not None and self.scale is not None

    def _targets(self, indices: list[int]) -> list:
        raise NotImplementedError

    def prepared_items(self, indices: list[int]) -> list:
        images = self.prepared.batch(indices)
        if self.raw:  # the training loader's batch, whole
            return Collated([images, default_collate(self._targets(indices))])
        return list(zip(self.scale(images), self._targets(indices), strict=True))

    def __getitems__(self, indices: list[int]) -> list:
        """A batch's items (DataLoader asks for them at once): prepared rows are read and
        scaled in one step, which costs microseconds per image instead of a call each."""
        if self.prepared is None:
            return [self[i] for i in indices]
        return self.prepared_items(indices)
