"""Every ganlab/conf/downstream/ choice builds its measure with the settings it documents."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ganlab.cli.common import CONF_DIR

CHOICES = sorted(p.stem for p in (Path(CONF_DIR) / "downstream").glob("*.yaml"))


def test_the_choices():
    assert CHOICES == ["augment_lowdata", "face_recognition", "gan_train_test"]


@pytest.mark.parametrize("name", CHOICES)
def test_each_config_builds_its_measure(name):
    cfg = OmegaConf.load(Path(CONF_DIR) / "downstream" / f"{name}.yaml")
    task = instantiate(cfg)
    assert task.name == name
    for key, value in cfg.items():  # every documented setting reaches the measure
        if key not in ("_target_", "classifier"):
            assert getattr(task, key) == value, key
