"""What every model's discriminator sees: one augmentation draw per D call (real, fake and
the penalties' images alike), a fresh one for G's update, the regulariser on its due
steps, r_t, and the loss's constraint after each D step."""

import lightning as L
import pytest
import torch

from ganlab.augment import ADA, Augment
from ganlab.errors import ConfigError
from ganlab.losses import JSLoss, LSLoss, WGANGPLoss, WGANLoss
from ganlab.regularizers import R1
from tests.models.test_gan import fit, make_gan


class SpyAugment(Augment):
    """Identity augmentation that records each use: (draw number, batch id, needs grad)."""

    def __init__(self):
        super().__init__()
        self.draws, self.calls = 0, []

    def draw(self, images):
        self.draws += 1
        number = self.draws

        def apply(x):
            self.calls.append((number, x.requires_grad))
            return x

        return apply


def test_one_draw_per_d_step_covers_real_fake_and_both_penalties():
    spy = SpyAugment()
    fit(make_gan(loss=WGANGPLoss(), norm="layer", reg=R1(every=1), augment=spy), iters=1)
    # n_critic=1: the D step's draw 1 serves real, fake, the interpolates (gradient penalty)
    # and R1's reals; G's step takes draw 2, on fakes that carry G's graph.
    assert [n for n, _ in spy.calls] == [1, 1, 1, 1, 2]
    assert spy.calls[4] == (2, True)


class ValuesRecorder(L.Callback):
    def __init__(self):
        self.values = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.values.append(dict(module.train_values))


def logged(model, iters):
    recorder = ValuesRecorder()
    torch.manual_seed(0)
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.rand(64, 1, 28, 28) * 2 - 1), batch_size=4
    )
    from tests.helpers import quiet_trainer

    trainer = quiet_trainer(
        max_steps=model.clock.steps(iters), callbacks=[recorder], log_every_n_steps=1
    )
    trainer.fit(model, data)
    return recorder.values


def test_r1_joins_d_loss_on_its_due_steps_only():
    values = logged(make_gan(reg=R1(gamma=1.0, every=3)), iters=7)
    assert ["train/r1" in v for v in values] == [True, False, False] * 2 + [True]
    assert all(v["train/r1"] > 0 for v in values if "train/r1" in v)


@pytest.mark.parametrize("loss,threshold", [(JSLoss(), 0.0), (LSLoss(), 0.5)])
def test_r_t_is_the_mean_sign_of_d_on_real_images(loss, threshold):
    model = make_gan(loss=loss)
    seen = []
    forward = model.discriminator.forward
    model.discriminator.forward = lambda x: seen.append(out := forward(x)) or out
    values = logged(model, iters=2)
    d_real = seen[0]  # the first batch's D call on real images
    expected = torch.sign(d_real.detach() - threshold).mean().item()
    assert values[0]["train/r_t"] == pytest.approx(expected)
    assert -1 <= values[1]["train/r_t"] <= 1


def test_wasserstein_losses_log_no_r_t_and_refuse_ada():
    values = logged(make_gan(loss=WGANLoss(), n_critic=1), iters=1)
    assert "train/r_t" not in values[0] and "train/wasserstein" in values[0]
    with pytest.raises(ConfigError, match="r_t"):
        make_gan(loss=WGANGPLoss(), norm="layer", augment=ADA())


def test_weight_clipping_holds_after_every_d_step():
    model = make_gan(loss=WGANLoss(clip=0.01), n_critic=2)
    steps = fit(model, iters=3)
    # Before each step (the recorder's view) and after the last, every D weight is clipped.
    d_params = [s["d"] for s in steps[1:]] + [list(model.discriminator.parameters())]
    assert all(p.abs().max().item() <= 0.01 for ps in d_params for p in ps)
    assert max(p.abs().max().item() for p in model.discriminator.parameters()) == pytest.approx(
        0.01
    )


def test_ada_probability_rises_for_a_d_that_is_always_sure_and_is_logged():
    ada = ADA(interval=2, kimg=0.064)  # p moves 2 * 4 / 64 = 0.125 per adjustment
    model = make_gan(augment=ada)
    # A D that says "real" to everything: r_t = 1 > target 0.6, so p goes up.
    forward = model.discriminator.forward
    model.discriminator.forward = lambda x: 0 * forward(x) + 1
    values = logged(model, iters=6)
    assert [round(v["train/augment_p"], 6) for v in values] == [0, 0.125, 0.125, 0.25, 0.25, 0.375]
    assert model.state_dict()["augment.p"].item() == pytest.approx(0.375)


def test_cyclegans_two_discriminators_get_the_regulariser_and_augmentation(tmp_path, data_dir):
    from ganlab.cli.train import train
    from tests.conftest import CYCLE_TINY, compose_train

    overrides = [*CYCLE_TINY, "max_iters=2", "reg=r1", "reg.every=1", "augment=ada"]
    summary = train(compose_train(tmp_path / "run", overrides, data_dir))
    assert summary["status"] == "completed" and summary["g_steps"] == 2
    assert (summary["reg"], summary["augment"]) == ("r1", "ada")
    final = summary["final"]
    for name in ("r1", "r_t", "d_real", "d_fake"):
        assert isinstance(final[f"train/{name}_a"], float) and isinstance(
            final[f"train/{name}_b"], float
        )
    assert final["train/augment_p"] >= 0  # one p for both discriminators
