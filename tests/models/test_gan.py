"""The GAN module's update rule, observed through Lightning's optimizer-step hook."""

import itertools

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganlab.errors import ConfigError
from ganlab.losses import JSLoss, WGANGPLoss
from ganlab.models import GAN
from ganlab.nets import DCGANDiscriminator, DCGANGenerator
from tests.helpers import quiet_trainer


def make_gan(loss=None, norm="batch", **kwargs):
    adam = lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
    return GAN(
        DCGANGenerator(28, 1, nz=8, ngf=4),
        DCGANDiscriminator(28, 1, ndf=4, norm=norm),
        loss or JSLoss(),
        adam,
        adam,
        **kwargs,
    )


class StepRecorder(L.Callback):
    """Before each optimizer step: which net it updates, its grad norm, and all parameters."""

    def __init__(self):
        self.steps = []

    def on_before_optimizer_step(self, trainer, module, optimizer):
        first = optimizer.param_groups[0]["params"][0]
        net = "g" if any(first is p for p in module.generator.parameters()) else "d"
        grads = [p.grad for p in optimizer.param_groups[0]["params"] if p.grad is not None]
        self.steps.append(
            {
                "net": net,
                "grad_norm": torch.nn.utils.get_total_norm(grads).item(),
                "g": [p.detach().clone() for p in module.generator.parameters()],
                "d": [p.detach().clone() for p in module.discriminator.parameters()],
            }
        )


def fit(model, iters, batches=64):
    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.rand(batches * 4, 1, 28, 28) * 2 - 1), batch_size=4)
    recorder = StepRecorder()
    trainer = quiet_trainer(
        max_steps=model.clock.steps(iters),
        callbacks=[recorder],
    )
    trainer.fit(model, data)
    return recorder.steps


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_d_updates_then_one_g_update(n_critic):
    model = make_gan(n_critic=n_critic)
    steps = fit(model, iters=4)
    assert [s["net"] for s in steps] == (["d"] * n_critic + ["g"]) * 4
    assert (model.g_steps, model.d_steps, model.images_seen) == (4, 4 * n_critic, 4 * n_critic * 4)


def test_each_update_changes_only_its_own_network():
    steps = fit(make_gan(n_critic=2), iters=3)
    # Consecutive snapshots bracket exactly one optimizer step: the one of the first snapshot.
    for before, after in itertools.pairwise(steps):
        mine, other = ("g", "d") if before["net"] == "g" else ("d", "g")
        assert not same(before[mine], after[mine]), (
            f"a {mine.upper()} update left {mine.upper()} unchanged"
        )
        assert same(before[other], after[other]), f"a {mine.upper()} update changed {other.upper()}"


def test_generator_runs_once_per_discriminator_batch():
    model = make_gan(n_critic=2)
    calls = []
    model.generator.register_forward_hook(lambda *args: calls.append(1))
    fit(model, iters=3)
    assert len(calls) == model.d_steps == 6  # the G update reuses the last D batch's fakes


@pytest.mark.parametrize("net", ["d", "g"])
def test_gradient_clipping_per_network(net):
    model = make_gan(**{f"grad_clip_{net}": 1e-3})
    steps = fit(model, iters=3)
    clipped = [s["grad_norm"] for s in steps if s["net"] == net]
    free = [s["grad_norm"] for s in steps if s["net"] != net]
    assert max(clipped) <= 1e-3 * (1 + 1e-4)
    assert min(free) > 1e-2  # the other network is left alone


def test_wgan_gp_refuses_batchnorm_critic():
    with pytest.raises(ConfigError, match="model.discriminator.norm=layer"):
        make_gan(WGANGPLoss(), norm="batch")
    make_gan(WGANGPLoss(), norm="layer")  # accepted


def test_invalid_n_critic():
    with pytest.raises(ConfigError, match="n_critic"):
        make_gan(n_critic=0)


def test_counters_survive_a_checkpoint():
    model = make_gan()
    model.g_steps, model.d_steps, model.images_seen = 7, 14, 112
    ckpt = {}
    model.on_save_checkpoint(ckpt)
    fresh = make_gan()
    fresh.on_load_checkpoint(ckpt)
    assert (fresh.g_steps, fresh.d_steps, fresh.images_seen) == (7, 14, 112)


def test_logged_values_are_the_last_updates_and_can_be_monitored(tmp_path):
    """The values written each log_every_n_steps batch are those of that batch's updates,
    and reach callback_metrics as self.log's would: a checkpoint can monitor a loss."""
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    model, recorder = make_gan(), StepRecorder()
    best = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="train/g_loss", save_top_k=1)
    trainer = quiet_trainer(
        max_steps=8,
        callbacks=[recorder, best],
        logger=CSVLogger(tmp_path, name="", version=""),
        enable_checkpointing=True,
        log_every_n_steps=2,
    )
    data = DataLoader(TensorDataset(torch.rand(64, 1, 28, 28) * 2 - 1), batch_size=4)
    trainer.fit(model, data)
    values = model.train_values
    last_g = [s for s in recorder.steps if s["net"] == "g"][-1]
    assert values["train/grad_norm_g"] == pytest.approx(last_g["grad_norm"], rel=1e-5)
    assert values["train/lr_d"] == 1e-3
    assert {k: v.item() for k, v in trainer.callback_metrics.items()} == values
    assert best.best_model_score is not None and len(list((tmp_path / "ckpt").iterdir())) == 1
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert {"epoch", "step", "train/d_loss", "train/grad_norm_g"} <= set(header)
    assert [r.split(",")[header.index("step")] for r in rows[1:]] == ["1", "3"]
