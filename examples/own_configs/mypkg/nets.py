"""A generator of your own, outside ganlab: a plain nn.Module that takes z of shape
(B, nz), has an ``nz`` attribute, and returns images (B, channels, S, S) in [-1, 1]."""

import torch
from torch import nn


class MLPGenerator(nn.Module):
    def __init__(self, image_size: int, channels: int, nz: int = 64, hidden: int = 256):
        super().__init__()
        self.nz, self.shape = nz, (channels, image_size, image_size)
        self.net = nn.Sequential(
            nn.Linear(nz, hidden),
            nn.ReLU(),
            nn.Linear(hidden, channels * image_size * image_size),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.shape)
