"""ganlab-train: compose an experiment with Hydra and train it with Lightning."""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import sys
from importlib import metadata
from pathlib import Path

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.plugins.io import CheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from ganlab.callbacks import (
    CheckpointOnInterrupt,
    ConfigInCheckpoint,
    RestoreRNG,
    RunSummary,
    write_summary,
)
from ganlab.callbacks.summary import load_summary
from ganlab.checkpoint_io import AtomicCheckpointIO
from ganlab.cli.check_config import check_targets
from ganlab.cli.common import (
    CONF_DIR,
    quiet_library_noise,
    reports_user_errors,
    require_values,
    user_error,
)
from ganlab.cli.overrides import checks_overrides
from ganlab.cli.resume import checkpoint_position, finished_summary, resume_point, trim_metrics
from ganlab.cli.resume_guard import (
    adopt_hydra_record,
    check_loadable,
    check_not_running,
    drop_hydra_record,
)
from ganlab.cli.run_names import flat_config
from ganlab.cli.settings import check_settings
from ganlab.csv_logger import ResumableCSVLogger
from ganlab.errors import CheckpointError, ConfigError, ResumeRefused, StorageError
from ganlab.models.clock import Clock
from ganlab.models.conditional_gan import fill_label_config
from ganlab.models.loading import build_model, read_checkpoint
from ganlab.profiler import NoProfiler

VERSIONED = ("ganlab", "torch", "torchvision", "lightning", "hydra-core", "torchmetrics", "numpy")


def library_versions() -> dict[str, str]:
    """The versions that decide whether a run can be reproduced bit for bit."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_info(cfg: DictConfig) -> dict:
    """The config choices that identify a run in summary.json and reports."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    groups = ("model", "loss", "reg", "augment", "data", "trainer")
    info = {group: choices.get(group) for group in groups}
    return {**info, "seed": cfg.seed, "max_iters": cfg.max_iters, "versions": library_versions()}


def objective_value(summary_path: Path, objective: str) -> float:
    """``best.val/fid_...`` or ``final.<metric>`` read from a run's summary.json; NaN when the
    run has no such value (it failed or diverged before an evaluation)."""
    section, _, metric = str(objective).partition(".")
    if section not in ("best", "final") or not metric:
        raise ConfigError(
            f"objective must be best.<metric> or final.<metric> (e.g. best.val/fid_mnistnet_10k), "
            f"got {objective!r}."
        )
    summary = load_summary(summary_path.parent) or {}
    if summary.get("status") != "completed":
        return float("nan")
    value = summary.get(section, {}).get(metric)
    if value is None:
        known = ", ".join(sorted(summary.get(section, {}))) or "none"
        raise ConfigError(f"objective={objective}: no {metric} in {section}; it has: {known}.")
    return float(value)


def check_accelerator(trainer_cfg: DictConfig) -> None:
    """A GPU trainer where torch sees no GPU: one clear message, instead of Lightning's
    "No supported gpu backend found!" wrapped in Hydra's instantiation error."""
    if str(trainer_cfg.get("accelerator")) not in ("gpu", "cuda"):
        return
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        return
    raise ConfigError(
        f"trainer.accelerator={trainer_cfg.accelerator} (trainer=gpu, or trainer=ddp on GPUs), "
        "but torch sees no GPU on this machine (torch.cuda.is_available() is False). Use "
        "trainer=default (the GPU when there is one, else the CPU) or trainer=cpu; for DDP on "
        "CPU processes, trainer=ddp trainer.accelerator=cpu."
    )


def check_nodes(trainer: L.Trainer) -> None:
    """Several nodes, but nothing tells this process where the others are: no cluster
    launcher (srun, torchrun) and no MASTER_ADDR. Each node's processes would take
    themselves (127.0.0.1) for node 0, and this one would wait for them until torch's store
    timeout (30 minutes), then fail with a traceback."""
    env = getattr(trainer.strategy, "cluster_environment", None)
    unplaced = type(env) is LightningEnvironment and "MASTER_ADDR" not in os.environ
    if trainer.num_nodes > 1 and unplaced:
        raise ConfigError(
            f"trainer.num_nodes={trainer.num_nodes}, but this process was not started by "
            "a cluster launcher (srun under SLURM, torchrun) and MASTER_ADDR is not set: "
            "the other nodes' processes could not find it, and it would wait for them. "
            "Run it through srun or torchrun, or start the same command on every node "
            "with MASTER_ADDR=<node 0's address> MASTER_PORT=<a free port> "
            'NODE_RANK=<0, 1, ...> (README: "Several nodes").'
        )


def train(cfg: DictConfig) -> dict:
    """Train one experiment; returns its summary (also written to <run_dir>/summary.json).

    A run stopped by SIGTERM or Ctrl+C returns too, with status "interrupted" and the
    signal's name, after saving last.ckpt: in a notebook the cell ends normally."""
    out = Path(cfg.paths.output_dir)
    info = run_info(cfg)
    try:
        # Before any data is touched.
        check_settings(cfg)
        check_targets(cfg, ("model", "loss", "reg", "augment", "data", "speed"))
        check_accelerator(cfg.trainer)
        check_not_running(out)
        start = resume_point(cfg, out)
        if cfg.get("resume") == "auto" and (done := finished_summary(out, cfg.max_iters)):
            print(f"ganlab: resume=auto: {out} already completed {done['g_steps']} iterations.")
            drop_hydra_record(out)
            return done
        if start is not None:
            info["resumed_from"] = str(start)
        L.seed_everything(cfg.seed, workers=True)
        datamodule = instantiate(cfg.data)
        fill_label_config(cfg.model, datamodule)  # a conditional model's classes, from the data
        model = build_model(cfg)
        if start is not None:  # before Lightning's load_state_dict traceback
            checkpoint = read_checkpoint(start, mmap=True)
            check_loadable(checkpoint, model.state_dict(), cfg, start)
            if start.resolve().parent.parent == out.resolve():  # continuing in place
                trim_metrics(out, checkpoint_position(start, checkpoint)["d_steps"])
        elif cfg.get("init_from") is not None:
            init_weights(model, cfg)
            info["initialised_from"] = str(Path(cfg.init_from).expanduser())
        model.max_nonfinite_skips = cfg.max_nonfinite_skips
        if cfg.get("speed"):
            model.speed = instantiate(cfg.speed)
        model.check_data(datamodule)  # e.g. a translation model needs two domains
        # The callbacks check their settings before any logger writes a thing (an offline
        # wandb run folder, hparams.yaml): a refused config leaves no empty records behind.
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
        loggers = [
            ResumableCSVLogger(out, name="", version="")
        ]  # metrics.csv, whatever else is chosen
        loggers += [instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
        hparams = flat_config(cfg)  # the whole resolved experiment, filterable on dashboards
        for logger in loggers:
            logger.log_hyperparams(hparams)
        summary = RunSummary(out, info)
        callbacks += [summary, ConfigInCheckpoint(cfg), CheckpointOnInterrupt(), RestoreRNG()]
        max_steps = model.clock.steps(cfg.max_iters)  # Lightning's unit (models/clock.py)
        # No profiler chosen: Lightning's records nothing, ganlab's does so at no cost.
        chosen = {} if cfg.trainer.get("profiler") else {"profiler": NoProfiler()}
        chosen["plugins"] = with_atomic_checkpoints(cfg.trainer.get("plugins"))
        if "enable_progress_bar" not in cfg.trainer and not any(
            isinstance(c, ProgressBar) for c in callbacks
        ):  # ~callbacks.progress_bar: no bar, not Lightning's stock one (its counts are steps)
            chosen["enable_progress_bar"] = False
        trainer: L.Trainer = instantiate(
            cfg.trainer,
            max_steps=max_steps,
            logger=loggers,
            callbacks=callbacks,
            default_root_dir=str(out),
            **chosen,
        )
        check_nodes(trainer)
    except Exception as exc:  # nothing trained yet: record why, then report
        err = user_error(exc) or exc
        if isinstance(err, ResumeRefused):  # the run folder is another run's record: keep it
            drop_hydra_record(out)
            raise
        adopt_hydra_record(out)
        # A run directory being resumed keeps what its summary says it reached (iterations,
        # best and final values); only the status and the reason change.
        write_summary(
            out, {**earlier_summary(out), **info, "status": "failed", "message": str(err)}
        )
        raise
    adopt_hydra_record(out)
    lightning_log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    in_iterations = StoppedInIterations(model.clock)
    lightning_log.addFilter(in_iterations)
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=start)
    except SIGTERMException:  # SIGTERM or a first Ctrl+C: saved and reported by the callbacks
        pass
    except SystemExit:
        # A second Ctrl+C: Lightning runs the callbacks' on_exception (save, report), then
        # calls sys.exit(1). In a notebook that would end the cell with an error instead of
        # returning the interrupted run's summary; main() exits with the signal's code.
        if read_summary(out).get("status") != "interrupted":
            raise
    except Exception as exc:
        if isinstance(disk := user_error(exc), StorageError):
            # Checkpoints are renamed into place (AtomicCheckpointIO): the last one is whole.
            raise StorageError(
                f"{disk} Checkpoints saved before are intact: to continue from the last one, "
                f"run the same command with hydra.run.dir={out} resume=auto."
            ) from exc
        raise
    finally:
        lightning_log.removeFilter(in_iterations)
        if "wandb" in sys.modules:  # each sweep job gets its own wandb run
            import wandb

            wandb.finish()
    return read_summary(out)


def init_weights(model, cfg: DictConfig) -> None:
    """``init_from=FILE``: the checkpoint's nets (and G's EMA where both have one) into a new
    run's model. Its optimizers, counters, data position and the state of the loss, the
    regulariser and the augmentation (e.g. ADA's p) are not taken: they start afresh."""
    path = Path(cfg.init_from).expanduser()
    if not path.is_file():
        raise CheckpointError(f"init_from={cfg.init_from}: no such checkpoint file.")
    checkpoint = read_checkpoint(path)
    saved, built = checkpoint.get("state_dict", {}), model.state_dict()
    skip = ("loss.", "reg.", "augment.")
    ema = "generator_ema."
    if not (any(k.startswith(ema) for k in saved) and any(k.startswith(ema) for k in built)):
        skip += (ema,)  # an EMA on one side only: a new one starts as a copy of G, as usual
    nets = {k: v for k, v in saved.items() if not k.startswith(skip)}
    wanted = {k: v for k, v in built.items() if not k.startswith(skip)}
    check_loadable(checkpoint, wanted, cfg, path, key="init_from", saved=nets)
    model.load_state_dict(nets, strict=False)


class StoppedInIterations(logging.Filter):
    """Lightning ends a run with "`Trainer.fit` stopped: `max_steps=3000` reached.", in its
    own steps (models/clock.py): say it in the iterations the user asked for."""

    PREFIX = "`Trainer.fit` stopped: `max_steps="

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(self.PREFIX):
            steps = int(message.removeprefix(self.PREFIX).split("`")[0])
            record.msg = (
                f"`Trainer.fit` stopped: `max_iters={self.clock.iterations(steps)}` reached."
            )
            record.args = ()
        return True


def with_atomic_checkpoints(plugins) -> list:
    """The trainer's plugins (+trainer.plugins=[...]), with checkpoints renamed into place
    (ganlab/checkpoint_io.py) unless the user chose a CheckpointIO."""
    if not plugins:
        chosen = []
    elif OmegaConf.is_list(plugins):
        chosen = list(instantiate(plugins))
    else:
        chosen = [instantiate(plugins)]
    if not any(isinstance(p, CheckpointIO) for p in chosen):
        chosen.append(AtomicCheckpointIO())
    return chosen


def earlier_summary(run_dir: Path) -> dict:
    """The run directory's summary.json from before this command, or {} (none, unreadable)."""
    earlier = load_summary(run_dir) or {}
    earlier.pop("signal", None)  # it stopped that time, not this one
    return earlier


def read_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def exit_if_interrupted(summary: dict) -> None:
    """A run stopped by a signal ends the process with the shell's code for it (130 for
    SIGINT, 143 for SIGTERM), so that a scheduler or a script sees that it did not finish."""
    if summary.get("status") == "interrupted":
        raise SystemExit(128 + signal.Signals[summary.get("signal", "SIGTERM")])


@checks_overrides("train")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@reports_user_errors
def main(cfg: DictConfig) -> float | None:
    quiet_library_noise()
    if cfg.get("objective") is None:
        require_values(cfg)
        exit_if_interrupted(train(cfg))
        return None
    try:
        require_values(cfg)
        summary = train(cfg)
    except Exception as exc:  # noqa: BLE001  (one failed trial must not end the search: NaN)
        err = user_error(exc) or exc
        print(f"ganlab: error: {err}", file=sys.stderr)
    else:
        exit_if_interrupted(summary)
    return objective_value(Path(cfg.paths.output_dir) / "summary.json", cfg.objective)


if __name__ == "__main__":
    main()
