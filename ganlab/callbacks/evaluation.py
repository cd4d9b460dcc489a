"""In-training evaluation: FID/KID/precision-recall every few iterations, best checkpoint."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch

from ganlab.compat import InfiniteBarrier
from ganlab.errors import ConfigError
from ganlab.metrics import Evaluator, FeatureMetric, ModelMetric
from ganlab.metrics.evaluator import build_extractors


@contextmanager
def node_leader_first(trainer: L.Trainer) -> Iterator[None]:
    """Run the block on each node's first process (local rank 0), then on the node's other
    processes at once: what the first one caches (MNISTNet, trained on first use, ~1 min on
    a CPU), the others read instead of each training their own. Per node, as Lightning's
    ``prepare_data``: the cache may be on a node's local disk.

    Fabric has this (``Fabric.rank_zero_first``), the Trainer has not; this is Fabric's, on
    the Trainer's ranks, with its barrier: a gloo group without a timeout, since the block
    may outlast the collective timeout (30 minutes in Lightning's DDP)."""
    if trainer.world_size == 1:
        yield
        return
    with InfiniteBarrier() as barrier:
        if trainer.local_rank > 0:
            barrier()
        yield
        if trainer.local_rank == 0:
            barrier()


class Evaluation(L.Callback):
    """Every ``every_n_iters`` generator updates and after the last one: generate ``n`` images
    (split across ranks under DDP, features gathered), compute every metric on every feature
    extractor, log them as ``val/<metric>_<extractor>_<n>``, and keep
    ``checkpoints/best.ckpt`` by ``monitor``.

    ``features`` maps names to extractor factories (built on first use, because building one
    may train or load a network); z comes from a seeded generator, the same at every
    evaluation, so that successive values differ by the model only.
    """

    def __init__(
        self,
        features: Mapping,
        metrics: Mapping[str, FeatureMetric],
        every_n_iters: int = 500,
        n: int = 10000,
        split: str = "train",
        batch_size: int = 500,
        cache_dir: str | None = None,
        monitor: str | None = None,
        seed: int = 0,
    ):
        on_model = [name for name, metric in metrics.items() if isinstance(metric, ModelMetric)]
        if on_model:
            raise ConfigError(
                f"metrics={', '.join(on_model)} is measured by ganlab-eval on a checkpoint "
                "(ganlab-eval ckpt_path=... metrics=[nll]), not during training; a VAE logs "
                "its validation ELBO (val/elbo) as it trains."
            )
        if not features or not metrics:
            empty = "features" if not features else "metrics"
            raise ConfigError(
                f"{empty}=[] leaves the evaluation callback nothing to measure: name some "
                "(features=[mnistnet] metrics=[fid]) or train without it: "
                "~callbacks.evaluation."
            )
        self.features, self.metrics = dict(features), dict(metrics)
        self.every_n_iters, self.n, self.split = every_n_iters, n, split
        self.batch_size, self.cache_dir, self.seed = batch_size, cache_dir, seed
        self._monitor = monitor
        self.evaluator: Evaluator | None = None
        self.latest: dict[str, float] = {}
        self.best: dict = {}
        self._last_step: int | None = None

    @classmethod
    def from_evaluator(cls, evaluator: Evaluator) -> Evaluation:
        """The same measurement outside training (``ganlab-eval``), on an evaluator's
        extractors, metrics, n, split, cache and batch size."""
        callback = cls(
            features=evaluator.extractors,
            metrics=evaluator.metrics,
            n=evaluator.n,
            split=evaluator.split,
            batch_size=evaluator.batch_size,
            cache_dir=evaluator.cache_dir,
        )
        callback.evaluator = evaluator
        return callback

    @property
    def monitor(self) -> str:
        """The metric that picks best.ckpt; by default the first one (e.g. FID)."""
        return self._monitor or self.evaluator.names()[0]

    def lower_is_better(self) -> bool:
        for metric in self.metrics.values():
            if any(self.monitor.startswith(f"{key}_") for key in metric.keys):
                return metric.lower_is_better
        return True

    def setup(self, trainer, pl_module, stage: str) -> None:
        # Building a network draws random numbers (initial weights), and so does every
        # DataLoader iterator: private RNG state keeps a run identical with or without
        # evaluation.
        with torch.random.fork_rng(devices=[]), node_leader_first(trainer):
            extractors = build_extractors(self.features)
        self.evaluator = Evaluator(
            extractors, self.metrics, self.n, self.split, self.cache_dir, self.batch_size
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = pl_module.g_steps
        due = self.every_n_iters and step and step % self.every_n_iters == 0
        if (due or pl_module.finished()) and step != self._last_step:
            self.evaluate(trainer, pl_module)

    def evaluate(self, trainer, pl_module) -> dict[str, float]:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            return self._evaluate(trainer, pl_module)

    def _evaluate(self, trainer, pl_module) -> dict[str, float]:
        start = time.perf_counter()
        world, rank = trainer.world_size, trainer.global_rank
        n_local = math.ceil(self.n / world)
        gen = torch.Generator().manual_seed(self.seed * 10007 + rank)
        fake = self.evaluator.fake(
            lambda k: pl_module.sample(pl_module.sample_z(k, gen)), n_local, pl_module.device
        )
        if world > 1:  # each rank made n/world images: gather their features
            fake = {
                k: pl_module.all_gather(v.to(pl_module.device)).flatten(0, 1)[: self.n].cpu()
                for k, v in fake.items()
            }
        values = None
        if trainer.is_global_zero:
            real = self.evaluator.real(trainer.datamodule, pl_module.device)
            values = self.evaluator.compute(real, fake)
        values = trainer.strategy.broadcast(values, src=0)
        values["eval_seconds"] = time.perf_counter() - start
        self.record(trainer, pl_module, values)
        return values

    def record(self, trainer, pl_module, values: dict[str, float]) -> None:
        self._last_step = pl_module.g_steps
        self.latest = {f"val/{k}": v for k, v in values.items()}
        # Straight to the loggers: self.log would only reach them on log_every_n_steps
        # boundaries. The step is Lightning's batch counter, as for the training scalars.
        for logger in trainer.loggers:
            logger.log_metrics(self.latest, step=pl_module.d_steps - 1)
        value = values[self.monitor]
        best = self.best.get(f"val/{self.monitor}")
        better = best is None or (value < best if self.lower_is_better() else value > best)
        if better and math.isfinite(value):
            self.best = {**self.latest, "g_steps": pl_module.g_steps, "monitor": self.monitor}
            trainer.save_checkpoint(
                Path(trainer.default_root_dir) / "checkpoints" / "best.ckpt", weights_only=False
            )

    def state_dict(self) -> dict:
        return {"best": self.best, "latest": self.latest}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.latest = state.get("best", {}), state.get("latest", {})
