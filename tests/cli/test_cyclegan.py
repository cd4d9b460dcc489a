"""model=cyclegan end to end: every loss, outputs, evaluation, data choices, translation CLI."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.cli.train import train
from ganlab.errors import ConfigError
from tests.conftest import CYCLE_SMALL, CYCLE_TINY, EVAL, compose_train, run_cli
from tests.data.conftest import build_unpaired_folder

PX, PAD = 16, 2  # image size and make_grid's padding


@pytest.fixture
def run_cycle(tmp_path, data_dir):
    def _run(*overrides: str, max_iters: int = 3, name: str = "run", evaluate: bool = False):
        base = [*CYCLE_SMALL, *EVAL, "callbacks.evaluation.n=40"] if evaluate else CYCLE_TINY
        out = tmp_path / name
        cfg = compose_train(out, [*base, f"max_iters={max_iters}", *overrides], data_dir)
        return train(cfg), out

    return _run


@pytest.mark.parametrize("loss", ["ls", "js", "wgan_gp"])
def test_short_run_for_every_loss(run_cycle, loss):
    summary, out = run_cycle(f"loss={loss}", max_iters=3)
    n_critic = 5 if loss == "wgan_gp" else 1
    assert summary["status"] == "completed"
    assert (summary["model"], summary["loss"], summary["data"]) == (
        "cyclegan",
        loss,
        "mnist_unpaired",
    )
    assert (summary["g_steps"], summary["d_steps"]) == (3, 3 * n_critic)
    assert summary["images_seen"] == 3 * n_critic * 8  # 4 A + 4 B per batch
    final = summary["final"]
    for key in ("g_loss", "cycle_a", "cycle_b", "identity_a", "identity_b", "d_loss_a", "lr_g"):
        assert isinstance(final[f"train/{key}"], float), key
    if loss == "wgan_gp":
        assert {"train/gp_a", "train/gp_b", "train/wasserstein_b"} <= set(final)
    assert (out / "checkpoints" / "last.ckpt").is_file()
    # The grid: 2 rows of real A | A->B | A->B->A | real B | B->A | B->A->B.
    grid = Image.open(out / "samples" / "step_000003.png")
    assert grid.size == (6 * PX + 7 * PAD, 2 * PX + 3 * PAD)


def test_grid_shows_the_fixed_test_images(run_cycle, data_dir):
    from ganlab.data import MNISTUnpairedDataModule

    _, out = run_cycle(max_iters=1)
    grid = np.asarray(Image.open(out / "samples" / "step_000001.png"), dtype=np.float32)
    grid = torch.from_numpy(grid)[..., 0]
    assert grid.shape == (2 * PX + 3 * PAD, 6 * PX + 7 * PAD)
    test = MNISTUnpairedDataModule(data_dir, image_size=PX).get_dataset("test")
    for row in range(2):
        a, b = test[row]
        for col, real in ((0, a), (3, b)):
            top, left = PAD + row * (PX + PAD), PAD + col * (PX + PAD)
            tile = grid[top : top + PX, left : left + PX]
            expected = ((real[0] + 1) / 2 * 255).round()
            assert (tile - expected).abs().max() <= 1  # the real images, unshuffled


def test_evaluation_logs_cycle_error_and_metrics_per_direction(run_cycle):
    summary, out = run_cycle("callbacks.evaluation.every_n_iters=2", max_iters=4, evaluate=True)
    best, final = summary["best"], summary["final"]
    for key in ("cycle_l1_a", "cycle_l1_b", "true_l1_a2b", "fid_proj_40_a2b", "kid_proj_40_b2a"):
        assert isinstance(final[f"val/{key}"], float), key
    assert "val/true_l1_b2a" not in final  # thickening has no exact inverse
    assert 0 < final["val/cycle_l1_a"] < 2 and 0 < final["val/true_l1_a2b"] < 2
    assert best["monitor"] == "fid_proj_40_a2b" and best["g_steps"] in (2, 4)
    assert (out / "checkpoints" / "best.ckpt").is_file()
    with open(out / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val/cycle_l1_a")]
    assert len(rows) == 2  # iterations 2 and 4


def test_loss_choice_keeps_cyclegan_settings(tmp_path, data_dir):
    cfg = compose_train(tmp_path / "run", [*CYCLE_SMALL, "loss=wgan_gp"], data_dir)
    assert cfg.model.n_critic == 5 and cfg.model.d_loss_weight == 1.0
    assert cfg.callbacks.evaluation._target_ == "ganlab.callbacks.TranslationEvaluation"
    assert compose_train(tmp_path / "ls", CYCLE_TINY, data_dir).model.d_loss_weight == 0.5


def test_unpaired_folder_rgb_run(run_cycle, tmp_path):
    root = build_unpaired_folder(tmp_path / "horse2zebra")
    summary, out = run_cycle(
        "data=unpaired_folder",
        f"data.root={root}",
        "data.image_size=16",
        "data.load_size=18",
        "data.batch_size=2",
        "data.num_workers=0",
        max_iters=2,
    )
    assert summary["status"] == "completed" and summary["data"] == "unpaired_folder"
    grid = Image.open(out / "samples" / "step_000002.png")
    assert grid.mode == "RGB" and grid.size == (6 * PX + 7 * PAD, 2 * PX + 3 * PAD)


def test_single_domain_data_is_a_clear_error(run_cycle):
    with pytest.raises(ConfigError, match="data=unpaired_folder"):
        run_cycle("data=mnist")


@pytest.fixture
def cycle_ckpt(run_cycle):
    _, out = run_cycle(max_iters=2)
    return out / "checkpoints" / "last.ckpt"


def test_sample_translates_a_folder_both_ways(cycle_ckpt, tmp_path):
    from ganlab.models.loading import load_checkpoint

    images = tmp_path / "in"
    for i, sub in enumerate(["", "", "nested/"]):
        (images / sub).mkdir(parents=True, exist_ok=True)
        Image.new("L", (20, 20 + i), 30 * i).save(images / f"{sub}img{i}.jpg")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    res = run_cli(
        "sample", f"ckpt_path={cycle_ckpt}", f"input={images}", "out=ab", "batch_size=2", cwd=cwd
    )
    assert res.returncode == 0, res.stderr
    written = sorted(p.relative_to(cwd / "ab").as_posix() for p in (cwd / "ab").rglob("*.png"))
    assert written == ["img0.png", "img1.png", "nested/img2.png"]
    assert Image.open(cwd / "ab" / "img1.png").size == (PX, PX)
    # The files are G_AB of the resized inputs: compare with the model directly.
    model, _ = load_checkpoint(cycle_ckpt)
    x = torch.full((1, 1, PX, PX), 30 / 127.5 - 1)
    expected = ((model.translate(x, "a2b")[0, 0] + 1) / 2 * 255).round()
    got = np.asarray(Image.open(cwd / "ab" / "img1.png").convert("L"), dtype=np.float32)
    got = torch.from_numpy(got)
    assert (got - expected).abs().max() <= 1
    res = run_cli(
        "sample", f"ckpt_path={cycle_ckpt}", f"input={images}", "direction=b2a", "out=p.png",
        cwd=cwd,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    # One grid of (input, translation) pairs: 3 rows of 2.
    assert Image.open(cwd / "p.png").size == (2 * PX + 3 * PAD, 3 * PX + 4 * PAD)


def test_sample_errors_for_translation_models(cycle_ckpt, tmp_path):
    res = run_cli("sample", f"ckpt_path={cycle_ckpt}", "out=x.png", cwd=tmp_path)
    assert res.returncode == 1
    assert "holds a translation model: set input=DIR" in res.stderr
    res = run_cli("sample", f"ckpt_path={cycle_ckpt}", f"input={tmp_path / 'none'}", cwd=tmp_path)
    assert res.returncode == 1 and "does not exist" in res.stderr
    res = run_cli(
        "sample", f"ckpt_path={cycle_ckpt}", f"input={tmp_path}", "direction=ab", cwd=tmp_path
    )
    assert res.returncode == 1


def test_resume_restores_pools_and_schedule(run_cycle, tmp_path):
    summary, out = run_cycle(
        "model.lr_schedule.constant=2", "model.lr_schedule.decay=4", max_iters=4
    )
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert len(ckpt["ganlab_pools"]["a"]["images"]) == 16  # 4 batches of 4 fakes, pool of 50
    resumed, _ = run_cycle(
        "model.lr_schedule.constant=2",
        "model.lr_schedule.decay=4",
        f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
        max_iters=6,
        name="resumed",
    )
    assert (resumed["g_steps"], summary["g_steps"]) == (6, 4)
    # 2e-4 at iterations 0-2, then down by 1/4 per iteration: 5e-5 at iteration 5.
    assert resumed["final"]["train/lr_g"] == pytest.approx(5e-5)
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"


def test_eval_measures_a_translation_checkpoint(cycle_ckpt, tmp_path):
    proj = ["features=[]", "+features.proj._target_=tests.helpers.Projection"]
    proj.append("+features.proj._partial_=true")
    res = run_cli(
        "eval", f"ckpt_path={cycle_ckpt}", *proj, "metrics=[fid,kid]", "n=30", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(cycle_ckpt.with_name("last_eval.json").read_text())
    assert report["protocol"]["split"] == "test" and report["g_steps"] == 2
    values = report["values"]
    assert {"fid_proj_30_a2b", "fid_proj_30_b2a", "kid_proj_30_a2b", "cycle_l1_a"} <= set(values)
    assert {"true_l1_a2b", "cycle_l1_b"} <= set(values)
    assert set(report["protocol"]["reference"]) == {"proj_a2b", "proj_b2a"}
    key = report["protocol"]["reference"]["proj_a2b"]  # the real B images' features
    assert key.startswith("mnistunpaired-B-thick-") and key.endswith("-test-16px-n30-proj-8")
    assert "fid_proj_30_a2b" in res.stdout
