"""Quiet small Lightning fits (a feature network, downstream classifiers) inside a run."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager


@contextmanager
def quiet_lightning():
    """No Trainer set-up lines around a fit, and no advice that does not apply to images
    held in memory (loader workers would only add start-up time)."""
    log = logging.getLogger("lightning.pytorch")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers")
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
            yield
    finally:
        log.setLevel(level)
