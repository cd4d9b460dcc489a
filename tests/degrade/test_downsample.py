"""Downsample: bicubic down (antialiased) and back up, for super-resolution."""

import math

import pytest
import torch

from ganlab.degrade import Downsample
from ganlab.errors import ConfigError

ZERO = torch.tensor([0])


def test_a_constant_image_stays_constant():
    x = torch.full((2, 3, 32, 32), 0.3)
    out = Downsample(4)(x, torch.tensor([0, 1]))
    assert (out - 0.3).abs().max() <= 1e-6


def test_x2_removes_a_checkerboard_and_keeps_a_ramp():
    i = torch.arange(32)
    checkerboard = ((i.view(-1, 1) + i.view(1, -1)) % 2 * 2 - 1).float().view(1, 1, 32, 32)
    out = Downsample(2)(checkerboard, ZERO)
    assert out.std() < 0.1 * checkerboard.std()  # aliased, it would come back as stripes
    across, down = torch.linspace(-0.9, 0.9, 32), torch.linspace(-0.05, 0.05, 32)
    ramp = across.view(1, 1, 1, 32) + down.view(1, 1, 32, 1)
    # Bicubic (a = -0.75) does not reproduce a slope exactly: ~1% of the ramp's range.
    assert (Downsample(2)(ramp, ZERO) - ramp).abs().max() < 0.025


def test_downsampling_is_antialiased():
    # Stripes of period 2.5 pixels: finer than the half-size image can hold (period 4).
    # Sampled without a low-pass they alias to coarser stripes (about half the std comes
    # back); antialiased they are nearly gone.
    x = torch.cos(torch.arange(32) * (2 * math.pi / 2.5)).view(1, 1, 1, 32).expand(1, 1, 32, 32)
    assert Downsample(2)(x, ZERO).std() < 0.1 * x.std()


def test_the_factor_must_divide_the_image_size():
    with pytest.raises(ConfigError, match=r"data\.degrade\.factor=3 must divide .* 16x16"):
        Downsample(3)(torch.zeros(1, 1, 16, 16), ZERO)
    with pytest.raises(ConfigError, match=r"data\.degrade\.factor=8 must divide .* 16x12"):
        Downsample(8)(torch.zeros(1, 1, 16, 12), ZERO)
    assert Downsample(4)(torch.zeros(1, 1, 16, 12), ZERO).shape == (1, 1, 16, 12)


@pytest.mark.parametrize("factor", [1, 0, 2.0, True, "4"])
def test_the_factor_is_an_integer_of_at_least_2(factor):
    with pytest.raises(ConfigError, match=r"data\.degrade\.factor must be an integer >= 2"):
        Downsample(factor)


def test_key():
    assert Downsample().key() == "downsample-x4" and Downsample(2).key() == "downsample-x2"
