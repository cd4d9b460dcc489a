"""Feature networks for style transfer: images in [-1, 1] -> activations of named layers."""

from __future__ import annotations

import os
from abc import ABC
from pathlib import Path

import torch
from torch import nn

from ganlab.errors import ConfigError

VGG_ENV = "GANLAB_VGG_WEIGHTS"
VGG_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
INCEPTION_ENV = "GANLAB_INCEPTION_WEIGHTS"
# ImageNet's channel means and deviations, which torchvision's VGG-19 was trained on.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class StyleNet(nn.Module, ABC):
    """Base: ``forward(images)`` returns the activations of ``content_layer`` and every layer
    of ``style_layers``, by name. Frozen: only the image being optimised learns."""

    content_layer: str
    style_layers: tuple[str, ...]
    # The style loss's weight against a content weight of 1 when the user gives none: the
    # Gram matrices' scale differs from network to network.
    style_weight: float

    def __init__(self, layers: nn.ModuleDict) -> None:
        super().__init__()
        self.layers = layers  # in order; each one's output feeds the next
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        wanted = {self.content_layer, *self.style_layers}
        x, out = self.prepare(images), {}
        for name, layer in self.layers.items():
            x = layer(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break  # the layers after the last one wanted are not run
        return out

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] as the network expects them (grey repeated to RGB here)."""
        return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def weights_file(path: str | None, env: str, key: str, where: str) -> Path:
    """The local weights file: ``path``, else the environment variable ``env``; a one-line
    ConfigError naming ``key`` when neither gives a file."""
    chosen = path or os.environ.get(env)
    if not chosen or not Path(chosen).expanduser().is_file():
        found = f"{chosen} is not a file" if chosen else "none is set"
        raise ConfigError(f"{key}: the weights file is needed ({found}). {where}")
    return Path(chosen).expanduser()


class VGG19StyleNet(StyleNet):
    """torchvision's VGG-19 (its state dict, from a local file), as Gatys et al.: content at
    relu4_2, style at relu1_1, relu2_1, relu3_1, relu4_1, relu5_1; max pooling replaced by
    average pooling (``avg_pool``), which the paper found gives slightly better images."""

    content_layer = "relu4_2"
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    style_weight = 1e6  # PyTorch's neural-style tutorial's, for the same normalised Grams

    def __init__(self, weights_path: str | None = None, avg_pool: bool = True) -> None:
        from torchvision.models import vgg19

        path = weights_file(
            weights_path,
            VGG_ENV,
            "net.weights_path",
            f"Set net.weights_path=/path/to/vgg19-dcbb9e9d.pth (or {VGG_ENV}): torchvision's "
            f"VGG-19 state dict, {VGG_URL}, fetched on a machine with internet; or use "
            "net=inception with the FID Inception weights.",
        )
        net = vgg19(weights=None)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        layers, block, index = {}, 1, 1
        for module in net.features:
            if isinstance(module, nn.Conv2d):
                name = f"conv{block}_{index}"
            elif isinstance(module, nn.ReLU):
                name, index = f"relu{block}_{index}", index + 1
                module = nn.ReLU(inplace=False)  # the conv outputs are kept for the losses
            else:  # pooling ends a block
                name, block, index = f"pool{block}", block + 1, 1
                if avg_pool:
                    module = nn.AvgPool2d(2, 2)
            layers[name] = module
        super().__init__(nn.ModuleDict(layers))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        return ((super().prepare(images) + 1) / 2 - self.mean) / self.std


class InceptionStyleNet(StyleNet):
    """The FID Inception-v3 (``pt_inception-2015-12-05-fid.pth``, the file ganlab's FID
    reads), which works offline where VGG-19's weights are missing: content at Mixed_5d,
    style at the stem's convolutions and the first mixed blocks. Fed the image at its own
    size (no resize to 299), in [-1, 1] as the original graph's input."""

    content_layer = "Mixed_5d"
    style_layers = ("Conv2d_2b_3x3", "Conv2d_4a_3x3", "Mixed_5b", "Mixed_6a")
    style_weight = 1e4  # its Grams are ~1e-3 at the start (README, "Style transfer")

    def __init__(self, weights_path: str | None = None) -> None:
        from torchmetrics.image.fid import NoTrainInceptionV3

        path = weights_file(
            weights_path,
            INCEPTION_ENV,
            "net.weights_path",
            f"Set net.weights_path (or {INCEPTION_ENV}) to pt_inception-2015-12-05-fid.pth, "
            'the FID Inception weights (README, "Measuring quality").',
        )
        net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048"],
            feature_extractor_weights_path=str(path),
        )
        order = [
            "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_1", "Conv2d_3b_1x1",
            "Conv2d_4a_3x3", "MaxPool_2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
        ]  # fmt: skip
        super().__init__(nn.ModuleDict({name: getattr(net, name) for name in order}))
