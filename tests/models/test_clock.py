"""One clock: iterations, batches and Lightning steps, converted in models/clock.py only."""

import logging

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganlab.callbacks import IterationCheckpoint
from ganlab.cli.train import StoppedInIterations
from ganlab.models.clock import Clock
from tests.helpers import quiet_trainer
from tests.models.test_gan import make_gan


def test_clock_converts_iterations_batches_and_lightning_steps():
    clock = Clock(n_critic=5)
    assert clock.steps_per_iteration == 6
    assert (clock.steps(10), clock.steps(None)) == (60, -1)
    assert (clock.iterations(60), clock.iterations(65), clock.iterations(-1)) == (10, 10, None)
    assert clock.batches(10) == 50


class Counters(L.Callback):
    def __init__(self):
        self.seen = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.seen.append((trainer.global_step, module.g_steps, module.d_steps, module.finished()))


@pytest.mark.parametrize("n_critic", [1, 3])
def test_steps_are_d_plus_g_updates_and_checkpoints_come_every_n_iters(tmp_path, n_critic):
    model, counters = make_gan(n_critic=n_critic), Counters()
    saver = IterationCheckpoint(dirpath=tmp_path, every_n_iters=2, save_top_k=-1)
    data = DataLoader(TensorDataset(torch.rand(80, 1, 28, 28) * 2 - 1), batch_size=4)
    trainer = quiet_trainer(
        max_steps=model.clock.steps(5), callbacks=[counters, saver], enable_checkpointing=True
    )
    trainer.fit(model, data)
    assert model.max_iters == 5 and (model.g_steps, model.d_steps) == (5, 5 * n_critic)
    assert all(step == g + d for step, g, d, _ in counters.seen)
    assert [finished for *_, finished in counters.seen] == [False] * (5 * n_critic - 1) + [True]
    # Iterations 2 and 4, and the run's last (5), named by Lightning in its steps.
    steps = sorted(int(p.stem.split("step=")[1]) for p in tmp_path.glob("*.ckpt"))
    assert steps == [2 * (n_critic + 1), 4 * (n_critic + 1), 5 * (n_critic + 1)]


def test_the_end_of_a_run_is_told_in_iterations():
    record = logging.LogRecord(
        "lightning", logging.INFO, "", 0, "`Trainer.fit` stopped: `max_steps=%d` reached.",
        (3000,), None,
    )  # fmt: skip
    assert StoppedInIterations(Clock(n_critic=1)).filter(record)
    assert record.getMessage() == "`Trainer.fit` stopped: `max_iters=1500` reached."
    other = logging.LogRecord("lightning", logging.INFO, "", 0, "`max_epochs=2` reached.", (), None)
    assert (
        StoppedInIterations(Clock()).filter(other)
        and other.getMessage() == "`max_epochs=2` reached."
    )
