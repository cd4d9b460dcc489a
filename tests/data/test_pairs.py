"""(degraded, clean) pairs: fixed for evaluation, fresh and resumable for training."""

import pytest
import torch

from ganlab.data import MNISTDataModule
from ganlab.data.pairs import DegradedPairs, input_channels, item_seeds
from ganlab.degrade import Downsample, Mask, NoDegradation
from ganlab.errors import ConfigError


def test_item_seeds_depend_on_seed_and_index_only():
    assert torch.equal(item_seeds(0, [5, 7]), item_seeds(0, [3, 5, 7])[1:])
    assert not torch.equal(item_seeds(0, [5]), item_seeds(1, [5]))
    assert len(set(item_seeds(0, list(range(100))).tolist())) == 100


def test_evaluation_pairs_are_the_same_in_any_batch(data_dir):
    data = MNISTDataModule(data_dir, image_size=16, channels=1, degrade=Mask())
    data.prepare_data()  # the bundled MNIST, extracted once per test session
    pairs = data.pairs("test")
    assert isinstance(pairs, DegradedPairs) and len(pairs) == 10000
    batch = pairs.__getitems__([3, 4, 5])
    degraded, clean = pairs[4]
    assert degraded.shape == (2, 16, 16) and clean.shape == (1, 16, 16)
    assert torch.equal(batch[1][0], degraded) and torch.equal(batch[1][1], clean)
    again = MNISTDataModule(data_dir, image_size=16, channels=1, degrade=Mask()).pairs("test")
    assert torch.equal(again[4][0], degraded)  # another datamodule, the same input
    assert torch.equal(clean, data.get_dataset("test")[4][0])
    assert not torch.equal(pairs[5][0][1], degraded[1])  # each image its own mask


def test_data_without_a_degradation_has_no_pairs(data_dir):
    data = MNISTDataModule(data_dir, image_size=16, channels=1)
    assert isinstance(data.degrade, NoDegradation) and not data.paired
    with pytest.raises(ConfigError, match="data/degrade=downsample"):
        data.pairs("test")


def test_training_batches_put_the_degraded_inputs_first(data_dir):
    data = MNISTDataModule(data_dir, image_size=16, channels=1, degrade=Downsample(4))
    clean = torch.rand(4, 1, 16, 16) * 2 - 1
    torch.manual_seed(0)
    degraded, same, targets = data.on_after_batch_transfer([clean, torch.arange(4)], 0)
    assert same is clean and torch.equal(targets, torch.arange(4))
    assert torch.allclose(degraded, Downsample(4)(clean, torch.zeros(4, dtype=torch.int64)))


def test_input_channels_counts_the_degradations_extra_channels():
    assert input_channels(3, "ganlab.degrade.Downsample") == 3
    assert input_channels(1, "ganlab.degrade.Mask") == 2
    assert input_channels(1, "ganlab.degrade.Mask", 1) == 3  # a pair D's
