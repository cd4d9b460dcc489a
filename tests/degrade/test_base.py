"""The contract every degradation keeps: shapes, ranges, dtypes, and a pure function of
(images, seeds), image by image."""

import pytest
import torch

from ganlab.degrade import (
    JPEG,
    Blur,
    Degradation,
    Downsample,
    Mask,
    NoDegradation,
    Noise,
    generators,
)

ALL = {
    "none": NoDegradation(),
    "downsample": Downsample(2),
    "mask": Mask(holes=2),
    "stroke": Mask(shape="stroke", fill="zero"),
    "noise": Noise(),
    "noise-blind": Noise(min_sigma=0.05),
    "blur": Blur(),
    "blur-blind": Blur(min_sigma=0.5),
    "jpeg": JPEG(),
    "jpeg-blind": JPEG(quality=50, min_quality=5),
}
# Those whose result depends on the seed (a fixed blur or JPEG quality does not).
RANDOM = ["mask", "stroke", "noise", "noise-blind", "blur-blind", "jpeg-blind"]
SEEDS = torch.tensor([5, -3, 2**40, 0, 5])  # negative, large and repeated seeds too


def rand(*shape, seed=0):
    """Uniform in [-1, 1), reproducibly."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def smooth(b, c, h, w, seed=0):
    """Random images with structure at every scale (noise on a ramp), in [-1, 1]."""
    ramp = torch.linspace(-0.6, 0.6, w).view(1, 1, 1, w)
    return (ramp + 0.3 * rand(b, c, h, w, seed=seed)).clamp(-1, 1)


@pytest.fixture(params=list(ALL), ids=list(ALL))
def name(request):
    return request.param


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_ranges_and_dtype(name, channels):
    deg = ALL[name]
    x = smooth(5, channels, 16, 16)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        out = deg(x.to(dtype), SEEDS)
        assert out.shape == (5, channels + deg.extra_channels, 16, 16)
        assert out.dtype == dtype
        assert out[:, :channels].min() >= -1 and out[:, :channels].max() <= 1
        assert torch.equal(deg.baseline(out, channels), out[:, :channels])


def test_a_pure_function_of_images_and_seeds(name):
    deg = ALL[name]
    x = smooth(5, 3, 16, 16)
    rng = torch.get_rng_state()
    out = deg(x, SEEDS)
    assert torch.equal(torch.get_rng_state(), rng)  # the global RNG is neither used nor moved
    torch.manual_seed(123)
    assert torch.equal(deg(x.clone(), SEEDS.clone()), out)
    for i in range(5):  # alone, as in the batch
        assert torch.equal(deg(x[i : i + 1], SEEDS[i : i + 1])[0], out[i])
    order = torch.tensor([3, 0, 4, 2, 1])  # reordered with its seeds
    assert torch.equal(deg(x[order], SEEDS[order]), out[order])
    assert torch.equal(deg(x[[0, 0]], SEEDS[[0, 4]]), out[[0, 0]])  # seeds 5 and 5


@pytest.mark.parametrize("name", RANDOM)
def test_different_seeds_give_different_results(name):
    x = smooth(1, 3, 16, 16).expand(4, -1, -1, -1)
    out = ALL[name](x, torch.tensor([1, 2, 3, 4]))
    assert len({out[i].numpy().tobytes() for i in range(4)}) == 4


def test_fixed_degradations_ignore_the_seed():
    x = smooth(1, 3, 16, 16).expand(3, -1, -1, -1)
    for name in sorted(set(ALL) - set(RANDOM)):
        out = ALL[name](x, torch.tensor([1, 2, 3]))
        assert torch.equal(out[0], out[1]) and torch.equal(out[0], out[2]), name


def test_none_is_the_identity_and_makes_no_pairs():
    x = rand(2, 3, 8, 8)
    none = NoDegradation()
    assert none(x, torch.tensor([0, 1])) is x and none.key() == "none"
    assert not none.makes_pairs and none.extra_channels == 0
    assert all(d.makes_pairs for n, d in ALL.items() if n != "none")
    assert isinstance(none, Degradation) and repr(Mask(holes=2)) == "Mask<mask-rect-2-0.25-0.5>"


def test_keys_name_every_setting():
    keys = [d.key() for d in ALL.values()]
    assert len(set(keys)) == len(keys)


def test_bad_seeds_and_images_are_refused_and_empty_batches_work(name):
    deg = ALL[name]
    x = rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="one integer seed per image: 2 images"):
        deg(x, torch.tensor([1]))
    with pytest.raises(ValueError, match="one integer seed per image"):
        deg(x, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) images"):
        deg(x[0], torch.tensor([1, 2]))
    empty = deg(x[:0], torch.tensor([], dtype=torch.int64))
    assert empty.shape == (0, 3 + deg.extra_channels, 8, 8)


def test_generators_are_seeded_per_image():
    streams = [torch.rand(3, generator=g) for g in generators(torch.tensor([7, -1, 7]))]
    assert torch.equal(streams[0], torch.rand(3, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(streams[0], streams[2]) and not torch.equal(streams[0], streams[1])
    assert torch.equal(streams[1], torch.rand(3, generator=torch.Generator().manual_seed(-1)))
