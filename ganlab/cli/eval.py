"""ganlab-eval: FID/KID/precision-recall of a checkpoint, as a table and a JSON report."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from ganlab.callbacks import RestorationEvaluation, TranslationEvaluation
from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides
from ganlab.downstream.report import write_report
from ganlab.errors import ConfigError
from ganlab.metrics import Evaluator, ModelMetric
from ganlab.metrics.evaluator import build_extractors
from ganlab.metrics.fid import gaussian_stats
from ganlab.metrics.image_files import ImageFiles
from ganlab.metrics.reference import reference_key
from ganlab.metrics.stats_file import load_stats, save_stats
from ganlab.models.capabilities import ImageTranslator, Restorer
from ganlab.models.loading import load_checkpoint, resolve_device

log = logging.getLogger("ganlab.eval")


def moved_data_root(cfg: DictConfig) -> str | None:
    """``data.root``, or the deprecated ``data_root`` (with a line saying so)."""
    if cfg.get("data_root") is not None:
        log.warning("data_root=... is deprecated: write data.root=... (as ganlab-train does).")
        return cfg.data_root
    return cfg.data.root


def chosen_data(cfg: DictConfig) -> bool:
    """Whether the command line chose a data config (data=mnist, data=folder, ...)."""
    return "_target_" in cfg.data


def load_data(cfg: DictConfig, trained: DictConfig | None = None):
    """The data module: the one chosen (data=...), else the checkpoint's; data.root moves it."""
    data = cfg.data if chosen_data(cfg) else trained.data
    root = moved_data_root(cfg)
    if root is not None:
        data.root = root
    datamodule = instantiate(data)
    datamodule.prepare_data()
    return datamodule


def load_with_data(cfg: DictConfig):
    """(device, model, its training config, its datamodule)."""
    device = resolve_device(cfg.device)
    model, trained = load_checkpoint(cfg.ckpt_path, device)
    return device, model, trained, load_data(cfg, trained)


def check_inputs(cfg: DictConfig) -> None:
    """What to measure (a checkpoint or a folder) and against what, each said once."""
    if cfg.save_stats is not None and not str(cfg.save_stats).endswith(".npz"):
        raise ConfigError(f"save_stats={cfg.save_stats}: a statistics file ends in .npz.")
    if cfg.ckpt_path is not None and cfg.fake_dir is not None:
        raise ConfigError(
            "ckpt_path and fake_dir both given: ganlab-eval measures one of them (a checkpoint's "
            "generator, or a folder of images)."
        )
    references = [k for k in ("real_dir", "ref_stats") if cfg.get(k) is not None]
    references += ["data"] if chosen_data(cfg) else []
    if len(references) > 1:
        raise ConfigError(
            f"{' and '.join(references)} both given: the images are compared against one "
            "reference (real_dir=DIR, data=NAME or ref_stats=FILE.npz)."
        )
    if cfg.ckpt_path is None and cfg.fake_dir is None:
        if cfg.save_stats is not None and references and references != ["ref_stats"]:
            return  # the statistics of a reference alone
        raise ConfigError(
            "nothing to measure: give ckpt_path=... (a checkpoint) or fake_dir=... (a folder "
            "of images), or real_dir=/data=... with save_stats=FILE.npz for a reference's "
            "statistics."
        )
    if cfg.fake_dir is not None and not references:
        raise ConfigError(
            f"fake_dir={cfg.fake_dir} needs a reference: real_dir=DIR (a folder of real "
            "images), data=NAME (a data config, e.g. data=mnist) or ref_stats=FILE.npz."
        )


def split_metrics(cfg: DictConfig) -> tuple[dict, dict]:
    """The metrics on features of images (FID, ...) and those on a model itself (nll)."""
    metrics = instantiate(cfg.metrics)
    on_model = {k: m for k, m in metrics.items() if isinstance(m, ModelMetric)}
    return {k: m for k, m in metrics.items() if k not in on_model}, on_model


def build_evaluator(cfg: DictConfig, n: int, split: str, metrics: dict | None = None) -> Evaluator:
    extractors = build_extractors(instantiate(cfg.features))
    if (cfg.save_stats or cfg.ref_stats) and len(extractors) != 1:
        raise ConfigError(
            f"a statistics file holds one feature network's, and features has "
            f"{len(extractors)} ({', '.join(extractors) or 'none'}): choose one, e.g. "
            "features=[inception]."
        )
    metrics = split_metrics(cfg)[0] if metrics is None else metrics
    return Evaluator(extractors, metrics, n, split, cfg.paths.cache_dir, cfg.batch_size)


def stats_protocol(evaluator: Evaluator, n: int, source: dict) -> dict:
    ((name, ext),) = evaluator.extractors.items()
    return {"features": name, "extractor": ext.cache_key, "n": n, **source}


def reference_stats(cfg: DictConfig, evaluator: Evaluator) -> dict:
    """``{extractor: (mu, sigma)}`` from ``ref_stats``, checked against the extractor."""
    mu, sigma, protocol = load_stats(cfg.ref_stats)
    ((name, ext),) = evaluator.extractors.items()
    if protocol is None:
        log.warning(
            f"ref_stats={cfg.ref_stats} has no ganlab protocol (a pytorch-fid file?): taken as "
            f"{name} features, {mu.shape[0]} per image."
        )
    elif protocol["extractor"] != ext.cache_key:
        raise ConfigError(
            f"ref_stats={cfg.ref_stats} holds {protocol['extractor']} statistics, and this "
            f"evaluation's features are {ext.cache_key}: measure with the same network and "
            "weights."
        )
    if mu.shape[0] != ext.num_features:
        raise ConfigError(
            f"ref_stats={cfg.ref_stats} has {mu.shape[0]} features per image, {name} gives "
            f"{ext.num_features}."
        )
    return {name: (mu, sigma)}


def evaluate_checkpoint(cfg: DictConfig) -> dict:
    """Evaluate ``cfg.ckpt_path`` or ``cfg.fake_dir``; returns the report, also written as
    JSON (and the generated images' statistics with ``save_stats``)."""
    check_inputs(cfg)
    if cfg.ckpt_path is None and cfg.fake_dir is None:
        return save_reference_stats(cfg)
    device = resolve_device(cfg.device)
    on_features, on_model = split_metrics(cfg)
    if on_model and cfg.ckpt_path is None:
        raise ConfigError(
            f"metrics={', '.join(on_model)} measure a model, not images: give ckpt_path=... "
            "(a checkpoint) instead of fake_dir."
        )
    source: dict = {}
    if cfg.ckpt_path is not None:
        model, trained = load_checkpoint(cfg.ckpt_path, device)
        if isinstance(model, ImageTranslator):
            return evaluate_translator(cfg, device, model, trained)
        if isinstance(model, Restorer):
            return evaluate_restorer(cfg, device, model, trained)
        n = cfg.n
        model.sample_with_ema = cfg.ema
        gen = torch.Generator().manual_seed(cfg.seed)

        def generate(k):
            return model.sample(model.sample_z(k, gen))

        source = {
            "checkpoint": str(Path(cfg.ckpt_path).resolve()),
            "g_steps": model.g_steps,
            "generator": "ema" if model.uses_ema else "raw",
        }
    else:
        files = ImageFiles(cfg.fake_dir, "fake_dir")
        n = min(cfg.n, len(files))
        if n < cfg.n:
            log.info(f"fake_dir holds {len(files)} images: all measured (n={n}).")
        generate = files.batches(cfg.batch_size)
        source = {"fake_dir": str(files.root.resolve()), "generator": "files"}
        trained = None
    start = time.perf_counter()
    values: dict = {}
    protocol: dict = {}
    if on_features or not on_model:
        values, protocol = evaluate_features(cfg, n, generate, device, on_features, trained, source)
    if on_model:  # e.g. a VAE's NLL, on the checkpoint's data (or the one chosen)
        datamodule = load_data(cfg, trained)
        for metric in on_model.values():
            values.update(metric(model, datamodule, device))
        protocol["model_metrics"] = {
            name: {"data": type(datamodule).__name__, **vars(metric)}
            for name, metric in on_model.items()
        }
    seconds = time.perf_counter() - start
    report = {**source, "values": values, "seconds": round(seconds, 3), "protocol": protocol}
    if "stats_path" in protocol:
        report["stats_path"] = protocol.pop("stats_path")
    return write_eval_report(cfg, report)


def evaluate_features(
    cfg: DictConfig,
    n: int,
    generate,
    device,
    metrics: dict,
    trained: DictConfig | None,
    source: dict,
) -> tuple[dict, dict]:
    """The feature metrics (FID, KID, ...) of ``n`` images from ``generate`` against the
    reference; returns their values and the protocol (with ``save_stats``, also writes the
    images' statistics)."""
    split = cfg.split or "train"
    evaluator = build_evaluator(cfg, n, split, metrics)
    fake = evaluator.fake(generate, n, device)
    protocol: dict = {"n": n, "split": split, "seed": cfg.seed}
    skipped: list[str] = []
    if cfg.ref_stats is not None:
        values, skipped = evaluator.compute_from_stats(reference_stats(cfg, evaluator), fake)
        protocol.update(split=None, ref_stats=str(Path(cfg.ref_stats).resolve()))
        if skipped:
            log.warning(
                f"{', '.join(skipped)}: not measured, they need the real images' features and "
                "ref_stats holds only their mean and covariance."
            )
    else:
        reference = ImageFiles(cfg.real_dir, "real_dir") if cfg.real_dir else None
        if reference is None:
            reference = load_data(cfg, trained)
        values = evaluator.compute(evaluator.real(reference, device), fake)
        protocol.update(
            data=str(cfg.real_dir) if cfg.real_dir else type(reference).__name__,
            image_size=reference.image_size,
            reference={
                name: reference_key(reference, split, n, ext)
                for name, ext in evaluator.extractors.items()
            },
        )
    if cfg.save_stats is not None:
        ((name, _),) = evaluator.extractors.items()
        protocol["stats_path"] = str(
            save_stats(
                cfg.save_stats, *gaussian_stats(fake[name]), stats_protocol(evaluator, n, source)
            )
        )
    return values, protocol


def save_reference_stats(cfg: DictConfig) -> dict:
    """``real_dir=``/``data=`` with ``save_stats=``: the reference's statistics alone."""
    device = resolve_device(cfg.device)
    split = cfg.split or "train"
    reference = ImageFiles(cfg.real_dir, "real_dir") if cfg.real_dir else load_data(cfg)
    n = min(cfg.n, len(reference)) if cfg.real_dir else cfg.n
    evaluator = build_evaluator(cfg, n, split)
    start = time.perf_counter()
    ((name, ext),) = evaluator.extractors.items()
    feats = evaluator.real(reference, device)[name]
    where = (
        str(Path(cfg.real_dir).resolve())
        if cfg.real_dir
        else reference_key(reference, split, n, ext)
    )
    path = save_stats(
        cfg.save_stats,
        *gaussian_stats(feats),
        stats_protocol(evaluator, len(feats), {"reference": where}),
    )
    print(f"{len(feats)} images, {name} statistics: {path} ({time.perf_counter() - start:.1f} s)")
    return {}


def check_image_to_image(cfg: DictConfig, what: str, measured_on: str) -> None:
    """Refuse the options of a generator's protocol for a model that maps images to images."""
    if on_model := split_metrics(cfg)[1]:
        raise ConfigError(
            f"metrics={', '.join(on_model)} measure a generative model's likelihood; a "
            f"{what} model has none (measure it with fid, kid, pr)."
        )
    if cfg.real_dir or cfg.ref_stats or cfg.save_stats:
        raise ConfigError(
            f"real_dir, ref_stats and save_stats are for generators; a {what} model is "
            f"measured on {measured_on}."
        )


def evaluate_translator(cfg: DictConfig, device, model, trained) -> dict:
    """The in-training protocol of a translation model: cycle error and metrics per direction."""
    check_image_to_image(cfg, "translation", "its data's test images, both ways")
    datamodule = load_data(cfg, trained)
    split = cfg.split or "test"
    evaluator = build_evaluator(cfg, cfg.n, split)
    start = time.perf_counter()
    translation = TranslationEvaluation.from_evaluator(evaluator)
    values = translation.compute(datamodule, model)
    report = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "g_steps": model.g_steps,
        "generator": "raw",
        "values": values,
        "seconds": round(time.perf_counter() - start, 3),
        "protocol": {
            "n": cfg.n,
            "split": split,
            "seed": cfg.seed,
            "data": trained.data._target_,
            "image_size": datamodule.image_size,
            "reference": translation.reference_keys(datamodule),
        },
    }
    return write_eval_report(cfg, report)


def evaluate_restorer(cfg: DictConfig, device, model, trained) -> dict:
    """The in-training protocol of a restoration model (PSNR, SSIM, feature metrics of the
    restored test images against the clean ones), and the same for the degradation's
    classical baseline (bicubic upsampling, the mean-filled hole, ...)."""
    check_image_to_image(cfg, "restoration", "its data's test images, degraded and restored")
    datamodule = load_data(cfg, trained)
    split = cfg.split or "test"
    evaluator = build_evaluator(cfg, cfg.n, split)
    start = time.perf_counter()
    restoration = RestorationEvaluation.from_evaluator(evaluator)
    values = restoration.measure(datamodule, model.restore, device)
    channels = datamodule.channels
    baseline = restoration.measure(
        datamodule, lambda degraded: datamodule.degrade.baseline(degraded, channels), device
    )
    report = {
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "g_steps": model.g_steps,
        "generator": "raw",
        "values": values,
        "baseline": baseline,
        "seconds": round(time.perf_counter() - start, 3),
        "protocol": {
            "n": restoration.count(datamodule),
            "split": split,
            "seed": cfg.seed,
            "data": trained.data._target_,
            "degrade": datamodule.degrade.key(),
            "image_size": datamodule.image_size,
        },
    }
    return write_eval_report(cfg, report)


def write_eval_report(cfg: DictConfig, report: dict) -> dict:
    """The JSON report at ``report``, else beside the checkpoint or the images' folder."""
    if cfg.report is not None:
        path = Path(cfg.report)
    elif cfg.ckpt_path is not None:
        path = Path(cfg.ckpt_path).with_name(f"{Path(cfg.ckpt_path).stem}_eval.json")
    else:
        folder = Path(cfg.fake_dir).resolve()
        path = folder.with_name(f"{folder.name}_eval.json")
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
    if not report:  # save_stats of a reference alone: printed already
        return
    if "checkpoint" in report:
        title = f"{report['checkpoint']} (iteration {report['g_steps']}, {report['generator']} G)"
    else:
        title = f"{report['fake_dir']} ({report['protocol']['n']} images)"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    baseline = report.get("baseline")  # a restoration model's: the classical restoration's
    if baseline is not None:
        table.add_column(f"baseline ({report['protocol']['degrade']})", justify="right")
    for name, value in report["values"].items():
        row = [name, f"{value:.4f}"]
        if baseline is not None:
            row.append(f"{baseline[name]:.4f}")
        table.add_row(*row)
    Console().print(table)
    print(f"{report['seconds']:.1f} s; report: {report['report_path']}")
    if "stats_path" in report:
        print(f"statistics: {report['stats_path']}")


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
