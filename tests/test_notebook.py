"""notebooks/quickstart.ipynb, executed as a reader runs it (nbclient, the venv's python3
kernel, CPU), so that the notebook cannot rot."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import time

import nbformat
import pytest
from nbclient import NotebookClient
from PIL import Image

from ganlab.metrics.mnistnet_train import cache_paths
from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"


def cell(nb, cell_id: str):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def text_of(code_cell) -> str:
    """What a reader sees as text: printed streams and plain-text results."""
    parts = []
    for out in code_cell.outputs:
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def images_of(code_cell) -> list[Image.Image]:
    """The images a cell displays, in order."""
    pngs = [o["data"]["image/png"] for o in code_cell.outputs if "image/png" in o.get("data", {})]
    return [Image.open(io.BytesIO(base64.b64decode(png))) for png in pngs]


@pytest.fixture(scope="module")
def executed(tmp_path_factory, data_dir, mnistnet_cache):
    """The notebook run once in an empty folder, with the environment variables a user sets:
    (executed notebook, folders, seconds)."""
    root = tmp_path_factory.mktemp("notebook")
    dirs = {name: root / name for name in ("cwd", "logs", "cache")}
    for folder in dirs.values():
        folder.mkdir()
    # A copy of the session's trained network: the notebook's evaluation also caches real
    # features in its cache dir, which must not leak into the metric tests' cache.
    net_dir = cache_paths(mnistnet_cache)[0].parent
    shutil.copytree(net_dir, dirs["cache"] / net_dir.name)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel inherits this process's environment; "python3" resolves to this python
    # (jupyter_client runs a spec's "python" as sys.executable), i.e. the venv's.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANLAB_DATA_DIR", str(data_dir))
        mp.setenv("GANLAB_LOG_DIR", str(dirs["logs"]))
        mp.setenv("GANLAB_CACHE_DIR", str(dirs["cache"]))
        # When other processes share the 2 cores, OpenMP threads that spin while they wait
        # made the training cell ~4x slower (measured); sleeping threads keep its time stable.
        mp.setenv("OMP_WAIT_POLICY", "PASSIVE")
        client = NotebookClient(
            nb,
            timeout=300,  # a guard against a hung kernel, not a speed test
            kernel_name="python3",
            resources={"metadata": {"path": str(dirs["cwd"])}},
        )
        start = time.perf_counter()
        client.execute()  # raises CellExecutionError, with the cell's traceback, on any error
        seconds = time.perf_counter() - start
    print(f"\nquickstart.ipynb executed in {seconds:.1f} s")  # shown with -s
    return nb, dirs, seconds


def test_notebook_is_committed_clean():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    # Runs anywhere: no path that only exists beside this repository's checkout.
    assert not re.search(r"(\.\./|/work/)shared", NOTEBOOK.read_text())


@pytest.mark.slow
def test_notebook_trains_in_the_log_dir(executed):
    nb, dirs, _ = executed
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    max_iters = int(re.search(r'"max_iters=(\d+)"', cell(nb, "compose").source)[1])
    (summary_path,) = dirs["logs"].glob("train/runs/*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "completed"
    assert summary["g_steps"] == max_iters
    assert (summary["model"], summary["loss"], summary["data"]) == ("dcgan", "js", "mnist")
    assert f'"g_steps": {max_iters}' in text_of(cell(nb, "train"))  # the summary is printed
    assert (summary_path.parent / "checkpoints" / "last.ckpt").is_file()
    # The environment variables placed everything: nothing lands in the working folder.
    assert list(dirs["cwd"].iterdir()) == []


@pytest.mark.slow
def test_notebook_shows_grids(executed):
    nb, dirs, _ = executed
    (run_dir,) = dirs["logs"].glob("train/runs/*")
    saved = sorted((run_dir / "samples").glob("step_*.png"))
    assert len(saved) >= 2  # several stages of training, not only the end
    assert len(images_of(cell(nb, "grids"))) == len(saved)
    # show(): 28-pixel digits enlarged 3 times, 4 pixels of padding around each.
    (grid,) = images_of(cell(nb, "sample"))
    assert grid.size == (8 * 84 + 9 * 4, 8 * 84 + 9 * 4)
    walk, strips = images_of(cell(nb, "interp"))
    assert walk.size == (10 * 84 + 11 * 4, 84 + 2 * 4)
    assert strips.size == (10 * 84 + 11 * 4, 4 * 84 + 5 * 4)


@pytest.mark.slow
def test_notebook_evaluates_with_the_cached_network(executed):
    nb, dirs, _ = executed
    shown = text_of(cell(nb, "eval"))
    assert "training the MNIST feature network" not in shown  # found it ready in the cache
    fid = float(re.search(r"^fid_mnistnet_1k\s+(\S+)$", shown, re.MULTILINE)[1])
    assert math.isfinite(fid) and fid > 0
    (report_path,) = dirs["logs"].glob("train/runs/*/checkpoints/last_eval.json")
    report = json.loads(report_path.read_text())
    assert report["values"]["fid_mnistnet_1k"] == pytest.approx(fid, abs=1e-4)
    assert report["protocol"]["n"] == 1000
    assert list((dirs["cache"] / "reference").iterdir())  # real features cached for next time
