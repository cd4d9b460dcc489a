"""JPEG-artefact removal input: each image through a JPEG encoder and decoder."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganlab.degrade.base import Degradation, generators
from ganlab.errors import ConfigError, check_int
from ganlab.pixels import to_model_range, to_uint8


def jpeg(image: Tensor, quality: int) -> Tensor:
    """A uint8 (C, H, W) CPU image, C = 1 or 3, encoded as a JPEG of ``quality`` and decoded.

    Pillow's libjpeg with its defaults (4:2:0 chroma subsampling for colour), not
    torchvision.io's encode_jpeg/decode_jpeg: those are deprecated since torchvision 0.29 (for
    TorchCodec, not installed) and warn on every call; Pillow is already a dependency.
    """
    pixels = image.permute(1, 2, 0).numpy()
    mode = "L" if image.shape[0] == 1 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(
        buffer, format="JPEG", quality=quality
    )
    decoded = np.asarray(Image.open(buffer).convert(mode))
    return torch.from_numpy(decoded.copy()).view(*image.shape[1:], -1).permute(2, 0, 1)


class JPEG(Degradation):
    """Encodes each image as a JPEG of ``quality`` (1-100; with ``min_quality``, an integer
    uniform in [min_quality, quality] per image) and decodes it (``jpeg``), on the CPU, from
    the stored uint8 levels (``ganlab.pixels``). 1 or 3 channels.

    baseline: the decoded JPEG (no artefact removal).
    """

    def __init__(self, quality: int = 20, min_quality: int | None = None) -> None:
        self.quality = check_int("data.degrade.quality", quality)
        if quality > 100:
            raise ConfigError(f"data.degrade.quality must be in [1, 100], got {quality}.")
        if min_quality is not None and check_int("data.degrade.min_quality", min_quality) > quality:
            raise ConfigError(
                f"data.degrade.min_quality must be <= data.degrade.quality={quality}, "
                f"got {min_quality}."
            )
        self.min_quality = min_quality

    def degrade(self, images: Tensor, seeds: Tensor) -> Tensor:
        if images.shape[1] not in (1, 3):
            raise ConfigError(f"data.degrade: JPEG takes 1 or 3 channels, got {images.shape[1]}.")
        low = self.quality if self.min_quality is None else self.min_quality
        out = []
        # uint8 crosses to the CPU, a quarter of the float bytes; libjpeg runs there.
        for image, g in zip(to_uint8(images).cpu(), generators(seeds)):
            out.append(jpeg(image, int(torch.randint(low, self.quality + 1, (), generator=g))))
        return to_model_range(torch.stack(out)).to(images.device, images.dtype)

    def key(self) -> str:
        low = "" if self.min_quality is None else f"{self.min_quality}-"
        return f"jpeg-{low}{self.quality}"
