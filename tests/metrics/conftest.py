"""MNISTNet caches shared by the metric tests: the real network, trained once per session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ganlab.metrics import mnistnet_train


@pytest.fixture(scope="session")
def mnistnet_cache(tmp_path_factory, data_dir) -> Path:
    """A cache dir holding the real MNISTNet (trained here once, ~1 min on 2 CPU cores)."""
    cache = tmp_path_factory.mktemp("mnistnet_cache")
    start = time.perf_counter()
    mnistnet_train.load_mnistnet(cache, data_dir, progress=False)
    print(f"\nMNISTNet trained in {time.perf_counter() - start:.0f} s")  # shown with -s
    return cache


@pytest.fixture(scope="session")
def tiny_mnistnet_cache(tmp_path_factory, data_dir):
    """(cache dir, net) after a 3-batch training through the real code path (a few seconds)."""
    cache = tmp_path_factory.mktemp("tiny_mnistnet_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mnistnet_train, "TRAINING", {"epochs": 1, "seed": 0, "max_batches": 3})
        net = mnistnet_train.load_mnistnet(cache, data_dir, progress=False)
    return cache, net
