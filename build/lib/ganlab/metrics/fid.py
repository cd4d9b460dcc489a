"""Frechet distance between Gaussian fits of real and generated features (Heusel et al. 2017)."""

from __future__ import annotations

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from ganlab.metrics.base import FeatureMetric, Precomputed


class FID(FeatureMetric):
    """torchmetrics' FID (float64 moments) on precomputed features."""

    name = "fid"
    keys = ("fid",)

    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        # sync_on_compute=False: the features are already gathered from every rank, and only
        # rank 0 computes (a sync would wait for ranks that never call it).
        metric = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), sync_on_compute=False)
        metric.update(real, real=True)
        metric.update(fake, real=False)
        return {"fid": float(metric.compute())}
