"""Inception Score from a classifier's logits (Salimans et al. 2016): exp(E KL(p(y|x) || p(y))).

With ganlab's MNIST classifier it says how confidently and evenly generated digits fall into
the ten classes (10 at best); the FID Inception file carries no logits, so it has none.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.metrics.base import FeatureMetric


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) from classifier logits: mean and std over ``splits``."""
    from torchmetrics.image.inception import InceptionScore

    if logits.ndim != 2 or len(logits) < splits:
        raise ConfigError(f"the Inception Score needs >= {splits} samples, got {len(logits)}")
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.filterwarnings("ignore", message=".*will save all extracted features")
        warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom")  # 1 split
        # torchmetrics shuffles before splitting (so class-sorted samples, as a conditional
        # model gives, still mix in every split); a fixed seed makes the score repeatable
        # and leaves the caller's random stream alone. float64: with confident logits, a class
        # no sample in a split shows gets probability 0 in float32, and 0 * log(0) is NaN.
        torch.manual_seed(0)
        metric = InceptionScore(feature=nn.Identity(), splits=splits, sync_on_compute=False)
        metric.update(logits.detach().cpu().double())
        mean, std = metric.compute()
    return mean.item(), std.item() if splits > 1 else 0.0


class ClassifierIS(FeatureMetric):
    """``{"is": mean, "is_std": std}`` over ``splits`` of the generated images' logits."""

    name = "is"
    keys = ("is", "is_std")
    lower_is_better = False
    uses_logits = True

    def __init__(self, splits: int = 10):
        self.splits = splits

    def __call__(self, real, fake_logits: torch.Tensor) -> dict[str, float]:
        mean, std = inception_score(fake_logits, self.splits)
        return {"is": mean, "is_std": std}
