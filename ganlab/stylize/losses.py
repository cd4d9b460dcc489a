"""The losses of neural style transfer (Gatys et al. 2016, "Image Style Transfer Using
Convolutional Neural Networks", CVPR)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) activations -> (B, C, C) Gram matrices, F F^T / (C H W): the channels'
    correlations over positions, which keep a texture's statistics and drop its layout.
    Normalised by the layer's size, so that layers of different sizes weigh alike."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of one layer's activations (the paper's content loss, up to
    its constant factor)."""
    return F.mse_loss(features, target)


def style_loss(features: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """The mean over the style layers of the squared difference of Gram matrices
    (``targets``: the style image's Grams, per layer); equal layer weights, as the paper's."""
    losses = [F.mse_loss(gram(features[name]), target) for name, target in targets.items()]
    return torch.stack(losses).mean()


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """The mean absolute difference of neighbouring pixels: a smoothness prior that removes
    the high-frequency noise pixel-wise optimisation leaves."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return dx + dy
