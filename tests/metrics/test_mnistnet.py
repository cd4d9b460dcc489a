"""MNISTNet: input adaptation, training, the checksummed cache, the extractor and the IS."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganlab.data import MNISTDataModule
from ganlab.errors import ConfigError, DatasetError
from ganlab.metrics import mnistnet_train
from ganlab.metrics.extractors import file_sha256
from ganlab.metrics.inception_score import inception_score
from ganlab.metrics.mnistnet import MNISTNet, MNISTNetFeatures
from ganlab.metrics.mnistnet_train import cache_paths, load_mnistnet, train_mnistnet
from tests.conftest import REPO


def levels(*shape, seed=0):
    """Random images on MNIST's 256 levels in [-1, 1] (what the datamodule yields)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g).float() / 127.5 - 1


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MNISTNet().eval()


@pytest.mark.parametrize("shape", [(1, 28), (1, 32), (3, 28), (3, 32), (1, 16)])
def test_logits_and_features_shapes(net, shape):
    x = levels(4, shape[0], shape[1], shape[1])
    with torch.no_grad():
        logits, feats = net(x), net.features(x)
    assert logits.shape == (4, 10) and feats.shape == (4, 128)
    assert feats.dtype == torch.float32 and (feats >= 0).all()  # taken after the ReLU


@torch.no_grad()
def test_input_adaptation(net):
    x = levels(4, 1, 28, 28)
    assert torch.equal(net(x.expand(-1, 3, -1, -1)), net(x))  # gray RGB = the gray image
    big = levels(4, 1, 32, 32)
    small = F.interpolate(big, size=(28, 28), mode="bilinear", antialias=True)
    assert torch.equal(net(big), net(small))
    assert torch.equal(net(x * 3), net((x * 3).clamp(-1, 1)))  # out-of-range values
    assert torch.equal(net(x + 0.001), net(x))  # quantised to MNIST's 256 levels


@pytest.mark.parametrize("shape", [(2, 2, 28, 28), (2, 1, 28, 32), (1, 28, 28)])
def test_unusable_images_are_a_clear_error(net, shape):
    with pytest.raises(ConfigError, match=r"square 1- or 3-channel images"):
        net(torch.zeros(shape))


def test_training_is_seeded_and_leaves_the_callers_rng_alone(data_dir):
    torch.manual_seed(123)
    random.seed(123)
    np.random.seed(123)
    before = torch.get_rng_state(), random.getstate(), np.random.get_state()[1]
    a, acc = train_mnistnet(data_dir, epochs=1, max_batches=2, progress=False)
    b, _ = train_mnistnet(data_dir, epochs=1, max_batches=2, progress=False, seed=0)
    assert states_equal(a.state_dict(), b.state_dict()) and not a.training
    assert 0.0 <= acc <= 1.0
    assert torch.equal(torch.get_rng_state(), before[0]) and random.getstate() == before[1]
    assert np.array_equal(np.random.get_state()[1], before[2])


# Two processes of a DDP run (gloo): the first trains MNISTNet while the other waits, as
# in ganlab-train's Evaluation.setup.
IN_DDP = """
import sys
import torch.distributed as dist
import torch.multiprocessing as mp

def work(rank, store, root):
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    if rank == 0:
        from ganlab.metrics.mnistnet_train import train_mnistnet
        _, accuracy = train_mnistnet(root, epochs=1, max_batches=2, progress=False)
        print("accuracy", accuracy, flush=True)
    dist.barrier()
    dist.destroy_process_group()

mp.start_processes(work, args=tuple(sys.argv[1:]), nprocs=2, start_method="fork")
"""


@pytest.mark.slow
def test_training_in_one_process_of_a_ddp_run(tmp_path, data_dir):
    """Its test accuracy is that of one process: torchmetrics' default, syncing over the
    run's process group, waited forever on the process that was not training."""
    proc = subprocess.Popen(
        [sys.executable, "-c", IN_DDP, str(tmp_path / "store"), str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the forked ranks too
        proc.communicate()
        pytest.fail("training MNISTNet in the first process of a DDP run did not finish")
    assert proc.returncode == 0, err
    _, alone = train_mnistnet(data_dir, epochs=1, max_batches=2, progress=False)
    assert out.split() == ["accuracy", str(alone)]


def test_cache_round_trip(tiny_mnistnet_cache, monkeypatch):
    cache, trained = tiny_mnistnet_cache
    pt, record = cache_paths(cache)
    assert sorted(p.name for p in pt.parent.iterdir()) == ["mnistnet_v1.json", "mnistnet_v1.pt"]
    info = json.loads(record.read_text())
    assert info["sha256"] == file_sha256(pt)
    assert info["epochs"] == 1 and info["seed"] == 0 and info["max_batches"] == 3
    assert info["torch"] == torch.__version__ and 0.0 <= info["test_accuracy"] <= 1.0

    def no_training(*args, **kwargs):
        raise AssertionError("a cached network was trained again")

    monkeypatch.setattr(mnistnet_train, "train_mnistnet", no_training)
    again = load_mnistnet(cache, "unused", train_if_missing=False)
    assert states_equal(again.state_dict(), trained.state_dict()) and not again.training


def test_missing_cache_trains_once_and_says_so(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_training(data_root, **kwargs):
        calls.append((data_root, kwargs))
        return MNISTNet(), 0.5

    monkeypatch.setattr(mnistnet_train, "train_mnistnet", fake_training)
    load_mnistnet(tmp_path, "somewhere", progress=False)
    load_mnistnet(tmp_path, "somewhere", progress=False)
    assert calls == [("somewhere", {**mnistnet_train.TRAINING, "progress": False})]
    pt, record = cache_paths(tmp_path)
    assert capsys.readouterr().out == (
        f"ganlab: training the MNIST feature network once (~1 min), cached in {pt}\n"
    )
    assert json.loads(record.read_text())["test_accuracy"] == 0.5
    assert sorted(p.name for p in pt.parent.iterdir()) == [record.name, pt.name]  # no temp files


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLAB_CACHE_DIR", str(tmp_path))
    assert cache_paths()[0] == tmp_path / "mnistnet" / "mnistnet_v1.pt"


@pytest.mark.parametrize("damage", ["weights", "record"])
def test_corrupt_cache_is_a_clear_error(tiny_mnistnet_cache, tmp_path, damage):
    shutil.copytree(tiny_mnistnet_cache[0], tmp_path, dirs_exist_ok=True)
    pt, record = cache_paths(tmp_path)
    if damage == "weights":
        data = bytearray(pt.read_bytes())
        data[len(data) // 2] ^= 0xFF
        pt.write_bytes(bytes(data))
    else:
        record.write_text("{not json")
    with pytest.raises(DatasetError, match=f"{pt} is corrupt.*delete {pt.parent}"):
        load_mnistnet(tmp_path, "unused")


def test_nothing_cached_and_no_training_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match=r"not cached.*`python -m ganlab.metrics.mnistnet"):
        load_mnistnet(tmp_path, "unused", train_if_missing=False)
    assert not (tmp_path / "mnistnet").exists()


def test_extractor(tiny_mnistnet_cache):
    cache, trained = tiny_mnistnet_cache
    ext = MNISTNetFeatures(cache_dir=cache, train_if_missing=False)
    sha = json.loads(cache_paths(cache)[1].read_text())["sha256"]
    assert ext.cache_key == f"mnistnet-128-{sha[:12]}"
    x = levels(5, 3, 32, 32, seed=1)
    torch.nn.Sequential(ext).train()  # a parent in train mode must not reach the BatchNorms
    feats, logits = ext(x), ext.logits(x)
    assert not ext.net.training and feats.shape == (5, 128) and logits.shape == (5, 10)
    assert feats.dtype == logits.dtype == torch.float32 and not feats.requires_grad
    with torch.no_grad():
        assert torch.equal(feats, trained.features(x)) and torch.equal(logits, trained(x))


def test_main_reports_trains_with_force_and_prints_user_errors(
    tiny_mnistnet_cache, tmp_path, monkeypatch, capsys
):
    shutil.copytree(tiny_mnistnet_cache[0], tmp_path, dirs_exist_ok=True)
    pt, record = cache_paths(tmp_path)
    monkeypatch.setattr(mnistnet_train, "train_mnistnet", lambda *a, **k: (MNISTNet(), 0.25))
    mnistnet_train.main(["--cache-dir", str(tmp_path)])  # cached: reports it, trains nothing
    accuracy = json.loads(record.read_text())["test_accuracy"]
    assert capsys.readouterr().out == f"MNISTNet test accuracy {accuracy:.2%}, cached in {pt}\n"
    mnistnet_train.main(["--cache-dir", str(tmp_path), "--force"])
    assert capsys.readouterr().out == f"MNISTNet test accuracy 25.00%, cached in {pt}\n"
    record.write_text("{}")
    with pytest.raises(SystemExit) as exit_info:
        mnistnet_train.main(["--cache-dir", str(tmp_path)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        f"ganlab: error: The cached MNIST feature network {pt} is corrupt (its sha256 is not "
        f"the recorded one); delete {pt.parent} and it will be trained again.\n"
    )


def test_inception_score_of_known_logits():
    assert inception_score(torch.zeros(100, 10)) == pytest.approx((1.0, 0.0), abs=1e-12)
    # Confident and evenly spread over k classes: exactly k in one split.
    confident = 200.0 * F.one_hot(torch.arange(10000) // 1000, 10).float()  # class-sorted
    assert inception_score(confident, splits=1) == pytest.approx((10.0, 0.0), rel=1e-12)
    # Classes no sample shows: float32 probabilities underflow to 0 there and 0 * log(0) made
    # the score NaN; in float64 they stay positive.
    three = 200.0 * F.one_hot(torch.arange(999) % 3, 10).float()
    assert inception_score(three, splits=1) == pytest.approx((3.0, 0.0), rel=1e-12)
    # Ten splits of shuffled samples: near 10, where in-order splits would score 1.0 each.
    mean, std = inception_score(confident, splits=10)
    assert 9.9 < mean < 10.0 and 0.0 < std < 0.05
    state = torch.get_rng_state()
    assert inception_score(confident) == (mean, std)  # repeatable ...
    assert torch.equal(torch.get_rng_state(), state)  # ... and the caller's RNG is untouched
    with pytest.raises(ConfigError, match="needs >= 10 samples, got 9"):
        inception_score(confident[:9])


@pytest.mark.slow
def test_real_mnistnet_is_accurate_and_its_features_separate_classes(mnistnet_cache, data_dir):
    info = json.loads(cache_paths(mnistnet_cache)[1].read_text())
    assert info["test_accuracy"] >= 0.99 and info == {**info, **mnistnet_train.TRAINING}
    ext = MNISTNetFeatures(cache_dir=mnistnet_cache, train_if_missing=False)
    data = MNISTDataModule(data_dir)
    data.prepare_data()
    images, labels = next(iter(data.dataloader("test", batch_size=2000)))
    feats, logits = ext(images), ext.logits(images)
    assert (logits.argmax(1) == labels).float().mean() >= 0.99
    means = torch.stack([feats[labels == c].mean(0) for c in range(10)])
    spread = max((feats[labels == c] - means[c]).norm(dim=1).mean() for c in range(10))
    assert torch.pdist(means).min() > spread  # class means lie farther apart than ...
    nearest_mean = torch.cdist(feats, means).argmin(1)  # ... a class's images from its mean
    assert (nearest_mean == labels).float().mean() >= 0.97
    assert inception_score(logits, splits=1)[0] > 9.5  # real digits: confident, every class


@pytest.mark.slow
def test_real_floor_is_near_zero_and_degraded_images_score_worse(
    mnistnet_cache, data_dir, tmp_path
):
    from ganlab.metrics import FID, Evaluator, PrecisionRecall

    dm = MNISTDataModule(data_dir)
    dm.prepare_data()
    ev = Evaluator(
        {"mnistnet": MNISTNetFeatures(mnistnet_cache, data_dir)},
        {"fid": FID(), "pr": PrecisionRecall()},
        n=5000,
        cache_dir=tmp_path,
    )
    test = torch.stack([dm.get_dataset("test")[i][0] for i in range(5000)])
    g = torch.Generator().manual_seed(0)
    noisy = (test + 0.5 * torch.randn(test.shape, generator=g)).clamp(-1, 1)
    shuffled = test.flatten(1)[:, torch.randperm(28 * 28, generator=g)].view_as(test)

    def source(images):
        chunks = iter(images.split(ev.batch_size))
        return lambda n: next(chunks)

    floor, noise, shuffle = (ev(source(x), dm) for x in (test, noisy, shuffled))
    # Measured: floor 10.3, noisy 166, shuffled 516. Shuffled pixels collapse into a tight
    # region inside the real manifold (precision 1.0): recall is what exposes them.
    fid = {
        name: v["fid_mnistnet_5k"]
        for name, v in (("floor", floor), ("noise", noise), ("shuffle", shuffle))
    }
    assert fid["floor"] < 0.1 * fid["noise"] and fid["noise"] < fid["shuffle"]
    assert floor["recall_mnistnet_5k"] > 0.8
    assert max(noise["recall_mnistnet_5k"], shuffle["recall_mnistnet_5k"]) < 0.1
