"""Rebuild a trained model from a ganlab checkpoint alone."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganlab.callbacks.config_in_checkpoint import CONFIG_KEY
from ganlab.errors import CheckpointError


def read_checkpoint(path: Path, mmap: bool = False) -> dict:
    """torch.load of a checkpoint the user named, with a CheckpointError saying what to do
    when it cannot be read (cut short, or not a checkpoint at all)."""
    # torch saves checkpoints as zip archives, whose directory is at the end: a file cut
    # short has none. Checked first since torch's own errors for it depend on where the
    # bytes end ("Invalid argument", "failed finding central directory", or about mmap).
    try:
        with open(path, "rb") as file:
            is_zip = zipfile.is_zipfile(file)
    except OSError as exc:  # not allowed to read it, say: nothing about the file's content
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}.") from exc
    if not is_zip:
        reason = "it has no zip directory at its end"
    elif (damaged := damaged_member(path)) is not None:
        raise CheckpointError(
            f"cannot read checkpoint {path}: it is damaged ({damaged}: bytes changed on disk or "
            "in a copy). Continue from another checkpoint with ckpt_path=FILE (best.ckpt, or "
            "a backup), or move this one away to start the run again."
        )
    else:
        try:
            return torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
        except Exception as exc:  # noqa: BLE001 (a zip, not torch's: its error says why)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    raise CheckpointError(
        f"cannot read checkpoint {path}: it is cut short (a copy that did not finish, say) or "
        f"not a torch checkpoint ({reason}). Continue from another checkpoint with "
        "ckpt_path=FILE, or move this one away to start the run again."
    )


def damaged_member(path: Path) -> str | None:
    """What fails the zip's own checks (each member's CRC-32, written by torch.save), or None.

    torch.load reads tensor bytes without checking them: a bit flipped on disk would load as
    a silently different weight. Reading the file once more costs little next to training."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return f"its zip structure: {exc}"
    return None if bad is None else f"{bad} fails its CRC check"


def build_model(cfg: DictConfig):
    """The LightningModule of an experiment config, with its loss, regulariser and
    augmentation (each a group of its own; a config saved before the ``reg`` and
    ``augment`` groups existed has neither, and gets none)."""
    parts = {"loss": instantiate(cfg.loss)}
    for group in ("reg", "augment"):
        if cfg.get(group) is not None:
            parts[group] = instantiate(cfg[group])
    return instantiate(cfg.model, **parts)


def load_checkpoint(ckpt_path: str | Path, device: str = "cpu") -> tuple[object, DictConfig]:
    """The LightningModule (weights, counters and EMA loaded, eval mode) and its config."""
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint not found: {path}. Runs keep theirs in <run_dir>/checkpoints/last.ckpt."
        )
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict) or CONFIG_KEY not in ckpt:
        raise CheckpointError(f"{path} is not a ganlab checkpoint (it holds no '{CONFIG_KEY}').")
    cfg = OmegaConf.create(ckpt[CONFIG_KEY])
    model = build_model(cfg)
    model.load_state_dict(ckpt["state_dict"])
    model.on_load_checkpoint(ckpt)
    return model.to(device).eval(), cfg


def resolve_device(device: str) -> str:
    """``auto``: the GPU when there is one, else the CPU."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device
