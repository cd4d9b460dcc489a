"""ganlab-train: compose an experiment with Hydra and train it with Lightning."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from ganlab.callbacks import CheckpointOnInterrupt, ConfigInCheckpoint, RunSummary, write_summary
from ganlab.cli.check_config import check_targets
from ganlab.cli.common import (
    CONF_DIR,
    quiet_library_noise,
    reports_user_errors,
    require_values,
    user_error,
)
from ganlab.cli.run_names import flat_config


def run_info(cfg: DictConfig) -> dict:
    """The config choices that identify a run in summary.json and reports."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    info = {group: choices.get(group) for group in ("model", "loss", "data", "trainer")}
    return {**info, "seed": cfg.seed, "max_iters": cfg.max_iters}


def train(cfg: DictConfig) -> dict:
    """Train one experiment; returns its summary (also written to <run_dir>/summary.json)."""
    out = Path(cfg.paths.output_dir)
    info = run_info(cfg)
    try:
        check_targets(cfg)  # wrong keys and types, before any data is touched
        L.seed_everything(cfg.seed, workers=True)
        datamodule = instantiate(cfg.data)
        model = instantiate(cfg.model, loss=instantiate(cfg.loss))
        model.max_nonfinite_skips = cfg.max_nonfinite_skips
        if hasattr(model, "check_data"):  # e.g. a translation model needs two domains
            model.check_data(datamodule)
        loggers = [CSVLogger(out, name="", version="")]  # metrics.csv, whatever else is chosen
        loggers += [instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
        hparams = flat_config(cfg)  # the whole resolved experiment, filterable on dashboards
        for logger in loggers:
            logger.log_hyperparams(hparams)
        summary = RunSummary(out, info)
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
        callbacks += [summary, ConfigInCheckpoint(cfg), CheckpointOnInterrupt()]
        # Lightning counts every optimizer step; one iteration has n_critic + 1 of them.
        max_steps = -1 if cfg.max_iters is None else cfg.max_iters * (model.n_critic + 1)
        trainer: L.Trainer = instantiate(
            cfg.trainer,
            max_steps=max_steps,
            logger=loggers,
            callbacks=callbacks,
            default_root_dir=str(out),
        )
    except Exception as exc:  # nothing trained yet: record why, then report
        err = user_error(exc) or exc
        write_summary(out, {**info, "status": "failed", "message": str(err)})
        raise
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    except SIGTERMException:  # saved and reported by CheckpointOnInterrupt and RunSummary
        raise SystemExit(128 + signal.SIGTERM) from None  # the shell's code for SIGTERM
    finally:
        if "wandb" in sys.modules:  # each sweep job gets its own wandb run
            import wandb

            wandb.finish()
    return json.loads((out / "summary.json").read_text())


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    require_values(cfg)
    train(cfg)


if __name__ == "__main__":
    main()
