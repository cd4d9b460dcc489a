"""Wrong keys and types in _target_ nodes: one clear message before anything is built."""

import pytest

from ganlab.cli.check_config import check_targets
from ganlab.errors import ConfigError
from tests.conftest import CYCLE_TINY, TINY, compose_train, run_cli


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.generator.ngf=abc", "model.generator.ngf must be int, got 'abc'."),
        ("model.n_critic=1.5", "model.n_critic must be int, got 1.5."),
        ("model.ema_decay=yes", "model.ema_decay must be float or null, got 'yes'."),
        ("loss.saturating=3", "loss.saturating must be bool, got 3."),
        (
            "+model.generator.ngff=3",
            (
                "model.generator.ngff is not a setting of ganlab.nets.DCGANGenerator; its "
                "settings are: image_size, channels, nz, ngf, output."
            ),
        ),
        ("data.batch_size=big", "data.batch_size must be int, got 'big'."),  # a base's key
        (
            "+data.batch_sise=3",
            (
                "data.batch_sise is not a setting of ganlab.data.MNISTDataModule; its settings "
                "are: root, image_size, channels, batch_size, num_workers, pin_memory, "
                "persistent_workers, drop_last, hflip, limit, repeat, degrade, download, binarize."
            ),
        ),
    ],
)
def test_wrong_key_or_type_is_named(tmp_path, data_dir, override, message):
    cfg = compose_train(tmp_path / "run", [*TINY, override], data_dir)
    with pytest.raises(ConfigError) as info:
        check_targets(cfg)
    assert str(info.value) == message


def test_ints_pass_for_floats_and_nested_models_are_checked(tmp_path, data_dir):
    ok = compose_train(tmp_path / "a", [*TINY, "model.g_optimizer.lr=1", "loss=wgan_gp"])
    check_targets(ok)  # lr=1 is a fine float; Adam's richer annotations are left alone
    bad = compose_train(tmp_path / "b", [*CYCLE_TINY, "model.generator_ab.n_blocks=two"], data_dir)
    with pytest.raises(ConfigError, match="model.generator_ab.n_blocks must be int"):
        check_targets(bad)


def test_cli_reports_it_before_touching_data(tmp_path):
    missing = tmp_path / "nowhere"
    res = run_cli("train", *TINY, "+model.generator.ngff=3", f"data.root={missing}", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == (
        "ganlab: error: model.generator.ngff is not a setting of ganlab.nets.DCGANGenerator; "
        "its settings are: image_size, channels, nz, ngf, output."
    )
    assert not missing.exists()  # MNIST was not extracted there
