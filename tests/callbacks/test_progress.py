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
