"""Every yaml in every config group composes and instantiates; every experiment runs."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from ganlab.cli.check_config import check_targets
from ganlab.cli.common import CONF_DIR
from ganlab.cli.overrides import check_overrides
from ganlab.cli.train import train
from ganlab.models.conditional_gan import fill_label_config
from ganlab.models.loading import build_model
from tests.conftest import CYCLE_TINY, PIX2PIX_TINY, TINY, VAE_TINY, VAEGAN_TINY, compose_train
from tests.data.conftest import build_celeba, build_unpaired_folder

GROUPS = (
    "model",
    "loss",
    "reg",
    "augment",
    "data",
    "trainer",
    "logger",
    "callbacks",
    "paths",
    "sweep",
    "features",
    "metrics",
)
CONFIGS = [(g, p.stem) for g in GROUPS for p in sorted(Path(CONF_DIR, g).glob("*.yaml"))]
SPECIALISED = sorted(p.stem for p in Path(CONF_DIR, "loss_model").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in Path(CONF_DIR, "experiment").glob("*.yaml"))


def data_root(tmp_path: Path, data_dir: Path, name: str) -> Path:
    """A root holding format-correct data for the chosen data config."""
    if name == "celeba":
        build_celeba(tmp_path / "celeba_root")
        return tmp_path / "celeba_root"
    if name == "folder":
        build_celeba(tmp_path / "folder_root")  # any folder of JPEGs will do
        return tmp_path / "folder_root"
    if name == "unpaired_folder":
        return build_unpaired_folder(tmp_path / "unpaired_root")
    if name == "celeba_unpaired":
        build_celeba(tmp_path / "celeba_root")
        return tmp_path / "celeba_root"
    return data_dir


# A model's data: translation models need two domains.
MODEL_DATA = {"cyclegan": "mnist_unpaired"}


def test_every_group_has_configs():
    assert {g for g, _ in CONFIGS} == set(GROUPS)
    assert {"js", "ls", "wgan_gp", "hinge", "wgan"} <= {n for g, n in CONFIGS if g == "loss"}
    assert {n for g, n in CONFIGS if g == "reg"} == {"none", "r1"}
    assert {n for g, n in CONFIGS if g == "augment"} == {"none", "diffaug", "ada"}
    assert {"mnist", "celeba", "folder"} <= {n for g, n in CONFIGS if g == "data"}
    assert {"wandb", "tensorboard", "csv", "none"} <= {n for g, n in CONFIGS if g == "logger"}
    assert {"default", "cpu", "gpu", "ddp"} <= {n for g, n in CONFIGS if g == "trainer"}


@pytest.mark.parametrize("group,name", CONFIGS)
def test_config_composes_and_instantiates(group, name, tmp_path, data_dir):
    overrides = [f"{group}={name}"]
    data = name if group == "data" else MODEL_DATA.get(name if group == "model" else "", "mnist")
    if group == "model":
        overrides.append(f"data={data}")
    if name == "pix2pix":  # restores (degraded, clean) pairs: a mask adds an input channel
        overrides += ["data/degrade=mask", "data.image_size=32"]
    overrides.append(f"data.root={data_root(tmp_path, data_dir, data)}")
    if group == "trainer":
        overrides.append("trainer.accelerator=cpu")  # gpu.yaml's precision etc. still apply
    cfg = compose_train(tmp_path / "run", overrides)
    if group == "sweep":  # every swept value is a valid choice or key (one line otherwise)
        params = [f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()]
        check_overrides("train", ["-m", f"sweep={name}", *params])
        assert len(params) >= 2
    check_targets(cfg)  # every shipped config passes the key and type check
    datamodule = instantiate(cfg.data)
    fill_label_config(cfg.model, datamodule)  # a conditional model's classes (as ganlab-train)
    model = build_model(cfg)
    # The nets take their image size and channels from the data config.
    generator = next(
        getattr(model, k) for k in ("generator_ab", "decoder", "generator") if hasattr(model, k)
    )
    last_conv = [
        m for m in generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    ][-1]
    assert last_conv.out_channels == datamodule.channels == cfg.data.channels
    assert datamodule.image_size == cfg.data.image_size
    trainer = instantiate(cfg.trainer)
    assert trainer.max_epochs == -1
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values()]
    if group == "metrics" and name == "nll":  # ganlab-eval's, refused during training
        with pytest.raises(Exception, match="metrics=nll is measured by ganlab-eval"):
            instantiate(cfg.callbacks.evaluation)
        return
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    assert len(loggers) == {"wandb": 1, "tensorboard": 1}.get(cfg_choice(cfg, "logger"), 0)
    if name == "pix2pix":  # a mask's channel in G's input; D's sees the input and the image
        assert model.generator.in_channels == 2 and model.discriminator.channels == 3
    # progress bar, sample grid, evaluation, checkpoint; a VAE's validation ELBO
    assert len(callbacks) == 4 + (cfg_choice(cfg, "model") in ("vae", "vaegan"))
    evaluation = callbacks[2]
    assert set(evaluation.features) == set(cfg.features) and set(evaluation.metrics) == set(
        cfg.metrics
    )


def cfg_choice(cfg, group):
    return cfg.hydra.runtime.choices[group]


@pytest.mark.parametrize("name", SPECIALISED)
def test_loss_model_specialisations_apply(name, tmp_path, data_dir):
    loss, model = name.rsplit("_", 1)
    data = MODEL_DATA.get(model, "mnist")
    cfg = compose_train(
        tmp_path / "run", [f"loss={loss}", f"model={model}", f"data={data}"], data_dir
    )
    assert cfg_choice(cfg, "loss_model") == name
    fill_label_config(cfg.model, instantiate(cfg.data))
    build_model(cfg)  # e.g. no BatchNorm critic for WGAN-GP


def test_cdcgan_is_dcgan_with_labels(tmp_path, data_dir):
    dcgan = compose_train(tmp_path / "a", ["model=dcgan"], data_dir).model
    cdcgan = compose_train(tmp_path / "b", ["model=cdcgan"], data_dir).model
    assert cdcgan._target_ == "ganlab.models.ConditionalGAN"
    assert (cdcgan.generator.ngf, cdcgan.discriminator.ndf) == (dcgan.generator.ngf, 64)
    assert cdcgan.g_optimizer == dcgan.g_optimizer
    wgan = compose_train(tmp_path / "c", ["model=cdcgan", "loss=wgan_gp"], data_dir).model
    assert (wgan.n_critic, wgan.discriminator.norm) == (5, "layer")


def test_wgan_gp_gets_paper_settings(tmp_path, data_dir):
    cfg = compose_train(tmp_path / "run", ["loss=wgan_gp"], data_dir)
    assert cfg.model.n_critic == 5 and cfg.model.discriminator.norm == "layer"
    assert list(cfg.model.d_optimizer.betas) == [0.0, 0.9] and cfg.model.d_optimizer.lr == 1e-4
    assert compose_train(tmp_path / "js", ["loss=js"]).model.n_critic == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_trains_with_tiny_limits(name, tmp_path, data_dir):
    cfg = compose_train(tmp_path / "run", [f"experiment={name}"])
    tiny = [o for o in CYCLE_TINY if not o.startswith("experiment=")]
    model = cfg_choice(cfg, "model")
    tiny = {"cyclegan": tiny, "vae": VAE_TINY, "vaegan": VAEGAN_TINY, "pix2pix": PIX2PIX_TINY}.get(
        model, TINY
    )
    tiny = [o for o in tiny if not o.startswith(("model=", "data/degrade="))]
    cfg = compose_train(tmp_path / "run", [f"experiment={name}", *tiny, "max_iters=2"])
    root = data_root(tmp_path, data_dir, cfg_choice(cfg, "data"))
    cfg = compose_train(
        tmp_path / "run",
        [
            f"experiment={name}",
            *tiny,
            "max_iters=2",
            "data.batch_size=2",
            "data.num_workers=0",
            f"data.root={root}",
        ],
    )
    summary = train(cfg)
    assert summary["status"] == "completed" and summary["g_steps"] == 2


def test_wgan_gets_the_papers_rmsprop_and_n_critic(tmp_path, data_dir):
    cfg = compose_train(tmp_path / "run", ["loss=wgan"], data_dir)
    assert cfg.model.n_critic == 5 and cfg.loss.clip == 0.01
    for opt in (cfg.model.g_optimizer, cfg.model.d_optimizer):
        assert opt._target_ == "torch.optim.RMSprop" and opt.lr == 5e-5 and "betas" not in opt
    for opt in build_model(cfg).configure_optimizers():
        assert isinstance(opt, torch.optim.RMSprop) and opt.param_groups[0]["lr"] == 5e-5
