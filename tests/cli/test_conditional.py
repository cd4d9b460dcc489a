"""Conditional GANs end to end: ganlab-train model=cdcgan, ganlab-sample label= and
per_class=, ganlab-eval downstream=..., and the errors a user can meet on the way."""

import json

import pytest
from PIL import Image

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """A tiny conditional DCGAN on MNIST, trained in this process: (run dir, checkpoint)."""
    from ganlab.cli.train import train
    from tests.conftest import TINY, compose_train

    out = tmp_path_factory.mktemp("cdcgan")
    cfg = compose_train(out, [*TINY, "model=cdcgan", "max_iters=4"], data_dir)
    summary = train(cfg)
    assert summary["status"] == "completed" and summary["model"] == "cdcgan"
    return out, out / "checkpoints" / "last.ckpt"


def test_the_grid_has_one_row_per_digit(trained):
    out, _ = trained
    grid = Image.open(out / "samples" / "step_000004.png")
    assert grid.size == (4 * 30 + 2, 10 * 30 + 2)  # 16 images asked: 4 columns, 10 classes


def test_sample_a_class_and_per_class(trained, tmp_path):
    _, ckpt = trained
    for label in (1, 7):
        res = run_cli("sample", f"ckpt_path={ckpt}", f"label={label}", "n=8", f"out=d{label}.png",
                      cwd=tmp_path)  # fmt: skip
        assert res.returncode == 0, res.stderr
    ones, sevens = (Image.open(tmp_path / f"d{d}.png").tobytes() for d in (1, 7))
    assert ones != sevens  # the same z, another class
    res = run_cli("sample", f"ckpt_path={ckpt}", "per_class=true", "n=25", "out=rows.png",
                  cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "rows.png").size == (5 * 30 + 2, 10 * 30 + 2)
    # A list from the command line (Hydra's ListConfig) is read as a list, not one name.
    res = run_cli("sample", f"ckpt_path={ckpt}", "label=[1,2]", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == "ganlab: error: label= takes one class for this model, got [1, 2]"
    res = run_cli("sample", f"ckpt_path={ckpt}", "label=11", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "ganlab: error: label '11' is not one of this model's labels. Did you mean 1? "
        "They are: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"
    )


def test_labels_for_an_unconditional_model_are_an_error(run_train, tmp_path):
    _, out = run_train(max_iters=1)
    res = run_cli("sample", f"ckpt_path={out}/checkpoints/last.ckpt", "label=3", cwd=tmp_path)
    assert res.returncode == 1
    assert "label= and per_class= are for conditional models (model=cdcgan)" in res.stderr
    res = run_cli("eval", f"ckpt_path={out}/checkpoints/last.ckpt", "downstream=gan_train_test",
                  cwd=tmp_path)  # fmt: skip
    assert res.returncode == 1
    assert "needs a conditional generator (trained with model=cdcgan)" in res.stderr


def test_unlabelled_data_is_an_error(run_train, tmp_path):
    from ganlab.errors import ConfigError

    (tmp_path / "imgs").mkdir()
    with pytest.raises(ConfigError, match="A conditional model needs labelled data: data=mnist"):
        run_train("model=cdcgan", "data=folder", f"data.root={tmp_path / 'imgs'}")


@pytest.mark.slow
def test_gan_train_test_report(trained, data_dir, tmp_path):
    _, ckpt = trained
    res = run_cli(
        "eval", f"ckpt_path={ckpt}", "downstream=gan_train_test", "downstream.n_train=300",
        "downstream.n_test=200", "downstream.steps=20", f"data.root={data_dir}",
        f"report={tmp_path / 'r'}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "r_gan_train_test.json").read_text())
    assert set(report["values"]) == {"real_train_real_test", "gan_train", "gan_test"}
    assert list(report["per_class"]) == [str(d) for d in range(10)]
    assert report["protocol"]["n_train"] == 300 and report["protocol"]["n_test"] == 200
    assert report["g_steps"] == 4
    assert all(0 <= v <= 1 for v in report["values"].values())  # levels: tests/downstream
    assert "| real-train / real-test | GAN-train | GAN-test |" in res.stdout


@pytest.mark.slow
def test_augment_lowdata_report(trained, data_dir, tmp_path):
    _, ckpt = trained
    res = run_cli(
        "eval", f"ckpt_path={ckpt}", "downstream=augment_lowdata", "downstream.ks=[2,5]",
        "downstream.seeds=[0,1]", "downstream.gan_per_class=10", "downstream.steps=10",
        "downstream.n_test=100", f"data.root={data_dir}", f"report={tmp_path / 'r'}",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = json.loads((tmp_path / "r_augment_lowdata.json").read_text())["rows"]
    assert [(r["k"], r["setting"], len(r["values"])) for r in rows] == [
        (2, "real", 2), (2, "real+gan", 2), (5, "real", 2), (5, "real+gan", 2),
    ]  # fmt: skip
    assert (tmp_path / "r_augment_lowdata.png").is_file()
    assert "| k per class | training images | accuracy (mean ± std) | seeds |" in res.stdout


def test_attribute_conditional_model_on_celeba(tmp_path):
    """Multi-label end to end: train on the CelebA fixture's attributes, sample faces with the
    attributes named on the command line, and measure face recognition with its faces."""
    from ganlab.cli.train import train
    from tests.conftest import TINY, compose_train
    from tests.downstream.conftest import face_fixture

    face_fixture(tmp_path / "data")
    overrides = [
        *TINY, "model=cdcgan", "data=celeba", f"data.root={tmp_path / 'data'}",
        "data.image_size=32", "data.batch_size=2", "data.num_workers=0", "data.labels=attr",
        "data.attributes=[Smiling,Male]", "max_iters=2",
    ]  # fmt: skip
    summary = train(compose_train(tmp_path / "run", overrides))
    assert summary["status"] == "completed"
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    res = run_cli("sample", f"ckpt_path={ckpt}", "label=[Smiling]", "n=4", "out=s.png",
                  cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "s.png").size == (4 * 34 + 2, 34 + 2)  # 4 faces of 32 px, a row
    res = run_cli("sample", f"ckpt_path={ckpt}", "label=[Smilng]", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "ganlab: error: label 'Smilng' is not one of this model's labels. Did you mean "
        "Smiling? They are: Smiling, Male"
    )
    res = run_cli(
        "eval", f"ckpt_path={ckpt}", "downstream=face_recognition",
        "downstream.classifier._target_=ganlab.downstream.SmallCNN", "downstream.steps=10",
        "downstream.batch_size=8", "downstream.gan_images=16",
        "downstream.min_images_per_identity=5", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    report = json.loads(
        (tmp_path / "run" / "checkpoints" / "last_face_recognition.json").read_text()
    )
    assert report["data"]["identities"] == 4 and report["data"]["gan_images"] == 16
    assert report["conditioned_attributes"] == ["Smiling", "Male"]
    assert report["protocol"]["classifier"] == "SmallCNN" and report["g_steps"] == 2
    assert "| identity, top-1 over 4 people | 30 | 8 |" in res.stdout
    assert "| Smiling (GAN) |" in res.stdout
