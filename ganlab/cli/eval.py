"""ganlab-eval: FID/KID/precision-recall of a checkpoint, as a table and a JSON report."""

from __future__ import annotations

import json
import time
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from ganlab.callbacks import TranslationEvaluation
from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides
from ganlab.downstream.report import write_report
from ganlab.metrics import Evaluator
from ganlab.metrics.evaluator import build_extractors
from ganlab.metrics.reference import reference_key
from ganlab.models.capabilities import ImageGenerator, ImageTranslator
from ganlab.models.loading import load_checkpoint, resolve_device


def load_with_data(cfg: DictConfig):
    """(device, model, its training config, its datamodule, prepared; ``data_root`` moves it)."""
    device = resolve_device(cfg.device)
    model, trained = load_checkpoint(cfg.ckpt_path, device)
    if cfg.data_root is not None:
        trained.data.root = cfg.data_root
    datamodule = instantiate(trained.data)
    datamodule.prepare_data()
    return device, model, trained, datamodule


def evaluate_checkpoint(cfg: DictConfig) -> dict:
    """Evaluate ``cfg.ckpt_path``; returns the report that is also written as JSON."""
    device, model, trained, datamodule = load_with_data(cfg)
    extractors = build_extractors(instantiate(cfg.features))
    translator = isinstance(model, ImageTranslator)
    split = cfg.split or ("test" if translator else "train")
    evaluator = Evaluator(
        extractors, instantiate(cfg.metrics), cfg.n, split, cfg.paths.cache_dir, cfg.batch_size
    )
    if translator:  # the in-training protocol: cycle error and metrics per direction
        start = time.perf_counter()
        translation = TranslationEvaluation.from_evaluator(evaluator)
        values = translation.compute(datamodule, model)
        seconds = time.perf_counter() - start
        reference = translation.reference_keys(datamodule)
    else:
        model.sample_with_ema = cfg.ema
        gen = torch.Generator().manual_seed(cfg.seed)
        values = evaluator(lambda k: model.sample(model.sample_z(k, gen)), datamodule, device)
        seconds = values.pop("eval_seconds")
        reference = {
            name: reference_key(datamodule, split, cfg.n, ext) for name, ext in extractors.items()
        }
    uses_ema = isinstance(model, ImageGenerator) and model.uses_ema  # translators have none
    report = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "g_steps": model.g_steps,
        "generator": "ema" if uses_ema else "raw",
        "values": values,
        "seconds": round(seconds, 3),
        "protocol": {
            "n": cfg.n,
            "split": split,
            "seed": cfg.seed,
            "data": trained.data._target_,
            "image_size": datamodule.image_size,
            "reference": reference,
        },
    }
    path = Path(
        cfg.report or Path(cfg.ckpt_path).with_name(f"{Path(cfg.ckpt_path).stem}_eval.json")
    )
    path.write_text(json.dumps(report, indent=2) + "\n")
    report["report_path"] = str(path)
    return report


def evaluate_downstream(cfg: DictConfig) -> tuple[dict, list[Path]]:
    """Run ``cfg.downstream`` (ganlab/conf/downstream/) on the checkpoint; returns the result and
    the report files written beside the checkpoint (or at ``report``, without suffix)."""
    device, model, _, datamodule = load_with_data(cfg)
    task = instantiate(cfg.downstream)
    result = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "g_steps": model.g_steps,
        **task.run(model, datamodule, device),
    }
    stem = Path(cfg.report) if cfg.report else Path(cfg.ckpt_path).with_suffix("")
    return result, write_report(result, task.name, stem.with_suffix(""))


def print_table(report: dict) -> None:
    table = Table(
        title=f"{report['checkpoint']} (iteration {report['g_steps']}, {report['generator']} G)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["values"].items():
        table.add_row(name, f"{value:.4f}")
    Console().print(table)
    print(f"{report['seconds']:.1f} s; report: {report['report_path']}")


@checks_overrides("eval")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="eval")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    require_values(cfg)
    if cfg.get("downstream") is None:
        print_table(evaluate_checkpoint(cfg))
        return
    result, paths = evaluate_downstream(cfg)
    print(paths[1].read_text())
    print(f"{result['seconds']:.1f} s; report: {', '.join(str(p) for p in paths)}")


if __name__ == "__main__":
    main()
