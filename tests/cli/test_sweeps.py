"""Saved sweeps: the Optuna search's objective comes from each trial's summary.json."""

import json
import math

import pytest
import yaml

from ganlab.cli.train import objective_value
from ganlab.errors import ConfigError
from tests.conftest import TINY_EVAL, run_cli


def write(tmp_path, **summary):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    return path


def test_objective_reads_best_or_final_from_the_summary(tmp_path):
    path = write(tmp_path, status="completed", best={"val/fid_x": 12.5}, final={"val/fid_x": 14.0})
    assert objective_value(path, "best.val/fid_x") == 12.5
    assert objective_value(path, "final.val/fid_x") == 14.0


@pytest.mark.parametrize("status", ["failed", "diverged", "interrupted"])
def test_a_run_that_did_not_complete_scores_nan(tmp_path, status):
    assert math.isnan(objective_value(write(tmp_path, status=status), "best.val/fid_x"))
    assert math.isnan(objective_value(tmp_path / "missing.json", "best.val/fid_x"))


def test_a_wrong_objective_names_what_exists(tmp_path):
    path = write(tmp_path, status="completed", best={"val/fid_x": 1.0, "g_steps": 3})
    with pytest.raises(ConfigError, match=r"no val/fid_y in best; it has: g_steps, val/fid_x"):
        objective_value(path, "best.val/fid_y")
    with pytest.raises(ConfigError, match="objective must be best.<metric> or final.<metric>"):
        objective_value(path, "val/fid_x")


@pytest.mark.slow
def test_optuna_sweep_runs_trials_and_reports_the_best(tmp_path, data_dir):
    sweep = tmp_path / "sweep"
    res = run_cli(
        "train", "-m", "sweep=optuna", "hydra.sweeper.n_trials=2", *TINY_EVAL,
        "metrics=[fid]", "max_iters=3", "objective=best.val/fid_proj_64",
        f"data.root={data_dir}", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    fids = [
        json.loads((sweep / str(i) / "summary.json").read_text())["best"]["val/fid_proj_64"]
        for i in range(2)
    ]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(min(fids))
    assert set(results["best_params"]) == {
        "loss", "model.g_optimizer.lr", "model.d_optimizer.lr", "model.discriminator.spectral_norm"
    }  # fmt: skip
