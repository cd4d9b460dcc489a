"""ganlab-stylize from the command line: the image and the plot it writes, and its errors."""

import numpy as np
from PIL import Image

from tests.conftest import run_cli

TINY_NET = ["net._target_=tests.helpers.TinyStyleNet"]


def write(path, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_stylize_writes_the_image_and_the_loss_plot(tmp_path):
    content, style = write(tmp_path / "c.png", 0), write(tmp_path / "s.jpg", 1)
    args = [f"content={content}", f"style={style}", "size=32", "steps=4", "log_every=2"]
    res = run_cli("stylize", *args, *TINY_NET, "out=out/x.png", "plot=loss.png", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "out" / "x.png").size == (38, 32)  # shorter side 32
    assert Image.open(tmp_path / "loss.png").size == (600, 400)
    assert "step 2/4:" in res.stdout + res.stderr and "step 4/4:" in res.stdout + res.stderr


def test_missing_weights_and_images_are_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("GANLAB_VGG_WEIGHTS", raising=False)
    content = write(tmp_path / "c.png", 0)
    res = run_cli("stylize", f"content={content}", f"style={content}", "size=32", cwd=tmp_path)
    assert res.returncode == 1
    line = res.stderr.strip().splitlines()[-1]
    assert "net.weights_path: the weights file is needed (none is set)" in line
    assert "vgg19-dcbb9e9d.pth" in line and "net=inception" in line
    res = run_cli("stylize", f"content={tmp_path}/no.png", f"style={content}", cwd=tmp_path)
    assert res.returncode == 1
    assert (
        res.stderr.strip()
        .splitlines()[-1]
        .endswith(f"content={tmp_path}/no.png: no such image file.")
    )
