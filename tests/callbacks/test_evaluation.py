"""The evaluation callback inside real (tiny) training runs."""

import csv
import json

import pytest
import torch

from tests.conftest import TINY_EVAL, run_ddp_train

NAMES = ["fid_proj_64", "kid_proj_64", "kid_std_proj_64", "precision_proj_64", "recall_proj_64"]


def rows(out):
    with open(out / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_evaluates_every_n_iters_and_keeps_the_best(run_train):
    summary, out = run_train("callbacks.evaluation.every_n_iters=2", max_iters=5, evaluate=True)
    evals = [r for r in rows(out) if r.get("val/fid_proj_64")]
    # after iterations 2 and 4, and after the last one (5); step = batch index
    assert [int(r["step"]) for r in evals] == [1, 3, 4]
    assert all({f"val/{n}" for n in NAMES} <= {k for k, v in r.items() if v} for r in evals)
    fids = [float(r["val/fid_proj_64"]) for r in evals]
    best = summary["best"]
    assert best["monitor"] == "fid_proj_64"
    assert best["val/fid_proj_64"] == pytest.approx(min(fids))
    assert best["g_steps"] == [2, 4, 5][fids.index(min(fids))]
    assert summary["final"]["val/fid_proj_64"] == pytest.approx(fids[-1])
    assert summary["final"]["val/eval_seconds"] > 0
    ckpt = torch.load(out / "checkpoints" / "best.ckpt", weights_only=False)
    assert ckpt["ganlab_counters"]["g_steps"] == best["g_steps"]


def test_monitor_and_direction_are_configurable(run_train):
    summary, _ = run_train(
        "callbacks.evaluation.every_n_iters=1",
        "callbacks.evaluation.monitor=recall_proj_64",
        max_iters=3,
        evaluate=True,
    )
    assert summary["best"]["monitor"] == "recall_proj_64"
    assert summary["best"]["val/recall_proj_64"] == max(
        float(r["val/recall_proj_64"]) for r in rows(_) if r.get("val/recall_proj_64")
    )


def test_evaluation_does_not_change_training(run_train):
    _, plain = run_train(max_iters=4, name="plain")
    _, evaluated = run_train(
        "callbacks.evaluation.every_n_iters=1", max_iters=4, name="ev", evaluate=True
    )
    losses = lambda out: [
        (r["train/d_loss"], r["train/g_loss"]) for r in rows(out) if r.get("train/d_loss")
    ]
    assert losses(plain) == losses(evaluated)


def test_evaluation_uses_the_ema_generator(run_train):
    summary, out = run_train("model.ema_decay=0.5", max_iters=3, evaluate=True)
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    ema = state["generator_ema.module.main.0.weight"]
    raw = state["generator.main.0.weight"]
    assert not torch.equal(ema, raw)
    assert state["generator_ema.n_averaged"].item() == 3
    assert "val/fid_proj_64" in summary["final"]


@pytest.mark.slow
def test_ddp_evaluation_gathers_both_ranks(tmp_path, data_dir):
    """And the extractor is built by rank 0 first: rank 1 loads what rank 0 cached instead
    of training its own at the same time (as both did with MNISTNet)."""
    run, cache = tmp_path / "run", tmp_path / "extractor"
    slow_cached = [
        "features.proj._target_=tests.helpers.CachedProjection",
        f"+features.proj.cache={cache}",
    ]
    res = run_ddp_train(
        run, data_dir, *TINY_EVAL, *slow_cached, "max_iters=2", f"paths.cache_dir={tmp_path}/c"
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert {f"val/{n}" for n in NAMES} <= set(summary["final"])
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert (cache / "builds.txt").read_text().splitlines() == ["0 trained", "1 loaded"]
