"""CelebADataModule on a 6-image fixture in the official folder layout and file formats."""

from __future__ import annotations

import pytest
import torch
import torchvision

from ganlab.data import CelebADataModule
from ganlab.errors import ConfigError, DatasetError

IDENTITY = (2880, 2937, 8692, 5805, 9295, 4153)  # as written by the fixture


def test_official_splits(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root)
    assert [len(dm.get_dataset(s)) for s in ("train", "val", "test")] == [3, 2, 1]


def test_images_are_centre_cropped_and_in_range(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root)
    dm.setup("fit")
    image, _ = dm.train_set[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32
    assert image.min() >= -1 and image.max() <= 1
    # The fixture's face is white inside the 178x178 centre and black in the bands around it;
    # without the crop a quarter-ish of the image would be near -1.
    assert image.min() > 0.8 and image.mean() == pytest.approx(1.0, abs=0.01)


def test_targets_are_attributes_and_identity(celeba_root):
    root, info = celeba_root
    dm = CelebADataModule(root)
    written = torch.tensor(info["attrs"])
    for split, rows in (("train", [0, 1, 2]), ("val", [3, 4]), ("test", [5])):
        dataset = dm.get_dataset(split)
        assert dataset.attr_names[:2] == ["5_o_Clock_Shadow", "Arched_Eyebrows"]
        assert len(dataset.attr_names) == 40  # the header line parsed as torchvision expects
        for i, row in enumerate(rows):
            _, (attr, identity) = dataset[i]
            assert torch.equal(attr, (written[row] + 1) // 2)  # {-1, 1} -> {0, 1}
            assert int(identity) == IDENTITY[row]


def test_single_and_empty_target_type(celeba_root):
    root, _ = celeba_root
    _, identity = CelebADataModule(root, target_type="identity").get_dataset("test")[0]
    assert int(identity) == IDENTITY[5]
    _, target = CelebADataModule(root, target_type=[]).get_dataset("test")[0]
    assert target == 0  # None would break the default collate


def test_grayscale_and_loader(celeba_root):
    root, _ = celeba_root
    dm = CelebADataModule(root, channels=1, image_size=32, batch_size=2, num_workers=0)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert len(batches) == 1 and batches[0][0].shape == (2, 1, 32, 32)
    attr, identity = batches[0][1]
    assert attr.shape == (2, 40) and identity.shape == (2,)


@pytest.mark.parametrize("missing", ["list_eval_partition.txt", "identity_CelebA.txt"])
def test_missing_file_is_listed(celeba_root, missing):
    root, _ = celeba_root
    (root / "celeba" / missing).unlink()
    with pytest.raises(DatasetError) as err:
        CelebADataModule(root).setup("fit")
    message = str(err.value)
    assert f"missing {missing}." in message
    assert "img_align_celeba/*.jpg" in message and "list_bbox_celeba.txt" in message  # layout
    assert "data.download=true" in message and "Google Drive" in message


def test_missing_image_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"missing img_align_celeba/, list_attr_celeba.txt"):
        CelebADataModule(tmp_path).setup("fit")


def test_prepare_data_skips_download_when_off_or_present(celeba_root, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("must not download")

    monkeypatch.setattr(torchvision.datasets, "CelebA", fail)
    root, _ = celeba_root
    CelebADataModule(root, download=True).prepare_data()  # files present
    CelebADataModule(root / "empty", download=False).prepare_data()  # download off


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    def quota(*args, **kwargs):
        raise RuntimeError("Too many users have viewed or downloaded this file recently")

    monkeypatch.setattr(torchvision.datasets, "CelebA", quota)
    with pytest.raises(DatasetError, match="The download failed .*Too many users"):
        CelebADataModule(tmp_path, download=True).prepare_data()


def test_unreadable_image_names_its_path(celeba_root):
    root, info = celeba_root
    path = root / "celeba" / "img_align_celeba" / info["names"][5]
    path.write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="Cannot read CelebA image") as err:
        CelebADataModule(root).get_dataset("test")[0]
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": 4}, "data.channels must be 1 or 3"),
        ({"target_type": ["attr", "pose"]}, r"Unknown CelebA target_type \['pose'\]"),
        ({"crop_size": 0}, "data.crop_size must be an integer >= 1"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        CelebADataModule(tmp_path, **kwargs)


def test_config_matches_constructor(config_vs_signature):
    target, conf, defaults = config_vs_signature("celeba")
    assert target == "ganlab.data.CelebADataModule"
    assert conf.pop("root") == "${paths.data_dir}"
    defaults.pop("root")
    assert conf == defaults  # every argument is a key, with the same default


def test_empty_split_and_malformed_annotations(celeba_root):
    root, info = celeba_root
    partition = root / "celeba" / "list_eval_partition.txt"
    partition.write_text("".join(f"{n} 0\n" for n in info["names"]))  # everything is train
    dm = CelebADataModule(root)
    assert len(dm.get_dataset("train")) == 6
    with pytest.raises(DatasetError, match="The val split .* has no images"):
        dm.dataloader("val")
    partition.write_text("000001.jpg train\n")
    with pytest.raises(DatasetError, match="could not be parsed"):
        CelebADataModule(root).setup("fit")
