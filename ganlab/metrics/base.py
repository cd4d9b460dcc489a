"""The interface of a metric computed on features of real and generated images."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class Precomputed(nn.Module):
    """Identity "feature extractor" for torchmetrics' FID/KID: ganlab hands them features
    computed once per evaluation, instead of images (torchmetrics reads ``num_features``)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class FeatureMetric(ABC):
    """``metric(real, fake) -> {key: value}`` on (N, D) feature tensors.

    ``name`` is the metric's family (``fid``); the keys it returns become
    ``<key>_<extractor>_<n>`` (``fid_mnistnet_10k``), so every name carries its protocol.
    ``lower_is_better`` says how a best checkpoint is chosen on the first key.
    """

    name: str = "metric"
    keys: tuple[str, ...] = ()  # what __call__ returns, the headline first
    lower_is_better: bool = True
    #: True: called as ``metric(None, fake_logits)`` on the extractor's class logits, for
    #: ``ClassifierFeatures`` extractors (they have ``logits``); skipped for the others.
    uses_logits: bool = False
    #: True: also computed from the real side's statistics alone (``from_stats``), for a
    #: reference given as a statistics file; the others need the real features.
    takes_stats: bool = False

    @abstractmethod
    def __call__(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]: ...


class ModelMetric(ABC):
    """``metric(model, datamodule, device) -> {name: value}``: a measure of the model itself
    on real images (a VAE's test log-likelihood), not of its samples' features. ganlab-eval
    computes these on a checkpoint; each returned name carries its protocol."""

    name: str = "metric"

    @abstractmethod
    def __call__(self, model, datamodule, device) -> dict[str, float]: ...
