"""Prepared images (ganlab-prepare): the JPEG path's pixels and targets, read from an array."""

import json
import warnings

import numpy as np
import pytest
import torch

from ganlab.data import CelebADataModule
from ganlab.data.prepared import PreparedImages, write_prepared
from ganlab.errors import ConfigError, DatasetError
from tests.conftest import run_cli
from tests.downstream.conftest import face_fixture


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    face_fixture(root)
    return root


def items(datamodule, split):
    dataset = datamodule.get_dataset(split)
    return [dataset[i] for i in range(len(dataset))]


def same(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return torch.equal(torch.as_tensor(a), torch.as_tensor(b))


@pytest.mark.parametrize(
    "settings",
    [
        {"image_size": 32},
        {"image_size": 24, "channels": 1, "crop_size": 150},
        {"image_size": 32, "labels": "attr", "attributes": ["Smiling", "Male"]},
        {"image_size": 32, "labels": "identity", "identity_split": "per_identity"},
    ],
)
def test_prepared_items_equal_the_jpeg_path_bit_for_bit(faces, settings):
    prepared = CelebADataModule(faces, num_workers=0, **settings)
    path = prepared.prepare_images()
    assert np.load(path, mmap_mode="r").shape == (
        45,
        settings.get("channels", 3),
        *[settings["image_size"]] * 2,
    )
    always = CelebADataModule(faces, num_workers=0, prepared="always", **settings)
    never = CelebADataModule(faces, num_workers=0, prepared="never", **settings)
    for split in ("train", "val", "test"):
        fast, slow = items(always, split), items(never, split)
        assert len(fast) == len(slow) > 0
        for (x, y), (x0, y0) in zip(fast, slow):
            assert x.dtype == torch.float32 and torch.equal(x, x0)
            assert same(y, y0)
    assert always.get_dataset("train").prepared_images is not None
    assert never.get_dataset("train").prepared_images is None


def test_other_settings_are_not_read_from_the_file(faces):
    CelebADataModule(faces, image_size=32, num_workers=0).prepare_images()
    other = CelebADataModule(faces, image_size=16, num_workers=0)  # auto: decodes the JPEGs
    assert other.get_dataset("train").prepared_images is None
    assert other.get_dataset("train")[0][0].shape == (3, 16, 16)
    with pytest.raises(
        DatasetError, match=r"data.prepared=always, but .*16px_crop178_rgb.npy does not exist"
    ):
        CelebADataModule(faces, image_size=16, prepared="always").get_dataset("train")
    with pytest.raises(ConfigError, match="data.prepared"):
        CelebADataModule(faces, prepared="yes")


def test_workers_read_their_own_view(faces):
    CelebADataModule(faces, image_size=32, num_workers=0).prepare_images()
    batches = {}
    for workers in (0, 2):
        dm = CelebADataModule(faces, image_size=32, num_workers=workers, prepared="always")
        batches[workers] = torch.cat([b[0] for b in dm.dataloader("train", batch_size=8)])
    assert torch.equal(batches[0], batches[2])


def test_an_interrupted_preparation_leaves_nothing_to_use(tmp_path):
    def load(key):
        if key == "c":
            raise KeyboardInterrupt
        return torch.full((1, 2, 2), ord(key), dtype=torch.uint8)

    path = tmp_path / "x.npy"
    with pytest.raises(KeyboardInterrupt):
        write_prepared(path, ["a", "b", "c"], load, {"size": 2}, batch_size=1)
    assert not path.with_suffix(".json").exists()
    assert PreparedImages.find(path, ["a"], {"size": 2}, "auto") is None
    write_prepared(path, ["a", "b", "c"][:2], load, {"size": 2}, batch_size=1)
    assert json.loads(path.with_suffix(".json").read_text())["keys"] == ["a", "b"]
    found = PreparedImages.find(path, ["b", "a"], {"size": 2}, "auto")
    assert [int(found[i][0, 0, 0]) for i in range(2)] == [ord("b"), ord("a")]
    with pytest.warns(UserWarning, match=r"Not reading .* lacks 1 of the 2 images \(e.g. z: "):
        assert PreparedImages.find(path, ["a", "z"], {"size": 2}, "auto") is None
    with pytest.raises(DatasetError, match="lacks 1 of the 2 images"):
        PreparedImages.find(path, ["a", "z"], {"size": 2}, "always")
    with pytest.raises(DatasetError, match="was made with"):
        PreparedImages.find(path, ["a"], {"size": 3}, "always")


def test_the_prepare_command(faces, tmp_path):
    res = run_cli("prepare", "data=celeba", f"data.root={faces}", "data.image_size=16",
                  "data.num_workers=0", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    path = faces / "celeba" / "prepared" / "16px_crop178_rgb.npy"
    assert "\nPrepared 45 images in " in res.stdout and str(path) in res.stdout
    assert np.load(path).shape == (45, 3, 16, 16)
    assert list(tmp_path.iterdir()) == []  # no run folder, no log
    res = run_cli("prepare", "data=mnist", cwd=tmp_path)
    assert res.returncode == 1
    assert "MNISTDataModule has nothing to prepare" in res.stderr


def test_a_prepared_folder_reads_the_readable_images(tmp_path, make_image, make_truncated_jpeg):
    from ganlab.data import FolderDataModule

    for i in range(5):
        make_image(tmp_path / ("cat" if i % 2 else "dog") / f"{i}.png", "RGB", (40 + i, 30))
    make_truncated_jpeg(tmp_path / "cat" / "bad.jpg")
    settings = {"image_size": 16, "num_workers": 0, "labels": "subfolder"}
    with pytest.raises(DatasetError, match="1 of 6 images in .* cannot be read"):
        FolderDataModule(tmp_path, **settings).prepare_images()
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        path = FolderDataModule(tmp_path, on_bad_image="skip", **settings).prepare_images()
    assert path == tmp_path / ".prepared" / "16px_rgb.npy"
    assert json.loads(path.with_suffix(".json").read_text())["keys"] == [
        "cat/1.png", "cat/3.png", "dog/0.png", "dog/2.png", "dog/4.png",
    ]  # fmt: skip
    fast = FolderDataModule(tmp_path, on_bad_image="skip", prepared="always", **settings)
    slow = FolderDataModule(tmp_path, on_bad_image="skip", prepared="never", **settings)
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        slow_items = items(slow, "train")
    fast_items = items(fast, "train")  # no check, no warning: the array has the good ones
    assert fast.classes == slow.classes == ["cat", "dog"]
    assert len(fast_items) == len(slow_items) == 5
    for (x, y), (x0, y0) in zip(fast_items, slow_items):
        assert torch.equal(x, x0) and y == y0
    # With on_bad_image=error the bad file is not in the array: decode (and report it).
    strict = FolderDataModule(tmp_path, check_images=False, **settings)
    with pytest.warns(UserWarning, match=r"made without 1 unreadable image\(s\)"):
        assert strict.get_dataset("train").prepared_images is None


def test_images_added_after_preparing_are_not_left_out(tmp_path, make_image, make_truncated_jpeg):
    """An array made with on_bad_image=skip drops only the files it left out as unreadable:
    a file added since makes auto decode every file (with a warning), and always refuse."""
    from ganlab.data import FolderDataModule

    for i in range(3):
        make_image(tmp_path / f"{i}.png", "RGB", (20 + i, 20))
    make_truncated_jpeg(tmp_path / "bad.jpg")
    settings = {"image_size": 8, "num_workers": 0, "on_bad_image": "skip"}
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        path = FolderDataModule(tmp_path, **settings).prepare_images()
    index = json.loads(path.with_suffix(".json").read_text())
    assert index["keys"] == ["0.png", "1.png", "2.png"] and index["left_out"] == ["bad.jpg"]
    assert len(FolderDataModule(tmp_path, prepared="always", **settings).get_dataset("train")) == 3

    make_image(tmp_path / "new.png", "RGB", (30, 20))
    with pytest.raises(DatasetError, match=r"lacks 1 of the 5 images \(e.g. new.png: added since"):
        FolderDataModule(tmp_path, prepared="always", **settings).get_dataset("train")
    auto = FolderDataModule(tmp_path, **settings)
    with pytest.warns(UserWarning) as caught:
        data = auto.get_dataset("train")
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("Not reading the prepared images: ") for m in messages), messages
    assert any("Skipping 1 unreadable image(s) of 5" in m for m in messages), messages
    assert data.prepared_images is None
    assert [p.name for p in data.paths] == ["0.png", "1.png", "2.png", "new.png"]
    # Preparing again takes the new file in, and the array is read again.
    with pytest.warns(UserWarning, match="Skipping 1 unreadable image"):
        FolderDataModule(tmp_path, **settings).prepare_images()
    data = FolderDataModule(tmp_path, prepared="always", **settings).get_dataset("train")
    assert data.prepared_images is not None and len(data) == 4


def test_training_batches_are_uint8_scaled_on_the_device_to_the_same_values(faces):
    CelebADataModule(faces, image_size=32, num_workers=0).prepare_images()
    batches = {}
    for mode in ("always", "never"):
        dm = CelebADataModule(faces, image_size=32, num_workers=2, batch_size=8, prepared=mode)
        torch.manual_seed(3)  # the training order's seed
        loader = dm.train_dataloader()
        assert loader.num_workers == (0 if mode == "always" else 2)  # rows: no workers
        batch = next(iter(loader))
        assert batch[0].dtype == (torch.uint8 if mode == "always" else torch.float32)
        batches[mode] = dm.on_after_batch_transfer(batch, 0)
    (x, (attr, ident)), (x0, (attr0, ident0)) = batches["always"], batches["never"]
    assert x.dtype == torch.float32 and torch.equal(x, x0)
    assert torch.equal(attr, attr0) and torch.equal(ident, ident0)


def test_training_on_a_prepared_array_matches_training_on_the_jpegs(faces, tmp_path):
    from ganlab.cli.train import train
    from tests.conftest import TINY, compose_train

    CelebADataModule(faces, image_size=32, num_workers=0).prepare_images()
    weights = {}
    for mode in ("always", "never"):
        overrides = [
            *TINY, "data=celeba", f"data.root={faces}", "data.image_size=32",
            "data.batch_size=4", "data.num_workers=0", f"data.prepared={mode}", "max_iters=3",
        ]  # fmt: skip
        summary = train(compose_train(tmp_path / mode, overrides))
        assert summary["status"] == "completed" and summary["g_steps"] == 3
        ckpt = torch.load(tmp_path / mode / "checkpoints" / "last.ckpt", weights_only=False)
        weights[mode] = ckpt["state_dict"]
    assert weights["always"].keys() == weights["never"].keys()
    for key, value in weights["always"].items():
        assert torch.equal(value, weights["never"][key]), key


def test_ctrl_c_in_the_prepare_command_leaves_nothing_to_use(
    tmp_path, make_image, monkeypatch, capsys
):
    """Ctrl+C while ganlab-prepare decodes: one message and status 130 (SIGINT's), no
    traceback, and no index, so training decodes the files and does not warn."""
    import sys

    from ganlab.cli import prepare
    from ganlab.data import FolderDataModule
    from ganlab.data.prepared import DecodeFile

    for i in range(6):
        make_image(tmp_path / "img" / f"{i}.png", "RGB", (20, 20))
    decode, calls = DecodeFile.__call__, []

    def interrupted(self, name):
        calls.append(name)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return decode(self, name)

    monkeypatch.setattr(DecodeFile, "__call__", interrupted)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "img"
    args = ["data=folder", f"data.root={root}", "data.image_size=8", "data.num_workers=0"]
    monkeypatch.setattr(sys, "argv", ["ganlab-prepare", *args])
    with pytest.raises(SystemExit) as stopped:
        prepare.main()
    assert stopped.value.code == 130
    err = capsys.readouterr().err
    assert "ganlab-prepare: stopped before the end." in err
    assert err.rstrip().endswith("ganlab: interrupted (Ctrl+C).")
    assert "Traceback" not in err
    assert (root / ".prepared" / "8px_rgb.npy").is_file()
    assert not (root / ".prepared" / "8px_rgb.json").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (
            FolderDataModule(root, image_size=8, num_workers=0).get_dataset("train").prepared_images
            is None
        )


def test_prepared_dir_keeps_datasets_with_the_same_file_names_apart(tmp_path, make_image):
    """data.prepared_dir (for data on a read-only disk): one subfolder per dataset, since
    the index knows images by file name and two datasets can share names."""
    from ganlab.data import FolderDataModule

    store = tmp_path / "store"
    for name, size in (("a", 20), ("b", 30)):
        for i in range(3):
            make_image(tmp_path / name / f"{i}.png", "RGB", (size + i, size))
    settings = {"image_size": 8, "num_workers": 0, "prepared_dir": store}
    paths = {n: FolderDataModule(tmp_path / n, **settings).prepare_images() for n in "ab"}
    assert paths["a"].parent != paths["b"].parent
    assert paths["a"].parent.parent == paths["b"].parent.parent == store
    assert paths["a"].parent.name.startswith("a-") and paths["a"].name == "8px_rgb.npy"
    assert not (tmp_path / "a" / ".prepared").exists()  # nothing written beside the images
    for name in "ab":
        fast = FolderDataModule(tmp_path / name, prepared="always", **settings)
        slow = FolderDataModule(tmp_path / name, prepared="never", num_workers=0, image_size=8)
        assert fast.get_dataset("train").prepared_images.path == paths[name]
        for (x, _), (x0, _) in zip(items(fast, "train"), items(slow, "train"), strict=True):
            assert torch.equal(x, x0)
    # Without the setting, training looks beside the images and finds nothing.
    with pytest.raises(DatasetError, match=r"a/.prepared/8px_rgb.npy does not exist"):
        FolderDataModule(tmp_path / "a", prepared="always", image_size=8).get_dataset("train")


def test_celeba_prepared_dir_reaches_relabelled_datamodules(faces, tmp_path):
    datamodule = CelebADataModule(faces, image_size=8, num_workers=0, prepared_dir=tmp_path)
    path = datamodule.prepare_images()
    assert path.parent.parent == tmp_path and path.name == "8px_crop178_rgb.npy"
    identity = datamodule.relabelled(labels="identity", prepared="always")
    assert identity.get_dataset("train").prepared_images.path == path


def test_an_array_that_cannot_be_written_is_a_clear_error(tmp_path, make_image, monkeypatch):
    import os
    import shutil
    from collections import namedtuple

    from ganlab.data import FolderDataModule

    for i in range(3):
        make_image(tmp_path / f"{i}.png", "RGB", (20, 20))
    datamodule = FolderDataModule(tmp_path, image_size=8, num_workers=0)
    where = tmp_path / ".prepared" / "8px_rgb.npy"

    (tmp_path / ".prepared").write_text("")  # a file where the folder should be
    with pytest.raises(DatasetError) as err:
        datamodule.prepare_images()
    assert str(err.value) == (
        f"Cannot write the prepared array {where}: File exists. Set data.prepared_dir to a "
        "folder on a disk with room that you can write to (training reads the array from "
        "there when it has the same setting)."
    )
    (tmp_path / ".prepared").unlink()

    # A full disk: found before decoding (3 images of 3x8x8 bytes need 576 bytes)...
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(1000, 900, 100))
    with pytest.raises(DatasetError, match=r"it needs 0.0 MiB and .*\.prepared has 0.0 MiB free"):
        datamodule.prepare_images()
    assert list((tmp_path / ".prepared").iterdir()) == []
    monkeypatch.undo()

    # ...or when the space is reserved (the free space seen was not there): no array left.
    def full(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(DatasetError, match=f"{where}: No space left on device"):
        datamodule.prepare_images()
    assert list((tmp_path / ".prepared").iterdir()) == []
    monkeypatch.undo()
    assert datamodule.prepare_images() == where and np.load(where).shape == (3, 3, 8, 8)
