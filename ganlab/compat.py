"""Every private API of Lightning and torch that ganlab uses, in one place.

Each one is here because no public call does the same (the comments and docstrings below say
what each is for). A library upgrade that moves or renames one breaks this module and
tests/test_compat.py, which exercises each one, instead of a training run hours in.
"""

from __future__ import annotations

from collections.abc import Mapping

import lightning as L
import torch
from lightning.fabric.loggers.csv_logs import _ExperimentWriter as CSVExperimentWriter
from lightning.fabric.utilities.distributed import _InfiniteBarrier as InfiniteBarrier
from lightning.fabric.utilities.seed import _collect_rng_states as collect_rng_states
from lightning.fabric.utilities.seed import _set_rng_states as set_rng_states
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.nn.modules.batchnorm import _BatchNorm as BatchNormBase
from torchmetrics.image.fid import _compute_fid as frechet_distance

__all__ = [
    "BatchNormBase",
    "CSVExperimentWriter",
    "InfiniteBarrier",
    "collect_rng_states",
    "found_nonfinite",
    "frechet_distance",
    "log_metrics_now",
    "logs_due",
    "request_stop_after_batch",
    "set_checkpoint_period",
    "set_rng_states",
]

# collect_rng_states / set_rng_states: torch (CPU and CUDA), numpy and Python RNG states;
# ganlab.callbacks.rng_state saves them in checkpoints (Lightning saves none).
# BatchNormBase: every BatchNorm (1d/2d/3d, lazy, sync), which no public class covers.
# CSVExperimentWriter: the writer behind Lightning's CSVLogger (its NAME_METRICS_FILE, and
# what CSVLogger.experiment returns); ganlab.csv_logger continues an existing metrics.csv.
# InfiniteBarrier: a gloo barrier without the collective timeout (Fabric's rank_zero_first
# uses it; the Trainer has no equivalent); ganlab.callbacks.evaluation.node_leader_first.
# frechet_distance(mu1, sigma1, mu2, sigma2): the formula inside torchmetrics' FID, for a
# reference given as statistics alone (ganlab-eval ref_stats=FILE.npz); the metric class
# takes features only.
# Not importable, so not here: ganlab.callbacks.progress overrides RichProgressBar's private
# _get_train_description(current_epoch) (no "Epoch 3/-2" for unbounded epochs);
# tests/test_compat.py checks that Lightning still calls it.


def found_nonfinite(grads: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """A one-element tensor, nonzero if any of ``grads`` (one device and dtype) holds inf or
    NaN: the fused kernel torch's GradScaler uses, with a scale of 1 so the values stay as
    they are. torch has no public call for it (ganlab.models.base.all_finite says why not
    ``get_total_norm``)."""
    found, one = torch.zeros(1, device=device), torch.ones(1, device=device)
    torch._amp_foreach_non_finite_check_and_unscale_(grads, found, one)
    return found


def log_metrics_now(trainer: L.Trainer, values: Mapping[str, float]) -> None:
    """Send values to the loggers as ``self.log``'s would go: the same step and ``epoch``
    column. ganlab collects a batch's values in one host copy instead of one ``self.log``
    each (ganlab.models.base.GenerativeModule.log_train)."""
    trainer._logger_connector.log_metrics(dict(values))


def logs_due(trainer: L.Trainer) -> bool:
    """Whether Lightning writes this batch's logs (``log_every_n_steps``, or stopping)."""
    return trainer._logger_connector.should_update_logs


def set_checkpoint_period(callback: ModelCheckpoint, steps: int) -> None:
    """Make ``callback`` save every ``steps`` Lightning steps after it was built: its period
    in steps depends on ``n_critic``, known only once the model is (IterationCheckpoint).
    ModelCheckpoint takes ``every_n_train_steps`` in its constructor alone."""
    callback._every_n_train_steps = steps


def request_stop_after_batch(trainer: L.Trainer) -> None:
    """Take Lightning's SIGTERM path: stop after the current batch, which is logged and
    checkpointed. ``Trainer.received_sigterm`` is read-only; its signal connector holds the
    flag (ganlab.callbacks.interrupt uses it for Ctrl+C)."""
    trainer._signal_connector.received_sigterm = True
