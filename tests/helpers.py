"""Test doubles shared by several test modules (importable from subprocess runs too)."""

import torch
from torch import nn

from ganlab.metrics.extractors import FeatureExtractor


class Projection(FeatureExtractor):
    """A cheap deterministic extractor (fixed random projection) that counts its images."""

    name = "proj"
    num_features = 8

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(28 * 28, 8)
        torch.nn.init.normal_(self.proj.weight, generator=torch.Generator().manual_seed(0))
        torch.nn.init.zeros_(self.proj.bias)
        self.seen = 0

    @torch.no_grad()
    def forward(self, images):
        self.seen += len(images)
        return self.proj(nn.functional.interpolate(images, size=28).mean(1).flatten(1))
