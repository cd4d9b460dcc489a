"""Feature statistics files: the mean and covariance of one set of images' features, in
pytorch-fid's npz layout (``mu``, ``sigma``), plus ganlab's ``protocol`` (a JSON string:
the feature network, its weights, the image count and where the images came from).

A file written by pytorch-fid (``--save-stats``) has no protocol: it is read as Inception
pool features, and the report says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ganlab.errors import ConfigError


def save_stats(path: str | Path, mu: torch.Tensor, sigma: torch.Tensor, protocol: dict) -> Path:
    path = Path(path).expanduser()
    if path.suffix != ".npz":  # numpy would add it, and the report would name another file
        raise ConfigError(f"save_stats={path}: a statistics file ends in .npz.")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        mu=mu.double().numpy(),
        sigma=sigma.double().numpy(),
        protocol=np.array(json.dumps(protocol, sort_keys=True)),
    )
    return path


def load_stats(path: str | Path) -> tuple[torch.Tensor, torch.Tensor, dict | None]:
    """(mu, sigma, protocol or None) of a statistics file, checked."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"ref_stats={path}: there is no such file.")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"mu", "sigma"} - set(f.files)
            if missing:
                raise ConfigError(
                    f"ref_stats={path} has no {' or '.join(sorted(missing))}: a statistics file "
                    f"holds mu and sigma (pytorch-fid's npz layout); it holds {', '.join(f.files)}."
                )
            mu, sigma = torch.from_numpy(f["mu"]), torch.from_numpy(f["sigma"])
            protocol = json.loads(str(f["protocol"])) if "protocol" in f.files else None
    except (OSError, ValueError) as exc:  # not an npz (zip) file, or a damaged one
        raise ConfigError(f"ref_stats={path} cannot be read as an npz file ({exc}).") from None
    d = mu.shape[0] if mu.ndim == 1 else -1
    if mu.ndim != 1 or tuple(sigma.shape) != (d, d):
        raise ConfigError(
            f"ref_stats={path}: mu is {tuple(mu.shape)} and sigma {tuple(sigma.shape)}; a "
            "statistics file holds a mean (D,) and a covariance (D, D)."
        )
    return mu.double(), sigma.double(), protocol
