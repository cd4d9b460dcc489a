import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganlab.callbacks import GANProgressBar
from tests.models.test_gan import make_gan


class BarTotal(L.Callback):
    def __init__(self, bar):
        self.bar, self.totals = bar, []

    def on_train_epoch_start(self, trainer, module):
        self.totals.append((self.bar.total_train_batches, self.bar._get_train_description(0)))


@pytest.mark.parametrize("n_critic", [1, 5])
def test_bar_length_is_the_number_of_batches(n_critic):
    model, bar = make_gan(n_critic=n_critic), GANProgressBar()
    probe = BarTotal(bar)
    data = DataLoader(TensorDataset(torch.rand(400, 1, 28, 28) * 2 - 1), batch_size=4)
    trainer = L.Trainer(
        max_steps=3 * (n_critic + 1),
        callbacks=[bar, probe],
        logger=False,
        enable_checkpointing=False,
        accelerator="cpu",
        max_epochs=-1,
    )
    trainer.fit(model, data)
    assert probe.totals == [(3 * n_critic, "Epoch 0")]  # the stock bar says 3*(n+1), "0/-2"
    assert model.d_steps == 3 * n_critic


def test_bar_shows_the_latest_logged_losses():
    """ganlab writes its training values to the loggers itself (not via self.log), so the
    bar takes the two losses from the model's latest values, and nothing else of them."""
    model, bar = make_gan(), GANProgressBar()
    data = DataLoader(TensorDataset(torch.rand(40, 1, 28, 28) * 2 - 1), batch_size=4)
    trainer = L.Trainer(
        max_steps=6,
        callbacks=[bar],
        logger=False,
        enable_checkpointing=False,
        accelerator="cpu",
        max_epochs=-1,
        log_every_n_steps=1,
    )
    trainer.fit(model, data)
    shown = bar.get_metrics(trainer, model)
    latest = model.train_values
    assert shown["train/d_loss"] == latest["train/d_loss"]
    assert shown["train/g_loss"] == latest["train/g_loss"]
    assert isinstance(shown["train/g_loss"], float)
    assert "train/grad_norm_d" in latest and "train/grad_norm_d" not in shown


class BarState(L.Callback):
    """(completed, total) of the training bar after each batch (after the bar's update)."""

    def __init__(self, bar):
        self.bar, self.states = bar, []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        task = self.bar.progress.tasks[self.bar.train_progress_bar_id]
        self.states.append((int(task.completed), task.total))


# A plain DataLoader cannot resume its order (ganlab's datamodules can): only the bar counts.
@pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before")
@pytest.mark.parametrize("n_critic", [1, 5])
def test_a_run_resumed_inside_an_epoch_ends_its_bar_full(tmp_path, n_critic):
    data = DataLoader(TensorDataset(torch.rand(400, 1, 28, 28) * 2 - 1), batch_size=4)

    def fit(iterations, ckpt_path=None):
        model, bar = make_gan(n_critic=n_critic), GANProgressBar()
        probe = BarState(bar)
        trainer = L.Trainer(
            max_steps=iterations * (n_critic + 1), callbacks=[bar, probe], logger=False,
            enable_checkpointing=False, accelerator="cpu", max_epochs=-1,
        )  # fmt: skip
        trainer.fit(model, data, ckpt_path=ckpt_path)
        return trainer, probe.states

    first, states = fit(3)
    assert states[-1] == (3 * n_critic, 3 * n_critic)
    first.save_checkpoint(tmp_path / "stop.ckpt")
    _, states = fit(5, tmp_path / "stop.ckpt")
    # It counts on from batch 3*n_critic of the epoch and ends at 5*n_critic, full (the
    # stock bar's total was the steps left after the first batch: 3 of 4 for n_critic=1).
    assert states[0][0] == 3 * n_critic + 1
    assert states[-1] == (5 * n_critic, 5 * n_critic)
    assert {total for _, total in states} == {5 * n_critic}
