"""Gaussian pixels with a fixed or a learned standard deviation."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganlab.errors import ConfigError
from ganlab.likelihoods.base import Likelihood


class Gaussian(Likelihood):
    """x ~ N(tanh(out), sigma^2) per pixel, on images in [-1, 1].

    ``sigma`` fixed (``learn: false``) weighs reconstruction against the KL term: the loss is
    ``|x - mean|^2 / (2 sigma^2)`` plus a constant, so a smaller sigma means sharper
    reconstructions and a less regular latent space (sigma^2 / 2 plays beta's part).
    ``learn: true`` makes log sigma one trained parameter, shared by all pixels: the
    "calibrated decoder" of Rybkin et al. 2021 (sigma-VAE), which finds that balance itself.
    log p is a density of continuous pixel values: its nats are not comparable with a
    Bernoulli's on binary images.
    """

    def __init__(self, sigma: float = 0.1, learn: bool = False) -> None:
        super().__init__()
        if not sigma > 0:
            raise ConfigError(f"model.likelihood.sigma must be > 0, got {sigma}")
        log_sigma = torch.tensor(math.log(sigma))
        self.learn = bool(learn)
        if self.learn:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    @property
    def sigma(self) -> float:
        return float(self.log_sigma.exp())

    def log_prob(self, images: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        log_sigma = self.log_sigma.float()
        z = (images.float() - self.mean(out).float()) / log_sigma.exp()
        per_pixel = -0.5 * z**2 - log_sigma - 0.5 * math.log(2 * math.pi)
        return per_pixel.flatten(1).sum(1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.tanh(out)
