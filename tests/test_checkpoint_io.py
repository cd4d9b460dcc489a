"""Checkpoints are renamed into place: a save that fails leaves the previous one whole."""

import errno

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
