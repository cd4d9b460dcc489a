"""ganlab-train end to end: every model x loss, run outputs, seeds, loggers, errors."""

import csv
import json
import os
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from ganlab.cli.common import CONF_DIR
from ganlab.errors import ConfigError
from tests.conftest import TINY, compose_train, run_cli, run_ddp_train

# Models that generate from noise (model=cyclegan translates: tests/cli/test_cyclegan.py).
MODELS = sorted(
    p.stem
    for p in Path(CONF_DIR, "model").glob("*.yaml")
    if OmegaConf.load(p)._target_ in ("ganlab.models.GAN", "ganlab.models.ConditionalGAN")
)
LOSSES = sorted(p.stem for p in Path(CONF_DIR, "loss").glob("*.yaml"))


def read_csv(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("loss", LOSSES)
def test_short_run_for_every_model_and_loss(run_train, model, loss):
    summary, out = run_train(f"model={model}", f"loss={loss}", max_iters=3)
    # WGAN and WGAN-GP bring the papers' 5 critic steps (loss_model/), as do the SNGANs.
    n_critic = 5 if loss in ("wgan", "wgan_gp") or "sngan" in model else 1
    assert summary["status"] == "completed"
    assert (summary["g_steps"], summary["d_steps"]) == (3, 3 * n_critic)
    assert summary["images_seen"] == 3 * n_critic * 8
    assert (summary["model"], summary["loss"], summary["data"], summary["seed"]) == (
        model,
        loss,
        "mnist",
        0,
    )
    assert summary["train_images_per_s"] > 0 and summary["wall_time_s"] > 0
    for key in (
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
        "train/grad_norm_d",
        "train/grad_norm_g",
        "train/lr_d",
        "train/lr_g",
    ):
        assert isinstance(summary["final"][key], float), key
    if loss == "wgan_gp":
        assert {"train/gp", "train/wasserstein"} <= set(summary["final"])
    # D's confidence on real images: logged wherever the loss's outputs have a sign.
    assert ("train/r_t" in summary["final"]) == (loss not in ("wgan", "wgan_gp"))
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert (out / "samples" / "step_000003.png").is_file()


def test_run_outputs_contract(run_train):
    summary, out = run_train("callbacks.sample_grid.every_n_iters=2", max_iters=4)
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_000002.png",
        "step_000004.png",
    ]
    grid = Image.open(out / "samples" / "step_000004.png")
    assert grid.size == (4 * 30 + 2, 4 * 30 + 2)  # 16 images of 28 px, 4 a row, 2 px padding
    rows = read_csv(out / "metrics.csv")
    assert len(rows) == 4 and [int(r["step"]) for r in rows] == [0, 1, 2, 3]
    assert {
        "train/d_loss",
        "train/g_loss",
        "train/d_real",
        "train/d_fake",
        "train/grad_norm_g",
        "train/grad_norm_d",
        "train/lr_g",
        "train/lr_d",
    } <= set(rows[0])
    assert float(rows[-1]["train/g_loss"]) == pytest.approx(summary["final"]["train/g_loss"])
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganlab_counters"] == {"g_steps": 4, "d_steps": 4, "images_seen": 32}
    assert ckpt["ganlab_config"]["model"]["generator"]["ngf"] == 8


def test_logs_every_n_steps_and_the_last_batchs_final_values(run_train):
    """Everything is logged on the batches Lightning writes and on the last, not every batch:
    metrics.csv has every key at each written step, summary.json the last batch's values."""
    summary, out = run_train("trainer.log_every_n_steps=3", max_iters=7)
    rows = read_csv(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == [2, 5, 6]
    assert all(r["train/grad_norm_d"] and r["train/lr_g"] and r["train/d_real"] for r in rows)
    final = summary["final"]
    assert {"train/grad_norm_g", "train/d_fake", "train/g_loss"} <= set(final)
    assert final["train/grad_norm_g"] == pytest.approx(float(rows[-1]["train/grad_norm_g"]))
    # a run shorter than log_every_n_steps still writes its last batch
    _, out = run_train("trainer.log_every_n_steps=50", max_iters=2, name="short")
    rows = read_csv(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == [1] and float(rows[0]["train/g_loss"]) > 0


def losses(out: Path) -> list[tuple[str, str]]:
    return [(r["train/d_loss"], r["train/g_loss"]) for r in read_csv(out / "metrics.csv")]


def test_same_seed_same_losses_different_seed_different_losses(run_train):
    _, a = run_train("seed=3", max_iters=5, name="a")
    _, b = run_train("seed=3", max_iters=5, name="b")
    _, c = run_train("seed=4", max_iters=5, name="c")
    assert len(losses(a)) == 5
    assert losses(a) == losses(b)  # identical to the last digit written
    assert all(x != y for x, y in zip(losses(a), losses(c)))


def test_tensorboard_logger_gets_scalars_and_images(run_train):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = run_train("logger=tensorboard", max_iters=2)
    events = EventAccumulator(str(out / "tensorboard")).Reload()
    assert "train/g_loss" in events.Tags()["scalars"]
    assert events.Tags()["images"] == ["samples"]
    assert (out / "metrics.csv").is_file()  # whatever the logger


@pytest.mark.slow  # seconds each: make test runs it, make test-fast does not
def test_wandb_logger_runs_offline(run_train, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    _, out = run_train("logger=wandb", max_iters=2)
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    assert len(list(runs[0].glob("files/media/images/samples_*.png"))) == 1  # the final grid
    assert (out / "metrics.csv").is_file()


def test_cli_writes_hydra_config_and_all_outputs(tmp_path, data_dir):
    run = tmp_path / "run"
    res = run_cli(
        "train", *TINY, "max_iters=2", f"data.root={data_dir}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    for name in (
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
        "checkpoints/last.ckpt",
        "samples/step_000002.png",
        "metrics.csv",
        "summary.json",
    ):
        assert (run / name).is_file(), name
    assert not (run / ".hydra" / "incoming").exists()  # moved into .hydra/ once accepted
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    # ~callbacks.progress_bar (in TINY) removes the bar; Lightning's stock one stays away.
    assert "Epoch 0" not in res.stdout + res.stderr


def test_unknown_choice_lists_the_available_ones(tmp_path):
    res = run_cli("train", "loss=foo", cwd=tmp_path)
    assert res.returncode == 1
    choices = ", ".join(LOSSES)
    assert (
        res.stderr
        == f"ganlab: error: loss=foo is not a choice. The choices for loss are: {choices}.\n"
    )
    assert not (tmp_path / "outputs").exists()  # nothing ran


def test_missing_dataset_is_one_clear_message(tmp_path):
    missing = tmp_path / "no_such_folder"
    res = run_cli(
        "train",
        "data=folder",
        f"data.root={missing}",
        f"hydra.run.dir={tmp_path}/r",
        "logger=none",
        cwd=tmp_path,
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith("ganlab: error:")
    assert str(missing) in res.stderr and "Traceback" not in res.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "failed" and str(missing) in summary["message"]


def test_wgan_gp_with_batchnorm_critic_is_refused(tmp_path):
    res = run_cli(
        "train",
        "loss=wgan_gp",
        "model.discriminator.norm=batch",
        "logger=none",
        f"hydra.run.dir={tmp_path}/r",
        cwd=tmp_path,
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "model.discriminator.norm=layer" in res.stderr


def test_a_gpu_trainer_without_a_gpu_is_one_clear_message(tmp_path, data_dir, monkeypatch):
    from ganlab.cli.train import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    cfg = compose_train(tmp_path / "run", [*TINY, "trainer=gpu"], data_dir)
    with pytest.raises(ConfigError, match="trainer.accelerator=gpu .* but torch sees no GPU"):
        train(cfg)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed" and "trainer=default" in summary["message"]


@pytest.mark.slow
def test_multirun_sweep_gives_each_job_its_own_directory(tmp_path, data_dir):
    res = run_cli(
        "train",
        "-m",
        "loss=js,ls,wgan_gp",
        "seed=0,1",
        *TINY,
        "max_iters=2",
        f"data.root={data_dir}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    summaries = [
        json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").glob("*/summary.json"))
    ]
    assert len(summaries) == 6
    assert sorted((s["loss"], s["seed"]) for s in summaries) == [
        (loss, seed) for loss in ("js", "ls", "wgan_gp") for seed in (0, 1)
    ]
    assert all(s["status"] == "completed" and s["g_steps"] == 2 for s in summaries)


@pytest.mark.slow
def test_ddp_on_cpu_two_processes(tmp_path, data_dir):
    run = tmp_path / "run"
    res = run_ddp_train(run, data_dir, *TINY, "max_iters=3")
    assert res.returncode == 0, res.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert (summary["g_steps"], summary["d_steps"]) == (3, 3)
    assert summary["images_seen"] == 3 * 8 * 2  # both ranks' batches
    assert (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_ddp_ranks_see_different_data_and_keep_the_same_weights(tmp_path, data_dir):
    """2 CPU processes with the evaluation callback: after every step both ranks hold the
    same G and D (gradients were averaged), though each trained on its own batches."""
    from tests.conftest import TINY_EVAL

    run, probe = tmp_path / "run", tmp_path / "probe"
    res = run_ddp_train(
        run, data_dir, *TINY_EVAL, "max_iters=4", "callbacks.evaluation.every_n_iters=2",
        f"paths.cache_dir={tmp_path}/cache", "+callbacks.probe._target_=tests.helpers.RankProbe",
        f"+callbacks.probe.out={probe}",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    ranks = [json.loads((probe / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["g_steps"] for s in ranks[0]] == [s["g_steps"] for s in ranks[1]] == [1, 2, 3, 4]
    for step0, step1 in zip(*ranks):
        assert step0["batch"] != step1["batch"]  # each rank its own share of the data
        assert step0["weights"] == step1["weights"]  # bit for bit: digests in float64
    assert ranks[0][0]["weights"] != ranks[0][-1]["weights"]  # and training moved them
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and "val/fid_proj_64" in summary["final"]


@pytest.mark.slow
def test_ddp_rank_0_alone_failing_is_one_line_per_rank(tmp_path, data_dir):
    run = tmp_path / "run"
    full = "+callbacks.disk._target_=tests.helpers.FullDiskOnRank0"
    res = run_ddp_train(run, data_dir, *TINY, "max_iters=4", full)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("ganlab: error:")]
    disk = [e for e in errors if e.startswith("ganlab: error: No space left on device")]
    assert len(errors) == 2 and len(disk) == 1 and "(checkpoints/last.ckpt)" in disk[0]
    # The other rank, left waiting for rank 0, says why it stopped instead of gloo's traceback
    # (the two processes print in either order).
    assert errors[1 - errors.index(disk[0])] == (
        "ganlab: error: another process of this run stopped first, so this one stopped too: "
        "that process's error says why."
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_continuing_into_a_new_run_directory_is_quiet(tmp_path, data_dir):
    """ckpt_path= from another run: no warning about ModelCheckpoint's best-k records, which
    ganlab's does not keep."""
    first, second = tmp_path / "first", tmp_path / "second"
    common = [*TINY, f"data.root={data_dir}"]
    res = run_cli("train", *common, "max_iters=2", f"hydra.run.dir={first}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    last = first / "checkpoints" / "last.ckpt"
    res = run_cli(
        "train", *common, "max_iters=3", f"ckpt_path={last}", f"hydra.run.dir={second}",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "dirpath has changed" not in res.stderr + res.stdout
    summary = json.loads((second / "summary.json").read_text())
    assert (summary["status"], summary["g_steps"]) == ("completed", 3)
    assert summary["resumed_from"] == str(last)


def test_several_nodes_without_a_launcher_say_how_to_start_them(tmp_path, data_dir, monkeypatch):
    """Not waiting 30 minutes for nodes that cannot find this one (MASTER_ADDR unset)."""
    for name in [n for n in os.environ if n.startswith(("SLURM_", "MASTER_", "TORCHELASTIC"))]:
        monkeypatch.delenv(name)
    run = tmp_path / "run"
    res = run_cli(
        "train", *TINY, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=1",
        "trainer.num_nodes=2", f"data.root={data_dir}", f"hydra.run.dir={run}", cwd=tmp_path,
        timeout=120,
    )  # fmt: skip
    assert res.returncode == 1
    message = (
        "ganlab: error: trainer.num_nodes=2, but this process was not started by a cluster "
        "launcher (srun under SLURM, torchrun) and MASTER_ADDR is not set: the other nodes' "
        "processes could not find it, and it would wait for them. Run it through srun or "
        "torchrun, or start the same command on every node with MASTER_ADDR=<node 0's "
        'address> MASTER_PORT=<a free port> NODE_RANK=<0, 1, ...> (README: "Several nodes").'
    )
    errors = [line for line in res.stderr.splitlines() if line.startswith("ganlab: error:")]
    assert errors == [message]  # one line
    assert "Traceback" not in res.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "MASTER_ADDR" in summary["message"]


# How each of 2 nodes' one process learns its place: from a launcher's variables (torchrun,
# a plain ssh), or from SLURM's tasks as submitit's launcher starts them (srun).
NODE_ENVS = {
    "node_rank": lambda rank: {"NODE_RANK": str(rank), "MASTER_ADDR": "127.0.0.1"},
    "slurm": lambda rank: {
        "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_NAME": "ganlab",
        "SLURM_JOB_ID": "4242", "SLURM_PROCID": str(rank), "SLURM_LOCALID": "0",
        "SLURM_NODEID": str(rank), "SLURM_NODELIST": "127.0.0.1",
    },
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("launch", sorted(NODE_ENVS))
def test_two_nodes_of_one_process_each(tmp_path, data_dir, launch):
    """trainer.num_nodes=2 as a cluster runs it, with both "nodes" on this machine: each
    process is started by hand (as srun or a launcher would), and Lightning places it from
    the environment. Both train as one job: different data, the same weights."""
    import subprocess
    import sys

    from tests.conftest import REPO

    run, probe, port = tmp_path / "run", tmp_path / "probe", str(free_port())
    args = [
        sys.executable, "-m", "ganlab.cli.train", *TINY, "max_iters=3", "trainer=ddp",
        "trainer.accelerator=cpu", "trainer.devices=1", "trainer.num_nodes=2",
        "+callbacks.probe._target_=tests.helpers.RankProbe", f"+callbacks.probe.out={probe}",
        f"data.root={data_dir}", f"hydra.run.dir={run}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "MASTER_PORT": port}
    procs, logs = [], [tmp_path / f"rank{rank}.log" for rank in (0, 1)]
    for rank, log in zip((0, 1), logs):  # to files: a full pipe would stall a rank
        with open(log, "w") as out:
            procs.append(
                subprocess.Popen(
                    args,
                    cwd=tmp_path,
                    env={**env, **NODE_ENVS[launch](rank)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    for proc in procs:
        proc.wait(timeout=300)
    logs = [log.read_text() for log in logs]
    assert [proc.returncode for proc in procs] == [0, 0], logs
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in logs[1]
    ranks = [json.loads((probe / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["g_steps"] for s in ranks[0]] == [s["g_steps"] for s in ranks[1]] == [1, 2, 3]
    for step0, step1 in zip(*ranks):
        assert step0["batch"] != step1["batch"] and step0["weights"] == step1["weights"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["images_seen"] == 3 * 8 * 2
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.ckpt"]


def test_bf16_mixed_precision_with_gradient_penalty(run_train):
    summary, _ = run_train("loss=wgan_gp", "trainer.precision=bf16-mixed", max_iters=2)
    assert summary["status"] == "completed" and summary["d_steps"] == 10
    assert all(isinstance(v, float) for v in summary["final"].values())  # finite: no "nan"


def test_corrupt_image_in_a_worker_is_reported_by_path(tmp_path):
    from tests.data.conftest import save_image, write_truncated_jpeg

    for i in range(7):
        save_image(tmp_path / "imgs" / f"{i}.png", "RGB", (40, 40))
    bad = write_truncated_jpeg(tmp_path / "imgs" / "sub" / "broken.jpg")
    res = run_cli(
        "train",
        "data=folder",
        f"data.root={tmp_path}/imgs",
        "data.image_size=32",
        "data.check_images=false",
        "data.num_workers=2",
        *TINY,
        "max_iters=50",
        f"hydra.run.dir={tmp_path}/r",
        cwd=tmp_path,
    )
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("ganlab: error:") and str(bad) in last
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "failed" and str(bad) in summary["message"]


def test_diverging_run_stops_with_status_diverged(tmp_path, data_dir):
    run = tmp_path / "nan"
    nan = ["loss._target_=tests.helpers.NaNAfter", "+loss.after=3", "max_iters=6"]
    res = run_cli(
        "train", *TINY, *nan, f"data.root={data_dir}", f"hydra.run.dir={run}", cwd=tmp_path
    )
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("ganlab: error: training diverged at iteration 4: non-finite g_loss.")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and "iteration 4" in summary["message"]
    assert summary["g_steps"] == 3
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganlab_counters"]["g_steps"] == 3
    weights = [v for v in ckpt["state_dict"].values() if v.is_floating_point()]
    assert all(torch.isfinite(v).all() for v in weights)
    # One skip allowed: iteration 4's NaN is skipped with a warning; every later G loss is
    # NaN too, so the next one stops the run.
    skip = run_cli(
        "train", *TINY, *nan, "max_nonfinite_skips=1", f"data.root={data_dir}",
        f"hydra.run.dir={tmp_path / 'skip'}", cwd=tmp_path,
    )  # fmt: skip
    assert skip.returncode == 1 and "iteration 4: non-finite g_loss; update skipped" in skip.stderr
    assert json.loads((tmp_path / "skip" / "summary.json").read_text())["status"] == "diverged"


def test_a_full_disk_stops_with_one_message_and_keeps_the_last_checkpoint(
    run_train, tmp_path, monkeypatch
):
    import errno
    import os

    from ganlab.errors import StorageError
    from tests.helpers import disk_full_after

    save, saves = torch.save, []

    def full_after_the_first_checkpoint(obj, file, *args, **kwargs):
        saves.append(getattr(file, "name", file))
        if len(saves) == 1:
            return save(obj, file, *args, **kwargs)
        return disk_full_after(1000)(obj, file)

    monkeypatch.setattr(torch, "save", full_after_the_first_checkpoint)
    every_2 = "callbacks.checkpoint.every_n_iters=2"
    with pytest.raises(StorageError) as err:
        run_train(every_2, max_iters=6)
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert str(err.value) == (
        f"No space left on device ({last}). Make room on that disk, or write to another one "
        "(runs go under GANLAB_LOG_DIR, or paths.log_dir), and run again. Checkpoints saved "
        f"before are intact: to continue from the last one, run the same command with "
        f"hydra.run.dir={tmp_path / 'run'} resume=auto."
    )
    # Both saves went to a hidden file beside last.ckpt (not to $TMPDIR, as Lightning's do).
    assert [Path(s).name for s in saves] == [f".last.ckpt.{os.getpid()}.part"] * 2
    assert torch.load(last, weights_only=False)["ganlab_counters"]["g_steps"] == 2
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["g_steps"] == 4
    assert (
        summary["message"] == f"OSError: [Errno {errno.ENOSPC}] No space left on device: '{last}'"
    )


def test_trainer_plugins_keep_a_users_checkpoint_io():
    from lightning.pytorch.plugins.environments import LightningEnvironment
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    from ganlab.checkpoint_io import AtomicCheckpointIO
    from ganlab.cli.train import with_atomic_checkpoints

    [ours] = with_atomic_checkpoints(None)
    assert isinstance(ours, AtomicCheckpointIO)
    env = OmegaConf.create(
        [{"_target_": LightningEnvironment.__module__ + ".LightningEnvironment"}]
    )
    assert [type(p) for p in with_atomic_checkpoints(env)] == [
        LightningEnvironment,
        AtomicCheckpointIO,
    ]
    users = OmegaConf.create({"_target_": "lightning.pytorch.plugins.io.TorchCheckpointIO"})
    assert [type(p) for p in with_atomic_checkpoints(users)] == [TorchCheckpointIO]
