"""Blur: a Gaussian blur (torchvision), for deblurring."""

import pytest
import torch
from torchvision.transforms.v2.functional import gaussian_blur

from ganlab.degrade import Blur
from ganlab.degrade.blur import kernel_size_for
from ganlab.errors import ConfigError


def point(b=1, size=32):
    """Mid-grey (0) images with one bright pixel at the centre."""
    x = torch.zeros(b, 1, size, size)
    x[:, :, size // 2, size // 2] = 1.0
    return x


def test_blur_keeps_the_mass_of_a_point_and_lowers_its_peak():
    out = Blur(1.5)(point(), torch.tensor([0]))[0, 0]
    assert out.sum().item() == pytest.approx(1.0, abs=1e-4)
    # The 7 x 7 kernel's centre: 1 / sum of exp(-(i^2 + j^2) / 4.5) over it.
    i = torch.arange(-3, 4).float()
    centre = 1 / torch.exp(-(i.view(-1, 1) ** 2 + i.view(1, -1) ** 2) / 4.5).sum()
    assert out.max().item() == pytest.approx(centre.item(), rel=1e-5) and centre < 0.1
    around = out[16 - 4 : 16 + 5, 16 - 4 : 16 + 5]  # the kernel reaches 3 pixels, not 4
    assert (out != 0).sum() == (around[1:-1, 1:-1] > 0).sum() == 49
    assert out[16, 16] == out.max()
    torch.testing.assert_close(around, around.flip(0), atol=1e-8, rtol=0)
    torch.testing.assert_close(around, around.T, atol=1e-8, rtol=0)


def test_a_constant_image_is_unchanged():
    x = torch.full((2, 3, 16, 16), -0.4)
    assert (Blur(2.0)(x, torch.tensor([0, 1])) + 0.4).abs().max() <= 1e-6


def test_blind_blur_draws_each_images_sigma():
    seeds = torch.arange(8)
    out = Blur(2.0, min_sigma=0.5)(point(8), seeds)
    peaks = out.amax((1, 2, 3))
    assert len(set(peaks.tolist())) == 8
    for s, image in zip(seeds.tolist(), out):
        u = torch.rand((), generator=torch.Generator().manual_seed(s), dtype=torch.float64)
        sigma = 0.5 + 1.5 * u.item()
        assert torch.equal(image, gaussian_blur(point(), [9, 9], [sigma, sigma])[0])


def test_kernel_sizes():
    assert [kernel_size_for(s) for s in (0.1, 0.5, 1.0, 1.25, 1.5, 2.0)] == [3, 3, 5, 7, 7, 9]
    x = point(1)
    assert torch.equal(
        Blur(1.0, kernel_size=9)(x, torch.tensor([0])), gaussian_blur(x, [9, 9], [1.0, 1.0])
    )
    with pytest.raises(ConfigError, match=r"data\.degrade\.kernel_size: a 17x17 kernel .* 8x8"):
        Blur(kernel_size=17)(torch.zeros(1, 1, 8, 8), torch.tensor([0]))


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"sigma": 0}, "sigma must"),
        ({"min_sigma": 0}, "min_sigma must"),
        ({"min_sigma": 2.0}, "min_sigma must"),
        ({"kernel_size": 4}, "kernel_size must be odd"),
        ({"kernel_size": 0}, "kernel_size must be an integer"),
    ],
)
def test_bad_settings_name_their_key(kwargs, key):
    with pytest.raises(ConfigError, match=rf"data\.degrade\.{key}"):
        Blur(**kwargs)


def test_keys():
    assert Blur().key() == "blur-1.5"
    assert Blur(2.0, min_sigma=0.5, kernel_size=9).key() == "blur-0.5-2-k9"
