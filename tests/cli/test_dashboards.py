"""Dashboards: wandb runs named, grouped by sweep and tagged; the flat config is logged."""

import yaml
from hydra.utils import instantiate

from tests.conftest import TINY, compose_train


def wandb_init(cfg) -> dict:
    """The arguments the WandbLogger will pass to wandb.init (nothing starts before use)."""
    return instantiate(cfg.logger.wandb)._wandb_init


def test_single_run_name_and_tags(tmp_path, data_dir):
    cfg = compose_train(tmp_path / "run", [*TINY, "logger=wandb", "loss=ls", "seed=3"], data_dir)
    init = wandb_init(cfg)
    assert init["name"] == "dcgan-ls-mnist-seed3"
    assert init["group"] is None and init["job_type"] == "train"
    assert init["tags"] == ["model=dcgan", "loss=ls", "data=mnist", "trainer=default"]
    assert type(init["tags"]) is list  # a plain list, as wandb.init wants


def test_sweep_jobs_share_a_group(tmp_path, data_dir):
    sweep = ["hydra.mode=MULTIRUN", "hydra.job.num=4", "hydra.sweep.dir=/x/multiruns/2026-11-22"]
    cfg = compose_train(tmp_path / "run", [*TINY, "logger=wandb", "sweep=losses", *sweep])
    init = wandb_init(cfg)
    assert init["name"] == "4-dcgan-js-mnist-seed0"
    assert init["group"] == "train-2026-11-22"
    assert "sweep=losses" in init["tags"]


def test_resolved_config_is_logged_flat(run_train):
    _, out = run_train("seed=5", max_iters=1)
    hparams = yaml.safe_load((out / "hparams.yaml").read_text())
    assert hparams["model.generator.ngf"] == 8 and hparams["seed"] == 5
    assert hparams["loss._target_"] == "ganlab.losses.JSLoss"
    assert hparams["data.root"] and not any(k.startswith("hydra") for k in hparams)
