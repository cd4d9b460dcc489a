"""data.hflip: per-image random mirroring of training batches, on the training device."""

from types import SimpleNamespace

import pytest
import torch

from ganlab.data import CelebADataModule
from ganlab.data.base import ImageDataModule, random_hflip
from tests.data.test_prepared import faces  # noqa: F401 (the 45-face CelebA fixture)


def test_each_image_is_either_kept_or_mirrored_independently():
    images = torch.rand(1000, 3, 4, 5)
    torch.manual_seed(0)
    out = random_hflip(images)
    kept = (out == images).flatten(1).all(1)
    mirrored = (out == images.flip(-1)).flatten(1).all(1)
    assert bool((kept ^ mirrored).all())  # every image exactly one of the two
    assert 430 < int(mirrored.sum()) < 570  # p = 1/2 per image (binomial, 4.4 sigma)
    torch.manual_seed(0)
    assert torch.equal(random_hflip(images), out)  # torch's seed decides


@pytest.mark.parametrize("prepared", ["always", "never"])
def test_training_batches_are_mirrored_after_scaling_and_others_are_not(faces, prepared):  # noqa: F811
    CelebADataModule(faces, image_size=16, num_workers=0).prepare_images()
    plain = CelebADataModule(faces, image_size=16, num_workers=0, batch_size=16, prepared=prepared)
    dm = CelebADataModule(
        faces, image_size=16, num_workers=0, batch_size=16, prepared=prepared, hflip=True
    )
    torch.manual_seed(3)
    batch = next(iter(dm.train_dataloader()))
    torch.manual_seed(3)
    reference = plain.on_after_batch_transfer(next(iter(plain.train_dataloader())), 0)[0]
    assert torch.equal(dm.on_after_batch_transfer(batch, 0)[0], reference)  # not training
    dm.trainer = SimpleNamespace(training=True)
    torch.manual_seed(5)
    out, targets = dm.on_after_batch_transfer(batch, 0)
    torch.manual_seed(5)
    assert torch.equal(out, random_hflip(reference))
    assert 0 < int((out != reference).flatten(1).any(1).sum()) < 16  # some mirrored, not all
    assert torch.equal(targets[0], batch[1][0])  # the labels stay with their images


def test_training_with_hflip(faces, tmp_path):  # noqa: F811
    from ganlab.cli.train import train
    from tests.conftest import TINY, compose_train

    overrides = [
        *TINY, "data=celeba", f"data.root={faces}", "data.image_size=16", "data.batch_size=4",
        "data.num_workers=0", "data.hflip=true", "max_iters=2",
    ]  # fmt: skip
    summary = train(compose_train(tmp_path / "run", overrides))
    assert summary["status"] == "completed" and summary["g_steps"] == 2


class NoImages(ImageDataModule):
    def make_dataset(self, split):
        raise AssertionError("the batch transfer hook reads no dataset")


def test_every_image_tensor_of_a_batch_is_mirrored_on_its_own():
    """Unpaired data's batches hold two image tensors; labels are left alone."""
    dm = NoImages(".", image_size=4, channels=1, hflip=True)
    dm.trainer = SimpleNamespace(training=True)
    a, b = torch.rand(200, 1, 4, 4), torch.rand(200, 1, 4, 4)
    labels = torch.arange(200)
    torch.manual_seed(0)
    out_a, out_b, out_labels = dm.on_after_batch_transfer([a, b, labels], 0)
    torch.manual_seed(0)
    assert torch.equal(out_a, random_hflip(a)) and torch.equal(out_b, random_hflip(b))
    assert not torch.equal(out_a != a, out_b != b)  # independent draws
    assert out_labels is labels
