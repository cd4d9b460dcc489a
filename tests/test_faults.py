"""Damage that disks, copies and users cause, searched for rather than listed: each case ends
in one clear line (or is harmless), and loses nothing that was there."""

import json
import random

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import FolderDataModule
from ganlab.errors import CheckpointError, DatasetError
from ganlab.models.loading import read_checkpoint
from tests.conftest import TINY, run_cli


def same(a, b) -> bool:
    """Equal checkpoint contents: tensors bit for bit, everything else by value."""
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return a == b


def test_byte_flips_in_a_checkpoint_are_refused_or_harmless(tmp_path, data_dir):
    out = tmp_path / "run"
    args = [*TINY, "max_iters=2", f"data.root={data_dir}", f"hydra.run.dir={out}"]
    assert run_cli("train", *args, cwd=tmp_path).returncode == 0
    last = out / "checkpoints" / "last.ckpt"
    original = last.read_bytes()
    reference = read_checkpoint(last)
    flipped = tmp_path / "flipped.ckpt"
    refused = 0
    for position in random.Random(0).sample(range(len(original)), 60):
        damaged = bytearray(original)
        damaged[position] ^= 0x10
        flipped.write_bytes(damaged)
        try:
            loaded = read_checkpoint(flipped)
        except CheckpointError as err:
            assert str(err).startswith(f"cannot read checkpoint {flipped}: it is"), str(err)
            refused += 1
        else:  # the zip's padding, a timestamp: nothing torch reads changed
            assert same(loaded, reference), position
    assert refused >= 45  # most of the file is checked bytes: tensors and their metadata
    # resuming from a damaged last.ckpt: one line, and the file is kept for the user
    damaged = bytearray(original)
    damaged[len(original) // 2] ^= 0x10
    last.write_bytes(damaged)
    res = run_cli("train", *args, "max_iters=4", "resume=auto", cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert (
        res.stderr.strip()
        .splitlines()[-1]
        .startswith(f"ganlab: error: cannot read checkpoint {last}")
    )
    assert last.read_bytes() == damaged
    assert json.loads((out / "summary.json").read_text())["g_steps"] == 2  # what it reached


@pytest.fixture
def prepared_folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(root / f"{i}.png")
    settings = {"image_size": 8, "num_workers": 0}
    path = FolderDataModule(root, **settings).prepare_images()
    files = FolderDataModule(root, prepared="never", **settings).get_dataset("train")
    return root, settings, path, torch.stack([files[i][0] for i in range(len(files))])


@pytest.mark.parametrize("damage", ["array cut short", "index cut short", "index not JSON"])
def test_a_damaged_prepared_array_is_not_read(prepared_folder, damage):
    root, settings, path, expected = prepared_folder
    index = path.with_suffix(".json")
    target = path if damage.startswith("array") else index
    if damage.endswith("cut short"):
        target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
    else:
        target.write_text("{not json")
    with pytest.raises(DatasetError) as err:
        FolderDataModule(root, prepared="always", **settings).get_dataset("train")
    assert str(err.value).startswith("data.prepared=always, but ")
    assert "damaged" in str(err.value) or "cut short" in str(err.value)
    with pytest.warns(UserWarning, match="Not reading the prepared images"):
        dataset = FolderDataModule(root, **settings).get_dataset("train")  # auto: the files
    assert torch.equal(torch.stack([dataset[i][0] for i in range(len(dataset))]), expected)


def test_a_damaged_hydra_record_stops_neither_resume_nor_report(tmp_path, data_dir):
    run = tmp_path / "sweep" / "0"
    args = [*TINY, "max_iters=2", f"data.root={data_dir}", f"hydra.run.dir={run}"]
    assert run_cli("train", *args, cwd=tmp_path).returncode == 0
    for name in ("config.yaml", "overrides.yaml"):
        (run / ".hydra" / name).write_text("{[: not yaml")
    report = run_cli("report", f"dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    res = run_cli("train", *args, "max_iters=3", "resume=auto", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "summary.json").read_text())["g_steps"] == 3
    assert "max_iters=3" in (run / ".hydra" / "overrides.yaml").read_text()  # the new record


def test_a_symlink_loop_and_empty_files_under_data_root(tmp_path):
    root = tmp_path / "images"
    (root / "a").mkdir(parents=True)
    (root / "a" / "back").symlink_to(root, target_is_directory=True)  # a loop
    for name in ("x.png", "a/y.png"):
        (root / name).write_bytes(b"")
    res = run_cli("train", *TINY, "data=folder", f"data.root={root}", "data.image_size=8",
                  f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"ganlab: error: 2 of 2 images in {root} cannot be read:" in res.stderr
    assert f"{root / 'x.png'} (an empty file (0 bytes))" in res.stderr
