"""ganlab as a built wheel, installed into a fresh virtual environment without the source
tree: the configs ship inside the package, and a user's own configs and code plug in
through Hydra's --config-dir (README, "Your own configs and code")."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO

pytestmark = pytest.mark.slow

# What a clone holds at its top besides the package's source (environment, data, runs).
NOT_SOURCE = {".git", ".venv", "data", "outputs", "multirun", "build", "dist", "reproduce"}


def not_source(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: NOT_SOURCE at the top only (ganlab/data is source)."""
    top = Path(folder) == REPO
    return {n for n in names if (top and n in NOT_SOURCE) or n.endswith(".egg-info")}


# Small and quick: no evaluation, no progress bar, a CSV log.
QUICK = [
    "max_iters=2",
    "logger=csv",
    "~callbacks.evaluation",
    "~callbacks.progress_bar",
    "data.batch_size=8",
    "trainer.enable_model_summary=false",
]


def run(*command, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    # The source tree kept off the path: only the installed wheel can answer.
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(  # the tests read returncode themselves
        [str(c) for c in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**clean, "HYDRA_FULL_ERROR": "0", **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this tree (its bin/ folder). The dependencies
    come from this interpreter's site-packages through a .pth file (no download); only paths
    are added that way, so an editable install of ganlab there stays inactive."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info into the tree it builds.
    source = shutil.copytree(REPO, tmp / "source", ignore=not_source)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", tmp / "dist", source, cwd=tmp)  # fmt: skip
    (wheel,) = (tmp / "dist").glob("ganlab-*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel,
        cwd=tmp)  # fmt: skip
    return venv / "bin"


def test_the_wheel_trains_without_the_source_tree(installed, tmp_path, data_dir):
    where = run(installed / "python", "-c", "import ganlab; print(ganlab.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent)
    run(installed / "ganlab-train", *QUICK, f"data.root={data_dir}", "hydra.run.dir=run",
        cwd=tmp_path)  # fmt: skip
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["status"], summary["g_steps"]) == ("completed", 2)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_own_configs_and_generator_in_a_sweep(installed, tmp_path):
    """The README's example as written: examples/own_configs' data set and generator next to
    ganlab's DCGAN in one sweep, from the installed wheel."""
    example = shutil.copytree(REPO / "examples" / "own_configs", tmp_path / "own_configs")
    digits = example / "my_digits"
    digits.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(digits / f"{i}.png")
    run(installed / "ganlab-train", "--config-dir", "conf", "-m", "model=dcgan,mlp_gan",
        "data=my_digits", *QUICK, "hydra.sweep.dir=sweep", cwd=example,
        env={"PYTHONPATH": str(example)})  # fmt: skip
    jobs = {}
    for job in sorted((example / "sweep").glob("[0-9]*")):
        summary = json.loads((job / "summary.json").read_text())
        jobs[summary["model"]] = summary
        assert (summary["status"], summary["g_steps"], summary["data"]) == (
            "completed",
            2,
            "my_digits",
        )
    assert sorted(jobs) == ["dcgan", "mlp_gan"]
    hparams = (example / "sweep" / "1" / "hparams.yaml").read_text()
    assert "model.generator._target_: mypkg.nets.MLPGenerator" in hparams
    # A mistaken choice is still told in one line, with the user's options listed.
    bad = subprocess.run(
        [installed / "ganlab-train", "--config-dir", "conf", "data=my_digit", *QUICK],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert bad.returncode == 1
    assert "data=my_digit is not a choice. Did you mean my_digits?" in bad.stderr
