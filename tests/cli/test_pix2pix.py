"""model=pix2pix from the command line: training with its evaluation, ganlab-eval, and
ganlab-sample restoring a folder."""

import json

import numpy as np
from PIL import Image

from tests.conftest import EVAL, PIX2PIX_SMALL, PIX2PIX_TINY, run_cli


def test_eval_measures_a_restorer_and_its_baseline(run_train, tmp_path):
    summary, out = run_train(
        max_iters=2, base=[*PIX2PIX_SMALL, *EVAL[:4], "callbacks.evaluation.n=16"]
    )
    assert summary["best"]["monitor"] == "psnr_16"  # logged in training, picks best.ckpt
    assert {"val/psnr_16", "val/ssim_16", "val/fid_proj_16"} <= set(summary["final"])
    res = run_cli(
        "eval",
        f"ckpt_path={out}/checkpoints/last.ckpt",
        *EVAL[:4],
        "metrics=[fid]",
        "n=12",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "checkpoints" / "last_eval.json").read_text())
    assert report["protocol"]["degrade"] == "downsample-x4" and report["protocol"]["n"] == 12
    for values in (report["values"], report["baseline"]):
        assert set(values) == {"psnr_12", "ssim_12", "fid_proj_12"}
    assert report["values"] != report["baseline"]
    assert "baseline (downsample-x4)" in res.stdout


def write_digits(folder, n=3, size=20):
    """``n`` PNG digits (another size than the model's: ganlab-sample resizes them)."""
    folder.mkdir()
    for i in range(n):
        pixels = np.zeros((size, size), np.uint8)
        pixels[4 : size - 4, 8 + i : 11 + i] = 255  # a bar, a one
        Image.fromarray(pixels).save(folder / f"digit{i}.png")


def test_sample_restores_a_folder(run_train, tmp_path):
    _, out = run_train(max_iters=1, base=PIX2PIX_TINY)
    write_digits(tmp_path / "small")
    ckpt = f"ckpt_path={out}/checkpoints/last.ckpt"
    res = run_cli("sample", ckpt, f"input={tmp_path}/small", f"out={tmp_path}/big", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    restored = sorted((tmp_path / "big").glob("*.png"))
    assert [p.name for p in restored] == ["digit0.png", "digit1.png", "digit2.png"]
    assert Image.open(restored[0]).size == (16, 16)  # the trained size


def test_a_mask_model_restores_clean_images_degraded_first(run_train, tmp_path):
    _, out = run_train("data/degrade=mask", max_iters=1, base=PIX2PIX_TINY)
    write_digits(tmp_path / "clean")
    args = [f"ckpt_path={out}/checkpoints/last.ckpt", f"input={tmp_path}/clean"]
    res = run_cli("sample", *args, f"out={tmp_path}/x", cwd=tmp_path)
    assert res.returncode == 1
    assert (
        "a mask), which images alone do not have: give clean images with degrade=true"
        in (res.stderr.strip().splitlines()[-1])
    )
    res = run_cli("sample", *args, "degrade=true", f"out={tmp_path}/grid.png", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    # rows of degraded | restored | original, 16 px with make_grid's 2 px padding
    assert Image.open(tmp_path / "grid.png").size == (3 * 18 + 2, 3 * 18 + 2)
