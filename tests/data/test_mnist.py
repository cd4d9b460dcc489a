"""MNISTDataModule: layout, bundled extraction, integrity errors, and the shared loader logic."""

from __future__ import annotations

import os
import shutil

import pytest
import torch
import torchvision
from lightning.pytorch.utilities.model_helpers import is_overridden
from torchvision.datasets.utils import calculate_md5

import ganlab.data.mnist as mnist_mod
from ganlab.data import MNISTDataModule
from ganlab.errors import ConfigError, DatasetError

OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def test_tiny_layout_items_map_pixels_exactly(tiny_mnist, tmp_path):
    arrays = tiny_mnist(tmp_path)
    dm = MNISTDataModule(tmp_path, batch_size=4)
    dm.setup("fit")
    assert len(dm.train_set) == 10
    image, label = dm.train_set[0]
    assert image.dtype == torch.float32 and image.shape == (1, 28, 28)
    assert image[0, 0, :3].tolist() == pytest.approx([-1.0, 51 / 127.5 - 1, 1.0])
    expected = torch.from_numpy(arrays["train-images"][3]).float() / 127.5 - 1
    assert torch.equal(dm.train_set[3][0][0], expected)
    assert type(label) is int and [dm.train_set[i][1] for i in range(10)] == list(range(10))


def test_training_batches_are_uint8_scaled_on_the_device_to_the_items_values(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path)
    dm = MNISTDataModule(tmp_path, batch_size=4)
    dm.setup("fit")
    items = [dm.train_set[i] for i in range(10)]
    batched = dm.train_set.__getitems__([3, 0, 7])  # what a DataLoader asks for
    for (image, label), i in zip(batched, [3, 0, 7], strict=True):
        assert torch.equal(image, items[i][0]) and label == items[i][1]
    torch.manual_seed(0)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.dtype == torch.uint8  # a quarter of the bytes to the device
    scaled, labels = dm.on_after_batch_transfer([images, labels], 0)
    order = labels.tolist()  # the tiny set's label i is image i
    assert torch.equal(scaled, torch.stack([items[i][0] for i in order]))


def test_val_is_the_test_split(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path, n_train=10, n_test=4)
    dm = MNISTDataModule(tmp_path)
    assert dm.get_dataset("val") is dm.get_dataset("test")
    assert len(dm.get_dataset("val")) == 4


def test_binarize_makes_fixed_binary_digits_per_split(tiny_mnist, tmp_path):
    arrays = tiny_mnist(tmp_path, n_train=10, n_test=4)
    grey = torch.from_numpy(arrays["train-images"])
    threshold = MNISTDataModule(tmp_path, binarize="threshold").get_dataset("train").images
    assert torch.equal(threshold[:, 0], (grey > 127).to(torch.uint8) * 255)
    sampled = MNISTDataModule(tmp_path, binarize="sample")
    train = sampled.get_dataset("train").images
    assert set(train.unique().tolist()) <= {0, 255}
    # The same draw in every run (a fixed seed per split), on where the digit has ink.
    again = MNISTDataModule(tmp_path, binarize="sample").get_dataset("train").images
    assert torch.equal(train, again)
    assert not train[:, 0][grey == 0].any() and train[:, 0][grey == 255].all()
    item, _ = sampled.get_dataset("test")[0]
    assert set(item.unique().tolist()) <= {-1.0, 1.0}
    names = {MNISTDataModule(tmp_path).cache_name, sampled.cache_name}
    assert names == {"mnist", "mnist-bin-sample"}  # their own reference features


def test_resize_once_to_image_size(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path)
    dm = MNISTDataModule(tmp_path, image_size=32)
    dm.setup()
    assert dm.train_set.images.dtype == torch.uint8
    assert dm.train_set.images.shape == (10, 1, 32, 32)
    assert dm.train_set[0][0].shape == (1, 32, 32)


def test_train_dataloader_batches_drop_last(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path)
    dm = MNISTDataModule(tmp_path, batch_size=4, repeat=1)
    dm.setup("fit")
    loader = dm.train_dataloader()
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(4, 1, 28, 28)] * 2  # 10 // 4, rest dropped
    assert batches[0][0].dtype == torch.uint8  # scaled on the device (on_after_batch_transfer)
    assert batches[0][1].dtype == torch.int64
    assert not loader.pin_memory and not loader.persistent_workers  # no workers: no pinning
    assert not is_overridden("val_dataloader", dm)  # no validation loop in Lightning


def test_eval_dataloader_keeps_every_image_in_order(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path, n_test=4)
    dm = MNISTDataModule(tmp_path, batch_size=3)
    labels = torch.cat([y for _, y in dm.dataloader("test")])
    assert labels.tolist() == [0, 1, 2, 3]


def test_persistent_workers_only_with_workers(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path)
    dm = MNISTDataModule(tmp_path, batch_size=2, num_workers=2, pin_memory=False)
    loader = dm.dataloader("train")  # not iterated: no processes started
    assert loader.num_workers == 2 and loader.persistent_workers and not loader.pin_memory


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": 3}, "data.channels must be 1"),
        ({"batch_size": 0}, "data.batch_size must be an integer >= 1"),
        ({"image_size": 2.5}, "data.image_size must be an integer"),
        ({"num_workers": -1}, "data.num_workers must be an integer >= 0"),
        ({"binarize": "yes"}, "data.binarize='yes': choose one of threshold, sample, or null"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        MNISTDataModule(tmp_path, **kwargs)


def test_batch_larger_than_dataset_and_unknown_split(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path)
    dm = MNISTDataModule(tmp_path, batch_size=11)
    with pytest.raises(ConfigError, match="10 images, fewer than data.batch_size=11"):
        dm.train_dataloader()
    with pytest.raises(ConfigError, match="Unknown split 'valid'"):
        dm.dataloader("valid")


def test_real_bundle_extraction(mnist_real):
    raw = mnist_real.raw_dir
    assert sorted(os.listdir(raw)) == sorted(OFFICIAL_MD5)  # no temp files left behind
    assert {n: calculate_md5(raw / n) for n in OFFICIAL_MD5} == OFFICIAL_MD5
    assert len(mnist_real.train_set) == 60000 and len(mnist_real.get_dataset("test")) == 10000
    items = [mnist_real.train_set[i] for i in range(64)]
    assert all(x.shape == (1, 32, 32) and x.dtype == torch.float32 for x, _ in items)
    assert all(x.min() >= -1 and x.max() <= 1 for x, _ in items)
    assert any(x.min() == -1 and x.max() == 1 for x, _ in items)
    assert [y for _, y in items[:5]] == [5, 0, 4, 1, 9]  # the official first training labels
    assert mnist_real.get_dataset("test").targets.dtype == torch.int64


def test_prepare_data_is_idempotent(mnist_real):
    path = mnist_real.raw_dir / "t10k-labels-idx1-ubyte"
    before = path.stat().st_mtime_ns
    mnist_real.prepare_data()
    assert path.stat().st_mtime_ns == before


def test_corrupt_raw_file_names_it(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path)  # valid IDX, but not the official bytes
    with pytest.raises(DatasetError, match="Delete it") as err:
        MNISTDataModule(tmp_path).prepare_data()
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in str(err.value)


def test_corrupt_bundle_names_it(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    shutil.copytree(mnist_mod.BUNDLE_DIR, bundle)
    bad = bundle / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(mnist_mod, "BUNDLE_DIR", bundle)
    with pytest.raises(DatasetError, match="corrupt") as err:
        MNISTDataModule(tmp_path / "root").prepare_data()
    assert str(bad) in str(err.value)
    assert not (tmp_path / "root" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").exists()


def test_missing_without_bundle_or_download(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_mod, "BUNDLE_DIR", tmp_path / "no_bundle")
    dm = MNISTDataModule(tmp_path / "root", download=False)
    with pytest.raises(DatasetError, match="data.download=false") as err:
        dm.prepare_data()
    assert str(dm.raw_dir) in str(err.value)
    with pytest.raises(DatasetError, match="files missing"):
        dm.setup("fit")


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(mnist_mod, "BUNDLE_DIR", tmp_path / "no_bundle")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    dm = MNISTDataModule(tmp_path / "root", download=True)
    with pytest.raises(DatasetError, match="the download failed") as err:
        dm.prepare_data()
    assert "Put the four uncompressed MNIST files" in str(err.value)
    assert str(dm.raw_dir) in str(err.value)


def test_memory_is_pinned_for_a_gpu_when_workers_make_the_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    auto = MNISTDataModule(tmp_path)
    assert (auto.pins_memory(0), auto.pins_memory(2)) == (False, True)
    assert MNISTDataModule(tmp_path, pin_memory=True).pins_memory(0) is True
    assert MNISTDataModule(tmp_path, pin_memory=False).pins_memory(2) is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert auto.pins_memory(2) is False


def test_limit_trains_on_the_first_images_only(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path, n_train=10, n_test=4)
    dm = MNISTDataModule(tmp_path, batch_size=2, limit=3, repeat=2)
    dm.setup("fit")
    torch.manual_seed(0)
    loader = dm.train_dataloader()
    labels = torch.cat([labels for _, labels in loader])  # the tiny set's label i is image i
    assert sorted(labels.tolist()) == [0, 0, 1, 1, 2, 2]  # 2 passes of 3 items: 3 batches
    assert len(loader) == 3
    assert len(dm.get_dataset("train")) == 10  # evaluation's real images are all there
    assert len(dm.get_dataset("test")) == 4
    # The uint8 batches of a limited set are scaled on the device like the others.
    images = next(iter(loader))[0]
    assert images.dtype == torch.uint8 and not dm.get_dataset("train").uint8_batches


def test_repeat_auto_gives_small_sets_epochs_of_at_least_100_batches(tiny_mnist, tmp_path):
    tiny_mnist(tmp_path, n_train=10, n_test=4)
    dm = MNISTDataModule(tmp_path, batch_size=4)
    assert dm.epoch_passes(10) == 40 and dm.epoch_passes(60000) == 1
    dm.setup("fit")
    assert len(dm.train_dataloader()) == 100


@pytest.mark.parametrize(
    "kwargs,match",
    [({"limit": 0}, "data.limit"), ({"repeat": "twice"}, "data.repeat"), ({"limit": 11}, "11")],
)
def test_bad_limit_or_repeat_is_one_clear_error(tiny_mnist, tmp_path, kwargs, match):
    tiny_mnist(tmp_path, n_train=10, n_test=4)
    with pytest.raises(ConfigError, match=match):
        MNISTDataModule(tmp_path, batch_size=2, **kwargs).train_dataloader()
