"""ganlab-export: the exported files, loaded without ganlab, give ganlab-sample's images."""

import json
import sys

import numpy as np
import pytest
import torch

from ganlab.cli.train import train
from ganlab.models.loading import load_checkpoint
from ganlab.models.sampling import generate
from tests.conftest import CYCLE_TINY, compose_train, run_cli


def export(ckpt, tmp_path, *args):
    res = run_cli("export", f"ckpt_path={ckpt}", *args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def dcgan_ema(tmp_path_factory, data_dir):
    """A tiny DCGAN with an EMA of G far from G (decay 0.5 from iteration 0)."""
    out = tmp_path_factory.mktemp("dcgan")
    from tests.conftest import TINY

    cfg = compose_train(out / "run", [*TINY, "max_iters=3", "model.ema_decay=0.5"], data_dir)
    train(cfg)
    return out / "run" / "checkpoints" / "last.ckpt"


def test_torchscript_reproduces_ganlab_sample(dcgan_ema, tmp_path):
    res = export(dcgan_ema, tmp_path, "out=g.pt")
    assert "wrote g.pt (torchscript)" in res.stdout
    info = json.loads((tmp_path / "g.json").read_text())
    assert info["files"] == {"generator": "g.pt"} and info["generator"] == "ema"
    assert (info["latent_size"], info["image_size"], info["channels"]) == (16, 28, 1)
    assert info["value_range"] == [-1.0, 1.0] and "labels" not in info
    assert info["config"]["model"]["ema_decay"] == 0.5 and info["g_steps"] == 3
    # What the README shows: plain torch, no ganlab.
    g = torch.jit.load(str(tmp_path / "g.pt"))
    z = torch.randn(5, info["latent_size"], generator=torch.Generator().manual_seed(7))
    model, _ = load_checkpoint(dcgan_ema, "cpu")
    expected = generate(model, 5, seed=7, batch_size=5)  # ganlab-sample's images, seed 7
    torch.testing.assert_close(g(z), expected, rtol=0, atol=1e-5)
    # ema=false: the trained G, another net
    export(dcgan_ema, tmp_path, "out=raw.pt", "ema=false")
    raw = torch.jit.load(str(tmp_path / "raw.pt"))
    assert json.loads((tmp_path / "raw.json").read_text())["generator"] == "raw"
    assert (raw(z) - expected).abs().max() > 1e-3


def test_pt2_reproduces_ganlab_sample(dcgan_ema, tmp_path):
    export(dcgan_ema, tmp_path, "format=pt2", "out=g")
    assert json.loads((tmp_path / "g.json").read_text())["files"] == {"generator": "g.pt2"}
    g = torch.export.load(str(tmp_path / "g.pt2")).module()
    z = torch.randn(6, 16, generator=torch.Generator().manual_seed(2))
    model, _ = load_checkpoint(dcgan_ema, "cpu")
    torch.testing.assert_close(g(z), generate(model, 6, 2, 6), rtol=0, atol=1e-5)


def test_onnx_reproduces_ganlab_sample(dcgan_ema, tmp_path):
    ort = pytest.importorskip("onnxruntime")  # an extra: pip install 'ganlab[export]'
    export(dcgan_ema, tmp_path, "format=onnx", "out=g")
    info = json.loads((tmp_path / "g.json").read_text())
    assert info["files"] == {"generator": "g.onnx"} and info["format"] == "onnx"
    session = ort.InferenceSession(str(tmp_path / "g.onnx"))
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(1))
    (images,) = session.run(None, {"z": z.numpy()})
    model, _ = load_checkpoint(dcgan_ema, "cpu")
    np.testing.assert_allclose(images, generate(model, 3, 1, 3).numpy(), rtol=0, atol=1e-5)


def test_onnx_without_its_packages_says_what_to_install(dcgan_ema, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import fails
    res = run_cli("export", f"ckpt_path={dcgan_ema}", "format=onnx", cwd=tmp_path)
    assert res.returncode == 1
    assert "format=onnx needs the onnx and onnxscript packages: pip install 'ganlab[export]'" in (
        res.stderr
    )


def test_conditional_generator_takes_its_labels(run_train, tmp_path):
    _, out = run_train("model=cdcgan", max_iters=2)
    ckpt = out / "checkpoints" / "last.ckpt"
    export(ckpt, tmp_path, "out=c.pt")
    info = json.loads((tmp_path / "c.json").read_text())
    assert info["labels"] == {"num_classes": 10, "multi_label": False}
    assert info["inputs"]["labels"] == "int64 (B,)"
    g = torch.jit.load(str(tmp_path / "c.pt"))
    model, _ = load_checkpoint(ckpt, "cpu")
    z, labels = model.sample_z(4, torch.Generator().manual_seed(0)), torch.tensor([7, 7, 0, 3])
    torch.testing.assert_close(g(z, labels), model.sample(z, labels), rtol=0, atol=1e-5)


def test_cyclegan_gives_both_directions(tmp_path, data_dir):
    cfg = compose_train(tmp_path / "cg", [*CYCLE_TINY, "max_iters=1"], data_dir)
    train(cfg)
    ckpt = tmp_path / "cg" / "checkpoints" / "last.ckpt"
    export(ckpt, tmp_path, "out=t.pt")
    info = json.loads((tmp_path / "t.json").read_text())
    assert info["files"] == {"a2b": "t_a2b.pt", "b2a": "t_b2a.pt"}
    model, _ = load_checkpoint(ckpt, "cpu")
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    for direction in ("a2b", "b2a"):
        net = torch.jit.load(str(tmp_path / f"t_{direction}.pt"))
        torch.testing.assert_close(
            net(images), model.translate(images, direction), rtol=0, atol=1e-5
        )
