"""What every benchmark shares: in-memory data, the machine's description, result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import lightning as L
import torch

from ganlab.data.base import ImageDataModule, TensorImageDataset

RESULTS = Path(__file__).resolve().parent / "results"


class RandomImages(ImageDataModule):
    """``count`` seeded random uint8 images in memory: data that costs nothing to load, so
    that a training benchmark measures the training step alone."""

    def __init__(self, root: str = ".", image_size: int = 64, channels: int = 3,
                 count: int = 4096, **loader_kwargs) -> None:  # fmt: skip
        super().__init__(root, image_size, channels, **loader_kwargs)
        gen = torch.Generator().manual_seed(0)
        shape = (count, channels, image_size, image_size)
        self.images = torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)

    def make_dataset(self, split: str) -> TensorImageDataset:
        return TensorImageDataset(self.images, torch.zeros(len(self.images), dtype=torch.long))


def machine() -> dict:
    """Where the figures come from."""
    cuda = torch.cuda.is_available()
    return {
        "device": torch.cuda.get_device_name(0)
        if cuda
        else f"CPU ({platform.processor() or platform.machine()})",
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def spread(values: list[float]) -> dict:
    """Median and range of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": values}  # fmt: skip


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def write_results(name: str, result: dict, table: str, out: Path = RESULTS) -> list[Path]:
    """``<out>/<name>.json`` (everything) and ``<out>/<name>.md`` (the table and the machine)."""
    out.mkdir(parents=True, exist_ok=True)
    m = result["machine"]
    paths = [out / f"{name}.json", out / f"{name}.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    where = f"{m['device']}, {m['cpu_cores']} cores, torch {m['torch']}, {m['date']}"
    paths[1].write_text(f"# {name}\n\n{table}\nMachine: {where}.\n")
    return paths


STAMPS: list[float] = []  # the end of each timed iteration (ganlab's, from Timer)


def window_rate(stamps: list[float], batch: int) -> float:
    """Images/s over the timed iterations, from the end of the first to the end of the last:
    everything included (data, hooks, and the batches that write logs, which a median
    iteration time would leave out: ganlab writes every 10th batch)."""
    return batch * (len(stamps) - 1) / (stamps[-1] - stamps[0])


class Timer(L.Callback):
    """Stamps the end of each of ganlab's iterations after ``warmup``, as the plain loop's."""

    def __init__(self, warmup: int, device: str):
        self.warmup, self.device = warmup, device

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.g_steps >= self.warmup:
            sync(self.device)
            STAMPS.append(time.perf_counter())
