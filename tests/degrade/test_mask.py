"""Mask: holes (rectangles or strokes) filled, with the mask appended, for inpainting."""

import pytest
import torch

from ganlab.degrade import Mask
from ganlab.errors import ConfigError

SEEDS = torch.arange(64)


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("shape", ["rect", "stroke"])
@pytest.mark.parametrize("fill", ["mean", "zero"])
def test_the_mask_is_exactly_the_changed_pixels(shape, fill):
    x = rand(8, 3, 24, 24)
    assert (x != 0).all()  # no pixel already equal to the zero fill (nor, a.s., to a mean)
    out = Mask(holes=2, shape=shape, fill=fill)(x, SEEDS[:8])
    mask = out[:, 3]
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert torch.equal((out[:, :3] != x).any(1), mask.bool())
    if fill == "zero":
        assert (out[:, :3][mask.bool().unsqueeze(1).expand(-1, 3, -1, -1)] == 0).all()


def test_rect_sides_are_within_the_size_range_of_each_side():
    h, w = 32, 48
    out = Mask(min_size=0.25, max_size=0.5)(torch.zeros(64, 1, h, w), SEEDS)
    sides = []
    for hole in out[:, 1].bool():
        rows, cols = hole.any(1).nonzero()[:, 0], hole.any(0).nonzero()[:, 0]
        n, m = len(rows), len(cols)
        assert hole.sum() == n * m and rows[-1] - rows[0] + 1 == n  # one filled rectangle
        sides.append((n, m))
    rows, cols = zip(*sides)
    assert 8 <= min(rows) <= 9 and 15 <= max(rows) <= 16  # [0.25, 0.5] x 32, drawn across it
    assert 12 <= min(cols) <= 13 and 23 <= max(cols) <= 24  # [0.25, 0.5] x 48


def test_the_fill_is_the_mean_of_the_visible_pixels_per_channel():
    x = rand(4, 3, 16, 16)
    out = Mask(holes=3)(x, SEEDS[:4])
    for b in range(4):
        hole = out[b, 3].bool()
        for c in range(3):
            expected = x[b, c][~hole].mean().item()
            assert out[b, c][hole].unique().tolist() == [pytest.approx(expected, abs=1e-6)]
            assert torch.equal(out[b, c][~hole], x[b, c][~hole])


def test_an_image_that_is_all_hole_is_filled_with_zero():
    out = Mask(min_size=1.0, max_size=1.0)(rand(2, 3, 8, 8), SEEDS[:2])
    assert (out[:, 3] == 1).all() and (out[:, :3] == 0).all()


def test_more_holes_add_to_the_first():
    x = torch.zeros(16, 1, 32, 32)
    for shape in ("rect", "stroke"):
        one = Mask(holes=1, shape=shape)(x, SEEDS[:16])[:, 1]
        three = Mask(holes=3, shape=shape)(x, SEEDS[:16])[:, 1]
        assert (three >= one).all() and three.sum() > one.sum()


def test_strokes_cover_some_but_not_all_pixels():
    mask = Mask(shape="stroke")(torch.zeros(32, 1, 32, 32), SEEDS[:32])[:, 1]
    cover = mask.mean((1, 2))
    # A stroke is at least the brush's disk (width round(0.5 * 32 / 4) = 4: 12 pixels).
    assert (mask.sum((1, 2)) >= 12).all() and (cover < 0.5).all()
    assert len({m.numpy().tobytes() for m in mask}) == 32
    thin = Mask(shape="stroke", min_size=0.1, max_size=0.1)(torch.zeros(8, 1, 32, 32), SEEDS[:8])
    assert (thin[:, 1].sum((1, 2)) < mask[:8].sum((1, 2))).all()  # width 1, short segments


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"holes": 0}, "holes"),
        ({"holes": 1.5}, "holes"),
        ({"min_size": 0}, "min_size"),
        ({"min_size": 0.6, "max_size": 0.5}, "min_size"),
        ({"max_size": 1.5}, "max_size"),
        ({"shape": "rectangle"}, "shape.*rect, stroke.*Did you mean rect"),
        ({"fill": "black"}, "fill.*mean, zero"),
    ],
)
def test_bad_settings_name_their_key(kwargs, key):
    with pytest.raises(ConfigError, match=rf"data\.degrade\.{key}"):
        Mask(**kwargs)


def test_keys_and_extra_channel():
    assert Mask.extra_channels == 1
    assert Mask().key() == "mask-rect-1-0.25-0.5"
    assert Mask(2, 0.1, 0.3, "stroke", "zero").key() == "mask-stroke-2-0.1-0.3-zero"
