"""Each private Lightning/torch API in ganlab.compat still exists and does what ganlab needs:
a library upgrade that moves one fails here, by name, not in a training run."""

import inspect
import random

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar

from ganlab import compat


def test_found_nonfinite_flags_inf_and_nan_and_leaves_values():
    grads = [torch.tensor([1.0, -2.0]), torch.tensor([3.0])]
    assert compat.found_nonfinite(grads, torch.device("cpu")).item() == 0
    assert grads[0].tolist() == [1.0, -2.0] and grads[1].tolist() == [3.0]
    for bad in (float("inf"), float("nan")):
        assert compat.found_nonfinite([torch.tensor([1.0, bad])], torch.device("cpu")).item() != 0


def test_rng_states_round_trip():
    compat_states = compat.collect_rng_states()
    assert {"torch", "numpy", "python"} <= set(compat_states)
    drawn = (torch.rand(3), np.random.rand(), random.random())
    compat.set_rng_states(compat_states)
    again = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(drawn[0], again[0]) and drawn[1:] == again[1:]


def test_infinite_barrier_works_in_one_process():
    with compat.InfiniteBarrier() as barrier:
        barrier()


def test_csv_writer_names_the_metrics_file(tmp_path):
    writer = compat.CSVExperimentWriter(str(tmp_path))
    assert compat.CSVExperimentWriter.NAME_METRICS_FILE == "metrics.csv"
    writer.log_metrics({"a": 1.0}, step=0)
    writer.save()
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["a,step", "1.0,0"]


def test_batchnorm_base_covers_every_batchnorm():
    nets = [torch.nn.BatchNorm1d(2), torch.nn.BatchNorm2d(2), torch.nn.LazyBatchNorm2d()]
    nets.append(torch.nn.SyncBatchNorm(2))
    assert all(isinstance(m, compat.BatchNormBase) for m in nets)
    assert not isinstance(torch.nn.LayerNorm(2), compat.BatchNormBase)


class Tiny(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(1, 1)
        self.seen = []

    def training_step(self, batch, batch_idx):
        self.seen.append(compat.logs_due(self.trainer))
        if batch_idx == 1:
            compat.log_metrics_now(self.trainer, {"x": 7.0})
            compat.request_stop_after_batch(self.trainer)
        return self.net(batch[0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_logger_connector_and_signal_connector(tmp_path):
    data = torch.utils.data.TensorDataset(torch.ones(8, 1))
    model = Tiny()
    logger = L.pytorch.loggers.CSVLogger(tmp_path, name="", version="")
    trainer = L.Trainer(max_steps=8, log_every_n_steps=2, logger=logger, enable_progress_bar=False,
                        enable_checkpointing=False, enable_model_summary=False)  # fmt: skip
    with pytest.raises(L.pytorch.utilities.exceptions.SIGTERMException):
        trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=1))
    assert model.seen == [False, True]  # the second batch is the first logged one (every 2)
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",") == ["epoch", "step", "x"] and rows[1].split(",") == ["0", "1", "7.0"]


def test_rich_progress_bar_still_calls_the_overridden_description():
    source = inspect.getsource(RichProgressBar)
    assert "self._get_train_description(" in source
    params = inspect.signature(RichProgressBar._get_train_description).parameters
    assert list(params) == ["self", "current_epoch"]


class Linear(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(1, 1)

    def training_step(self, batch, batch_idx):
        return self.net(batch[0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_checkpoint_period_set_after_construction_is_the_one_used(tmp_path):
    saver = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=100, save_top_k=-1)
    compat.set_checkpoint_period(saver, 3)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(8, 1)))
    trainer = L.Trainer(max_steps=7, callbacks=[saver], logger=False, enable_progress_bar=False,
                        enable_model_summary=False)  # fmt: skip
    trainer.fit(Linear(), data)
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == [
        "epoch=0-step=3.ckpt", "epoch=0-step=6.ckpt",
    ]  # fmt: skip
