"""Class- and attribute-conditional DCGAN nets: G and D take ``(input, labels)``.

Labels are class indices, shape (B,), or multi-label {0, 1} vectors, shape (B, k) (e.g.
CelebA attributes). Two generators: the label's embedding concatenated to z, or conditional
batch norm (per-label gains and biases). Two discriminators: the projection discriminator
(Miyato and Koyama 2018), or the labels as constant image planes beside the pixels. All four
share one signature, so ``_target_`` swaps them. The bodies are those of ``dcgan.py``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.errors import ConfigError
from ganlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init, stages


class LabelEmbedding(nn.Module):
    """Labels -> (B, dim): a lookup table for class indices; for multi-label vectors the sum
    of the present labels' rows (a bias-free linear map), so that one table serves both."""

    def __init__(self, num_classes: int, dim: int, multi_label: bool = False):
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"model.num_classes must be >= 1, got {num_classes}")
        self.num_classes, self.multi_label = num_classes, multi_label
        self.weight = nn.Parameter(torch.randn(num_classes, dim))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.multi_label:
            if y.ndim != 2 or y.shape[1] != self.num_classes:
                raise ValueError(f"expected (B, {self.num_classes}) labels, got {tuple(y.shape)}")
            return y.to(self.weight.dtype) @ self.weight
        if y.ndim != 1:
            raise ValueError(f"expected (B,) class indices, got {tuple(y.shape)}")
        return nn.functional.embedding(y.long(), self.weight)


def label_planes(y: torch.Tensor, num_classes: int, multi_label: bool, like: torch.Tensor):
    """Labels as (B, num_classes, H, W) constant planes shaped like ``like``'s pixels."""
    vec = label_vector(y, num_classes, multi_label).to(like.dtype)
    return vec[:, :, None, None].expand(-1, -1, *like.shape[-2:])


def label_vector(y: torch.Tensor, num_classes: int, multi_label: bool) -> torch.Tensor:
    """Labels as (B, num_classes) floats: one-hot class indices, or the attribute vectors."""
    return y.float() if multi_label else nn.functional.one_hot(y.long(), num_classes).float()


class ConditionalDCGANGenerator(nn.Module):
    """(z, labels) -> images: DCGAN's generator on z concatenated with the labels, one-hot
    (attribute vectors as they are) or, with ``embed_dim``, a learned embedding of them.

    One-hot is the default because it measured better: on MNIST (1,200 iterations) a learned
    50-d embedding let G drown z and draw one image per class, while one-hot kept z's
    variety. An embedding is for many classes (identities), where one-hot inputs are huge.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        nz: int = 100,
        ngf: int = 64,
        num_classes: int = 10,
        multi_label: bool = False,
        embed_dim: int | None = None,
    ):
        super().__init__()
        self.nz, self.num_classes, self.multi_label = nz, num_classes, multi_label
        self.embed = (
            None if embed_dim is None else LabelEmbedding(num_classes, embed_dim, multi_label)
        )
        code = num_classes if embed_dim is None else embed_dim
        self.net = DCGANGenerator(image_size, channels, nz + code, ngf)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.embed is None:
            code = label_vector(y, self.num_classes, self.multi_label).to(z.dtype)
        else:
            code = self.embed(y)
        return self.net(torch.cat([z.flatten(1), code], dim=1))


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine; per-label gain and bias instead (starting at the
    identity, 1 and 0), as in BigGAN and the projection discriminator paper's generator."""

    def __init__(self, features: int, num_classes: int, multi_label: bool):
        super().__init__()
        self.bn = nn.BatchNorm2d(features, affine=False)
        self.gain = LabelEmbedding(num_classes, features, multi_label)
        self.bias = LabelEmbedding(num_classes, features, multi_label)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gain, bias = self.gain(y)[:, :, None, None], self.bias(y)[:, :, None, None]
        return self.bn(x) * (1 + gain) + bias


class CBNDCGANGenerator(nn.Module):
    """(z, labels) -> images: DCGAN's generator with conditional batch norm in every block
    (``embed_dim`` is unused: the gains and biases have the blocks' widths)."""

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        nz: int = 100,
        ngf: int = 64,
        num_classes: int = 10,
        multi_label: bool = False,
        embed_dim: int = 50,
    ):
        super().__init__()
        s0, k = stages(image_size)
        self.nz = nz
        width = ngf * 2 ** (k - 1)
        self.convs = nn.ModuleList([nn.ConvTranspose2d(nz, width, s0, 1, 0, bias=False)])
        self.norms = nn.ModuleList([ConditionalBatchNorm2d(width, num_classes, multi_label)])
        for _ in range(k - 1):
            self.convs.append(nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm2d(width // 2, num_classes, multi_label))
            width //= 2
        self.to_image = nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x = z.view(z.shape[0], self.nz, 1, 1)
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x), y))
        return torch.tanh(self.to_image(x))


class ProjectionDiscriminator(nn.Module):
    """(images, labels) -> logits: ``psi(phi(x)) + <embed(y), sum-pooled phi(x)>`` (Miyato and
    Koyama 2018), phi being DCGAN's discriminator body and psi its last convolution.

    Its size does not grow with the number of classes. Measured on MNIST with the JS loss
    (1,200 iterations), it learned the classes more slowly than ConcatDiscriminator, and
    with spectral norm or larger embeddings G collapsed: not the default for few classes.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
        num_classes: int = 10,
        multi_label: bool = False,
    ):
        super().__init__()
        base = DCGANDiscriminator(image_size, channels, ndf, norm, spectral_norm)
        self.features, self.head = base.main[:-1], base.main[-1]
        self.norm = norm
        width = ndf * 2 ** (stages(image_size)[1] - 1)
        self.embed = LabelEmbedding(num_classes, width, multi_label)
        # Small, as DCGAN's weights: N(0, 1) rows would swamp psi's term at the start.
        nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:  # the paper normalises the embedding too
            self.embed = _spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        projection = (self.embed(y) * h.sum(dim=(2, 3))).sum(dim=1)
        return self.head(h).view(-1) + projection


class ConcatDiscriminator(nn.Module):
    """(images, labels) -> logits: DCGAN's discriminator on the pixels plus one constant plane
    per class (one-hot) or attribute. Simple, but its first layer grows with the number of
    classes: for many classes (identities) the projection discriminator is the choice."""

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
        num_classes: int = 10,
        multi_label: bool = False,
    ):
        super().__init__()
        self.num_classes, self.multi_label, self.norm = num_classes, multi_label, norm
        self.net = DCGANDiscriminator(image_size, channels + num_classes, ndf, norm, spectral_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        planes = label_planes(y, self.num_classes, self.multi_label, x)
        return self.net(torch.cat([x, planes], dim=1))
