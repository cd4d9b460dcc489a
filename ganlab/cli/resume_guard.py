"""Refuse to continue a run under settings it was not trained with.

``resume=auto`` continues a run in its own folder: the continued run must be the same
experiment, so its config is compared with the one saved in the checkpoint, before any data
is touched, and every difference outside ``RESUMABLE`` is refused with the list of them.
``ckpt_path=FILE`` continues another run's state on purpose and ``init_from=FILE`` starts a
new run from its weights (e.g. with another loss or learning rate), so for those only what
cannot load is refused: nets whose parameters differ.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from ganlab.callbacks.summary import load_summary, process_alive, stale_reason
from ganlab.cli.run_names import flat_config
from ganlab.errors import ResumeRefused

# What a resumed run may change: how long it trains, what it records and evaluates, where its
# files are, and the hardware it runs on. Anything else (nets, loss, optimisers, data and its
# order, seed) makes the continuation a different experiment from the one in its checkpoint.
RESUMABLE = (
    "max_iters",
    "resume",
    "ckpt_path",
    "init_from",
    "objective",
    "max_nonfinite_skips",
    "task_name",
    "callbacks",
    "logger",
    "paths",
    "features",
    "metrics",
    "speed",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
    "trainer.profiler",
    "data.root",
    "data.download",
    "data.num_workers",
    "data.pin_memory",
    "data.persistent_workers",
)
# Where Hydra writes a command's config.yaml, hydra.yaml and overrides.yaml (hydra.output_subdir
# in ganlab/conf/hydra/default.yaml), to be moved up into .hydra/ or dropped.
INCOMING = Path(".hydra") / "incoming"
SHOWN = 12  # differences listed in a message; the rest are counted


def differences(saved, new) -> dict[str, tuple[object, object]]:
    """``{key: (saved value, new value)}`` for every leaf that differs (absent: ``...``),
    between two experiments (configs, or the dicts checkpoints save)."""
    old, now = flat_config(saved), flat_config(new)
    return {
        key: (old.get(key, ...), now.get(key, ...))
        for key in sorted(old.keys() | now.keys())
        if old.get(key, ...) != now.get(key, ...)
    }


def resumable(key: str) -> bool:
    return any(key == safe or key.startswith(safe + ".") for safe in RESUMABLE)


def describe(diff: dict[str, tuple[object, object]]) -> str:
    def show(value) -> str:
        return "(absent)" if value is ... else repr(value) if isinstance(value, str) else str(value)

    lines = [f"{key}: {show(a)} -> {show(b)}" for key, (a, b) in list(diff.items())[:SHOWN]]
    if len(diff) > SHOWN:
        lines.append(f"and {len(diff) - SHOWN} more")
    return "; ".join(lines)


def check_same_experiment(saved: dict | None, cfg: DictConfig, checkpoint: Path) -> None:
    """``resume=auto``: refuse a config that differs from the checkpoint's outside
    ``RESUMABLE``. A checkpoint without a saved config (not ganlab's) is not checked here."""
    if saved is None:
        return
    diff = {k: v for k, v in differences(saved, cfg).items() if not resumable(k)}
    if not diff:
        return
    run_dir = checkpoint.parent.parent
    raise ResumeRefused(
        f"resume=auto: the run in {run_dir} was trained with other settings; a resumed run "
        f"keeps them (it may change max_iters, callbacks.*, logger, paths.*, features, "
        f"metrics, speed.*, trainer.devices/num_nodes/accelerator/strategy, data.root and "
        f"the data loader's workers). Differences (run -> now): {describe(diff)}. To train "
        f"its weights with the new settings, start a new run from them: "
        f"init_from={checkpoint} hydra.run.dir=<a new folder>. Nothing in {run_dir} was "
        "changed."
    )


def check_loadable(
    checkpoint: dict,
    built: dict,
    cfg: DictConfig,
    path: Path,
    key: str = "ckpt_path",
    saved: dict | None = None,
) -> None:
    """``ckpt_path=`` or ``init_from=``: refuse a model state ``built`` whose names or shapes
    differ from the checkpoint's (or from ``saved``, a part of it), naming the settings that
    differ, instead of load_state_dict's traceback."""
    saved = checkpoint.get("state_dict", {}) if saved is None else saved
    missing = sorted(built.keys() - saved.keys())
    unexpected = sorted(saved.keys() - built.keys())
    reshaped = sorted(  # tensors (a module's extra state, e.g. ADA's, is a dict)
        k
        for k in built.keys() & saved.keys()
        if torch.is_tensor(built[k])
        and torch.is_tensor(saved[k])
        and built[k].shape != saved[k].shape
    )
    if not (missing or unexpected or reshaped):
        return
    tensors = [f"missing {k}" for k in missing[:3]] + [f"unexpected {k}" for k in unexpected[:3]]
    tensors += [f"{k} {tuple(saved[k].shape)} -> {tuple(built[k].shape)}" for k in reshaped[:3]]
    saved_cfg = checkpoint.get("ganlab_config")
    settings = ""
    if saved_cfg is not None:
        diff = {
            k: v
            for k, v in differences(saved_cfg, cfg).items()
            if k.startswith(("model.", "data.image_size", "data.channels", "augment.", "reg."))
        }
        if diff:
            settings = f" Settings that differ (checkpoint -> now): {describe(diff)}."
    raise ResumeRefused(
        f"{key}={path}: its nets do not fit the model configured now "
        f"({', '.join(tensors)}).{settings} Use it with the architecture it was trained "
        f"with (the same model.* nets and data.image_size/channels), or start without {key}."
    )


def adopt_hydra_record(run_dir: Path) -> None:
    """The accepted command's Hydra files become the run's ``.hydra/`` record."""
    incoming = run_dir / INCOMING
    if not incoming.is_dir():  # composed in a notebook or test: Hydra wrote nothing
        return
    for file in incoming.iterdir():
        os.replace(file, incoming.parent / file.name)
    incoming.rmdir()


def drop_hydra_record(run_dir: Path) -> None:
    """A refused command's Hydra files go; the run's ``.hydra/`` stays as it was."""
    shutil.rmtree(run_dir / INCOMING, ignore_errors=True)


def check_not_running(run_dir: Path) -> None:
    """Refuse to write into a run folder whose run is still training on this host (two
    processes would overwrite each other's checkpoints); say so when its summary claims a
    run that is gone (killed with -9, a lost node), which the command then continues."""
    summary = load_summary(run_dir)
    if summary is None or summary.get("status") != "running" or rank_zero_only.rank != 0:
        return  # other ranks of a DDP run start while rank 0's summary says running
    pid, host = summary.get("pid"), summary.get("host")
    if (reason := stale_reason(summary)) is not None:
        print(
            f"ganlab: {run_dir}/summary.json said running, but {reason}: it stopped without "
            f"saving (killed?) after iteration {summary.get('g_steps', 0)} or later."
        )
    elif host == socket.gethostname() and isinstance(pid, int) and process_alive(pid):
        raise ResumeRefused(
            f"the run in {run_dir} is training now (process {pid} on this host, heartbeat "
            f"{summary.get('heartbeat')}): a second process would overwrite its checkpoints. "
            f"Wait for it to end, stop it (kill {pid}: it saves and can be resumed), or "
            "choose another hydra.run.dir."
        )
