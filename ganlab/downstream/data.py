"""Real and generated labelled images as tensors, for the downstream classifiers."""

from __future__ import annotations

import torch
from rich.progress import track

from ganlab.errors import ConfigError

GENERATE_BATCH = 500  # generated images per forward pass


def labelled_split(datamodule, split: str, limit: int | None = None, seed: int = 0):
    """(images, labels) of ``split``: all of it, or ``limit`` items drawn without replacement
    (seeded). Labels are class indices, or float {0, 1} vectors for multi-label data."""
    dataset = datamodule.get_dataset(split)
    index = torch.arange(len(dataset))
    if limit is not None and limit < len(dataset):
        index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:limit]
    fast = getattr(dataset, "images", None) is not None and hasattr(dataset, "labels")
    if fast:  # in memory (MNIST): no per-item work
        images = dataset.images[index].float() / 127.5 - 1
        return images, torch.as_tensor(dataset.labels)[index]
    subset = torch.utils.data.Subset(dataset, index.tolist())
    loader = torch.utils.data.DataLoader(subset, batch_size=256, num_workers=datamodule.num_workers)
    batches = list(track(loader, description=f"Loading {split} images", disable=len(loader) < 4))
    return torch.cat([b[0] for b in batches]), torch.cat([torch.as_tensor(b[1]) for b in batches])


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
