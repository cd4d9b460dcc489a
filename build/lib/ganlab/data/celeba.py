"""CelebA (aligned and cropped faces) in torchvision's folder layout, with its official splits,
and optionally attribute or identity labels for conditional models."""

from __future__ import annotations

import copy
import difflib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
import torchvision
from torch.utils.data import Dataset
from torchvision.transforms import v2

from ganlab.data.base import ImageDataModule, LabelSpec
from ganlab.data.prepared import (
    PREPARED_MODES,
    DecodeFile,
    PreparedImages,
    PreparedItems,
    prepared_folder,
    prepared_name,
    write_prepared,
)
from ganlab.errors import ConfigError, DatasetError, check_int, did_you_mean
from ganlab.pixels import DECODING, ToModelRange, pil_to_uint8

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
LABELS = ("attr", "identity")
IDENTITY_SPLITS = ("official", "per_identity")
ATTRIBUTES = (  # the 40 official names, in list_attr_celeba.txt's order
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)


class CelebAFolder(PreparedItems, torchvision.datasets.CelebA):
    """torchvision's CelebA that checks files exist instead of their md5s, and names bad images.

    `split` "all" keeps every image. `targets`, when set (one row per image), replaces the
    targets: each item's is looked up, not computed.
    """

    def __init__(self, root: str, split: str, **kwargs) -> None:
        # torchvision squeezes its split mask, so a split of exactly one image (a trimmed copy)
        # fails with "iteration over a 0-d tensor": load everything, then select with 1-D indices.
        super().__init__(root, split="all", **kwargs)
        self.split = split
        self.targets: torch.Tensor | None = None
        # The datamodule sets `prepared_images` when a prepared array matches: rows are
        # read instead of JPEGs, then brought to the model range as the JPEG path's last
        # step does.
        self.partition = self._load_csv("list_eval_partition.txt").data[:, 0]
        if split != "all":
            self._select(torch.nonzero(self.partition == SPLIT_IDS[split]).flatten())

    def _select(self, keep: torch.Tensor) -> None:
        self.filename = [self.filename[i] for i in keep.tolist()]
        self.identity, self.bbox = self.identity[keep], self.bbox[keep]
        self.landmarks_align, self.attr = self.landmarks_align[keep], self.attr[keep]
        self.partition = self.partition[keep]
        if self.prepared_images is not None:
            self.prepared_images = self.prepared_images.select(keep)

    def subset(self, split: str, keep: torch.Tensor, targets: torch.Tensor | None) -> CelebAFolder:
        """A copy with the images at indices `keep` alone, named `split`, with `targets`."""
        part = copy.copy(self)
        part.split = split
        part._select(keep)
        part.targets = targets
        return part

    def _check_integrity(self) -> bool:
        # torchvision compares the txt files against the official md5s: a re-exported or
        # trimmed copy (and every test fixture) fails that with an unhelpful "corrupted" error.
        # The datamodule checks every file is there before building this; JPEG errors surface
        # per image in __getitem__ with the file's name.
        base = os.path.join(self.root, self.base_folder)
        return os.path.isdir(os.path.join(base, IMAGE_DIR)) and all(
            os.path.isfile(os.path.join(base, name)) for name in TXT_FILES
        )

    def _targets(self, indices: list[int]) -> list:
        """torchvision's targets (or the labels) of ``indices``, looked up at once without
        decoding an image: the same values, types and shapes as ``__getitem__``'s."""
        index = torch.as_tensor(indices, dtype=torch.long)
        if self.targets is not None:
            return list(self.targets[index].unbind(0))
        columns = {
            "attr": lambda: self.attr[index],
            "identity": lambda: self.identity[index, 0],
            "bbox": lambda: self.bbox[index],
            "landmarks": lambda: self.landmarks_align[index],
        }
        parts = [columns[t]().unbind(0) for t in self.target_type]
        if not parts:
            return [0] * len(indices)
        return list(zip(*parts)) if len(parts) > 1 else list(parts[0])

    def __getitem__(self, index: int):
        if self.prepared_images is not None:
            return self.prepared_items([index])[0]
        try:
            image, target = super().__getitem__(index)
        except (OSError, ValueError, SyntaxError) as e:
            path = os.path.join(self.root, self.base_folder, IMAGE_DIR, self.filename[index])
            raise DatasetError(f"Cannot read CelebA image {path} ({e}); replace it.") from e
        if self.targets is not None:
            return image, self.targets[index]
        # An empty target_type gives None, which the default collate cannot batch.
        return image, 0 if target is None else target


def choice_error(key: str, value, choices: Sequence[str]) -> ConfigError:
    """A ConfigError for `data.<key>=value` not in `choices`, with the closest one."""
    return ConfigError(
        f"data.{key}={value!r} is not a choice.{did_you_mean(value, choices)} "
        f"Choose from: {', '.join(choices)}."
    )


def check_attributes(attributes: Sequence[str] | str | None) -> tuple[str, ...]:
    """The attribute names to label with (all 40 if None), or a ConfigError for unknown ones."""
    if attributes is None:
        return ATTRIBUTES
    names = [attributes] if isinstance(attributes, str) else [str(a) for a in attributes]
    unknown = [n for n in names if n not in ATTRIBUTES]
    if unknown:
        hints = []
        for name in unknown:
            match = difflib.get_close_matches(name, ATTRIBUTES, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {match[0]}?)" if match else ""))
        raise ConfigError(
            f"Unknown CelebA attribute(s) in data.attributes: {', '.join(hints)}. "
            f"Valid names: {', '.join(ATTRIBUTES)}."
        )
    if not names or len(set(names)) != len(names):
        raise ConfigError(
            f"data.attributes={names} must name at least one attribute, each once "
            "(null takes all 40)."
        )
    return tuple(names)


def per_identity_split(filenames: list[str], classes: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split each class's images, sorted by file name: the last max(1, round(n / 5)) are
    "test", the one before them "val" if the class has >= 5 images; the rest are "train".
    `classes` holds each image's class, -1 for images left out. Indices come back sorted."""
    by_class: dict[int, list[int]] = {}
    labels = classes.tolist()
    for i in sorted(range(len(filenames)), key=filenames.__getitem__):
        if labels[i] >= 0:
            by_class.setdefault(labels[i], []).append(i)
    splits: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for images in by_class.values():
        n = len(images)
        n_test = max(1, round(n / 5))
        first_val = n - n_test - (1 if n >= 5 else 0)
        splits["train"] += images[:first_val]
        splits["val"] += images[first_val : n - n_test]
        splits["test"] += images[n - n_test :]
    return {s: torch.tensor(sorted(idx), dtype=torch.long) for s, idx in splits.items()}


class CelebADataModule(ImageDataModule):
    """CelebA at `root/celeba`: centre-crop the face (crop_size), resize to image_size.

    Splits are the official partition (train / valid / test); "val" is "valid". Targets are
    what torchvision returns for `target_type`, e.g. (attributes in {0, 1}, identity), unless
    `labels` is set: "attr" gives the float {0, 1} vector of `attributes` (all 40 if None),
    "identity" a class index over the identities with at least `min_images_per_identity`
    train images (images of the others are dropped). `identity_split="per_identity"` splits
    each kept identity's images itself (see `per_identity_split`) instead of using the
    official partition, whose splits share no identities.
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        channels: int = 3,
        crop_size: int = 178,
        target_type: Sequence[str] | str = ("attr", "identity"),
        labels: str | None = None,
        attributes: Sequence[str] | None = None,
        min_images_per_identity: int = 1,
        identity_split: str = "official",
        prepared: str = "auto",
        prepared_dir: str | Path | None = None,
        download: bool = False,
        num_workers: int = 2,  # JPEG decoding is the bottleneck
        **loader_kwargs,
    ) -> None:
        if channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 or 3 for CelebA, got {channels!r}.")
        super().__init__(root, image_size, channels, num_workers=num_workers, **loader_kwargs)
        self.crop_size = check_int("data.crop_size", crop_size)
        # Hydra passes a ListConfig; torchvision wants a plain list of str.
        types = [target_type] if isinstance(target_type, str) else [str(t) for t in target_type]
        unknown = [t for t in types if t not in TARGET_TYPES]
        if unknown:
            raise ConfigError(
                f"Unknown CelebA target_type {unknown}; choose from {', '.join(TARGET_TYPES)}."
            )
        self.target_type = types
        self.labels, self.identity_split = self._check_labels(
            labels, attributes, min_images_per_identity, identity_split
        )
        self.attributes = check_attributes(attributes) if labels == "attr" else None
        self.min_images_per_identity = min_images_per_identity
        self.download = bool(download)
        self.base_dir = self.root / "celeba"
        if prepared not in PREPARED_MODES:
            raise choice_error("prepared", prepared, PREPARED_MODES)
        self.prepared = prepared
        self.prepared_dir = prepared_dir
        self.decode = v2.Compose(
            pil_to_uint8(
                channels, [v2.CenterCrop(crop_size), v2.Resize(image_size, antialias=True)]
            )
        )
        self.transform = v2.Compose([self.decode, ToModelRange()])
        self._faces: CelebAFolder | None = None  # every image, loaded once for all splits
        self._splits: dict[str, torch.Tensor] = {}  # each split's indices into _faces
        self._identities: torch.Tensor | None = None  # the kept identities, by class index

    @staticmethod
    def _check_labels(labels, attributes, min_images, identity_split) -> tuple[str | None, str]:
        if labels is not None and labels not in LABELS:
            raise choice_error("labels", labels, LABELS)
        if identity_split not in IDENTITY_SPLITS:
            raise choice_error("identity_split", identity_split, IDENTITY_SPLITS)
        check_int("data.min_images_per_identity", min_images)
        # An option that would be silently ignored is a mistake worth one clear message.
        misplaced = [
            (key, needs)
            for key, needs, is_set in (
                ("attributes", "attr", attributes is not None),
                ("min_images_per_identity", "identity", min_images != 1),
                ("identity_split", "identity", identity_split != "official"),
            )
            if is_set and labels != needs
        ]
        if misplaced:
            key, needs = misplaced[0]
            raise ConfigError(
                f"data.{key} only applies with data.labels={needs}, but data.labels={labels}; "
                f"set data.labels={needs} or leave data.{key} at its default."
            )
        return labels, identity_split

    def relabelled(self, **labelling) -> CelebADataModule:
        """The same faces (root, crop, size, channels, loading) with other labels, e.g.
        ``relabelled(labels="identity", identity_split="per_identity")``: what a downstream
        measure reads beside the labels a generator was trained on."""
        return CelebADataModule(
            self.root, self.image_size, self.channels, self.crop_size, self.target_type,
            download=False, num_workers=self.num_workers, batch_size=self.batch_size,
            pin_memory=self.pin_memory,
            **{"prepared": self.prepared, "prepared_dir": self.prepared_dir, **labelling},
        )  # fmt: skip

    def label_spec(self) -> LabelSpec | None:
        if self.labels == "attr":
            return LabelSpec(len(self.attributes), True, self.attributes)
        if self.labels == "identity":
            self._load_faces()
            names = tuple(str(i) for i in self._identities.tolist())
            return LabelSpec(len(names), False, names)
        return None

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

    def _load_faces(self) -> CelebAFolder:
        """Every image and annotation (parsed once for all splits), and the kept identities."""
        if self._faces is not None:
            return self._faces
        if self.missing_files():
            reason = (
                "data.download is off by default because Google Drive's download quota usually "
                "breaks it; set data.download=true to try it anyway."
            )
            raise DatasetError(self._missing_message(reason))
        try:
            faces = CelebAFolder(
                str(self.root),
                split="all",
                # The labels are the target: torchvision needs only their type.
                target_type=[self.labels] if self.labels else self.target_type,
                transform=self.transform,
            )
        except (ValueError, IndexError, RuntimeError) as e:  # torchvision's bare int() parsing
            raise DatasetError(
                f"CelebA annotation files in {self.base_dir} could not be parsed ({e}); "
                "replace them with the official ones."
            ) from e
        faces.prepared_images = PreparedImages.find(
            self.prepared_path(), faces.filename, self._prepared_settings(), self.prepared
        )
        if self.labels == "attr":
            absent = [n for n in self.attributes if n not in faces.attr_names]
            if absent:
                raise DatasetError(
                    f"{self.base_dir / 'list_attr_celeba.txt'} has no column "
                    f"{', '.join(absent)}; replace it with the official file."
                )
            columns = [faces.attr_names.index(n) for n in self.attributes]
            faces.targets = faces.attr[:, columns].float()
        elif self.labels == "identity":
            self._identities, faces.targets = self._identity_classes(faces)
        if self.identity_split == "per_identity":
            self._splits = per_identity_split(faces.filename, faces.targets)
        else:
            for split, name in SPLIT_NAMES.items():
                mask = faces.partition == SPLIT_IDS[name]
                if self.labels == "identity":
                    mask &= faces.targets >= 0
                self._splits[split] = torch.nonzero(mask).flatten()
        self._faces = faces
        return faces

    def prepared_path(self) -> Path:
        """Where ganlab-prepare writes these settings' array: beside the images, or under
        `prepared_dir`."""
        name = prepared_name(self.image_size, self.channels, self.crop_size)
        folder = prepared_folder(self.base_dir / "prepared", self.prepared_dir, self.base_dir)
        return folder / f"{name}.npy"

    def _prepared_settings(self) -> dict:
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "crop": self.crop_size,
            "decoding": DECODING,
        }

    def prepare_images(self) -> Path:
        """Decode, crop and resize every CelebA image once into ``prepared_path()``."""
        never = self.relabelled(labels=None, prepared="never")
        faces = never._load_faces()
        return write_prepared(
            self.prepared_path(), faces.filename, DecodeFile(self.base_dir / IMAGE_DIR, self.decode),
            self._prepared_settings(), self.num_workers,
        )  # fmt: skip

    def _identity_classes(self, faces: CelebAFolder) -> tuple[torch.Tensor, torch.Tensor]:
        """The identities with enough train images (sorted), and each image's class (-1: none)."""
        identity = faces.identity[:, 0]
        in_train = identity[faces.partition == SPLIT_IDS["train"]]
        found, counts = torch.unique(in_train, return_counts=True)
        kept = found[counts >= self.min_images_per_identity]
        if len(kept) == 0:
            most = int(counts.max()) if len(counts) else 0
            raise DatasetError(
                f"No CelebA identity has at least {self.min_images_per_identity} images in the "
                f"train split (data.min_images_per_identity): its {len(found)} identities have "
                f"at most {most} each; lower data.min_images_per_identity."
            )
        classes = torch.searchsorted(kept, identity).clamp_max(len(kept) - 1)
        classes = torch.where(kept[classes] == identity, classes, -1)
        if self.identity_split == "per_identity":
            alone = int((torch.bincount(classes[classes >= 0]) == 1).sum())
            if alone:
                warnings.warn(
                    f"{alone} CelebA identities have a single image, which goes to the test "
                    "split: their classes have no training image. Set "
                    "data.min_images_per_identity=2 or more to leave them out.",
                    stacklevel=2,
                )
        return kept, classes

    def make_dataset(self, split: str) -> Dataset:
        faces = self._load_faces()
        keep = self._splits[split]
        targets = None if faces.targets is None else faces.targets[keep]
        return faces.subset(SPLIT_NAMES[split], keep, targets)

    def check_loader(self, dataset: Dataset, split: str, batch_size: int, drop_last: bool) -> None:
        if len(dataset) == 0 and self.labels == "identity" and self.identity_split == "official":
            raise DatasetError(
                f"The {split} split of CelebA has no images of the {len(self._identities)} "
                "identities kept from the train split: the official splits share no identities. "
                "Set data.identity_split=per_identity to hold out images of the same people."
            )
        super().check_loader(dataset, split, batch_size, drop_last)
