"""MNISTNet caches for the metric tests (the real network is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from ganlab.metrics import mnistnet_train


@pytest.fixture(scope="session")
def tiny_mnistnet_cache(tmp_path_factory, data_dir):
    """(cache dir, net) after a 3-batch training through the real code path (a few seconds)."""
    cache = tmp_path_factory.mktemp("tiny_mnistnet_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mnistnet_train, "TRAINING", {"epochs": 1, "seed": 0, "max_batches": 3})
        net = mnistnet_train.load_mnistnet(cache, data_dir, progress=False)
    return cache, net
