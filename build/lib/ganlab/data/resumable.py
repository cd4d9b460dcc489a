"""A training DataLoader that a resumed run continues exactly where the interrupted one stopped.

Lightning saves a train loader's ``state_dict()`` in every checkpoint and gives it back with
``load_state_dict()`` before iterating again; a plain DataLoader has neither, so a mid-epoch
resume restarts the epoch with a new order. torchdata's StatefulDataLoader has them, but it
restores the sampler's generator and each worker's RNG as they were, which ties a resume to the
same number of workers and still leaves random augmentations in a worker's stream. Written here
instead (about 80 lines): the order of every epoch is a function of (seed, epoch) alone, and
every item draws its random numbers (augmentations, CycleGAN's random pairing) from its own
seed, so any epoch can be entered at any batch, with any number of workers, and yields exactly
the items and augmentations of a straight run.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, default_collate


class EpochSampler(DistributedSampler):
    """Items ``(index, item_seed)``: epoch e's order and item seeds come from (seed, e) alone.

    ``set_epoch`` (Lightning calls it before every epoch) picks the epoch; ``skip`` items are
    left out of the next pass only (a resume into the middle of an epoch). Under DDP each rank
    takes every world-th item of the same order, as DistributedSampler does; being one, it is
    not replaced by Lightning's (which would yield bare indices).

    ``passes`` > 1 makes one epoch cover the data that many times, each in its own order
    (drawn one after the other from the epoch's generator, so ``passes=1`` is the plain
    order): for a data set of a few batches, the cost of starting an epoch (a new iterator,
    refilling the workers' queue, the Lightning hooks) then falls on one batch in many.
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True, passes: int = 1) -> None:
        distributed = dist.is_available() and dist.is_initialized()
        world, rank = (dist.get_world_size(), dist.get_rank()) if distributed else (1, 0)
        super().__init__(
            range(size * passes), num_replicas=world, rank=rank, shuffle=shuffle, seed=int(seed)
        )
        self.size, self.passes = size, passes
        self.skip = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        entropy = np.random.SeedSequence([self.seed, self.epoch]).generate_state(2)
        gen = torch.Generator().manual_seed(int(entropy[0]) << 32 | int(entropy[1]))
        orders, seeds, n = [], [], self.size
        for _ in range(self.passes):
            orders.append(torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n))
            seeds.append(torch.randint(2**62, (n,), generator=gen))
        order, seeds = torch.cat(orders), torch.cat(seeds)
        size = len(order)
        if self.total_size > size:  # pad, as DistributedSampler does, so ranks get equal shares
            order = torch.cat([order, order[: self.total_size - size]])
            seeds = torch.cat([seeds, seeds[: self.total_size - size]])
        mine = slice(self.rank, self.total_size, self.num_replicas)
        order, seeds = order[: self.total_size][mine], seeds[: self.total_size][mine]
        start, self.skip = self.skip, 0
        yield from zip(order[start:].tolist(), seeds[start:].tolist(), strict=True)


class Collated(list):
    """A batch its dataset made whole (uint8 rows read at once): ``collate`` passes it on, as
    taking it apart into items for default_collate to stack again cost a third of a
    prepared array's read."""


def collate(items):
    """default_collate, except for a batch a dataset already made (``Collated``)."""
    return list(items) if isinstance(items, Collated) else default_collate(items)


class SeededItems(Dataset):
    """``dataset[index]`` computed under torch's RNG seeded with the item's own seed.

    The caller's RNG is left as it was: with ``num_workers=0`` items are made in the training
    process, whose RNG also draws the model's noise.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitems__(self, items: list[tuple[int, int]]) -> list:
        """A batch's items; uint8 rows (``uint8_batches``) go through no random transform, so
        they are read at once, unseeded."""
        if getattr(self.dataset, "uint8_batches", False):
            return self.dataset.__getitems__([index for index, _ in items])
        return [self[item] for item in items]

    def __getitem__(self, item: tuple[int, int]):
        index, seed = item
        # The CPU generator alone (what augmentations draw from): torch.manual_seed also
        # seeds every accelerator backend, a cost per item on a CUDA build.
        generator = torch.default_generator
        state = generator.get_state()
        generator.manual_seed(seed)
        try:
            return self.dataset[index]
        finally:
            generator.set_state(state)


class ResumableLoader(DataLoader):
    """A shuffling DataLoader whose position (epoch, batches served) is saved in checkpoints."""

    def __init__(
        self,
        dataset: Dataset,
        seed: int,
        shuffle: bool = True,
        drop_last: bool = False,
        passes: int = 1,
        **kwargs,
    ) -> None:
        self.epoch_sampler = EpochSampler(len(dataset), seed, shuffle, passes)
        # Its own generator for the workers' base seed: a new iterator (every epoch, and on
        # resume) then draws nothing from the global RNG that the model's noise comes from.
        generator = torch.Generator().manual_seed(int(seed))
        kwargs.pop("generator", None)
        kwargs.setdefault("collate_fn", collate)
        super().__init__(
            SeededItems(dataset),
            sampler=self.epoch_sampler,
            generator=generator,
            drop_last=drop_last,
            **kwargs,
        )
        self._epoch, self.served = 0, 0  # batches handed out in epoch self._epoch

    def __iter__(self):
        sampler = self.epoch_sampler
        if sampler.epoch != self._epoch or self.served >= len(self):  # a new epoch
            self._epoch, self.served = sampler.epoch, 0
        sampler.skip = self.served * self.batch_size
        # Counted here, on the consumer's side: loader workers prefetch ahead of training.
        # (Lightning itself prefetches nothing from a loader with a length.)
        for batch in super().__iter__():
            self.served += 1
            yield batch

    def state_dict(self) -> dict:
        return {"epoch": self._epoch, "served": self.served, "seed": self.epoch_sampler.seed}

    def load_state_dict(self, state: dict) -> None:
        self.epoch_sampler.set_epoch(state["epoch"])
        self.epoch_sampler.seed = state["seed"]
        self._epoch, self.served = state["epoch"], state["served"]
