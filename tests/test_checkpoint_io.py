"""Checkpoints are renamed into place: a save that fails leaves the previous one whole."""

import errno
import os
import signal
import subprocess
import sys
import time

import fsspec
import pytest
import torch

from ganlab.checkpoint_io import AtomicCheckpointIO
from tests.helpers import disk_full_after


def test_a_save_replaces_the_checkpoint_and_leaves_nothing_else(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)
    io.save_checkpoint({"step": 2}, path)
    assert io.load_checkpoint(path) == {"step": 2}
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_a_full_disk_keeps_the_previous_checkpoint_and_names_the_file(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"w": torch.arange(3)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(torch, "save", disk_full_after(100))
    with pytest.raises(OSError) as err:
        io.save_checkpoint({"w": torch.arange(5)}, path)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == before  # not truncated, not half replaced
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # the .part is gone


def test_an_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "best.ckpt"
    io.save_checkpoint({"step": 1}, path)

    def interrupted(obj, file):
        file.write(b"\0" * 10)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, path)
    assert AtomicCheckpointIO().load_checkpoint(path) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["best.ckpt"]


def test_remote_paths_keep_lightnings_way():
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 3}, "memory://ganlab-test/last.ckpt")
    assert fsspec.filesystem("memory").exists("/ganlab-test/last.ckpt")
    assert io.load_checkpoint("memory://ganlab-test/last.ckpt") == {"step": 3}


SAVER = """
import sys, torch
from ganlab.checkpoint_io import AtomicCheckpointIO
io, path = AtomicCheckpointIO(), sys.argv[1]
big = torch.arange(12_000_000, dtype=torch.float32)  # 48 MB: a save takes a while
io.save_checkpoint({"version": 0, "weights": big}, path)
print("ready", flush=True)
version = 1
while True:
    io.save_checkpoint({"version": version, "weights": big + version}, path)
    version += 1
"""


@pytest.mark.slow  # seconds each: make test runs it, make test-fast does not
def test_killed_mid_save_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    for delay in (0.05, 0.13, 0.21, 0.37):  # different points in the save cycle
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = torch.load(path, weights_only=True)  # a torn file would fail here
        version = ckpt["version"]
        assert torch.equal(ckpt["weights"][:3], torch.tensor([0.0, 1.0, 2.0]) + version)
        assert ckpt["weights"].numel() == 12_000_000
    # What killed saves leave is removed by the next save; a live process's part stays.
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = path.with_name(f".last.ckpt.{ended.pid}.part")
    live = path.with_name(f".last.ckpt.{os.getppid()}.part")
    stale.write_bytes(b"left by a killed save")
    live.write_bytes(b"being written")
    AtomicCheckpointIO().save_checkpoint({"version": "after"}, path)
    assert sorted(p.name for p in path.parent.iterdir()) == [live.name, "last.ckpt"]
