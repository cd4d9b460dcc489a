"""Any folder of images (searched recursively), checked once so a bad file fails at setup."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

from PIL import Image, ImageFile
from rich.progress import track
from torch.utils.data import Dataset
from torchvision.transforms import v2

from ganlab.data.base import ImageDataModule, LabelSpec
from ganlab.data.prepared import (
    PREPARED_MODES,
    DecodeFile,
    ImagesInMemory,
    PreparedImages,
    PreparedItems,
    decode_all,
    prepared_folder,
    prepared_name,
    write_prepared,
)
from ganlab.errors import ConfigError, DatasetError
from ganlab.pixels import DECODING, ToModelRange, pil_to_uint8

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
ON_BAD_IMAGE = ("error", "skip")
LABELS = ("subfolder",)
PROGRESS_MIN_FILES = 500  # below this the check takes a moment and a bar would only flicker
SHOW_BAD = 20
# data.prepared: a ganlab-prepare array (auto, always, never), or every image decoded once
# at setup and held in memory (small data sets).
MODES = (*PREPARED_MODES, "memory")


def find_images(root: Path, extensions: Sequence[str]) -> list[Path]:
    """Image files under `root`, sorted; hidden files and folders (".DS_Store", "._x.jpg") skipped."""
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in exts
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def inspect_image(path: Path) -> tuple[str | None, tuple[int, int] | None]:
    """(why `path` cannot be fully decoded or None, its (width, height) or None)."""
    try:
        if path.stat().st_size == 0:  # PIL would say "cannot identify image file"
            return "an empty file (0 bytes)", None
        with Image.open(path) as img:
            img.load()
            return None, img.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        return f"{type(e).__name__}: {e}", None


def image_error(path: Path) -> str | None:
    """Why `path` cannot be fully decoded, or None if it can."""
    return inspect_image(path)[0]


def check_images(paths: list[Path], sizes: dict | None = None) -> dict[Path, str]:
    """Decode every image once; map each unreadable or truncated one to the reason (and
    each readable one to its (width, height) in ``sizes``, if given)."""
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    # Someone may have set this globally; then PIL pads a truncated image and calls it fine.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        # PIL releases the GIL while decoding, so threads use every core.
        with ThreadPoolExecutor() as pool:
            found = pool.map(inspect_image, paths)
            if len(paths) >= PROGRESS_MIN_FILES:
                found = track(found, total=len(paths), description="Checking images")
            bad = {}
            for path, (reason, size) in zip(paths, found, strict=True):
                if reason is not None:
                    bad[path] = reason
                elif sizes is not None:
                    sizes[path] = size
            return bad
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok


def too_small(sizes: dict[Path, tuple[int, int]], min_side: int) -> dict[Path, str]:
    """The images whose shorter side is below ``min_side``, each with its size."""
    return {
        p: f"{w}x{h} pixels, smaller than data.min_source_size={min_side}"
        for p, (w, h) in sizes.items()
        if min(w, h) < min_side
    }


def warn_upscaled(paths: list[Path], sizes: dict, image_size: int, where: Path) -> None:
    """One warning, with the count and an example, for images that training will upscale."""
    small = [p for p in paths if p in sizes and min(sizes[p]) < image_size]
    if small:
        w, h = sizes[small[0]]
        warnings.warn(
            f"{len(small)} of {len(paths)} images in {where} are smaller than "
            f"data.image_size={image_size} (e.g. {small[0]}, {w}x{h}) and are upscaled. "
            f"data.min_source_size={image_size} leaves them out (with data.on_bad_image=skip) "
            "or stops on them.",
            stacklevel=2,
        )


def check_on_bad_image(on_bad_image: str) -> str:
    """Return `on_bad_image`, or raise a ConfigError naming data.on_bad_image and the choices."""
    if on_bad_image not in ON_BAD_IMAGE:
        raise ConfigError(
            f"data.on_bad_image={on_bad_image!r} is not a choice; use one of "
            f"{', '.join(ON_BAD_IMAGE)}."
        )
    return on_bad_image


def drop_bad_images(
    paths: list[Path], bad: dict[Path, str], where: Path, on_bad_image: str
) -> list[Path]:
    """`paths` without the `bad` ones (with a warning) if on_bad_image="skip", else an error.

    `where` is the folder named in the messages.
    """
    if not bad:
        return paths
    if on_bad_image == "skip":
        warnings.warn(
            f"Skipping {len(bad)} unreadable image(s) of {len(paths)} in {where}.",
            stacklevel=2,
        )
        kept = [p for p in paths if p not in bad]
        if not kept:
            raise DatasetError(f"None of the {len(paths)} images in {where} is readable.")
        return kept
    listed = "\n".join(f"  {p} ({why})" for p, why in list(bad.items())[:SHOW_BAD])
    more = f"\n  ... and {len(bad) - SHOW_BAD} more" if len(bad) > SHOW_BAD else ""
    raise DatasetError(
        f"{len(bad)} of {len(paths)} images in {where} cannot be read:\n{listed}{more}\n"
        "Remove them, or set data.on_bad_image=skip to train without them."
    )


def subfolder_classes(root: Path, paths: list[Path]) -> list[str]:
    """The first-level subfolders of `root` that hold `paths`, sorted: the class names."""
    loose = [p for p in paths if p.parent == root]
    if loose:
        raise DatasetError(
            f"data.labels=subfolder takes each image's class from its folder, but {len(loose)} "
            f"image(s) lie directly in {root}, e.g. {loose[0]}. Expected layout: "
            f"{root}/<class>/*.png (e.g. {root}/cat/001.png); move them into class folders."
        )
    return sorted({p.relative_to(root).parts[0] for p in paths})


class ImageFileDataset(PreparedItems, Dataset):
    """Images at `paths`; items are (transform(image), label), label 0 without `targets`.

    With `prepared_images` (the rows of a ganlab-prepare array, one per path), items are
    the rows in the model range: the same pixels without decoding the files."""

    def __init__(
        self, paths: list[Path], transform, targets: list[int] | None = None,
        prepared_images: PreparedImages | None = None,
    ) -> None:  # fmt: skip
        self.paths = paths
        self.transform = transform
        self.targets = targets
        self.prepared_images = prepared_images

    def __len__(self) -> int:
        return len(self.paths)

    def _targets(self, indices: list[int]) -> list:
        return [0 if self.targets is None else self.targets[i] for i in indices]

    def __getitem__(self, index: int):
        if self.prepared_images is not None:
            return self.prepared_items([index])[0]
        path = self.paths[index]
        try:
            with Image.open(path) as img:
                image = self.transform(img)
        except Exception as e:
            raise DatasetError(
                f"Cannot read image {path} ({e}); remove it, or keep data.check_images=true "
                "to find every bad file at setup."
            ) from e
        return image, 0 if self.targets is None else self.targets[index]


class FolderDataModule(ImageDataModule):
    """Every image under `root` (recursively): resize the short side, centre-crop to a square.

    There are no splits: "train", "val" and "test" are all the same set of images.
    `labels="subfolder"` labels each image with its first-level folder under `root`, as
    torchvision's ImageFolder does: the folders holding images, sorted by name, are classes
    0, 1, ... (decided before unreadable files are skipped, so skipping never renumbers).
    """

    split_aliases: ClassVar[dict[str, str]] = {"val": "train", "test": "train"}

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        channels: int = 3,
        extensions: Sequence[str] = EXTENSIONS,
        check_images: bool = True,
        on_bad_image: str = "error",
        labels: str | None = None,
        prepared: str = "auto",
        prepared_dir: str | Path | None = None,
        min_source_size: int | None = None,
        num_workers: int = 2,  # image decoding is the bottleneck
        **loader_kwargs,
    ) -> None:
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 or 3, got {channels!r}.")
        check_on_bad_image(on_bad_image)
        if labels is not None and labels not in LABELS:
            raise ConfigError(
                f"data.labels={labels!r} is not a choice; use null (no labels) or subfolder."
            )
        super().__init__(root, image_size, channels, num_workers=num_workers, **loader_kwargs)
        self.extensions = tuple(str(e) for e in extensions)  # Hydra passes a ListConfig
        self.check_images = bool(check_images)
        self.on_bad_image = on_bad_image
        self.labels = labels
        self.classes: list[str] | None = None  # with labels=subfolder, once the data is listed
        if prepared not in MODES:
            raise ConfigError(
                f"data.prepared={prepared!r} is not a choice; use one of {', '.join(MODES)}."
            )
        self.prepared = prepared
        self.prepared_dir = prepared_dir
        self.min_source_size = min_source_size
        self.decode = v2.Compose(
            pil_to_uint8(
                channels, [v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)]
            )
        )
        self.transform = v2.Compose([self.decode, ToModelRange()])

    def make_dataset(self, split: str) -> Dataset:
        if not self.root.is_dir():
            raise DatasetError(f"Image folder {self.root} does not exist; set data.root=DIR.")
        paths = find_images(self.root, self.extensions)
        if not paths:
            raise DatasetError(
                f"No images in {self.root} (searched recursively for "
                f"{', '.join(self.extensions)}); set data.root to a folder of images."
            )
        if self.labels is not None:
            self.classes = subfolder_classes(self.root, paths)
        # A prepared array was made from the readable files (with on_bad_image=skip, the
        # others were left out): it replaces both the check and the decoding.
        prepared = PreparedImages.find(
            self.prepared_path(), [self._key(p) for p in paths], self._prepared_settings(),
            "never" if self.prepared == "memory" else self.prepared,
            subset=self.on_bad_image == "skip",
        )  # fmt: skip
        if prepared is not None:
            paths = [paths[i] for i in prepared.kept]
        elif self.check_images:
            sizes: dict[Path, tuple[int, int]] = {}
            bad = check_images(paths, sizes)
            if self.min_source_size is not None:
                bad.update(too_small(sizes, self.min_source_size))
            paths = drop_bad_images(paths, bad, self.root, self.on_bad_image)
            warn_upscaled(paths, sizes, self.image_size, self.root)
        if self.prepared == "memory":
            # Decoded once here, then read as a prepared array is (in the training process,
            # scaled on the device), instead of decoded again by the workers in every epoch,
            # which on a few cores competes with training: for small data sets.
            keys, many = [self._key(p) for p in paths], len(paths) >= PROGRESS_MIN_FILES
            decoded = decode_all(
                keys, DecodeFile(self.root, self.decode), self.num_workers if many else 0,
                f"Decoding {len(paths)} images into memory" if many else None,
            )  # fmt: skip
            prepared = ImagesInMemory(decoded)
        targets = None
        if self.labels is not None:
            index = {name: i for i, name in enumerate(self.classes)}
            targets = [index[p.relative_to(self.root).parts[0]] for p in paths]
        return ImageFileDataset(paths, self.transform, targets, prepared)

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def prepared_path(self) -> Path:
        """Where ganlab-prepare writes these settings' array: a hidden folder of `root`
        (which the image search skips), or under `prepared_dir`."""
        folder = prepared_folder(self.root / ".prepared", self.prepared_dir, self.root)
        return folder / f"{prepared_name(self.image_size, self.channels)}.npy"

    def _prepared_settings(self) -> dict:
        return {"image_size": self.image_size, "channels": self.channels, "decoding": DECODING}

    def prepare_images(self) -> Path:
        """Decode, resize and crop every readable image once into ``prepared_path()``."""
        saved, self.prepared = self.prepared, "never"
        try:
            paths = self.make_dataset("train").paths
        finally:
            self.prepared = saved
        keys = [self._key(p) for p in paths]
        readable = set(keys)
        left_out = [k for k in map(self._key, find_images(self.root, self.extensions))
                    if k not in readable]  # fmt: skip
        return write_prepared(
            self.prepared_path(), keys, DecodeFile(self.root, self.decode),
            self._prepared_settings(), self.num_workers, left_out=left_out,
        )  # fmt: skip

    def label_spec(self) -> LabelSpec | None:
        if self.labels is None:
            return None
        self.get_dataset("train")  # lists the classes
        return LabelSpec(len(self.classes), False, tuple(self.classes))
