"""Improved precision and recall (Kynkaanniemi et al. 2019) on k-NN manifolds of features.

Written here because torchmetrics has no such metric. Precision: the share of generated
samples inside the real manifold (the union of balls around each real feature, of radius
its k-th nearest-neighbour distance); recall: the share of real samples inside the
generated manifold.
"""

from __future__ import annotations

import torch

from ganlab.metrics.base import FeatureMetric


def knn_radii(feats: torch.Tensor, k: int, batch: int = 1000) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point."""
    radii = [
        torch.cdist(chunk, feats).kthvalue(k + 1, dim=1).values  # +1: the point itself, at 0
        for chunk in feats.split(batch)
    ]
    return torch.cat(radii)


def manifold_coverage(
    points: torch.Tensor, ref: torch.Tensor, radii: torch.Tensor, batch: int = 1000
) -> float:
    """The share of ``points`` within ``radii`` of at least one of ``ref``."""
    inside = [(torch.cdist(chunk, ref) <= radii).any(dim=1) for chunk in points.split(batch)]
    return torch.cat(inside).float().mean().item()


class PrecisionRecall(FeatureMetric):
    """``{"precision": ..., "recall": ...}`` with the paper's k = 3."""

    name = "pr"
    keys = ("precision", "recall")
    lower_is_better = False

    def __init__(self, k: int = 3):
        self.k = k

    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        real, fake = real.double(), fake.double()  # float32 cdist ties break unevenly
        return {
            "precision": manifold_coverage(fake, real, knn_radii(real, self.k)),
            "recall": manifold_coverage(real, fake, knn_radii(fake, self.k)),
        }
