"""Features of real images, computed once per protocol and cached on disk.

The key holds everything that changes the features: dataset (and where it lives), split,
resolution, sample count and the extractor's exact weights. Every run and sweep job with the
same protocol reads the same file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from ganlab.metrics.extractors import FeatureExtractor
from ganlab.metrics.progress import Progress


def default_cache_dir() -> Path:
    """``$GANLAB_CACHE_DIR``, else ``~/.cache/ganlab``: shared by all runs of a user."""
    return Path(os.environ.get("GANLAB_CACHE_DIR") or Path.home() / ".cache" / "ganlab")


def reference_key(datamodule, split: str, n: int, extractor: FeatureExtractor) -> str:
    where = hashlib.sha1(str(Path(datamodule.root).resolve()).encode()).hexdigest()[:8]
    return f"{datamodule.cache_name}-{where}-{split}-{datamodule.image_size}px-n{n}-{extractor.cache_key}"


@torch.no_grad()
def extract(
    extractor: FeatureExtractor, batches, n: int, device, progress: Progress | None = None
) -> torch.Tensor:
    """Features of the first ``n`` images of an iterable of image batches, on the CPU."""
    feats, seen = [], 0
    for batch in batches:
        images = batch[0] if isinstance(batch, (list, tuple)) else batch
        images = images[: n - seen].to(device)
        feats.append(extractor(images).cpu())
        seen += len(images)
        if progress is not None:
            progress.update(len(images))
        if seen >= n:
            break
    return torch.cat(feats)


def reference_features(
    extractor: FeatureExtractor,
    datamodule,
    split: str,
    n: int,
    cache_dir: str | Path,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Features of the first ``n`` images of ``split`` (fewer if the split is smaller)."""
    path = Path(cache_dir) / "reference" / f"{reference_key(datamodule, split, n, extractor)}.pt"
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    loader = datamodule.dataloader(split, shuffle=False, batch_size=batch_size)
    total = min(n, len(loader.dataset))
    what = f"{extractor.name} features of {total} real {split} images (computed once, then cached)"
    feats = extract(extractor, loader, n, device, Progress(what, total))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # ranks may race: rename is atomic
    torch.save(feats, tmp)
    os.replace(tmp, path)
    return feats
