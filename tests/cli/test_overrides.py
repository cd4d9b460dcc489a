"""Command-line mistakes end in one line naming the override and what would be valid."""

import pytest

from ganlab.cli.overrides import check_overrides
from ganlab.errors import ConfigError
from tests.conftest import SMALL, TINY, run_cli


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["model=dcgn"],
            (
                "model=dcgn is not a choice. Did you mean dcgan? "
                "The choices for model are: cdcgan, csngan, cyclegan, dcgan, pix2pix, sngan, vae, vaegan."
            ),
        ),
        (
            ["-m", "loss=js,lss"],
            "loss=lss is not a choice. Did you mean ls? The choices for loss are: hinge, js, ls, wgan, wgan_gp.",
        ),
        (
            ["features=[mnistnet,incepton]"],
            "features=incepton is not a choice. Did you mean inception?",
        ),
        (
            ["model.generator.ngff=3"],
            (
                "model.generator.ngff is not a setting of this config. Did you mean ngf? The "
                "settings under model.generator are: _target_, channels, image_size, ngf, nz. "
                "(To add a new key on purpose, write +model.generator.ngff=...)"
            ),
        ),
        (["-m", "seed=0,1", "trainer.max_epoch=3"], "Did you mean max_epochs?"),
        (["mdel.lr=3"], "mdel is not a setting of this config. Did you mean model?"),
        (["max_iters=["], "cannot read the override 'max_iters=[' (no viable alternative"),
        (
            ["model=vae", "model.likelihood=gaussian"],
            (
                "model.likelihood is chosen from a group of configs: write "
                "model/likelihood=gaussian (the choices for model/likelihood are: bernoulli, "
                "gaussian); its settings are model.likelihood.<name>=value."
            ),
        ),
        (["model=vae", "model/likelihood=gauss"], "Did you mean gaussian?"),
    ],
)
def test_mistakes_name_the_override_and_the_valid_choices(args, message):
    with pytest.raises(ConfigError) as err:
        check_overrides("train", args)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-m", "loss=js,ls,wgan_gp", "seed=range(0,3)", "model.g_optimizer.lr=1e-4,2e-4"],
        ["experiment=cyclegan_mnist", "model.generator_ab.ngf=4", "loss=ls"],
        ["-m", "sweep=losses", "hydra.sweep.dir=/tmp/x"],
        ["model=vae", "model/likelihood=gaussian", "model.likelihood.sigma=0.2"],
        ["-m", "model=dcgan,vae", "data.binarize=sample"],
        [*TINY, "+features.proj._target_=tests.helpers.Projection", "features=[]"],
        ["--cfg", "job"],  # Hydra's own modes are left to Hydra
    ],
)
def test_valid_command_lines_pass(args):
    check_overrides("train", args)


def test_the_cli_prints_one_line_and_exits_1(tmp_path):
    res = run_cli("train", "loss=wgan-gp", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "ganlab: error: loss=wgan-gp is not a choice. Did you mean wgan_gp? "
        "The choices for loss are: hinge, js, ls, wgan, wgan_gp."
    )
    assert not (tmp_path / "outputs").exists()  # stopped before Hydra made a run directory


def test_a_run_folder_on_a_read_only_disk_is_one_line_naming_where_to_write(tmp_path, monkeypatch):
    import os
    from types import SimpleNamespace

    # Root may write anywhere and tests cannot mount a read-only disk: os reports one.
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: p != tmp_path and access(p, mode))
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_flag=os.ST_RDONLY))
    with pytest.raises(ConfigError) as err:
        check_overrides("train", [f"paths.log_dir={tmp_path}/logs"])
    assert str(err.value).startswith(f"cannot create the run folder {tmp_path}/logs/train/runs/")
    assert str(err.value).endswith(
        f": {tmp_path} is on a read-only file system. Set GANLAB_LOG_DIR (or paths.log_dir=...) "
        "to a folder you can write to, or choose one with hydra.run.dir=<folder>."
    )
    # A sweep creates hydra.sweep.dir; a folder that exists is written in, not created.
    monkeypatch.setattr(os, "statvfs", lambda p: SimpleNamespace(f_flag=0))
    with pytest.raises(ConfigError, match="choose one with hydra.sweep.dir=<folder>"):
        check_overrides("train", ["-m", f"paths.log_dir={tmp_path}", "seed=0,1"])
    with pytest.raises(ConfigError) as err:
        check_overrides("train", [f"hydra.run.dir={tmp_path}"])
    assert str(err.value).startswith(
        f"cannot write in the run folder {tmp_path}: it is not writable for you."
    )
    # Writable, or a tool that writes no run folder (ganlab-sample): no error.
    (tmp_path / "ok").mkdir()
    check_overrides("train", [f"paths.log_dir={tmp_path}/ok/logs"])
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    check_overrides("sample", ["ckpt_path=x.ckpt"])


@pytest.fixture
def own_configs(tmp_path):
    """A user's config folder with one data set of its own."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "my_digits.yaml").write_text("defaults: [folder, _self_]\nroot: x\n")
    return tmp_path


def test_own_config_folders_add_choices(own_configs):
    for args in (
        ["--config-dir", str(own_configs), "data=my_digits"],
        [f"--config-dir={own_configs}", "-m", "data=mnist,my_digits"],
        [f"hydra.searchpath=[file://{own_configs}]", "data=my_digits"],
    ):
        check_overrides("train", args)
    with pytest.raises(ConfigError, match="data=my_digits is not a choice"):
        check_overrides("train", ["data=my_digits"])  # without the folder
    with pytest.raises(ConfigError) as err:
        check_overrides("train", ["-cd", str(own_configs), "data=my_digit"])
    assert "Did you mean my_digits? The choices for data are: celeba, " in str(err.value)
    assert ", mnist_unpaired, my_digits, unpaired_folder." in str(err.value)
    with pytest.raises(ConfigError, match="--config-dir nowhere: there is no such folder"):
        check_overrides("train", ["--config-dir", "nowhere", "data=mnist"])


@pytest.mark.parametrize("emptied", ["features", "metrics"])
def test_emptying_the_evaluation_protocol_says_how_to_train_without_it(tmp_path, emptied):
    res = run_cli("train", *SMALL, f"{emptied}=[]", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        f"ganlab: error: {emptied}=[] leaves the evaluation callback nothing to measure: name "
        "some (features=[mnistnet] metrics=[fid]) or train without it: ~callbacks.evaluation."
    )
    # Refused before any logger wrote its records: the run folder holds why, nothing else.
    (run,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    assert sorted(p.name for p in run.iterdir()) == [".hydra", "summary.json", "train.log"]
