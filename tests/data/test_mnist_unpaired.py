"""MNISTUnpairedDataModule: even/odd domains, exact B styles, and the true translation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganlab.data import MNISTDataModule, MNISTUnpairedDataModule
from ganlab.data.mnist_unpaired import restyle
from ganlab.errors import ConfigError

ULP = 2**-24  # float32 rounding of the uint8 -> [-1, 1] map near +-1


def thicken_reference(images: np.ndarray) -> np.ndarray:
    """3 x 3 grey dilation of N x 1 x H x W uint8 images, written independently of torch."""
    h, w = images.shape[-2:]
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))  # 0 never beats a real pixel
    shifts = [padded[..., dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]
    return np.max(shifts, axis=0)


def to_model(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def source(root, split: str, image_size: int = 32) -> torch.Tensor:
    """The plain MNIST images of a split at image_size, as uint8 (MNISTDataModule's)."""
    return MNISTDataModule(root, image_size=image_size).get_dataset(split).images


@pytest.fixture
def tiny(tmp_path, tiny_mnist):
    tiny_mnist(tmp_path, n_train=11, n_test=4)
    return tmp_path


def test_even_and_odd_indices(tiny):
    dm = MNISTUnpairedDataModule(tiny)
    train = dm.get_dataset("train")
    assert [len(train.domain_a), len(train.domain_b), len(train)] == [6, 5, 6]
    assert train.domain_a.targets.tolist() == [0, 2, 4, 6, 8, 0]  # labels are index % 10
    assert train.domain_b.targets.tolist() == [1, 3, 5, 7, 9]
    assert torch.equal(train.domain_a.images, source(tiny, "train")[0::2])
    assert train.domain_a.images.dtype == train.domain_b.images.dtype == torch.uint8
    assert train.domain_b.images.shape == (5, 1, 32, 32)
    test = dm.get_dataset("test")
    assert dm.get_dataset("val") is test and len(test.domain_a) == len(test.domain_b) == 2
    assert train.random_pairing and not test.random_pairing


def test_thick_pixels_are_a_3x3_max_filter(tiny):
    dm = MNISTUnpairedDataModule(tiny)
    domain_b = dm.get_dataset("train").domain_b
    odd = source(tiny, "train")[1::2]
    expected = torch.from_numpy(thicken_reference(odd.numpy()))
    assert torch.equal(domain_b.images, expected)
    assert torch.equal(domain_b[2][0], to_model(expected[2]))  # items in [-1, 1]
    assert (domain_b.images >= odd).all() and (domain_b.images > odd).any()


def test_invert_pixels(tiny):
    dm = MNISTUnpairedDataModule(tiny, b_style="invert")
    odd = source(tiny, "test")[1::2]
    assert torch.equal(dm.get_dataset("test").domain_b.images, 255 - odd)


def test_true_translation_thick_is_exact(tiny):
    dm = MNISTUnpairedDataModule(tiny)
    a = torch.stack([x for x, _ in dm.get_dataset("train").domain_a])
    even = source(tiny, "train")[0::2]
    # B's transform applied to the same source digits, through B's own uint8 path.
    expected = to_model(restyle(even, "thick", 0, 255))
    assert torch.equal(dm.true_translation(a, "a2b"), expected)
    assert dm.true_translation(a, "b2a") is None  # thickening has no inverse
    assert torch.equal(expected, to_model(torch.from_numpy(thicken_reference(even.numpy()))))


def test_true_translation_invert(tiny):
    dm = MNISTUnpairedDataModule(tiny, b_style="invert")
    a = torch.stack([x for x, _ in dm.get_dataset("train").domain_a])
    even = source(tiny, "train")[0::2]
    expected = to_model(255 - even)
    translated = dm.true_translation(a, "a2b")
    # -x is exact in [-1, 1]; B's (255 - u) / 127.5 - 1 rounds differently by at most 1 ulp.
    assert (translated - expected).abs().max() <= ULP
    assert torch.equal(translated, -a)
    b = torch.stack([x for x, _ in dm.get_dataset("train").domain_b])
    assert (
        dm.true_translation(b, "b2a") - to_model(source(tiny, "train")[1::2])
    ).abs().max() <= ULP
    with pytest.raises(ValueError, match="direction must be one of a2b, b2a"):
        dm.true_translation(a, "ab")


def test_views_cache_names_and_batches(tiny):
    dm = MNISTUnpairedDataModule(tiny, batch_size=4, repeat=1)
    assert dm.domain("b").get_dataset("test") is dm.get_dataset("test").domain_b
    assert dm.domain("A").get_dataset("val") is dm.get_dataset("test").domain_a
    assert dm.domain("a").cache_name == "mnistunpaired-A"
    assert dm.domain("b").cache_name == "mnistunpaired-B-thick"
    invert = MNISTUnpairedDataModule(tiny, b_style="invert")
    assert invert.domain("B").cache_name == "mnistunpaired-B-invert"
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 1  # 6 // 4, the rest dropped
    a, b = batches[0]
    assert a.shape == b.shape == (4, 1, 32, 32) and a.dtype == b.dtype == torch.float32
    images, labels = next(iter(dm.domain("b").dataloader("test", batch_size=2)))
    assert images.shape == (2, 1, 32, 32) and labels.tolist() == [1, 3]


def test_prepare_data_extracts_the_bundle(tmp_path):
    dm = MNISTUnpairedDataModule(tmp_path)
    dm.prepare_data()
    assert dm.mnist.missing_files() == []
    assert dm.domain("A").root == tmp_path


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"b_style": "blur"}, "data.b_style='blur' is not a choice; use one of thick, invert"),
        ({"channels": 3}, "data.channels must be 1"),
        ({"image_size": 0}, "data.image_size must be an integer >= 1"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        MNISTUnpairedDataModule(tmp_path, **kwargs)


def test_real_mnist_test_split(mnist_real):
    digits = mnist_real.get_dataset("test")  # 10k official test digits at 32 x 32
    dm = MNISTUnpairedDataModule(mnist_real.root)
    dm.prepare_data()  # already extracted: only verified
    test = dm.get_dataset("test")
    assert len(test.domain_a) == len(test.domain_b) == len(test) == 5000
    assert torch.equal(test.domain_a.images, digits.images[0::2])
    assert torch.equal(test.domain_b.targets, digits.targets[1::2])
    assert test.domain_a.targets[:5].tolist() == [7, 1, 4, 4, 5]  # of 7 2 1 0 4 1 4 9 5 9 ...
    assert test.domain_b.targets[:5].tolist() == [2, 0, 1, 9, 9]
    thick = torch.from_numpy(thicken_reference(digits.images[1::2].numpy()))
    assert torch.equal(test.domain_b.images, thick)
    # Thicker strokes: 1.85 times the ink (pixels above mid-grey) of the same digits.
    ink = (thick > 127).float().mean() / (digits.images[1::2] > 127).float().mean()
    assert ink.item() == pytest.approx(1.8470, abs=1e-4)
    a = torch.stack([test.domain_a[i][0] for i in range(256)])
    expected = to_model(restyle(digits.images[0:512:2], "thick", 0, 255))
    assert torch.equal(dm.true_translation(a, "a2b"), expected)
    invert = MNISTUnpairedDataModule(mnist_real.root, b_style="invert").get_dataset("test")
    assert torch.equal(invert.domain_b.images, 255 - digits.images[1::2])
