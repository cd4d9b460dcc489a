"""A failing or diverging sweep job does not stop the others; each summary.json says why."""

import json

import pytest

from tests.conftest import TINY, run_cli


@pytest.mark.slow
def test_failed_and_diverged_jobs_leave_the_rest_of_the_sweep_running(tmp_path, data_dir):
    targets = "tests.helpers.Broken,tests.helpers.NaNAfter,ganlab.losses.JSLoss"
    sweep = tmp_path / "sweep"
    res = run_cli(
        "train", "-m", *TINY, f"loss._target_={targets}", "max_iters=5",
        f"data.root={data_dir}", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    summaries = [json.loads((sweep / str(i) / "summary.json").read_text()) for i in range(3)]
    assert [s["status"] for s in summaries] == ["failed", "diverged", "completed"]
    assert summaries[0]["message"] == "RuntimeError: a bug in the loss"
    assert "training diverged at iteration 4: non-finite g_loss" in summaries[1]["message"]
    assert summaries[2]["g_steps"] == 5
    # The diverged job is reported in one line; the crash's traceback comes once the sweep
    # has finished, and makes the command fail.
    assert "ganlab: error: training diverged at iteration 4" in res.stderr
    assert "RuntimeError: a bug in the loss" in res.stderr and res.returncode == 1
