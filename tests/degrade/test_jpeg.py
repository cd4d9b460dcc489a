"""JPEG: compression artefacts, for artefact removal."""

import pytest
import torch

from ganlab.degrade import JPEG
from ganlab.degrade.jpeg import jpeg
from ganlab.errors import ConfigError
from ganlab.pixels import quantize, to_model_range, to_uint8


def images(b, c, size=32):
    """Smooth ramps with fine detail (what JPEG keeps and what it loses), the detail shared by
    the channels: JPEG keeps colour at half resolution, as photos allow."""
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(-0.8, 0.8, size)
    detail = 0.2 * torch.rand(b, 1, size, size, generator=g)
    tint = torch.linspace(-0.1, 0.1, c).view(1, c, 1, 1)
    return (ramp.view(1, 1, 1, -1) * ramp.view(1, 1, -1, 1).flip(2) + detail + tint).clamp(-1, 1)


@pytest.mark.parametrize("channels", [1, 3])
def test_higher_quality_is_closer_to_the_original(channels):
    x = images(2, channels)
    seeds = torch.tensor([0, 1])
    good, bad = JPEG(95)(x, seeds), JPEG(10)(x, seeds)
    for out in (good, bad):
        assert out.shape == x.shape and out.dtype == x.dtype
        assert out.min() >= -1 and out.max() <= 1
        assert torch.equal(quantize(out), out)  # decoded uint8 levels
    assert (good - x).square().mean() < 0.25 * (bad - x).square().mean()


def test_each_image_goes_through_the_codec_at_its_quality():
    x = images(6, 3)
    seeds = torch.arange(6) + 10
    out = JPEG(60, min_quality=5)(x, seeds)
    qualities = []
    for image, s, result in zip(to_uint8(x), seeds.tolist(), out):
        q = int(torch.randint(5, 61, (), generator=torch.Generator().manual_seed(s)))
        qualities.append(q)
        assert torch.equal(result, to_model_range(jpeg(image, q)))
    assert len(set(qualities)) > 1
    fixed = JPEG(30)(x[:1], seeds[:1])
    assert torch.equal(fixed[0], to_model_range(jpeg(to_uint8(x[0]), 30)))


def test_two_channels_are_refused():
    with pytest.raises(ConfigError, match="JPEG takes 1 or 3 channels, got 2"):
        JPEG()(torch.zeros(1, 2, 8, 8), torch.tensor([0]))


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"quality": 20.0}, "quality"),
        ({"min_quality": 30}, "min_quality"),
        ({"min_quality": 0}, "min_quality"),
    ],
)
def test_bad_settings_name_their_key(kwargs, key):
    with pytest.raises(ConfigError, match=rf"data\.degrade\.{key} must be"):
        JPEG(**kwargs)


def test_keys():
    assert JPEG().key() == "jpeg-20" and JPEG(40, min_quality=10).key() == "jpeg-10-40"
