"""MNISTNet: a small MNIST classifier ganlab trains itself (~1 min on a CPU, >= 99% accurate).

Its 128-d penultimate features measure MNIST-like images (fid_mnistnet, kid_mnistnet) at a
fraction of Inception's cost and in the right domain; its logits give a classifier-based
Inception Score. Training and the per-user cache are in ``mnistnet_train.py``; train (or
retrain) it with ``python -m ganlab.metrics.mnistnet [--force]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.errors import ConfigError
from ganlab.metrics.extractors import ClassifierFeatures
from ganlab.pixels import quantize


def _block(cin: int, cout: int) -> list[nn.Module]:
    # Unpadded convs: a quarter fewer activations than padded ones, same accuracy on MNIST.
    return [nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class MNISTNet(nn.Module):
    """(N, 1 or 3, S, S) images in [-1, 1] -> 10 logits; ``features`` gives the 128-d layer."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_block(1, 16), *_block(16, 16), nn.MaxPool2d(2),  # 28 -> 26 -> 24 -> 12
            *_block(16, 32), *_block(32, 32), nn.MaxPool2d(2),  # 12 -> 10 -> 8 -> 4
            nn.Flatten(), nn.Linear(32 * 4 * 4, 128), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.head = nn.Linear(128, 10)
        self.to(memory_format=torch.channels_last)  # faster convolutions on CPUs

    @staticmethod
    def _prepare(x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[2] != x.shape[3]:
            shape = tuple(x.shape)
            raise ConfigError(f"MNISTNet measures square 1- or 3-channel images, got {shape}")
        x = x.float().clamp(-1, 1).mean(1, keepdim=True)
        if x.shape[-1] != 28:
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True)
        # Quantised to MNIST's 256 levels, as the training images are, so generated images
        # differ from real ones in content only (InceptionFeatures quantises likewise).
        return quantize(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self._prepare(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class MNISTNetFeatures(ClassifierFeatures):
    """MNISTNet's 128-d penultimate features (``forward``) and logits (``logits``), frozen."""

    name = "mnistnet"
    num_features = 128

    def __init__(self, cache_dir=None, data_root="data", train_if_missing: bool = True):
        super().__init__()
        from ganlab.metrics.mnistnet_train import _load  # training needs MNISTNet: import late

        self.net, info = _load(cache_dir, data_root, train_if_missing, progress=True)
        self.net.requires_grad_(False)
        self.weights_sha = info["sha256"][:12]

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.num_features}-{self.weights_sha}"

    def train(self, mode: bool = True):
        # A measuring instrument: in train mode its BatchNorm would use (and update) the
        # statistics of each batch, so a parent module's .train() must not reach it.
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(images).float()

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).float()


if __name__ == "__main__":  # the documented command; the code lives beside the training
    from ganlab.metrics.mnistnet_train import main

    main()
