"""Shared fixtures: compose ganlab's real configs and run them with tiny settings."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ganlab.cli.common import CONF_DIR
from ganlab.cli.train import train
from ganlab.metrics import mnistnet_train

REPO = Path(__file__).resolve().parents[1]

# Small nets and batches: a run of a few iterations takes about a second on a CPU.
SMALL = [
    "model.generator.nz=16",
    "model.generator.ngf=8",
    "model.discriminator.ndf=8",
    "data.batch_size=8",
    "logger=none",
    "~callbacks.progress_bar",
    "callbacks.sample_grid.n=16",
    "callbacks.sample_grid.nrow=4",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
]
TINY = [*SMALL, "~callbacks.evaluation"]  # tests/callbacks/test_evaluation.py runs it alone
# The evaluation callback with a cheap projection instead of a trained network.
EVAL = [
    "features=[]",
    "+features.proj._target_=tests.helpers.Projection",
    "+features.proj._partial_=true",
    "metrics=[fid,kid,pr]",
    "callbacks.evaluation.n=64",
    "callbacks.evaluation.batch_size=32",
]
TINY_EVAL = [*SMALL, *EVAL]
# The CycleGAN demo with tiny nets at 16x16: a few iterations take seconds.
CYCLE_SMALL = [
    "experiment=cyclegan_mnist",
    "model.generator_ab.ngf=4",
    "model.generator_ab.n_blocks=1",
    "model.discriminator_a.ndf=4",
    "data.image_size=16",
    "data.batch_size=4",
    "logger=none",
    "~callbacks.progress_bar",
    "callbacks.sample_grid.n=2",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
]
CYCLE_TINY = [*CYCLE_SMALL, "~callbacks.evaluation"]
# A VAE with tiny nets; its validation ELBO on 32 test digits.
VAE_SMALL = [
    "model=vae",
    "model.nz=4",
    "model.encoder.ndf=8",
    "model.decoder.ngf=8",
    *SMALL[3:],
    "callbacks.validation.n=32",
    "callbacks.validation.every_n_iters=2",
]
VAE_TINY = [*VAE_SMALL, "~callbacks.evaluation"]
VAEGAN_TINY = [*VAE_TINY, "model=vaegan", "model.discriminator.ndf=8"]
# pix2pix restoring 4x-downsampled digits at 16x16 with tiny nets.
PIX2PIX_SMALL = [
    "model=pix2pix",
    "data/degrade=downsample",
    "data.image_size=16",
    "model.generator.ngf=4",
    "model.discriminator.ndf=4",
    "model.discriminator.n_layers=1",
    *SMALL[3:],
    "callbacks.sample_grid.n=4",
]
PIX2PIX_TINY = [*PIX2PIX_SMALL, "~callbacks.evaluation"]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """One data root per test session (the bundled MNIST is extracted there once)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def mnistnet_cache(tmp_path_factory, data_dir) -> Path:
    """A cache dir holding the real MNISTNet (trained here once, ~1 min on 2 CPU cores);
    shared by the metric tests and the notebook test."""
    cache = tmp_path_factory.mktemp("mnistnet_cache")
    start = time.perf_counter()
    mnistnet_train.load_mnistnet(cache, data_dir, progress=False)
    print(f"\nMNISTNet trained in {time.perf_counter() - start:.0f} s")  # shown with -s
    return cache


def compose_train(out: Path, overrides: list[str], data_dir: Path | None = None) -> DictConfig:
    """The experiment ganlab-train would run with these overrides, writing into ``out``."""
    extra = [f"paths.output_dir={out}"]
    if data_dir is not None and not any(o.startswith("data.root=") for o in overrides):
        extra.append(f"data.root={data_dir}")
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, *extra], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # for ${hydra:...} and the choices in summary.json
    return cfg


@pytest.fixture
def run_train(tmp_path, data_dir):
    """Train in this process: ``run_train("loss=ls", max_iters=3, name="a") -> (summary, dir)``
    (``base``: the overrides before these; TINY by default)."""

    def _run(
        *overrides: str,
        max_iters: int = 3,
        name: str = "run",
        evaluate: bool = False,
        base: list[str] | None = None,
    ):
        out = tmp_path / name
        if base is None:
            base = TINY_EVAL if evaluate else TINY
        cfg = compose_train(out, [*base, f"max_iters={max_iters}", *overrides], data_dir)
        return train(cfg), out

    return _run


def run_ddp_train(run: Path, data_dir: Path, *overrides: str):
    """ganlab-train on 2 CPU processes (Lightning DDP, gloo), writing into ``run``."""
    ddp = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]
    paths = [f"data.root={data_dir}", f"hydra.run.dir={run}"]
    return run_cli_process("train", *ddp, *overrides, *paths, cwd=run.parent)


@dataclass
class CliResult:
    """What a command line left: its exit status and everything it wrote."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(name: str, *args: str, cwd: Path, env: dict | None = None, timeout: int = 600):
    """Run ``ganlab-<name> args`` as a user would, in this process: its argv, working
    directory and environment set, stdout and stderr captured, warnings shown as a fresh
    interpreter shows them, and its exit status. Without a new interpreter's imports each
    call is seconds faster; ``run_cli_process`` is for what needs a process of its own
    (signals, DDP, which starts the command line again, a killed run). ``timeout`` is
    ``run_cli_process``'s (an in-process run cannot be cut short)."""
    module = importlib.import_module(f"ganlab.cli.{name}")
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    environ = {**os.environ}
    here = Path.cwd()
    code = 0
    try:
        os.environ.update({"HYDRA_FULL_ERROR": "0", **(env or {})})
        os.chdir(cwd)
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
            mock.patch.object(sys, "argv", [f"ganlab-{name}", *args]),
        ):
            fresh_interpreter_warnings()
            try:
                module.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(environ)
        for handler in root.handlers:  # the run's logging (Hydra's console and log file)
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    return CliResult(code, out.getvalue(), err.getvalue())


def fresh_interpreter_warnings() -> None:
    """Python's default warning filters (each warning shown once per place, deprecations
    hidden), as a user's ganlab-* process starts with, instead of pytest's."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)

    def show(message, category, filename, lineno, file=None, line=None):  # not pytest's record
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


def run_cli_process(name: str, *args: str, cwd: Path, env: dict | None = None, timeout: int = 600):
    """Run ``ganlab-<name>`` in a new process; returns CompletedProcess."""
    return subprocess.run(  # the tests read returncode themselves
        [sys.executable, "-m", f"ganlab.cli.{name}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONPATH": str(REPO), **(env or {})},
        check=False,
    )
