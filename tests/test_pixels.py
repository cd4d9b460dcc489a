"""ganlab.pixels: the one conversion each way between stored uint8 and the model range."""

import pytest
import torch
from torchvision.transforms import v2

from ganlab.pixels import ToModelRange, quantize, to_model_range, to_uint8

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
