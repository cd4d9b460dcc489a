"""Rebuild a trained model from a ganlab checkpoint alone."""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.callbacks.config_in_checkpoint import CONFIG_KEY
from ganlab.errors import CheckpointError


def load_checkpoint(ckpt_path: str | Path, device: str = "cpu") -> tuple[object, DictConfig]:
    """The LightningModule (weights, counters and EMA loaded, eval mode) and its config."""
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint not found: {path}. Runs keep theirs in <run_dir>/checkpoints/last.ckpt."
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(ckpt, dict) or CONFIG_KEY not in ckpt:
        raise CheckpointError(f"{path} is not a ganlab checkpoint (it holds no '{CONFIG_KEY}').")
    cfg = OmegaConf.create(ckpt[CONFIG_KEY])
    model = instantiate(cfg.model, loss=instantiate(cfg.loss))
    model.load_state_dict(ckpt["state_dict"])
    model.on_load_checkpoint(ckpt)
    return model.to(device).eval(), cfg


def resolve_device(device: str) -> str:
    """``auto``: the GPU when there is one, else the CPU."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device
