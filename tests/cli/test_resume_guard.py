"""A run continued under settings it was not trained with is refused, and nothing in its
folder changes (ganlab/cli/resume_guard.py)."""

import json
import os
import socket

import pytest
import torch

from ganlab.cli.resume_guard import describe, differences, resumable
from ganlab.cli.train import init_weights, train
from ganlab.errors import ResumeRefused
from ganlab.models.loading import build_model
from tests.conftest import TINY, compose_train, run_cli, run_cli_process


def test_differences_lists_changed_added_and_removed_leaves():
    saved = {"a": {"b": 1, "c": [1, 2]}, "gone": "x", "same": 3}
    new = {"a": {"b": 2, "c": [1, 2]}, "added": None, "same": 3}
    diff = differences(saved, new)
    assert diff == {"a.b": (1, 2), "added": (..., None), "gone": ("x", ...)}
    assert describe(diff) == "a.b: 1 -> 2; added: (absent) -> None; gone: 'x' -> (absent)"


def test_what_a_resumed_run_may_change():
    for key in ("max_iters", "callbacks.evaluation.n", "logger.csv.name", "trainer.devices"):
        assert resumable(key)
    for key in ("seed", "loss._target_", "trainer.precision", "data.batch_size", "max_itersx"):
        assert not resumable(key)


def files(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_resume_auto_with_another_loss_is_refused_and_changes_nothing(tmp_path, data_dir):
    out = tmp_path / "run"
    train(compose_train(out, [*TINY, "max_iters=2", "logger=csv"], data_dir))
    before = files(out)
    changed = [*TINY, "max_iters=4", "logger=csv", "loss=wgan_gp", "resume=auto"]
    with pytest.raises(ResumeRefused) as err:
        train(compose_train(out, changed, data_dir))
    message = str(err.value)
    assert message.startswith(f"resume=auto: the run in {out} was trained with other settings")
    # the loss and what it brings with it (loss_model/wgan_gp_dcgan.yaml), old -> new
    assert "loss._target_: 'ganlab.losses.JSLoss' -> 'ganlab.losses.WGANGPLoss'" in message
    assert "model.discriminator.norm: 'batch' -> 'layer'" in message
    assert "model.n_critic: 1 -> 5" in message
    assert "max_iters:" not in message and "logger" not in message.split("Differences")[1]
    assert f"init_from={out / 'checkpoints' / 'last.ckpt'} hydra.run.dir=" in message
    assert files(out) == before  # summary.json, metrics.csv, checkpoints: as they were
    # the settings a resumed run may change pass: it continues to 4 iterations
    summary = train(
        compose_train(out, [*TINY, "max_iters=4", "logger=csv", "resume=auto"], data_dir)
    )
    assert summary["status"] == "completed" and summary["g_steps"] == 4


def test_ckpt_path_with_other_nets_names_the_settings(tmp_path, data_dir):
    first = tmp_path / "first"
    train(compose_train(first, [*TINY, "max_iters=2"], data_dir))
    ckpt = first / "checkpoints" / "last.ckpt"
    new = tmp_path / "new"
    wider = [*TINY, "model.generator.ngf=16", f"ckpt_path={ckpt}"]
    with pytest.raises(ResumeRefused) as err:
        train(compose_train(new, wider, data_dir))
    message = str(err.value)
    assert message.startswith(f"ckpt_path={ckpt}: its nets do not fit the model configured now")
    assert "model.generator.ngf: 8 -> 16" in message
    assert not (new / "summary.json").exists()
    # another loss with the same nets loads: a new run from that run's state
    summary = train(
        compose_train(new, [*TINY, "loss=ls", "max_iters=3", f"ckpt_path={ckpt}"], data_dir)
    )
    assert summary["status"] == "completed" and summary["g_steps"] == 3


def test_init_from_takes_the_nets_and_starts_a_new_run(tmp_path, data_dir):
    first = tmp_path / "first"
    train(compose_train(first, [*TINY, "max_iters=2", "model.ema_decay=0.9"], data_dir))
    ckpt = first / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt, weights_only=False)["state_dict"]
    # another loss and learning rate, ADA (state of its own, not in the checkpoint), no EMA
    changed = [*TINY, "loss=ls", "model.g_optimizer.lr=0.001", "augment=ada", f"init_from={ckpt}"]
    cfg = compose_train(tmp_path / "new", [*changed, "max_iters=1"], data_dir)
    model = build_model(cfg)
    init_weights(model, cfg)
    for key, value in model.state_dict().items():
        if key.startswith(("generator.", "discriminator.")):
            assert torch.equal(value, saved[key]), key
    assert model.augment.p.item() == 0.0  # ADA starts afresh
    summary = train(cfg)
    assert summary["g_steps"] == 1 and summary["initialised_from"] == str(ckpt)  # counters anew
    assert summary["final"]["train/lr_g"] == pytest.approx(0.001)  # the new settings apply
    wider = [*TINY, "model.discriminator.ndf=16", f"init_from={ckpt}"]
    with pytest.raises(ResumeRefused, match=r"^init_from=.*model.discriminator.ndf: 8 -> 16"):
        train(compose_train(tmp_path / "wider", wider, data_dir))


def test_cli_refusal_is_one_line_and_keeps_the_runs_hydra_record(tmp_path, data_dir):
    run = tmp_path / "run"
    args = [*TINY, "max_iters=2", f"data.root={data_dir}", f"hydra.run.dir={run}"]
    assert run_cli("train", *args, cwd=tmp_path).returncode == 0
    before = files(run)
    res = run_cli("train", *args, "loss=hinge", "resume=auto", cwd=tmp_path)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith(f"ganlab: error: resume=auto: the run in {run} was trained")
    assert "Traceback" not in res.stderr
    assert files(run) == before  # .hydra/config.yaml and overrides.yaml too


@pytest.mark.slow  # a process killed with SIGKILL
def test_a_run_killed_hard_is_reported_stale_and_continued(tmp_path, data_dir):
    run = tmp_path / "sweep" / "0"
    args = [*TINY, "max_iters=6", f"data.root={data_dir}", f"hydra.run.dir={run}"]
    kill = ["+callbacks.kill._target_=tests.helpers.SignalAt", "+callbacks.kill.iteration=3"]
    every2 = "callbacks.checkpoint.every_n_iters=2"
    res = run_cli_process(
        "train", *args, every2, *kill, "+callbacks.kill.signal_name=SIGKILL", cwd=tmp_path
    )
    assert res.returncode == -9
    summary = json.loads((run / "summary.json").read_text())
    # rewritten at the checkpoint of iteration 2, with who was writing it
    assert summary["status"] == "running" and summary["g_steps"] == 2
    assert summary["host"] == socket.gethostname() and summary["pid"] != os.getpid()
    report = run_cli("report", f"dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "stale" in report.stdout
    assert f"its process ({summary['pid']} on {summary['host']}) is gone" in report.stdout
    res = run_cli("train", *args, every2, "resume=auto", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"{run}/summary.json said running, but its process" in res.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["g_steps"] == 6
