"""The resumable training loader: orders from (seed, epoch), per-item seeds, saved position."""

import torch
from torch.utils.data import Dataset

from ganlab.data.resumable import EpochSampler, ResumableLoader


class Noisy(Dataset):
    """Item i is (i, a random number): the random part stands for an augmentation."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return torch.tensor(i), torch.rand(())


def batches(loader):
    return [(idx.tolist(), noise.tolist()) for idx, noise in loader]


def test_an_epochs_order_depends_on_seed_and_epoch_only():
    a, b = EpochSampler(10, seed=3), EpochSampler(10, seed=3)
    b.set_epoch(1)
    list(b)  # b has run another epoch first
    a.set_epoch(0), b.set_epoch(0)
    assert list(a) == list(b)
    assert sorted(i for i, _ in a) == list(range(10))
    a.set_epoch(1)
    assert [i for i, _ in a] != [i for i, _ in b]
    assert [i for i, _ in EpochSampler(10, seed=4)] != [i for i, _ in b]


def test_ranks_take_disjoint_shares_of_one_order():
    ranks = [EpochSampler(10, seed=0) for _ in range(2)]
    for rank, sampler in enumerate(ranks):
        sampler.num_replicas, sampler.rank = 2, rank
        sampler.num_samples, sampler.total_size = 5, 10
    shares = [[i for i, _ in s] for s in ranks]
    assert len(shares[0]) == len(shares[1]) == 5 and sorted(shares[0] + shares[1]) == list(
        range(10)
    )


def test_items_draw_from_their_own_seed_whatever_the_workers():
    torch.manual_seed(0)
    in_process = batches(ResumableLoader(Noisy(), seed=1, batch_size=2))
    with_workers = batches(ResumableLoader(Noisy(), seed=1, batch_size=2, num_workers=2))
    assert in_process == with_workers
    before = torch.get_rng_state()
    batches(ResumableLoader(Noisy(), seed=1, batch_size=2))
    assert torch.equal(torch.get_rng_state(), before)  # the training RNG is left alone


def test_a_saved_position_resumes_mid_epoch_and_moves_on():
    straight = ResumableLoader(Noisy(), seed=5, batch_size=3, drop_last=True)
    epoch0 = batches(straight)
    straight.epoch_sampler.set_epoch(1)
    epoch1 = batches(straight)
    assert len(epoch0) == 3 and epoch0 != epoch1

    first = ResumableLoader(Noisy(), seed=5, batch_size=3, drop_last=True)
    it = iter(first)
    next(it), next(it)
    state = first.state_dict()
    assert state == {"epoch": 0, "served": 2, "seed": 5}
    resumed = ResumableLoader(Noisy(), seed=99, batch_size=3, drop_last=True)
    resumed.load_state_dict(state)
    assert batches(resumed) == epoch0[2:]
    resumed.epoch_sampler.set_epoch(1)
    assert batches(resumed) == epoch1


def test_an_epoch_of_several_passes_covers_every_item_once_a_pass():
    sampler = EpochSampler(10, seed=3, passes=3)
    items = list(sampler)
    assert len(sampler) == len(items) == 30
    passes = [[i for i, _ in items[k * 10 : (k + 1) * 10]] for k in range(3)]
    assert all(sorted(p) == list(range(10)) for p in passes)
    assert passes[0] != passes[1] != passes[2]  # each pass its own order
    assert len({seed for _, seed in items}) == 30  # and each item its own seed
    # The first pass is the order a one-pass epoch has: the same (seed, epoch) stream.
    assert items[:10] == list(EpochSampler(10, seed=3))


def test_a_resume_inside_a_many_pass_epoch_continues_it_exactly():
    torch.manual_seed(0)
    straight = ResumableLoader(Noisy(), seed=5, batch_size=4, drop_last=True, passes=3)
    full = batches(straight)
    assert len(full) == 7  # 30 items, drop_last: 7 batches, crossing the passes' boundaries
    first = ResumableLoader(Noisy(), seed=5, batch_size=4, drop_last=True, passes=3)
    it = iter(first)
    head = [next(it) for _ in range(3)]
    resumed = ResumableLoader(Noisy(), seed=5, batch_size=4, drop_last=True, passes=3)
    resumed.load_state_dict(first.state_dict())
    rest = batches(resumed)
    assert [(i.tolist(), n.tolist()) for i, n in head] + rest == full
