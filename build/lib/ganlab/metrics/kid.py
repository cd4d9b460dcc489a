"""Kernel distance: unbiased MMD^2 with a cubic polynomial kernel (Binkowski et al. 2018)."""

from __future__ import annotations

import warnings

import torch
from torchmetrics.image.kid import KernelInceptionDistance

from ganlab.metrics.base import FeatureMetric, Precomputed


class KID(FeatureMetric):
    """torchmetrics' KID on precomputed features: the mean (and std) of the unbiased MMD^2
    over ``subsets`` random subsets of ``subset_size`` (at most the smaller sample count)."""

    name = "kid"
    keys = ("kid", "kid_std")

    def __init__(self, subsets: int = 100, subset_size: int = 1000, seed: int = 0):
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed

    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        size = min(self.subset_size, len(real), len(fake))
        with warnings.catch_warnings():  # "saves all features in a buffer": we hand it them
            warnings.simplefilter("ignore", UserWarning)
            metric = KernelInceptionDistance(
                feature=Precomputed(real.shape[1]),
                subsets=self.subsets,
                subset_size=size,
                sync_on_compute=False,  # features already gathered; only rank 0 computes
            )
        metric.update(real, real=True)
        metric.update(fake, real=False)
        # The subsets are drawn with the global RNG: a private, seeded one keeps the value
        # reproducible and leaves the training run's random stream untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            mean, std = metric.compute()
        return {"kid": float(mean), "kid_std": float(std)}
