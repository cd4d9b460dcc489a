"""Non-finite losses: the run stops as diverged before the bad step, or skips it if allowed."""

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from ganlab.errors import DivergedError
from ganlab.losses import JSLoss
from tests.helpers import NaNAfter, quiet_trainer
from tests.models.test_gan import make_gan


def fit(model, iters, tmp_path=None, **trainer_kwargs):
    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.rand(64, 1, 28, 28) * 2 - 1), batch_size=4)
    callbacks = [ModelCheckpoint(dirpath=tmp_path, save_last=True)] if tmp_path else []
    trainer = quiet_trainer(
        max_steps=model.clock.steps(iters),
        callbacks=callbacks,
        enable_checkpointing=bool(tmp_path),
        **trainer_kwargs,
    )
    trainer.fit(model, data)
    return trainer


@pytest.mark.parametrize("which,term", [("g", "g_loss"), ("d", "d_loss")])
def test_nonfinite_loss_stops_before_the_step_and_keeps_the_weights(tmp_path, which, term):
    model = make_gan(NaNAfter(after=2, which=which))
    with pytest.raises(DivergedError) as info:
        fit(model, iters=5, tmp_path=tmp_path)
    message = str(info.value)
    assert f"training diverged at iteration 3: non-finite {term}" in message
    assert str(tmp_path / "last.ckpt") in message and "max_nonfinite_skips" in message
    assert model.g_steps == 2  # the third G update never happened
    for p in [*model.generator.parameters(), *model.discriminator.parameters()]:
        assert torch.isfinite(p).all()
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["ganlab_counters"]["g_steps"] == 2
    assert all(
        torch.isfinite(v).all() for v in saved["state_dict"].values() if v.is_floating_point()
    )


class NaNGradient(JSLoss):
    """From the third G loss on, a finite loss with a NaN gradient: sqrt's (infinite) slope
    at 0 times 0, as a gradient penalty's norm of a zero gradient can give."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def g_loss(self, d_fake):
        loss = super().g_loss(d_fake)
        self.calls += 1
        return loss + (d_fake * 0).sqrt().sum() if self.calls > 2 else loss


# Every batch logged (the gradient norm is taken, and checked), or none before the last
# (a fused finiteness check instead).
@pytest.mark.parametrize("log_every_n_steps", [1, 50])
def test_a_nonfinite_gradient_of_a_finite_loss_stops_the_run(tmp_path, log_every_n_steps):
    model = make_gan(NaNGradient())
    with pytest.raises(DivergedError) as info:
        fit(model, iters=5, tmp_path=tmp_path, log_every_n_steps=log_every_n_steps)
    message = str(info.value)
    assert "diverged at iteration 3: non-finite gradient (the loss itself is finite)" in message
    assert model.g_steps == 2
    assert all(torch.isfinite(p).all() for p in model.generator.parameters())


def test_tolerated_skips_then_diverged():
    model = make_gan(NaNAfter(after=2, which="g"))
    model.max_nonfinite_skips = 3
    skipped = "iteration 3: non-finite g_loss; update skipped"
    with pytest.warns(UserWarning, match=skipped), pytest.raises(DivergedError, match="n 3"):
        fit(model, iters=10)
    assert model.nonfinite_skips == 3 and model.g_steps == 2


class NaNOnce(NaNAfter):
    """NaN for exactly one G loss (the third), then finite again."""

    def _poison(self, loss):
        self.calls += 1
        return loss * float("nan") if self.calls == 3 else loss


def test_a_skipped_update_leaves_the_run_going():
    model = make_gan(NaNOnce(which="g"))
    model.max_nonfinite_skips = 1
    with pytest.warns(UserWarning, match="update skipped"):
        trainer = fit(model, iters=5)
    assert model.nonfinite_skips == 1 and model.g_steps == 5  # one extra batch made up for it
    # 6 batches: 6 D steps and 5 G steps (Lightning stops at the batch end past max_steps).
    assert (trainer.global_step, model.d_steps) == (11, 6)
    assert all(torch.isfinite(p).all() for p in model.generator.parameters())
