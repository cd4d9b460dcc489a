"""The CycleGAN module: update order, which nets each step changes, losses, LR schedule."""

import itertools

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganlab.errors import ConfigError
from ganlab.losses import LSLoss, WGANGPLoss
from ganlab.models import CycleGAN
from ganlab.models.cyclegan import LinearDecay
from ganlab.nets import PatchDiscriminator, ResnetGenerator
from tests.helpers import quiet_trainer

NETS = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")


def make_cyclegan(loss=None, norm="instance", **kwargs):
    adam = lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
    gen = lambda: ResnetGenerator(1, ngf=4, n_blocks=1, image_size=16)
    disc = lambda: PatchDiscriminator(1, ndf=4, n_layers=2, norm=norm)
    kwargs.setdefault("lr_schedule", {"constant": 100, "decay": 100})
    return CycleGAN(gen(), gen(), disc(), disc(), loss or LSLoss(), adam, adam, **kwargs)


class StepRecorder(L.Callback):
    """Before each optimizer step: which optimizer (g/d), its lr, and all four nets' weights."""

    def __init__(self):
        self.steps = []

    def on_before_optimizer_step(self, trainer, module, optimizer):
        first = optimizer.param_groups[0]["params"][0]
        which = "g" if any(first is p for p in module.generator_ab.parameters()) else "d"
        snap = {n: [p.detach().clone() for p in getattr(module, n).parameters()] for n in NETS}
        self.steps.append({"opt": which, "lr": optimizer.param_groups[0]["lr"], **snap})


def pairs(n=64, size=16):
    torch.manual_seed(0)
    a = torch.rand(n, 1, size, size) * 2 - 1
    b = torch.rand(n, 1, size, size) * 2 - 1
    return DataLoader(TensorDataset(a, b), batch_size=4)


def fit(model, iters):
    recorder = StepRecorder()
    trainer = quiet_trainer(
        max_steps=model.clock.steps(iters),
        callbacks=[recorder],
    )
    trainer.fit(model, pairs())
    return recorder.steps, trainer


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("n_critic", [1, 3])
def test_update_order_and_counters(n_critic):
    model = make_cyclegan(n_critic=n_critic)
    steps, _ = fit(model, iters=3)
    # One G update (both generators) at the end of each n_critic batches, then that
    # batch's D update (both discriminators), as in the reference implementation.
    assert [s["opt"] for s in steps] == (["d"] * (n_critic - 1) + ["g", "d"]) * 3
    assert (model.g_steps, model.d_steps) == (3, 3 * n_critic)
    assert model.images_seen == 3 * n_critic * 8  # 4 A and 4 B images per batch


def test_each_step_changes_only_its_own_networks():
    steps, _ = fit(make_cyclegan(n_critic=2), iters=3)
    mine = {"g": ("generator_ab", "generator_ba"), "d": ("discriminator_a", "discriminator_b")}
    for before, after in itertools.pairwise(steps):
        own = mine[before["opt"]]
        for net in NETS:
            changed = not same(before[net], after[net])
            assert changed == (net in own), f"{before['opt']} step: {net} changed={changed}"


def test_losses_logged_per_direction_and_identity_switch():
    _, trainer = fit(make_cyclegan(), iters=2)
    logged = set(trainer.lightning_module.train_values)
    for key in (
        "train/g_adv_a2b",
        "train/g_adv_b2a",
        "train/cycle_a",
        "train/cycle_b",
        "train/identity_a",
        "train/identity_b",
        "train/d_loss_a",
        "train/d_loss_b",
        "train/d_real_a",
        "train/d_fake_b",
        "train/lr_g",
        "train/lr_d",
        "train/grad_norm_g",
        "train/grad_norm_d",
    ):
        assert key in logged, key
    _, trainer = fit(make_cyclegan(lambda_identity=0.0), iters=2)
    assert "train/identity_a" not in trainer.lightning_module.train_values
    assert "train/cycle_a" in trainer.lightning_module.train_values


def test_generator_loss_is_the_weighted_sum_of_its_terms():
    _, trainer = fit(make_cyclegan(lambda_a=3.0, lambda_b=7.0, lambda_identity=0.5), iters=1)
    m = {k.removeprefix("train/"): v for k, v in trainer.lightning_module.train_values.items()}
    expected = (
        m["g_adv_a2b"]
        + m["g_adv_b2a"]
        + 3.0 * m["cycle_a"]
        + 7.0 * m["cycle_b"]
        + 0.5 * (7.0 * m["identity_b"] + 3.0 * m["identity_a"])
    )
    assert m["g_loss"] == pytest.approx(expected, rel=1e-6)
    # D's loss is half of the sum of the two discriminators' losses (d_loss_weight=0.5).
    assert m["d_loss"] == pytest.approx(0.5 * (m["d_loss_a"] + m["d_loss_b"]), rel=1e-6)


def test_linear_decay_values():
    f = LinearDecay(constant=100, decay=100)
    assert [f(0), f(50), f(100), f(150), f(200), f(250)] == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert LinearDecay(10, 0)(50) == 1.0


def test_lr_schedule_in_a_run_constant_then_linear_to_zero():
    # 8 iterations, schedule unset: 4 at the initial rate, then 4 decaying to 0.
    model = make_cyclegan(lr_schedule={"interval": "iteration"})
    steps, _ = fit(model, iters=8)
    lrs = [s["lr"] for s in steps if s["opt"] == "g"]
    assert lrs == pytest.approx([1e-3] * 5 + [7.5e-4, 5e-4, 2.5e-4])
    assert model.lr_schedulers()[0].get_last_lr()[0] == pytest.approx(0.0)  # at the end
    d_lrs = [s["lr"] for s in steps if s["opt"] == "d"]
    assert d_lrs == lrs  # both optimizers follow the same schedule


def test_lr_schedule_by_epoch():
    model = make_cyclegan(lr_schedule={"interval": "epoch", "constant": 1, "decay": 2})
    trainer = quiet_trainer(
        max_epochs=3,
        limit_train_batches=2,
    )
    seen = []

    class EpochLR(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            seen.append(module.optimizers()[0].param_groups[0]["lr"])

    trainer.callbacks.append(EpochLR())
    trainer.fit(model, pairs())
    assert seen == pytest.approx([1e-3, 1e-3, 5e-4])


def test_schedule_needs_a_run_length():
    model = make_cyclegan(lr_schedule={"interval": "iteration"})
    trainer = quiet_trainer(max_epochs=-1, max_steps=-1)
    model.trainer = trainer
    with pytest.raises(ConfigError, match="model.lr_schedule"):
        model.configure_optimizers()


def test_bad_settings_refused():
    with pytest.raises(ConfigError, match="interval"):
        make_cyclegan(lr_schedule={"interval": "week"})
    with pytest.raises(ConfigError, match="pool_size"):
        make_cyclegan(pool_size=-1)
    with pytest.raises(ConfigError, match="model.discriminator_a.norm=layer"):
        make_cyclegan(WGANGPLoss(), norm="batch")
    make_cyclegan(WGANGPLoss(), norm="instance")  # per sample: accepted


def test_translate_shapes_and_directions():
    model = make_cyclegan()
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    ab, ba = model.translate(x, "a2b"), model.translate(x, "b2a")
    assert ab.shape == ba.shape == (3, 1, 16, 16)
    assert not torch.equal(ab, ba)  # two different generators
    assert ab.abs().max() <= 1
    with pytest.raises(ConfigError, match="a2b, b2a"):
        model.translate(x, "ab")


def test_pools_survive_a_checkpoint():
    model = make_cyclegan(pool_size=3)
    model.pool_a.query(torch.arange(3.0).view(3, 1, 1, 1))
    ckpt = {}
    model.on_save_checkpoint(ckpt)
    fresh = make_cyclegan(pool_size=3)
    fresh.on_load_checkpoint(ckpt)
    assert torch.equal(torch.cat(fresh.pool_a.images), torch.cat(model.pool_a.images))
    assert len(fresh.pool_b) == 0
