"""Class- and attribute-conditional SNGAN: conditional batch norm in G and a projection
discriminator (Miyato and Koyama 2018, who pair them with these ResNets; mimicry's cGAN-PD).

The nets are ``sngan.py``'s with the label paths added: G's batch norms become
``ConditionalBatchNorm2d`` and D adds ``<embed(y), phi(x)>`` to its output, with the label
embedding of ``cdcgan.py``. They take ``(input, labels)`` as the conditional DCGAN nets do,
so ``model=csngan`` is the ConditionalGAN path with these two nets.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.nets.cdcgan import ConditionalBatchNorm2d, LabelEmbedding
from ganlab.nets.sngan import SNGANDiscriminator, SNGANGenerator


class ConditionalSNGANGenerator(SNGANGenerator):
    """(z, labels) -> images: SNGAN's generator with per-label gains and biases in every
    batch norm (starting at the identity)."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        nz: int = 128,
        ngf: int | None = None,
        upsample: str = "bilinear",
        num_classes: int = 10,
        multi_label: bool = False,
    ):
        super().__init__(image_size, channels, nz, ngf, upsample)

        def conditional(bn: nn.BatchNorm2d) -> ConditionalBatchNorm2d:
            return ConditionalBatchNorm2d(bn.num_features, num_classes, multi_label)

        for block in self.blocks:
            block.norm1, block.norm2 = conditional(block.norm1), conditional(block.norm2)
        self.out_norm = conditional(self.out_norm)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return super().forward(z, y)


class ProjectionSNGANDiscriminator(SNGANDiscriminator):
    """(images, labels) -> logits: ``psi(phi(x)) + <embed(y), phi(x)>``, phi(x) being the
    sum-pooled features of SNGAN's discriminator and psi its final linear layer; the
    embedding is spectrally normalised with the rest (``spectral_norm``)."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 3,
        ndf: int | None = None,
        spectral_norm: bool = True,
        num_classes: int = 10,
        multi_label: bool = False,
    ):
        super().__init__(image_size, channels, ndf, spectral_norm)
        self.embed = LabelEmbedding(num_classes, self.fc.in_features, multi_label)
        nn.init.xavier_uniform_(self.embed.weight)  # mimicry's cGAN-PD initialisation
        if spectral_norm:
            self.embed = _spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.fc(h).view(-1) + (self.embed(y) * h).sum(dim=1)
