"""Feature extractors: images in [-1, 1] -> one feature vector per image.

Every metric (FID, KID, precision/recall) reads the same features, so generated images go
through the (expensive) network once per evaluation, and the real side is cached as features.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path

import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.pixels import to_uint8

INCEPTION_ENV = "GANLAB_INCEPTION_WEIGHTS"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class FeatureExtractor(nn.Module):
    """Base class. ``forward(images)`` takes float images in [-1, 1] of any size, with 1 or 3
    channels, and returns float32 features of shape (N, ``num_features``).

    ``name`` goes into metric names (``val/fid_<name>_10k``); ``cache_key`` identifies the exact
    network (weights included) in the reference-feature cache.
    """

    name: str = "features"
    num_features: int = 0

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.num_features}"


class ClassifierFeatures(FeatureExtractor, ABC):
    """A classifier's features, and its class ``logits``: metrics with ``uses_logits`` (the
    classifier-based Inception Score) apply to these extractors alone."""

    @abstractmethod
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (N, classes) of images in [-1, 1]."""


class InceptionFeatures(FeatureExtractor):
    """The FID Inception-v3 (TF 2015-12-05 graph) through torchmetrics/torch-fidelity.

    Images are quantised to uint8 first, as every published FID does, then resized to 299x299
    inside the network with TF's bilinear resize; 1-channel images are repeated to RGB.
    ``weights_path`` (or the GANLAB_INCEPTION_WEIGHTS environment variable) points at a local
    copy of ``pt_inception-2015-12-05-fid.pth`` for machines without internet; with neither,
    torch-fidelity downloads it.
    """

    name = "inception"

    def __init__(self, weights_path: str | None = None, feature: int = 2048):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        if feature not in (64, 192, 768, 2048):
            raise ConfigError(f"Inception features are 64, 192, 768 or 2048, got {feature}")
        weights_path = weights_path or os.environ.get(INCEPTION_ENV) or None
        if weights_path is not None and not Path(weights_path).expanduser().is_file():
            raise ConfigError(
                f"Inception weights not found at {weights_path}. Point paths.inception_weights "
                f"(or {INCEPTION_ENV}) at pt_inception-2015-12-05-fid.pth."
            )
        self.weights_sha = file_sha256(weights_path)[:12] if weights_path else "download"
        try:
            self.net = NoTrainInceptionV3(
                name="inception-v3-compat",
                features_list=[str(feature)],
                feature_extractor_weights_path=weights_path
                and str(Path(weights_path).expanduser()),
                # The TF 1.x bilinear resize of the original graph, as torch-fidelity and
                # pytorch-fid (and torchmetrics before 1.8) resize; torchmetrics 1.8's default,
                # an antialiased resize, changes the features (by up to 1% for 28 px digits).
                antialias=False,
            )
        except OSError as exc:  # the download failed: no internet and no local copy
            raise ConfigError(
                "The FID Inception weights could not be downloaded. On a machine without internet "
                f"set paths.inception_weights=/path/to/pt_inception-2015-12-05-fid.pth (or the "
                f"{INCEPTION_ENV} environment variable). ({exc})"
            ) from exc
        # oneDNN's (and cuDNN's) convolutions run faster on NHWC (channels last); the features
        # are the same to float32 rounding (tests/metrics/test_inception_and_cache.py).
        self.net.to(memory_format=torch.channels_last)
        self.num_features = feature

    @property
    def cache_key(self) -> str:
        # "tf": the TF resize; reference features cached with the antialiased one (ganlab
        # before it chose the resize) have keys without it and are not read.
        return f"{self.name}-{self.num_features}-{self.weights_sha}-tf"

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        uint8 = to_uint8(images)
        if uint8.shape[1] == 1:
            uint8 = uint8.expand(-1, 3, -1, -1)
        return self.net(uint8).float()
