"""Frechet distance between Gaussian fits of real and generated features (Heusel et al. 2017)."""

from __future__ import annotations

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from ganlab.compat import frechet_distance
from ganlab.metrics.base import FeatureMetric, Precomputed


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, covariance) of features (N, D) in float64, as torchmetrics' FID computes them
    (the unbiased covariance): what a statistics file (pytorch-fid's npz) holds."""
    x = features.double()
    n = len(x)
    mu = x.sum(dim=0) / n
    sigma = (x.t().mm(x) - n * mu.unsqueeze(1).mm(mu.unsqueeze(0))) / (n - 1)
    return mu, sigma


class FID(FeatureMetric):
    """torchmetrics' FID (float64 moments) on precomputed features."""

    name = "fid"
    keys = ("fid",)
    takes_stats = True

    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        # sync_on_compute=False: the features are already gathered from every rank, and only
        # rank 0 computes (a sync would wait for ranks that never call it).
        metric = FrechetInceptionDistance(feature=Precomputed(real.shape[1]), sync_on_compute=False)
        metric.update(real, real=True)
        metric.update(fake, real=False)
        return {"fid": float(metric.compute())}

    @staticmethod
    def from_stats(real: tuple, fake: tuple) -> dict[str, float]:
        """The FID of two (mean, covariance) pairs (``gaussian_stats``, or a statistics
        file's), with the formula torchmetrics uses for features."""
        (mu_r, sigma_r), (mu_f, sigma_f) = (
            tuple(torch.as_tensor(t, dtype=torch.float64) for t in pair) for pair in (real, fake)
        )
        return {"fid": float(frechet_distance(mu_r, sigma_r, mu_f, sigma_f))}
