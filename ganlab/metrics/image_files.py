"""Images from a folder, pixel for pixel: what ``ganlab-eval fake_dir=DIR`` measures and
``real_dir=DIR`` compares against (samples of another model, a shared test set).

Every image under the folder (recursively, the folder data's extensions, sorted by path) is
decoded as a viewer shows it (``pixels.AsViewed``) and otherwise left as it is: no resize
or crop, so the features are those torch-fidelity or pytorch-fid compute from the same
files. One channel when every image is grayscale, else RGB. For photos of many sizes, the
reference is ``data=folder`` instead, which resizes and crops to ``data.image_size``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ganlab.data.folder import EXTENSIONS, check_images, find_images
from ganlab.errors import ConfigError, DatasetError
from ganlab.pixels import pil_to_model_range

GRAY = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N")
SHOW_BAD = 5


class ImageFiles(Dataset):
    """The images of ``root`` in [-1, 1] at their own size; ``key`` names the option that
    gave the folder in error messages (``fake_dir``, ``real_dir``)."""

    def __init__(self, root: str | Path, key: str = "fake_dir"):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise ConfigError(f"{key}={root}: there is no such folder.")
        self.paths = find_images(self.root, EXTENSIONS)
        if not self.paths:
            raise DatasetError(f"{key}={root} holds no images ({', '.join(EXTENSIONS)}).")
        sizes: dict[Path, tuple[int, int]] = {}
        bad = check_images(self.paths, sizes)
        if bad:
            shown = "; ".join(f"{p}: {why}" for p, why in list(bad.items())[:SHOW_BAD])
            raise DatasetError(f"{key}={root}: {len(bad)} images cannot be read ({shown}).")
        by_size: dict[tuple[int, int], Path] = {}
        for path, size in sizes.items():
            by_size.setdefault(size, path)
        if len(by_size) > 1:
            (s1, p1), (s2, p2) = list(by_size.items())[:2]
            raise DatasetError(
                f"{key}={root}: the images differ in size ({p1} is {s1[0]}x{s1[1]}, {p2} is "
                f"{s2[0]}x{s2[1]}); they are measured as they are, without resizing. For real "
                f"images of many sizes use data=folder data.root={root} data.image_size=..., "
                "which resizes and crops them."
            )
        ((width, height),) = by_size
        self.image_size = height if height == width else (height, width)
        self.channels = 1 if all(self._mode(p) in GRAY for p in self.paths) else 3
        self.transform = v2.Compose(pil_to_model_range(self.channels))  # AsViewed first

    @staticmethod
    def _mode(path: Path) -> str:
        with Image.open(path) as img:
            return img.mode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        with Image.open(self.paths[index]) as img:
            return self.transform(img)

    # What the reference-feature cache (metrics/reference.py) asks of a data module.
    @property
    def cache_name(self) -> str:
        """ "files-" and a digest of the file list (names, sizes, modification times): a
        changed folder is not read from an old cache entry."""
        digest = hashlib.sha1()
        for path in self.paths:
            stat = path.stat()
            name = path.relative_to(self.root)
            digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        return f"files-{digest.hexdigest()[:12]}"

    def dataloader(self, split: str = "train", shuffle: bool = False, batch_size: int = 500):
        """The images in order, in batches (``split`` is ignored: a folder has one)."""
        return DataLoader(self, batch_size=batch_size, shuffle=shuffle, num_workers=0)

    def batches(self, batch_size: int):
        """``generate(k)`` for the Evaluator: the next ``k`` images at each call."""
        position = 0

        def generate(k: int) -> torch.Tensor:
            nonlocal position
            images = torch.stack([self[i] for i in range(position, position + k)])
            position += k
            return images

        return generate
