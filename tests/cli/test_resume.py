"""Exact resume: N iterations, a pre-emption, ``resume=auto`` for N more == 2N straight."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.cli.train import train
from tests.conftest import (
    CYCLE_TINY,
    PIX2PIX_TINY,
    TINY,
    TINY_EVAL,
    VAE_TINY,
    VAEGAN_TINY,
    compose_train,
)

N = 6
STOP = ["+callbacks.stop._target_=tests.helpers.SignalAt", f"+callbacks.stop.iteration={N}"]


def write_folder(root, n=22, size=12):
    """n small random RGB PNGs: a dataset whose epochs (5 batches of 4) pass quickly."""
    rng = np.random.default_rng(0)
    root.mkdir()
    for i in range(n):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{i:02d}.png")
    return root


def cases(tmp_path):
    folder = f"data.root={write_folder(tmp_path / 'images')}"
    return {
        # MNIST, an EMA of G, the data loaded in this process.
        "dcgan_js_ema": [*TINY, "model.ema_decay=0.9", "model.ema_start=2"],
        # n_critic=5 and a random gradient penalty; 2 loader workers; epochs of 5 batches, so
        # the run crosses epochs and stops in the middle of one.
        "dcgan_wgan_gp_folder_workers": [
            *TINY,
            "loss=wgan_gp",
            "data=folder",
            folder,
            "data.image_size=16",
            "data.channels=3",
            "data.batch_size=4",
            "data.num_workers=2",
        ],
        # Augmentation drawn on the device, ADA's p adapted every 2 D steps (and saved), R1
        # every 2: all of it continues exactly.
        "dcgan_ada_r1": [
            *TINY,
            "augment=ada",
            "augment.interval=2",
            "augment.kimg=0.05",
            "reg=r1",
            "reg.every=2",
        ],
        # A VAE: its reparameterisation draws, a learned likelihood sigma, the KL warm-up.
        "vae_gaussian": [
            *VAE_TINY,
            "model/likelihood=gaussian",
            "model.likelihood.learn=true",
            "model.kl_warmup=5",
        ],
        # A VAE-GAN with n_critic=5 (WGAN-GP), its prior draws and gradient penalty.
        "vaegan_wgan_gp": [*VAEGAN_TINY, "loss=wgan_gp"],
        # pix2pix: each batch's masks drawn on the device from torch's generator.
        "pix2pix_mask": [*PIX2PIX_TINY, "data/degrade=mask"],
        # Random pairing, an image pool and LR schedulers; 2 loader workers.
        "cyclegan_workers": [*CYCLE_TINY, "data.num_workers=2", "data.persistent_workers=false"],
    }


def train_rows(run):
    """metrics.csv's training values as {step: {name: value}}; a step's evaluation row (an
    extended run has one where its first part ended) adds none."""
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    values = {}
    for r in rows:
        train = {k: float(v) for k, v in r.items() if k.startswith("train/") and v}
        values.setdefault(int(r["step"]), {}).update(train)
    return values


def run(out, overrides, data_dir):
    # train() returns when a signal stops the run too (ganlab-train then exits 143 or 130).
    summary = train(compose_train(out, overrides, data_dir))
    assert summary == json.loads((out / "summary.json").read_text())
    return summary


@pytest.mark.slow
@pytest.mark.parametrize(
    "case,sig",
    [
        ("dcgan_js_ema", "SIGTERM"),
        ("dcgan_js_ema", "SIGINT"),  # a first Ctrl+C also stops at the batch end
        ("dcgan_wgan_gp_folder_workers", "SIGTERM"),
        ("dcgan_ada_r1", "SIGTERM"),
        ("vae_gaussian", "SIGTERM"),
        ("pix2pix_mask", "SIGTERM"),
        ("cyclegan_workers", "SIGTERM"),
    ],
)
def test_interrupted_and_resumed_equals_straight(tmp_path, data_dir, case, sig):
    overrides = [*cases(tmp_path)[case], f"max_iters={2 * N}", "trainer.log_every_n_steps=1"]
    straight = run(tmp_path / "straight", overrides, data_dir)
    assert straight["status"] == "completed" and straight["g_steps"] == 2 * N

    out = tmp_path / "resumed"
    stop = [*STOP, f"+callbacks.stop.signal_name={sig}"]
    first = run(out, [*overrides, *stop, "resume=auto"], data_dir)
    # Signalled as the next batch starts, it stops after that batch: with n_critic=1 the next
    # iteration, with n_critic=5 its first D update (a stop in the middle of an iteration).
    stopped = first["g_steps"]
    assert first["status"] == "interrupted" and stopped == (N + 1 if "wgan" not in case else N)
    assert first["message"] == f"stopped by {sig} at iteration {stopped}"
    second = run(out, [*overrides, "resume=auto"], data_dir)
    assert second["status"] == "completed" and second["g_steps"] == 2 * N
    assert second["resumed_from"] == str(out / "checkpoints" / "last.ckpt")
    assert second["images_seen"] == straight["images_seen"]

    assert_same_run(tmp_path / "straight", out, straight)


def assert_same_run(straight_dir, out, straight):
    """The same weights, optimizer states and every batch's logged values."""
    a = torch.load(straight_dir / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for name, value in a["state_dict"].items():
        other = b["state_dict"][name]
        # Tensors, and modules' extra state (ADA's count of D steps) as it is.
        assert torch.equal(value, other) if torch.is_tensor(value) else value == other, name
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"], strict=True):
        for key, state in opt_a["state"].items():
            assert all(torch.equal(state[k], opt_b["state"][key][k]) for k in state)
    # Every batch's losses, gradient norms and rates: the interrupted run's rows and the
    # resumed run's appended ones read exactly as the straight run's.
    assert train_rows(out) == train_rows(straight_dir)
    assert len(train_rows(out)) == straight["d_steps"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["dcgan_js_ema_eval", "dcgan_wgan_gp_folder_workers", "vaegan_wgan_gp", "cyclegan"]
)
def test_a_finished_run_extended_equals_straight(tmp_path, data_dir, case):
    """A run that completed N iterations, continued with resume=auto max_iters=2N, equals
    2N straight: its last checkpoint is its last batch's, mid-epoch (callbacks/checkpoint.py)."""
    overrides = {
        **cases(tmp_path),
        # the end-of-run evaluation and grid (after iteration N) must leave no trace
        "dcgan_js_ema_eval": [
            *TINY_EVAL,
            "model.ema_decay=0.9",
            "callbacks.evaluation.every_n_iters=4",
        ],
        # its LR schedule in iterations set, not derived from max_iters
        "cyclegan": [*CYCLE_TINY, "model.lr_schedule.constant=8", "model.lr_schedule.decay=8"],
    }[case]
    overrides = [*overrides, "trainer.log_every_n_steps=1"]
    straight = run(tmp_path / "straight", [*overrides, f"max_iters={2 * N}"], data_dir)
    out = tmp_path / "extended"
    first = run(out, [*overrides, f"max_iters={N}", "resume=auto"], data_dir)
    assert first["status"] == "completed" and first["g_steps"] == N
    second = run(out, [*overrides, f"max_iters={2 * N}", "resume=auto"], data_dir)
    assert second["status"] == "completed" and second["g_steps"] == 2 * N
    assert_same_run(tmp_path / "straight", out, straight)


def test_resume_auto_leaves_a_completed_run_alone(tmp_path, data_dir, capsys):
    out = tmp_path / "run"
    overrides = [*TINY, "max_iters=2", "resume=auto"]
    first = run(out, overrides, data_dir)
    assert "starts from the beginning" in capsys.readouterr().out
    mtime = (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    again = run(out, overrides, data_dir)
    assert again == first
    assert f"{out} already completed 2 iterations" in capsys.readouterr().out
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns == mtime


def test_resume_auto_and_ckpt_path_together_is_an_error(tmp_path, data_dir):
    with pytest.raises(Exception, match="set resume=auto .* or ckpt_path=FILE"):
        run(tmp_path / "run", [*TINY, "resume=auto", "ckpt_path=x.ckpt"], data_dir)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed"


def test_a_cut_short_checkpoint_is_one_message_and_is_kept(tmp_path, data_dir):
    from ganlab.errors import CheckpointError

    out = tmp_path / "run"
    first = run(out, [*TINY, "max_iters=2"], data_dir)
    last = out / "checkpoints" / "last.ckpt"
    cut = last.read_bytes()[:5000]  # as a copy that did not finish leaves it
    last.write_bytes(cut)
    expected = (
        f"cannot read checkpoint {last}: it is cut short (a copy that did not finish, say) or "
        "not a torch checkpoint (it has no zip directory at its end). Continue from another "
        "checkpoint with ckpt_path=FILE, or move this one away to start the run again."
    )
    for how in ("resume=auto", f"ckpt_path={last}"):
        with pytest.raises(CheckpointError) as err:
            run(out if how == "resume=auto" else tmp_path / "new", [*TINY, how], data_dir)
        assert str(err.value) == expected
    assert last.read_bytes() == cut  # nothing overwritten
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["message"] == expected
    # What the run reached before is still in its summary.
    assert summary["g_steps"] == 2 and summary["final"] == first["final"]
    assert {**summary, "status": "completed", "max_iters": 2, "message": None} == {
        **first,
        "message": None,
    }


def test_resume_auto_with_a_damaged_summary_goes_on_from_the_checkpoint(tmp_path, data_dir):
    out = tmp_path / "run"
    run(out, [*TINY, "max_iters=2", "resume=auto"], data_dir)
    (out / "summary.json").write_text('{"status": "compl')  # cut short
    summary = run(out, [*TINY, "max_iters=3", "resume=auto"], data_dir)
    assert summary["status"] == "completed" and summary["g_steps"] == 3
    assert summary["resumed_from"] == str(out / "checkpoints" / "last.ckpt")
