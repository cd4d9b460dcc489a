"""ganlab.pixels: the one conversion each way between stored uint8 and the model range."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from ganlab.pixels import AsViewed, ToModelRange, quantize, to_model_range, to_uint8

EVERY = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)


def test_the_model_range_is_torchvisions_to_within_one_rounding():
    ours = to_model_range(EVERY)
    reference = v2.Normalize([0.5], [0.5])(v2.ToDtype(torch.float32, scale=True)(EVERY))
    assert ours.dtype == torch.float32 and ours.shape == (1, 16, 16)
    assert (ours - reference).abs().max().item() <= 2**-23  # float32's spacing at 1
    assert (ours.min().item(), ours.max().item()) == (-1.0, 1.0)
    assert torch.equal(ours, EVERY.float() / 127.5 - 1)  # MNIST's values, as they were


def test_stored_values_survive_the_round_trip_and_quantize_is_idempotent():
    assert torch.equal(to_uint8(to_model_range(EVERY)), EVERY)
    generated = torch.linspace(-1.3, 1.3, 1000)
    once = quantize(generated)
    assert torch.equal(quantize(once), once) and once.unique().numel() == 256
    assert (once - generated.clamp(-1, 1)).abs().max().item() <= 1 / 255 + 1e-6


def test_the_input_is_left_alone_and_only_uint8_is_taken():
    images = EVERY.clone()
    ToModelRange()(images)
    assert torch.equal(images, EVERY)
    with pytest.raises(TypeError, match="uint8"):
        to_model_range(torch.zeros(2))


def viewed(path, mode="RGB"):

    with Image.open(path) as img:
        return np.asarray(AsViewed(mode)(img))


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):

    levels = np.array([[0, 257 * 100, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(levels).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as img:
        assert img.mode.startswith("I")  # what PIL makes of it: not 8-bit
    assert viewed(tmp_path / "deep.png", "L").tolist() == [[0, 100, 128, 255]]
    assert viewed(tmp_path / "deep.png", "RGB")[0, 1].tolist() == [100, 100, 100]


def test_exif_orientation_is_applied(tmp_path):

    pixels = np.zeros((2, 4, 3), dtype=np.uint8)
    pixels[:, 2:] = 255  # 4 wide, 2 high: left half black, right half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view", as a phone held upright writes
    Image.fromarray(pixels).save(tmp_path / "phone.png", exif=exif)
    shown = viewed(tmp_path / "phone.png")
    assert shown.shape == (4, 2, 3)  # upright: 2 wide, 4 high
    assert shown[:2].max() == 0 and shown[2:].min() == 255  # black on top after the turn


def test_transparency_palette_and_cmyk_as_viewers_show_them(tmp_path):

    rgba = np.array([[[255, 0, 0, 0], [0, 0, 0, 255], [255, 0, 0, 128]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    # transparent -> white background, opaque as it is, half-transparent red over white
    assert viewed(tmp_path / "alpha.png").tolist() == [
        [[255, 255, 255], [0, 0, 0], [255, 127, 127]]
    ]
    palette = Image.fromarray(rgba[..., :3], "RGB").quantize(4)
    transparent_index = palette.getpixel((0, 0))
    palette.save(tmp_path / "palette.png", transparency=transparent_index)
    assert viewed(tmp_path / "palette.png")[0, 0].tolist() == [255, 255, 255]
    assert viewed(tmp_path / "palette.png")[0, 1].tolist() == [0, 0, 0]
    Image.new("CMYK", (1, 1), (0, 0, 0, 0)).save(tmp_path / "print.jpg")
    assert viewed(tmp_path / "print.jpg").tolist() == [[[255, 255, 255]]]
    Image.fromarray(np.array([[[0, 0]]], dtype=np.uint8), "LA").save(tmp_path / "la.png")
    assert viewed(tmp_path / "la.png", "L").tolist() == [[255]]  # transparent black: white
