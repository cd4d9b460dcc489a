"""speed: channels_last, torch.compile, fused optimizers; and fp16's gradient scaler."""

import functools
import math

import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch.plugins import MixedPrecision
from torch.utils.data import DataLoader, TensorDataset

from ganlab.errors import ConfigError
from ganlab.losses import WGANGPLoss
from ganlab.models.speed import Speed
from tests.helpers import quiet_trainer
from tests.models.test_gan import StepRecorder, make_gan


def batches():
    torch.manual_seed(0)
    return DataLoader(TensorDataset(torch.rand(32, 1, 28, 28) * 2 - 1), batch_size=4)


def fit(model, iters, **trainer_kwargs):
    trainer = quiet_trainer(max_steps=model.clock.steps(iters), **trainer_kwargs)
    trainer.fit(model, batches())
    return trainer


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def adam(**kwargs):
    return functools.partial(torch.optim.Adam, lr=1e-3, **kwargs)


@pytest.mark.parametrize(
    "factory,fused,expected",
    [
        (adam(), True, True),
        (adam(), False, None),  # torch's default (foreach)
        (adam(fused=False), True, False),  # the optimizer's own config wins
        (functools.partial(torch.optim.SGD, lr=0.1), True, True),
        (functools.partial(torch.optim.RMSprop, lr=0.1), True, None),  # takes no `fused`
    ],
)
def test_fused_optimizers_where_the_optimizer_takes_it(factory, fused, expected):
    params = [torch.nn.Parameter(torch.ones(3))]
    opt = Speed(fused_optimizers=fused).optimizer(factory, params)
    assert opt.defaults.get("fused") is expected


def test_the_trained_module_gets_fused_optimizers():
    model = make_gan()
    model.g_optimizer = model.d_optimizer = adam()  # as Hydra makes it from the config
    fit(model, iters=1)
    assert [opt.optimizer.defaults["fused"] for opt in model.optimizers()] == [True, True]


def test_channels_last_converts_weights_and_batches():
    model = make_gan()
    model.speed = Speed(channels_last=True)
    model.configure_model()
    convs = [p for p in model.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    images = model.speed.images(torch.rand(2, 3, 8, 8))
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert model.speed.images(torch.rand(2, 8)).shape == (2, 8)  # not images: unchanged


def test_channels_last_and_compile_train_the_same_weights():
    """The layout and compilation change how, not what, is computed: with torch.compile's
    eager backend (the graph capture without code generation) and NHWC weights, 3
    iterations end with the same weights as plain training."""
    torch.manual_seed(0)
    plain = make_gan()
    torch.manual_seed(0)
    fast = make_gan()
    fast.speed = Speed(channels_last=True, compile=True, compile_options={"backend": "eager"})
    for model in (plain, fast):
        torch.manual_seed(1)
        fit(model, iters=3)
    assert fast.generator._compiled_call_impl is not None
    a, b = weights(plain), weights(fast)
    assert a.keys() == b.keys()  # nn.Module.compile: no _orig_mod in the checkpoint's keys
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6, msg=key)
    assert not torch.equal(
        a["generator.main.0.weight"], make_gan().state_dict()["generator.main.0.weight"]
    )


def test_a_gradient_penalty_critic_is_not_compiled():
    model = make_gan(WGANGPLoss(), norm="layer")
    model.speed = Speed(compile=True, compile_options={"backend": "eager"})
    fit(model, iters=2)  # a compiled critic would fail in the penalty's double backward
    assert model.generator._compiled_call_impl is not None
    assert model.discriminator._compiled_call_impl is None
    assert model.g_steps == 2


def test_unknown_compile_options_are_refused():
    with pytest.raises(ConfigError, match="torch.compile takes no bogus; it takes .*mode"):
        Speed(compile_options={"bogus": 1})


@pytest.mark.slow  # seconds each: make test runs it, make test-fast does not
def test_inductor_compiled_training_runs(run_train):
    """Real code generation (inductor) for G; WGAN-GP's critic stays eager."""
    summary, run = run_train(
        "loss=wgan_gp", "speed.compile=true", "speed.channels_last=true", max_iters=2
    )
    assert summary["status"] == "completed" and summary["g_steps"] == 2
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert "generator.main.0.weight" in saved["state_dict"]


def test_speed_settings_reach_the_module(tmp_path, data_dir):
    from tests.conftest import TINY, compose_train

    cfg = compose_train(
        tmp_path,
        [*TINY, "speed.channels_last=true", "speed.fused_optimizers=false",
         "speed.compile_options={mode: max-autotune}"],
        data_dir,
    )  # fmt: skip
    speed = instantiate(cfg.speed)
    assert (speed.channels_last, speed.compile, speed.fused_optimizers) == (True, False, False)
    assert speed.compile_options == {"mode": "max-autotune"}


def fp16_plugin(init_scale: float):
    """fp16 autocast with a gradient scaler, on the CPU (Lightning's Trainer refuses
    precision=16-mixed there, but takes the plugin)."""
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=1000)
    return MixedPrecision("16-mixed", "cpu", scaler=scaler)


@pytest.mark.parametrize("clip", [None, 0.5])
def test_fp16_scaler_overflow_skips_the_step_instead_of_diverging(clip):
    """A scale of 2**100 overflows the fp16 gradients: the scaler skips those steps and
    lowers its scale until the gradients fit, and the run trains on, where ganlab's check
    alone would stop it as diverged. The logged norms are the true (unscaled) ones, and
    clipping clips the true norm."""
    model = make_gan(grad_clip_d=clip, grad_clip_g=clip)
    recorder = StepRecorder()
    plugin = fp16_plugin(2.0**100)
    fit(model, iters=3, plugins=[plugin], callbacks=[recorder])
    assert plugin.scaler.get_scale() < 2.0**60  # lowered by the overflows
    assert model.g_steps == 3 and model.nonfinite_skips == 0
    # Only the updates taken reach the optimizer (3 D + 3 G: skips do not count towards
    # max_iters), and Lightning has unscaled their gradients by then.
    taken = recorder.steps
    assert len(taken) == 6 and all(math.isfinite(s["grad_norm"]) for s in taken)
    logged = model.train_values["train/grad_norm_g"]  # the last G update's
    assert 0 < logged < 1e3  # scaled, it would be above 2**40
    if clip is None:
        assert logged == pytest.approx(taken[-1]["grad_norm"], rel=1e-3)
    else:
        assert all(s["grad_norm"] <= clip * 1.001 for s in taken)


@pytest.mark.parametrize(
    "device,compile,nhwc", [("cuda", False, True), ("cuda", True, False), ("cpu", False, False)]
)
def test_channels_last_auto_is_on_for_a_cuda_gpu_without_compile(device, compile, nhwc):
    speed = Speed(channels_last="auto", compile=compile, compile_options={"backend": "eager"})
    net = torch.nn.Conv2d(3, 4, 3)
    speed.prepare(net, {"net": net}, eager=[], device_type=device)
    assert speed.nhwc is nhwc
    assert net.weight.is_contiguous(memory_format=torch.channels_last) is nhwc


def test_channels_last_takes_true_false_or_auto():
    with pytest.raises(ConfigError, match="speed.channels_last must be true, false or auto"):
        Speed(channels_last="yes")
