"""The data/degrade config group: each yaml builds its class with the Python defaults."""

import inspect
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ganlab import degrade
from ganlab.cli.check_config import check_targets
from ganlab.cli.common import CONF_DIR

GROUP = Path(CONF_DIR, "data", "degrade")
CLASSES = {
    "none": degrade.NoDegradation,
    "downsample": degrade.Downsample,
    "mask": degrade.Mask,
    "noise": degrade.Noise,
    "blur": degrade.Blur,
    "jpeg": degrade.JPEG,
}


def test_every_config_file_is_known():
    assert sorted(p.stem for p in GROUP.glob("*.yaml")) == sorted(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_configs_instantiate_with_the_python_defaults(name):
    cfg = OmegaConf.load(GROUP / f"{name}.yaml")
    check_targets(OmegaConf.create({"data": {"degrade": cfg}}), keys=("data",))
    deg = instantiate(cfg)
    assert type(deg) is CLASSES[name] and isinstance(deg, degrade.Degradation)
    parameters = inspect.signature(CLASSES[name]).parameters
    settings = {k: v for k, v in cfg.items() if k != "_target_"}
    assert settings == {k: p.default for k, p in parameters.items()}


def test_the_package_exports():
    assert sorted(degrade.__all__) == sorted(
        [*(c.__name__ for c in CLASSES.values()), "Degradation", "generators"]
    )
