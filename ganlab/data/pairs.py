"""(degraded, clean) pairs of any image data set, for restoration models (``model=pix2pix``).

Training batches are degraded on the training device (``ImageDataModule.on_after_batch_transfer``);
this module serves evaluation and previews: the same pairs in every run, whatever the batch
size or device, because each image's degradation draws from its own seed, a function of
(``seed``, index) alone.
"""

from __future__ import annotations

import numpy as np
import torch
from hydra.utils import get_class
from torch.utils.data import Dataset

from ganlab.degrade import Degradation

# The seed of the evaluation pairs' degradations (``ImageDataModule.pairs``): fixed, so every
# run and every ``ganlab-eval`` restores the same inputs.
PAIRS_SEED = 0


def item_seeds(seed: int, indices: list[int]) -> torch.Tensor:
    """One int64 seed per image, from (``seed``, index) alone (numpy's SeedSequence mixes
    them, so neighbouring indices get unrelated streams)."""
    seeds = [
        int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 1)
        for index in indices
    ]
    return torch.tensor(seeds, dtype=torch.int64)


def input_channels(channels: int, degrade_target: str, plus: int = 0) -> int:
    """The channels of a restoration model's input: the image's ``channels`` and those the
    degradation adds (``extra_channels``, declared on its class, e.g. a mask's 1), ``plus``
    more (a pair D's: the image's again). The OmegaConf resolver ``ganlab.input_channels``:
    ``${ganlab.input_channels:${data.channels},${data.degrade._target_}}``."""
    return int(channels) + get_class(degrade_target).extra_channels + int(plus)


class DegradedPairs(Dataset):
    """Items ``(degraded, clean)``: ``dataset``'s image (its target dropped) and the model's
    input made from it by ``degrade``, under the image's own seed."""

    def __init__(self, dataset: Dataset, degrade: Degradation, seed: int = PAIRS_SEED) -> None:
        self.dataset, self.degrade, self.seed = dataset, degrade, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        degraded, clean = self.__getitems__([index])[0]
        return degraded, clean

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """A batch's pairs at once: one degradation call (the same values as item by item)."""
        indices = [index % len(self) if index < 0 else index for index in indices]
        clean = torch.stack([self.dataset[index][0] for index in indices])
        degraded = self.degrade(clean, item_seeds(self.seed, indices))
        return list(zip(degraded, clean, strict=True))
