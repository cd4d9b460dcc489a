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
