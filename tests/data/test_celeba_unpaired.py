"""CelebAUnpairedDataModule: domains from attributes on the 6-face CelebA fixture."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import CelebAUnpairedDataModule
from ganlab.data.celeba_unpaired import ATTRIBUTES
from ganlab.errors import ConfigError, DatasetError

BLACK, BLOND, GLASSES = 8, 9, 15  # columns in the official order
# Faces 0-2 are train, 3-4 valid, 5 test (the fixture's partition).
HAS_GLASSES = [1, -1, 1, -1, 1, 1]
HAS_BLOND = [1, 1, -1, -1, 1, 1]
HAS_BLACK = [-1, 1, 1, 1, -1, -1]


@pytest.fixture
def celeba(tmp_path, make_celeba):
    attrs = np.full((6, 40), -1)
    attrs[:, GLASSES], attrs[:, BLOND], attrs[:, BLACK] = HAS_GLASSES, HAS_BLOND, HAS_BLACK
    make_celeba(tmp_path, attrs)
    return tmp_path, attrs


def rows(domain, first_row: int) -> list[int]:
    """The fixture rows (faces) a domain holds; `first_row` is its split's first row."""
    return [first_row + i for i in domain.indices]


def test_attribute_and_its_absence(celeba):
    root, attrs = celeba
    dm = CelebAUnpairedDataModule(root)  # Eyeglasses vs no Eyeglasses
    train, val = dm.get_dataset("train"), dm.get_dataset("val")
    assert rows(train.domain_a, 0) == [0, 2] and rows(train.domain_b, 0) == [1]
    assert rows(val.domain_a, 3) == [4] and rows(val.domain_b, 3) == [3]
    assert len(train) == 2 and train.random_pairing and not val.random_pairing
    # Items are the right faces: their attribute targets are the fixture's rows.
    for i, row in enumerate([0, 2]):
        image, attr = train.domain_a[i]
        assert image.shape == (3, 64, 64) and image.min() > 0.8  # centre-cropped white face
        assert torch.equal(attr, torch.tensor((attrs[row] + 1) // 2))
    # Both domains index the one dataset of the split, read once.
    assert train.domain_a.faces is train.domain_b.faces is dm.celeba.get_dataset("train")


def test_two_attributes_exclude_each_other(celeba):
    root, _ = celeba
    dm = CelebAUnpairedDataModule(root, attribute="Blond_Hair", attribute_b="Black_Hair")
    train, val = dm.get_dataset("train"), dm.get_dataset("val")
    # Face 1 is blond and black-haired, so it is in neither domain.
    assert rows(train.domain_a, 0) == [0] and rows(train.domain_b, 0) == [2]
    assert rows(val.domain_a, 3) == [4] and rows(val.domain_b, 3) == [3]
    assert dm.describe("A") == "Blond_Hair and not Black_Hair"
    assert dm.describe("B") == "Black_Hair and not Blond_Hair"


def test_empty_domain_names_attribute_and_split(celeba):
    root, _ = celeba
    dm = CelebAUnpairedDataModule(root)
    with pytest.raises(DatasetError) as err:
        dm.get_dataset("test")  # the one test face wears glasses
    message = str(err.value)
    assert "The test split of CelebA has no faces for domain B (without Eyeglasses)" in message
    assert "data.attribute=Eyeglasses" in message
    dm = CelebAUnpairedDataModule(root, attribute="Blond_Hair", attribute_b="Black_Hair")
    with pytest.raises(DatasetError, match=r"domain B \(Black_Hair and not Blond_Hair\)"):
        dm.get_dataset("test")


def test_train_images_flip_and_eval_images_do_not(celeba):
    root, _ = celeba
    path = root / "celeba" / "img_align_celeba" / "000001.jpg"  # face 0: train, with glasses
    face = np.full((218, 178, 3), 255, dtype=np.uint8)
    face[:, :89] = 0  # left half dark: a flip moves it right
    Image.fromarray(face).save(path, quality=95)
    (root / "celeba" / "img_align_celeba" / "000005.jpg").write_bytes(path.read_bytes())  # val
    dm = CelebAUnpairedDataModule(root, image_size=32)
    train_a, val_a = dm.get_dataset("train").domain_a, dm.get_dataset("val").domain_a
    torch.manual_seed(0)

    def dark_left(image):
        return bool(image[..., :8].mean() < image[..., -8:].mean())

    assert {dark_left(train_a[0][0]) for _ in range(20)} == {True, False}
    assert {dark_left(val_a[0][0]) for _ in range(20)} == {True}
    no_flip = CelebAUnpairedDataModule(root, image_size=32, flip=False)
    assert {dark_left(no_flip.get_dataset("train").domain_a[0][0]) for _ in range(20)} == {True}


def test_views_cache_names_and_batches(celeba):
    root, _ = celeba
    dm = CelebAUnpairedDataModule(root, num_workers=0)
    assert dm.domain("a").cache_name == "celebaunpaired-A-Eyeglasses"
    assert dm.domain("b").get_dataset("val") is dm.get_dataset("val").domain_b
    two = CelebAUnpairedDataModule(root, attribute="Blond_Hair", attribute_b="Black_Hair")
    assert two.domain("B").cache_name == "celebaunpaired-B-Blond_Hair-Black_Hair"
    dm.setup("fit")
    a, b = next(iter(dm.train_dataloader()))
    assert a.shape == b.shape == (1, 3, 64, 64)


def test_unknown_attribute_lists_the_40(tmp_path):
    with pytest.raises(ConfigError) as err:
        CelebAUnpairedDataModule(tmp_path, attribute="Glasses")
    message = str(err.value)
    assert message.startswith("data.attribute='Glasses' is not a CelebA attribute")
    assert len(ATTRIBUTES) == 40 and all(name in message for name in ATTRIBUTES)
    with pytest.raises(ConfigError, match="data.attribute_b='blond' is not a CelebA attribute"):
        CelebAUnpairedDataModule(tmp_path, attribute="Black_Hair", attribute_b="blond")
    with pytest.raises(ConfigError, match="data.attribute_b to a different attribute or null"):
        CelebAUnpairedDataModule(tmp_path, attribute="Smiling", attribute_b="Smiling")


def test_attribute_names_match_the_official_header(celeba):
    root, _ = celeba
    dm = CelebAUnpairedDataModule(root)
    assert dm.celeba.get_dataset("train").attr_names == list(ATTRIBUTES)


def test_celeba_checks_apply(tmp_path, celeba):
    root, _ = celeba
    (root / "celeba" / "list_eval_partition.txt").unlink()
    with pytest.raises(DatasetError, match=r"missing list_eval_partition.txt\.") as err:
        CelebAUnpairedDataModule(root).setup("fit")
    assert "data.download=true" in str(err.value)
    with pytest.raises(ConfigError, match="data.crop_size must be an integer >= 1"):
        CelebAUnpairedDataModule(tmp_path, crop_size=0)
    with pytest.raises(ConfigError, match="data.channels must be 1 or 3"):
        CelebAUnpairedDataModule(tmp_path, channels=2)
