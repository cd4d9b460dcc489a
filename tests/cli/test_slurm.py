"""hydra/launcher=slurm: a sweep composed for Hydra's submitit launcher (no cluster here:
what is checked is the launcher and the resources each SLURM job asks for)."""

import importlib.util

import pytest
from hydra import compose, initialize_config_dir

from ganlab.cli.common import CONF_DIR
from ganlab.cli.overrides import check_overrides
from ganlab.errors import ConfigError


def launcher(*overrides):
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    return cfg.hydra.launcher


def test_two_nodes_of_eight_gpus():
    cfg = launcher(
        "hydra/launcher=slurm", "trainer=ddp", "trainer.devices=8", "trainer.num_nodes=2",
        "hydra.launcher.partition=gpu",
    )  # fmt: skip
    assert cfg._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    # One process per GPU on every node, as Lightning's DDP under SLURM expects.
    assert (cfg.nodes, cfg.tasks_per_node, cfg.gpus_per_node) == (2, 8, 8)
    assert (cfg.partition, cfg.cpus_per_task, cfg.timeout_min) == ("gpu", 8, 1440)
    assert cfg.submitit_folder.endswith("/.submitit/%j")


def test_one_gpu_jobs_by_default():
    cfg = launcher("hydra/launcher=slurm", "trainer=gpu")
    assert (cfg.nodes, cfg.tasks_per_node, cfg.gpus_per_node) == (1, 1, 1)


def test_the_launcher_class_takes_these_settings():
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

    cfg = launcher("hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4")
    params = {k: v for k, v in cfg.items() if k != "_target_"}
    assert SlurmLauncher(**params).params["tasks_per_node"] == 4


def test_a_missing_plugin_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name.startswith("hydra_plugins.hydra_submitit") else real(name, *a),
    )  # fmt: skip
    with pytest.raises(ConfigError) as err:
        check_overrides("train", ["-m", "hydra/launcher=slurm", "seed=0,1"])
    assert str(err.value) == (
        "hydra/launcher=slurm needs a Hydra plugin that is not installed: pip install -e "
        "'.[slurm]' in the repository (or .venv/bin/pip install 'ganlab[slurm]')."
    )


def test_a_sweep_off_the_cluster_says_where_to_run_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun here
    with pytest.raises(ConfigError) as err:
        check_overrides("train", ["-m", "hydra/launcher=slurm", "seed=0,1"])
    assert str(err.value) == (
        "hydra/launcher=slurm submits the sweep as SLURM jobs, but SLURM's srun is not on this "
        "machine's PATH. Run the command on a login node of the cluster, or leave "
        "hydra/launcher out to run the sweep here one job at a time."
    )
    # Without -m Hydra runs the one job here and no launcher is used: nothing to object to.
    check_overrides("train", ["hydra/launcher=slurm", "seed=0"])
    # On a login node (srun on the PATH) the sweep goes through.
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    check_overrides("train", ["-m", "hydra/launcher=slurm", "seed=0,1"])
