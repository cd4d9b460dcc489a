"""Checkpoints are written atomically: a process killed mid-save leaves the previous file.

Lightning's own writer does this (``_atomic_save``: fsspec writes a temporary file and renames
it on commit), so ganlab adds no code for it; this test keeps that promise checked as
Lightning and fsspec change.
"""

import signal
import subprocess
import sys
import time

import torch

SAVER = """
import sys, torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
io, path = TorchCheckpointIO(), sys.argv[1]
big = torch.arange(12_000_000, dtype=torch.float32)  # 48 MB: a save takes a while
io.save_checkpoint({"version": 0, "weights": big}, path)
print("ready", flush=True)
version = 1
while True:
    io.save_checkpoint({"version": version, "weights": big + version}, path)
    version += 1
"""


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
