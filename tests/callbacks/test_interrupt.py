"""SIGTERM / SIGINT: the run saves last.ckpt, says `interrupted`, and resumes from it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ganlab.cli.train import train
from tests.conftest import REPO, TINY, compose_train, run_cli, run_cli_process


def start_train(run, data_dir, *overrides):
    args = [*TINY, f"data.root={data_dir}", f"hydra.run.dir={run}", *overrides]
    return subprocess.Popen(
        [sys.executable, "-m", "ganlab.cli.train", *args],
        cwd=run.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def wait_until_training(run, timeout=120):
    """Until the run has trained 5 iterations (its grid for step 5 is written), however
    loaded the machine is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run / "samples" / "step_000005.png").is_file():
            return
        time.sleep(0.2)
    pytest.fail("the run did not start")


@pytest.mark.slow
@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_a_checkpoint_and_the_run_resumes(tmp_path, data_dir, sig, code):
    run = tmp_path / "run"
    run.mkdir()
    proc = start_train(run, data_dir, "max_iters=100000", "callbacks.sample_grid.every_n_iters=5")
    wait_until_training(run)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    stopped_at = summary["g_steps"]
    name = signal.Signals(sig).name
    assert summary["message"] == f"stopped by {name} at iteration {stopped_at}"
    assert summary["signal"] == name
    ckpt_path = run / "checkpoints" / "last.ckpt"
    assert f"saved {ckpt_path}. Resume with ckpt_path={ckpt_path}" in err
    if sig == signal.SIGINT:
        assert "ganlab: stopping after this batch (Ctrl+C again to stop now)" in err
    ckpt = torch.load(ckpt_path, weights_only=False)
    assert stopped_at > 0 and ckpt["ganlab_counters"]["g_steps"] == stopped_at
    # Resume: 5 more iterations from where it stopped.
    resumed = tmp_path / "resumed"
    res = run_cli(
        "train", *TINY, f"data.root={data_dir}", f"hydra.run.dir={resumed}",
        f"ckpt_path={ckpt_path}", f"max_iters={stopped_at + 5}", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    after = json.loads((resumed / "summary.json").read_text())
    assert after["status"] == "completed" and after["g_steps"] == stopped_at + 5


STOP_AT_3 = ["+callbacks.stop._target_=tests.helpers.SignalAt", "+callbacks.stop.iteration=3"]


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_in_process_returns_the_summary(tmp_path, data_dir, times):
    """As in a notebook: Ctrl+C (once: after the batch; twice: at once) makes train() return
    the interrupted run's summary, with last.ckpt saved, and gives SIGINT back to its owner
    (a Jupyter kernel's handler; Lightning's own path leaves SIGINT ignored)."""
    before = signal.getsignal(signal.SIGINT)
    stop = [*STOP_AT_3, "+callbacks.stop.signal_name=SIGINT", f"+callbacks.stop.times={times}"]
    cfg = compose_train(tmp_path, [*TINY, "max_iters=100", *stop], data_dir)
    summary = train(cfg)
    assert signal.getsignal(signal.SIGINT) is before
    assert (summary["status"], summary["signal"]) == ("interrupted", "SIGINT")
    # Once: iteration 4 finishes; twice: stopped inside it, 3 iterations done.
    assert summary["g_steps"] == (4 if times == 1 else 3)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganlab_counters"]["g_steps"] == summary["g_steps"]


@pytest.mark.slow  # seconds each: make test runs it, make test-fast does not
def test_double_ctrl_c_exits_130(tmp_path, data_dir):
    stop = [*STOP_AT_3, "+callbacks.stop.signal_name=SIGINT", "+callbacks.stop.times=2"]
    res = run_cli_process(  # signals: a process of its own
        "train", *TINY, f"data.root={data_dir}", f"hydra.run.dir={tmp_path / 'run'}",
        "max_iters=100", *stop, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 130, res.stderr
    assert "ganlab: stopped by SIGINT at iteration 3" in res.stderr
