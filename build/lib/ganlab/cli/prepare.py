"""ganlab-prepare: a dataset's images decoded once into a uint8 array file (ganlab/data/prepared.py)."""

from __future__ import annotations

import sys
import time

import hydra
import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig

from ganlab.cli.common import CONF_DIR, quiet_library_noise, reports_user_errors, require_values
from ganlab.cli.overrides import checks_overrides


def prepare(cfg: DictConfig):
    """Write the prepared array of ``cfg.data``; returns (path, images, seconds)."""
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    start = time.perf_counter()
    path = datamodule.prepare_images()
    count = len(np.load(path, mmap_mode="r"))
    return path, count, time.perf_counter() - start


@checks_overrides("prepare")
@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="prepare")
@reports_user_errors
def main(cfg: DictConfig) -> None:
    quiet_library_noise()
    require_values(cfg)
    try:
        path, count, seconds = prepare(cfg)
    except KeyboardInterrupt:
        print(
            "ganlab-prepare: stopped before the end. The array's index is written last, so "
            "training will not read the unfinished file; run ganlab-prepare again.",
            file=sys.stderr,
        )
        raise
    size = path.stat().st_size / 2**20
    print(
        f"Prepared {count} images in {seconds:.1f} s: {path} ({size:.1f} MiB). Training with "
        "the same data settings reads it (data.prepared=auto)."
    )


if __name__ == "__main__":
    main()
