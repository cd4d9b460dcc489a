"""Every data config (ganlab/conf/data/*.yaml) against its class: each constructor argument is a
key, with the same default, so what the README's tables and --help show is what runs."""

import pytest

from tests.data.conftest import CONF_DIR

DATA = sorted(p.stem for p in CONF_DIR.glob("*.yaml"))
# Data that has no bundled copy and no usual place: its root must be given.
ROOT_REQUIRED = {"folder", "unpaired_folder"}
UNPAIRED = {"celeba_unpaired", "mnist_unpaired", "unpaired_folder"}


CLASSES = {
    "celeba": "CelebADataModule",
    "celeba_unpaired": "CelebAUnpairedDataModule",
    "folder": "FolderDataModule",
    "mnist": "MNISTDataModule",
    "mnist_unpaired": "MNISTUnpairedDataModule",
    "unpaired_folder": "UnpairedFolderDataModule",
}


def test_every_data_config_is_checked():
    assert DATA == sorted(CLASSES)


@pytest.mark.parametrize("name", DATA)
def test_config_matches_constructor(config_vs_signature, name):
    target, conf, defaults = config_vs_signature(name)
    assert target == f"ganlab.data.{CLASSES[name]}"
    assert conf.pop("root") == ("???" if name in ROOT_REQUIRED else "${paths.data_dir}")
    defaults.pop("root")
    # The degradation is a nested group (data/degrade=...), none by default; two unpaired
    # domains have none to offer.
    degrade = defaults.pop("degrade")
    assert degrade is None
    if name in UNPAIRED:
        assert "defaults" not in conf
    else:
        assert conf.pop("defaults") == [{"degrade": "none"}, "_self_"]
    assert conf == defaults  # every argument is a key, with the same default


def test_unpaired_folder_keeps_the_cyclegan_papers_sizes(config_vs_signature):
    _, conf, _ = config_vs_signature("unpaired_folder")
    assert (conf["batch_size"], conf["image_size"], conf["load_size"]) == (1, 256, 286)
