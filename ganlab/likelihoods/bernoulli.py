"""Bernoulli pixels: the likelihood of binarised MNIST (Kingma & Welling 2014, Burda et al.
2016's IWAE and pythae's benchmarks)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.likelihoods.base import Likelihood


class Bernoulli(Likelihood):
    """Each pixel on with probability sigmoid(out): log p = -BCE(out, (x + 1) / 2), summed.

    On binary images (``data.binarize``) this is the likelihood whose negative is the
    literature's NLL in nats. On grey levels it is still a usable reconstruction loss (the
    "continuous" targets of many VAE codes), but not a likelihood: ``metrics=[nll]`` refuses
    such data.
    """

    def log_prob(self, images: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        target = (images.float() + 1) / 2
        bce = F.binary_cross_entropy_with_logits(out.float(), target, reduction="none")
        return -bce.flatten(1).sum(1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out) * 2 - 1

    def check_data(self, images: torch.Tensor) -> str | None:
        if not torch.all((images == -1) | (images == 1)):
            return (
                "the images are not binary, and a Bernoulli likelihood of grey levels is not "
                "a probability: train and measure on binary images (data.binarize=sample or "
                "threshold)"
            )
        return None
