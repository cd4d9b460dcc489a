"""The Inception extractor against torchmetrics' documented value; the reference cache."""

import os
from pathlib import Path

import pytest
import torch

from ganlab.data import MNISTDataModule
from ganlab.errors import ConfigError
from ganlab.metrics import FID, KID, Evaluator, InceptionFeatures
from ganlab.metrics.reference import reference_features, reference_key
from tests.helpers import Projection

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "weights"


def inception_weights() -> str:
    """GANLAB_INCEPTION_WEIGHTS, or the copy in ../shared beside the repository (CI)."""
    path = os.environ.get("GANLAB_INCEPTION_WEIGHTS") or SHARED / "pt_inception-2015-12-05-fid.pth"
    if not Path(path).is_file():
        pytest.fail(
            f"set GANLAB_INCEPTION_WEIGHTS to pt_inception-2015-12-05-fid.pth ({path} absent)"
        )
    return str(path)


@pytest.mark.slow
def test_torchmetrics_documented_fid_through_ganlab():
    # torchmetrics' FrechetInceptionDistance example (feature=64, seed 42) gives 12.6388; as
    # there, the network is built (which draws random numbers) before the images are drawn.
    torch.manual_seed(42)
    ext = InceptionFeatures(inception_weights(), feature=64)
    a = torch.randint(0, 200, (100, 3, 299, 299), dtype=torch.uint8)
    b = torch.randint(100, 255, (100, 3, 299, 299), dtype=torch.uint8)
    to_unit = lambda x: x.float() / 127.5 - 1  # ganlab's range; rounds back exactly
    fid = FID()(ext(to_unit(a)), ext(to_unit(b)))["fid"]
    assert fid == pytest.approx(12.6388, abs=1e-4)
    assert ext.cache_key.startswith("inception-64-68cd9b01")


def test_missing_inception_weights_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="GANLAB_INCEPTION_WEIGHTS"):
        InceptionFeatures(str(tmp_path / "nope.pth"))


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    dm = MNISTDataModule(tmp_path_factory.mktemp("mnist"))
    dm.prepare_data()
    return dm


def test_reference_features_are_cached_per_protocol(mnist, tmp_path):
    ext = Projection()
    first = reference_features(ext, mnist, "train", 300, tmp_path, batch_size=128)
    assert first.shape == (300, 8) and ext.seen == 300
    again = reference_features(ext, mnist, "train", 300, tmp_path, batch_size=128)
    assert ext.seen == 300 and torch.equal(first, again)  # a cache hit: nothing recomputed
    assert [p.name for p in (tmp_path / "reference").iterdir()] == [
        f"{reference_key(mnist, 'train', 300, ext)}.pt"
    ]
    reference_features(ext, mnist, "test", 300, tmp_path)  # another split: another entry
    assert ext.seen == 600 and len(list((tmp_path / "reference").iterdir())) == 2
    assert "mnist-" in reference_key(
        mnist, "test", 300, ext
    ) and "-28px-n300-proj-8" in reference_key(mnist, "test", 300, ext)


def test_evaluator_orders_real_vs_real_below_noise(mnist, tmp_path):
    ev = Evaluator(
        {"proj": Projection()},
        {"fid": FID(), "kid": KID(subsets=10, subset_size=200)},
        n=500,
        split="train",
        cache_dir=tmp_path,
    )
    test_images = torch.stack([mnist.get_dataset("test")[i][0] for i in range(500)])
    cursor = iter(range(0, 500, 100))

    def real_test(n):  # the test split, in the generator's place
        i = next(cursor)
        return test_images[i : i + n]

    floor = ev(real_test, mnist)
    noise = ev(lambda n: torch.rand(n, 1, 28, 28) * 2 - 1, mnist)
    assert set(floor) == {"fid_proj_500", "kid_proj_500", "kid_std_proj_500", "eval_seconds"}
    assert floor["fid_proj_500"] < 0.1 * noise["fid_proj_500"]
    assert floor["kid_proj_500"] < noise["kid_proj_500"]


def test_no_weights_and_no_internet_says_how_to_provide_them(monkeypatch):
    import urllib.error

    import torchmetrics.image.fid

    def offline(*args, **kwargs):  # what torch-fidelity's download raises without a network
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.delenv("GANLAB_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torchmetrics.image.fid, "NoTrainInceptionV3", offline)
    with pytest.raises(ConfigError, match=r"paths.inception_weights=.*GANLAB_INCEPTION_WEIGHTS"):
        InceptionFeatures()


def test_channels_last_inception_gives_the_standard_features():
    ext = InceptionFeatures(inception_weights())
    assert ext.net.Conv2d_1a_3x3.conv.weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fast = ext(images)
    ext.net.to(memory_format=torch.contiguous_format)
    torch.testing.assert_close(fast, ext(images), rtol=1e-4, atol=1e-4)
