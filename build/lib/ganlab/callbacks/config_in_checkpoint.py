"""Stores the resolved experiment config inside every checkpoint."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig, OmegaConf

CONFIG_KEY = "ganlab_config"


class ConfigInCheckpoint(L.Callback):
    """A checkpoint then rebuilds its model on its own (``ganlab-sample``, ``ganlab-eval``),
    even after the run directory around it was moved or deleted."""

    def __init__(self, cfg: DictConfig):
        # The experiment only: a composed config (tests, notebooks) also holds Hydra's own node.
        experiment = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
        self.cfg = OmegaConf.to_container(experiment, resolve=True)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = self.cfg
