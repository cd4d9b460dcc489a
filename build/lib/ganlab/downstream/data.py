"""Real and generated labelled images as tensors, for the downstream classifiers."""

from __future__ import annotations

import torch
from rich.progress import track

from ganlab.errors import ConfigError
from ganlab.pixels import to_uint8

GENERATE_BATCH = 500  # generated images per forward pass


def labelled_split(
    datamodule,
    split: str,
    limit: int | None = None,
    seed: int = 0,
    classes: torch.Tensor | None = None,
):
    """(uint8 images, labels) of ``split``: all of it, or ``limit`` items drawn without
    replacement (seeded). Labels are class indices, or float {0, 1} vectors for multi-label
    data. ``classes`` keeps the items of those classes alone, relabelled 0, 1, ... in that
    order. uint8 because a labelled face set in float would not fit in memory (CelebA's
    train split at 64x64: 2 GB as uint8, 8 GB as float)."""
    dataset = datamodule.get_dataset(split)
    index = torch.arange(len(dataset))
    known = getattr(dataset, "targets", None)  # None: read with the images
    if classes is not None:
        if known is None:
            raise ConfigError(f"the {split} split's labels cannot be read without its images.")
        known = torch.as_tensor(known)
        index = torch.nonzero(torch.isin(known, classes)).flatten()
    if limit is not None and limit < len(index):
        gen = torch.Generator().manual_seed(seed)
        index = index[torch.randperm(len(index), generator=gen)[:limit]]
    if getattr(dataset, "images", None) is not None and known is not None:
        # In memory (MNIST): no per-item work.
        images, labels = dataset.images[index], torch.as_tensor(known)[index]
    else:
        subset = torch.utils.data.Subset(dataset, index.tolist())
        loader = torch.utils.data.DataLoader(
            subset, batch_size=256, num_workers=datamodule.num_workers
        )
        batches = list(
            track(loader, description=f"Loading {split} images", disable=len(loader) < 4)
        )
        images = torch.cat([to_uint8(b[0]) for b in batches])
        labels = torch.cat([torch.as_tensor(b[1]) for b in batches])
    if classes is not None:  # class c -> its position in `classes`
        order = torch.argsort(classes)
        labels = order[torch.searchsorted(classes[order], labels)]
    return images, labels


def per_class_subset(labels: torch.Tensor, k: int, num_classes: int, seed: int) -> torch.Tensor:
    """Indices of ``k`` items of every class, drawn with a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    picked = []
    for c in range(num_classes):
        members = torch.nonzero(labels == c).flatten()
        if len(members) < k:
            raise ConfigError(f"class {c} has {len(members)} training images, fewer than k={k}")
        picked.append(members[torch.randperm(len(members), generator=gen)[:k]])
    return torch.cat(picked)
