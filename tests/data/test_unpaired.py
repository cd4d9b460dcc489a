"""UnpairedDataset, the per-domain views, and UnpairedFolderDataModule on tiny CycleGAN layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import ImageDataModule, UnpairedDataset, UnpairedFolderDataModule
from ganlab.data.unpaired import DomainView
from ganlab.errors import ConfigError, DatasetError

RED, BLUE = (1.0, -1.0, -1.0), (-1.0, -1.0, 1.0)  # (255, 0, 0) and (0, 0, 255) in [-1, 1]


def numbered(n: int, offset: int = 0) -> list:
    """A stand-in domain: item i is (tensor(offset + i), i)."""
    return [(torch.tensor(float(offset + i)), i) for i in range(n)]


def values(dataset, n: int) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (dataset[i] for i in range(n))]


def test_length_is_the_larger_domain_and_fixed_pairing_cycles():
    dataset = UnpairedDataset(numbered(2), numbered(5, offset=10), random_pairing=False)
    assert len(dataset) == 5
    assert values(dataset, 5) == [(0, 10), (1, 11), (0, 12), (1, 13), (0, 14)]
    dataset = UnpairedDataset(numbered(5), numbered(2, offset=10), random_pairing=False)
    assert values(dataset, 5) == [(0, 10), (1, 11), (2, 10), (3, 11), (4, 10)]


def test_random_pairing_draws_b_from_the_global_rng():
    dataset = UnpairedDataset(numbered(4), numbered(3, offset=10))
    torch.manual_seed(0)
    first = values(dataset, 40)
    torch.manual_seed(0)
    assert values(dataset, 40) == first  # reproducible under a seed
    torch.manual_seed(0)
    expected_b = [10 + int(torch.randint(3, ())) for _ in range(40)]
    assert [b for _, b in first] == expected_b  # one torch.randint draw per item
    assert [a for a, _ in first] == [i % 4 for i in range(40)]  # A still cycles
    assert set(expected_b) == {10, 11, 12}
    torch.manual_seed(1)
    assert values(dataset, 40) != first


def test_empty_domain_is_an_error():
    with pytest.raises(DatasetError, match="Domain B has no images"):
        UnpairedDataset(numbered(3), [])


def halves(path: Path, size=(40, 30), fmt=None) -> Path:
    """An RGB image, red in its left half and blue in its right half."""
    w, h = size
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    pixels[:, : w // 2, 0] = 255
    pixels[:, w // 2 :, 2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def solid(path: Path, colour: tuple[int, int, int], size=(36, 24)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


B_COLOURS = [(0, 255, 0), (255, 255, 255), (0, 0, 0)]


@pytest.fixture
def cyclegan(tmp_path) -> Path:
    """trainA: 5 red|blue 40x30 PNGs; trainB: 3 solid colours; testA, testB: 2 images each."""
    root = tmp_path / "horse2zebra"
    for i in range(5):
        halves(root / "trainA" / f"a{i}.png")
    for i, colour in enumerate(B_COLOURS):
        solid(root / "trainB" / f"b{i}.png", colour)
    halves(root / "testA" / "x0.png")
    halves(root / "testA" / "nested" / "x1.jpg", size=(50, 50), fmt="JPEG")
    solid(root / "testB" / "y0.png", (0, 255, 0))
    solid(root / "testB" / "y1.png", (0, 0, 0))
    (root / "trainA" / "README.txt").write_text("not an image: ignored")
    return root


def small(root: Path, **kwargs) -> UnpairedFolderDataModule:
    kwargs = {"image_size": 32, "load_size": 40, "num_workers": 0, "repeat": 1, **kwargs}
    return UnpairedFolderDataModule(root, **kwargs)


def red_columns(image: torch.Tensor) -> list[bool]:
    """For each column of a red|blue image: whether it is pure red (else it must be blue)."""
    columns = [tuple(image[:, :, x].unique(dim=1).T.flatten().tolist()) for x in range(32)]
    assert set(columns) <= {RED, BLUE}  # every column one pure colour: no blending
    return [c == RED for c in columns]


def test_splits_sizes_and_folders(cyclegan):
    dm = small(cyclegan)
    train, val = dm.get_dataset("train"), dm.get_dataset("val")
    assert [len(train.domain_a), len(train.domain_b), len(train)] == [5, 3, 5]
    assert [len(val.domain_a), len(val.domain_b), len(val)] == [2, 2, 2]
    assert dm.get_dataset("test") is val  # the same folders and transform: built once
    assert train.random_pairing and not val.random_pairing
    relative = [p.relative_to(cyclegan).as_posix() for p in val.domain_a.paths]
    assert relative == ["testA/nested/x1.jpg", "testA/x0.png"]


def test_train_resizes_to_load_size_then_crops_and_flips(cyclegan):
    dm = small(cyclegan)
    domain_a = dm.get_dataset("train").domain_a
    torch.manual_seed(0)
    offsets, flipped = set(), set()
    for _ in range(60):
        image, target = domain_a[0]
        assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and target == 0
        red = red_columns(image)
        # Resized to 40 x 40, the image is red in columns 0-19; a 32-wide crop at offset x
        # keeps 20 - x red columns, x in 0..8, and a flip moves them to the right.
        n_red = sum(red)
        assert 12 <= n_red <= 20
        assert red in (
            [True] * n_red + [False] * (32 - n_red),
            [False] * (32 - n_red) + [True] * n_red,
        )
        offsets.add(20 - n_red)
        flipped.add(not red[0])
    assert len(offsets) >= 5 and flipped == {True, False}


def test_no_flip_keeps_orientation(cyclegan):
    domain_a = small(cyclegan, flip=False).get_dataset("train").domain_a
    torch.manual_seed(0)
    assert all(red_columns(domain_a[i % 5][0])[0] for i in range(30))


def test_train_crop_of_the_full_size(cyclegan):
    dm = small(cyclegan, image_size=40, load_size=40, flip=False)
    image, _ = dm.get_dataset("train").domain_a[0]
    assert image.shape == (3, 40, 40)
    assert torch.equal(image[:, :, :20], torch.tensor(RED).view(3, 1, 1).expand(3, 40, 20))


def test_test_transform_is_a_deterministic_resize(cyclegan):
    dm = small(cyclegan)
    val = dm.get_dataset("val")
    torch.manual_seed(0)
    first = [val.domain_a[1][0] for _ in range(3)]
    assert all(torch.equal(x, first[0]) for x in first)
    image = first[0]  # testA/x0.png, 40 x 30 squashed to 32 x 32, not cropped
    assert image.shape == (3, 32, 32) and image.min() >= -1 and image.max() <= 1
    assert torch.equal(image[:, :, :15], torch.tensor(RED).view(3, 1, 1).expand(3, 32, 15))
    assert torch.equal(image[:, :, -15:], torch.tensor(BLUE).view(3, 1, 1).expand(3, 32, 15))
    # Fixed pairing: b is testB's item i % 2, in sorted order (y0 green, y1 black).
    greens = [val[i][1][:, 0, 0].tolist() for i in range(2)]
    assert greens == [[-1.0, 1.0, -1.0], [-1.0, -1.0, -1.0]]


def test_grayscale(cyclegan):
    image, _ = small(cyclegan, channels=1).get_dataset("train").domain_b[1]  # white
    assert image.shape == (1, 32, 32) and torch.equal(image, torch.ones(1, 32, 32))


def test_train_batches_are_a_and_b(cyclegan):
    dm = small(cyclegan, batch_size=2)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 2  # 5 // 2, the rest dropped
    for batch in batches:
        assert isinstance(batch, list) and len(batch) == 2
        a, b = batch
        assert a.shape == b.shape == (2, 3, 32, 32)
        # Every b is one of trainB's solid colours, whole.
        for image in b:
            colour = tuple(((image[:, 0, 0] + 1) * 127.5).round().int().tolist())
            assert colour in B_COLOURS and torch.equal(image, image[:, :1, :1].expand_as(image))


def test_domain_views_share_datasets_and_settings(cyclegan):
    dm = small(cyclegan, batch_size=2, pin_memory=False)
    view = dm.domain("a")
    assert isinstance(view, ImageDataModule) and type(view) is DomainView
    assert view is dm.domain("A")
    assert view.cache_name == "unpairedfolder-A" and dm.domain("B").cache_name == "unpairedfolder-B"
    assert (view.root, view.image_size, view.channels) == (dm.root, 32, 3)
    assert (view.batch_size, view.num_workers, view.pin_memory) == (2, 0, False)
    assert view.get_dataset("test") is dm.get_dataset("val").domain_a
    assert dm.domain("b").get_dataset("train") is dm.get_dataset("train").domain_b
    images, targets = next(iter(view.dataloader("test", shuffle=False, batch_size=2)))
    assert images.shape == (2, 3, 32, 32) and targets.tolist() == [0, 0]
    assert torch.equal(images[1], dm.get_dataset("test").domain_a[1][0])
    with pytest.raises(ConfigError, match="Unknown domain 'C'; choose one of A, B"):
        dm.domain("C")
    with pytest.raises(ConfigError, match="Unknown split 'valid'"):
        view.get_dataset("valid")


def test_without_test_folders_evaluation_uses_train_with_a_warning(cyclegan):
    for d in ("testA", "testB"):
        for p in sorted((cyclegan / d).rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        (cyclegan / d).rmdir()
    dm = small(cyclegan)
    dm.setup("fit")  # training alone does not warn
    with pytest.warns(UserWarning, match="no testA/testB folders, so evaluation"):
        val = dm.get_dataset("val")
    assert dm.get_dataset("test") is val
    assert [len(val.domain_a), len(val.domain_b)] == [5, 3] and not val.random_pairing
    assert [p.name for p in val.domain_a.paths] == [f"a{i}.png" for i in range(5)]
    torch.manual_seed(0)
    assert torch.equal(val.domain_a[0][0], val.domain_a[0][0])  # the test transform


def test_missing_root_and_domain_folders(tmp_path, cyclegan):
    with pytest.raises(DatasetError, match="does not exist") as err:
        small(tmp_path / "nowhere").setup("fit")
    message = str(err.value)
    assert "trainA/" in message and "trainB/" in message and "testA/" in message
    assert "Set data.root" in message
    for p in (cyclegan / "trainB").iterdir():
        p.unlink()
    (cyclegan / "trainB").rmdir()
    with pytest.raises(DatasetError, match="has no trainB folder") as err:
        small(cyclegan).setup("fit")
    assert "Expected layout" in str(err.value)


def test_half_a_test_split_is_an_error(cyclegan):
    for p in (cyclegan / "testB").iterdir():
        p.unlink()
    (cyclegan / "testB").rmdir()
    with pytest.raises(DatasetError, match="has testA but no testB; add testB, or remove testA"):
        small(cyclegan).setup("fit")  # caught before training starts


def test_empty_domain_folder(cyclegan):
    for p in (cyclegan / "trainA").glob("*.png"):
        p.unlink()
    with pytest.raises(DatasetError, match=r"No images in .*trainA .*domain A"):
        small(cyclegan).setup("fit")


def test_bad_images_error_or_skip(cyclegan, make_truncated_jpeg):
    cut = make_truncated_jpeg(cyclegan / "trainB" / "cut.jpg")
    (cyclegan / "trainB" / "fake.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="2 of 5 images in .*trainB cannot be read") as err:
        small(cyclegan).setup("fit")
    assert str(cut) in str(err.value) and "data.on_bad_image=skip" in str(err.value)
    dm = small(cyclegan, on_bad_image="skip")
    with pytest.warns(UserWarning, match="Skipping 2 unreadable image"):
        dm.setup("fit")
    assert len(dm.train_set.domain_b) == 3
    dm = small(cyclegan, check_images=False)
    dm.setup("fit")
    with pytest.raises(DatasetError, match="Cannot read image"):
        [dm.train_set.domain_b[i] for i in range(5)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"load_size": 30}, "data.load_size=30 is smaller than data.image_size=32"),
        ({"load_size": 0}, "data.load_size must be an integer >= 1"),
        ({"channels": 4}, "data.channels must be 1 or 3"),
        ({"on_bad_image": "ignore"}, "data.on_bad_image='ignore' is not a choice"),
        ({"batch_size": 0}, "data.batch_size must be an integer >= 1"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        small(tmp_path, **kwargs)
