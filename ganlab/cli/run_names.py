"""Names, groups and tags of a run for the dashboards, as OmegaConf resolvers.

``ganlab/conf/logger/wandb.yaml`` uses them, so a sweep's jobs land in one wandb group with their
config choices as tags and a readable name, without the user typing any of it. Also
``ganlab.input_channels``, with which a restoration model's nets take the channels of the
degraded input (``ganlab.data.pairs.input_channels``).
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from ganlab.data.pairs import input_channels

TAG_GROUPS = ("model", "loss", "data", "trainer", "experiment", "sweep")


def _choices() -> dict:
    return dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else {}


def is_multirun() -> bool:
    """Whether this process is a job of a Hydra sweep (``-m``)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_tags() -> list[str]:
    """``["model=dcgan", "loss=js", ...]``: the config choices that tell runs apart."""
    choices = _choices()
    return [f"{group}={choices[group]}" for group in TAG_GROUPS if choices.get(group)]


def run_name(seed) -> str:
    """e.g. ``dcgan-js-mnist-seed0``; a sweep job's starts with its number (``3-dcgan-...``)."""
    choices = _choices()
    parts = [choices[g] for g in ("model", "loss", "data") if choices.get(g)]
    name = "-".join([*parts, f"seed{seed}"])
    return f"{HydraConfig.get().job.num}-{name}" if is_multirun() else name


def sweep_group(task_name) -> str | None:
    """One group per sweep (``train-2026-11-22_18-40-18``); single runs have none."""
    if not is_multirun():
        return None
    return f"{task_name}-{Path(HydraConfig.get().sweep.dir).name}"


def register() -> None:
    for name, fn in (
        ("ganlab.run_tags", run_tags),
        ("ganlab.run_name", run_name),
        ("ganlab.sweep_group", sweep_group),
        ("ganlab.input_channels", input_channels),
    ):
        OmegaConf.register_new_resolver(name, fn, replace=True)


def flat_config(cfg) -> dict:
    """The resolved experiment (without Hydra's own settings) as ``{"model.generator.ngf":
    64, ...}``: dashboards filter and compare runs on flat keys."""
    # Node by node: Hydra's own node may hold values only its launcher fills in.
    tree = {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        if OmegaConf.is_config(cfg[key])
        else cfg[key]
        for key in cfg
        if key != "hydra"
    }
    flat: dict = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix[:-1]] = node

    walk(tree, "")
    return flat


register()
