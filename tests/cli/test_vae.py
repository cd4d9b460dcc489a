"""A VAE through the same commands as a GAN: ganlab-eval (FID and NLL), ganlab-sample."""

import json

import pytest
from PIL import Image

from tests.cli.test_eval import PROJ
from tests.conftest import VAE_TINY, run_cli


@pytest.fixture
def vae_checkpoint(run_train):
    _, out = run_train("data.binarize=sample", max_iters=3, base=VAE_TINY)
    return out / "checkpoints" / "last.ckpt"


def test_eval_measures_a_vae_with_features_and_its_nll(vae_checkpoint, data_dir, tmp_path):
    report = tmp_path / "vae.json"
    nll = ["metrics=[fid,nll]", "metrics.nll.k=20", "metrics.nll.n=30", "metrics.nll.batch_size=16"]
    args = [f"ckpt_path={vae_checkpoint}", *PROJ, *nll, "n=100", f"data.root={data_dir}"]
    res = run_cli("eval", *args, f"paths.cache_dir={tmp_path}/c", f"report={report}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    values = json.loads(report.read_text())["values"]
    assert set(values) == {"fid_proj_100", "nll_k20_30", "nll_k20_30_se"}
    # An untrained decoder: about log 2 nats per pixel of 784 (every pixel a coin toss).
    assert 0.3 * 784 < values["nll_k20_30"] < 3 * 784 and values["nll_k20_30_se"] > 0
    protocol = json.loads(report.read_text())["protocol"]
    assert protocol["model_metrics"]["nll"] == {
        "data": "MNISTDataModule",
        "k": 20,
        "n": 30,
        "split": "test",
        "batch_size": 16,
        "seed": 0,
    }
    # The binarised digits are their own reference (their own cache key).
    assert protocol["reference"]["proj"].startswith("mnist-bin-sample-")


def test_nll_of_a_gan_or_of_grey_levels_is_one_line(run_train, vae_checkpoint, data_dir, tmp_path):
    _, gan = run_train(max_iters=1, name="gan")
    res = run_cli("eval", f"ckpt_path={gan}/checkpoints/last.ckpt", "metrics=[nll]", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "ganlab: error: metrics=[nll] needs a model with a likelihood (model=vae or vaegan); "
        "this checkpoint holds a GAN, which has none. Measure it with fid, kid, pr or is."
    )
    # The VAE trained on binary digits, measured on grey ones (data=mnist: binarize null).
    args = [f"ckpt_path={vae_checkpoint}", "metrics=[nll]", "data=mnist", f"data.root={data_dir}"]
    res = run_cli("eval", *args, "metrics.nll.k=2", "metrics.nll.n=4", cwd=tmp_path)
    assert res.returncode == 1
    assert "the images are not binary" in res.stderr and "data.binarize=sample" in res.stderr


def test_sample_draws_prior_samples_and_interpolations(vae_checkpoint, tmp_path):
    for extra, size in (([], (4 * 30 + 2,) * 2), (["interpolate=5", "n=2"], (5 * 30 + 2, 62))):
        out = tmp_path / f"grid{len(extra)}.png"
        res = run_cli(
            "sample",
            f"ckpt_path={vae_checkpoint}",
            f"out={out}",
            "n=16",
            "nrow=4",
            *extra,
            cwd=tmp_path,
        )
        assert res.returncode == 0, res.stderr
        assert Image.open(out).size == size


def test_nll_during_training_is_refused(run_train):
    from ganlab.cli.common import user_error

    with pytest.raises(Exception) as err:  # Hydra wraps it; user_error unwraps it
        run_train("metrics=[nll]", max_iters=1, evaluate=True)
    assert str(user_error(err.value)).startswith("metrics=nll is measured by ganlab-eval")


def test_a_sweep_over_dcgan_and_vae_and_its_report(tmp_path, data_dir):
    """The README's `ganlab-train -m model=dcgan,vae` and `ganlab-report` on it."""
    from tests.cli.test_report import read_csv
    from tests.conftest import EVAL

    sweep = tmp_path / "sweep"
    common = [
        "logger=none",
        "~callbacks.progress_bar",
        "trainer.enable_model_summary=false",
        "data.batch_size=8",
        "max_iters=2",
        *EVAL,
    ]
    res = run_cli(
        "train", "-m", "model=dcgan,vae", *common, f"data.root={data_dir}",
        f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    res = run_cli("report", str(sweep), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = {row["config"]: row for row in read_csv(sweep / "report.csv")}
    assert set(rows) == {"model=dcgan", "model=vae"}
    for row in rows.values():
        assert row["status"] == "1 completed" and float(row["val/fid_proj_64_mean"]) > 0
    vae = json.loads((sweep / "1" / "summary.json").read_text())
    assert vae["model"] == "vae" and "val/elbo" in vae["final"]


def test_export_writes_the_decoder_with_its_likelihood_mean(vae_checkpoint, tmp_path):
    import torch

    from ganlab.models.loading import load_checkpoint
    from ganlab.models.sampling import generate

    res = run_cli("export", f"ckpt_path={vae_checkpoint}", "out=decoder.pt", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    info = json.loads((tmp_path / "decoder.json").read_text())
    assert info["latent_size"] == 4 and info["generator"] == "raw"
    decoder = torch.jit.load(str(tmp_path / "decoder.pt"))
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(3))
    expected = generate(load_checkpoint(vae_checkpoint)[0], 5, seed=3, batch_size=5)
    torch.testing.assert_close(decoder(z), expected, rtol=0, atol=1e-5)
    assert decoder(z).min() >= -1 and decoder(z).max() <= 1  # a probability map, rescaled
