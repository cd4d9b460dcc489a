"""Noise: additive Gaussian noise, sigma in [0, 1] pixel units, for denoising."""

import pytest
import torch

from ganlab.degrade import Noise
from ganlab.errors import ConfigError


@pytest.mark.parametrize("sigma", [0.1, 0.2])
def test_the_noise_std_is_twice_sigma_in_the_model_range(sigma):
    clean = torch.zeros(4, 3, 64, 64)  # mid-grey: clamping at 2.5 sigma or more is rare
    residual = Noise(sigma)(clean, torch.arange(4)) - clean
    for r in residual:
        assert r.std().item() == pytest.approx(2 * sigma, rel=0.05)
        assert abs(r.mean().item()) < 0.01


def test_blind_noise_draws_each_images_sigma_in_the_range():
    clean = torch.zeros(32, 1, 64, 64)
    seeds = torch.arange(32) + 100
    stds = (Noise(0.1, min_sigma=0.02)(clean, seeds) - clean).std((1, 2, 3))
    assert (stds > 2 * 0.02 * 0.95).all() and (stds < 2 * 0.1 * 1.05).all()
    assert stds.max() > 2 * stds.min()
    for s, std in zip(seeds.tolist(), stds.tolist()):  # first the image's sigma, then noise
        u = torch.rand((), generator=torch.Generator().manual_seed(s), dtype=torch.float64)
        assert std == pytest.approx(2 * (0.02 + 0.08 * u.item()), rel=0.05)


def test_values_are_clamped_to_the_model_range():
    out = Noise(0.2)(torch.ones(2, 3, 16, 16), torch.tensor([0, 1]))
    assert out.max() == 1 and (out == 1).float().mean() > 0.4 and out.min() < 0.5


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"sigma": 0}, "sigma"),
        ({"sigma": -0.1}, "sigma"),
        ({"min_sigma": 0.3}, "min_sigma"),
        ({"min_sigma": -0.1}, "min_sigma"),
    ],
)
def test_bad_settings_name_their_key(kwargs, key):
    with pytest.raises(ConfigError, match=rf"data\.degrade\.{key} must be"):
        Noise(**kwargs)


def test_keys():
    assert Noise().key() == "noise-0.2" and Noise(0.3, min_sigma=0.05).key() == "noise-0.05-0.3"
