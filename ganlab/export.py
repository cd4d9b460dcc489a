"""Generators that leave ganlab: TorchScript, torch.export (.pt2) or ONNX files that plain
torch (or any ONNX runtime) runs, with a JSON sidecar that says how to call them.

What is exported is what ``ganlab-sample`` runs: G's EMA where the checkpoint has one, in
eval mode (BatchNorm with its running statistics); z -> images in [-1, 1]. A conditional
generator also takes its labels; a translation model gives one file per direction.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ganlab.errors import ConfigError
from ganlab.models.capabilities import ImageGenerator, ImageTranslator, LabelConditioned

FORMATS = {"torchscript": ".pt", "pt2": ".pt2", "onnx": ".onnx"}


@dataclass
class Exported:
    """One net to write: its name in the file names, the net, an example input per name."""

    name: str
    net: nn.Module
    inputs: dict[str, torch.Tensor]


def exported_nets(model, image_size: int, channels: int) -> list[Exported]:
    """The nets ``ganlab-sample`` runs, with example inputs (batch of 2)."""
    if isinstance(model, ImageTranslator):
        images = torch.zeros(2, channels, image_size, image_size)
        return [
            Exported(direction, model.generator(direction), {"images": images})
            for direction in ("a2b", "b2a")
        ]
    if not isinstance(model, ImageGenerator):
        raise ConfigError(f"{type(model).__name__} has no generator to export.")
    z = model.sample_z(2, torch.Generator().manual_seed(0)).cpu()
    inputs = {"z": z}
    if isinstance(model, LabelConditioned):
        inputs["labels"] = model.default_labels(2).cpu()
    return [Exported("generator", model.sampling_generator, inputs)]


def sidecar(model, trained: DictConfig, checkpoint: str, files: dict, fmt: str) -> dict:
    """What a user of the files needs: inputs, image size and range, labels, origin."""
    info = {
        "format": fmt,
        "files": files,
        "image_size": trained.data.image_size,
        "channels": trained.data.channels,
        "value_range": [-1.0, 1.0],
        "checkpoint": str(Path(checkpoint).resolve()),
        "g_steps": model.g_steps,
    }
    if isinstance(model, ImageTranslator):
        info["inputs"] = {"images": "float32 (B, channels, image_size, image_size) in [-1, 1]"}
    else:
        info["generator"] = "ema" if model.uses_ema else "raw"
        info["latent_size"] = model.nz
        info["inputs"] = {"z": f"float32 (B, {model.nz}), N(0, I)"}
        if isinstance(model, LabelConditioned):
            kind = "float32 (B, num_classes) in {0, 1}" if model.multi_label else "int64 (B,)"
            info["inputs"]["labels"] = kind
            info["labels"] = {"num_classes": model.num_classes, "multi_label": model.multi_label}
    info["config"] = OmegaConf.to_container(trained, resolve=False)
    return info


def write_torchscript(item: Exported, path: Path) -> None:
    net = item.net.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # torch 2.9+ deprecates TorchScript for torch.export; its files still load in any
        # torch (torch.jit.load), which is what this format is for.
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(net, tuple(item.inputs.values()))
        traced.save(str(path))


def dynamic_batch(item: Exported) -> dict:
    """Every input's first dimension free: any batch size in the exported program."""
    batch = torch.export.Dim("batch", min=1)
    return {name: {0: batch} for name in item.inputs}


def write_pt2(item: Exported, path: Path) -> None:
    """torch.export's program, TorchScript's successor: ``torch.export.load(path).module()``."""
    with torch.no_grad():
        program = torch.export.export(
            item.net.eval(), tuple(item.inputs.values()), dynamic_shapes=dynamic_batch(item)
        )
    torch.export.save(program, str(path))


def write_onnx(item: Exported, path: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch's exporter needs onnx and onnxscript)
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError(
            "format=onnx needs the onnx and onnxscript packages: pip install 'ganlab[export]' "
            "(or pip install onnx onnxscript)."
        ) from None
    names = list(item.inputs)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's advice on its own internals
        program = torch.onnx.export(
            item.net.eval(),
            tuple(item.inputs.values()),
            input_names=names,
            output_names=["images"],
            dynamic_shapes=dynamic_batch(item),
            dynamo=True,
            verbose=False,
        )
        program.save(str(path))


WRITERS = {"torchscript": write_torchscript, "pt2": write_pt2, "onnx": write_onnx}


def export(model, trained: DictConfig, checkpoint: str, fmt: str, out: str | Path) -> dict:
    """Write the model's generator(s) as ``fmt`` at ``out`` (``out_a2b``/``out_b2a`` for a
    translation model) and the sidecar ``<out>.json``; returns the sidecar."""
    if fmt not in FORMATS:
        raise ConfigError(f"format={fmt} is not a format: {', '.join(FORMATS)}.")
    out = Path(out).expanduser()
    if out.suffix == "":
        out = out.with_suffix(FORMATS[fmt])
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    items = exported_nets(model, trained.data.image_size, trained.data.channels)
    files = {}
    for item in items:
        path = out if len(items) == 1 else out.with_stem(f"{out.stem}_{item.name}")
        WRITERS[fmt](item, path)
        files[item.name] = path.name
    info = sidecar(model, trained, checkpoint, files, fmt)
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info
