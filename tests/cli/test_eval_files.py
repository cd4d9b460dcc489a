"""ganlab-eval on images made elsewhere: fake_dir against real_dir, a data config or a
statistics file (save_stats / ref_stats), with the cheap projection extractor."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.cli.test_eval import PROJ
from tests.conftest import run_cli


def write_pngs(folder, n, seed, low=0, high=256):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = rng.integers(low, high, (28, 28), dtype=np.uint8)
        Image.fromarray(image, "L").save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture
def folders(tmp_path):
    return write_pngs(tmp_path / "fake", 40, 0, high=200), write_pngs(tmp_path / "real", 50, 1)


def evaluate(tmp_path, *args):
    res = run_cli("eval", *PROJ, f"paths.cache_dir={tmp_path}/cache", *args, cwd=tmp_path)
    return res


def test_fake_dir_against_real_dir_then_against_its_statistics(folders, tmp_path):
    fake, real = folders
    res = evaluate(tmp_path, f"fake_dir={fake}", f"real_dir={real}", "save_stats=fake.npz")
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "fake_eval.json").read_text())  # beside the folder
    # 40 images in fake_dir: n=10000 measures all 40, against the first 40 real ones
    assert set(report["values"]) == {
        "fid_proj_40", "kid_proj_40", "kid_std_proj_40", "precision_proj_40", "recall_proj_40",
    }  # fmt: skip
    assert report["generator"] == "files" and report["protocol"]["n"] == 40
    assert report["protocol"]["reference"]["proj"].startswith("files-")
    assert "fid_proj_40" in res.stdout and "statistics: " in res.stdout
    # The real folder's statistics alone, then the same fakes against them: the same FID.
    res = evaluate(tmp_path, f"real_dir={real}", "n=40", "save_stats=real.npz")
    assert res.returncode == 0, res.stderr
    with np.load(tmp_path / "real.npz") as f:
        assert f["mu"].shape == (8,) and f["sigma"].shape == (8, 8)
        assert json.loads(str(f["protocol"]))["n"] == 40
    res = evaluate(tmp_path, f"fake_dir={fake}", "ref_stats=real.npz", "report=r.json")
    assert res.returncode == 0, res.stderr
    against_stats = json.loads((tmp_path / "r.json").read_text())["values"]
    assert against_stats == {"fid_proj_40": pytest.approx(report["values"]["fid_proj_40"])}
    # ganlab-eval logs to stdout (hydra/job_logging: stdout)
    assert "kid_proj_40, kid_std_proj_40, precision_proj_40, recall_proj_40: not measured" in (
        res.stdout
    )


def test_statistics_files_are_checked(folders, tmp_path):
    fake, _ = folders
    np.savez(tmp_path / "pytorch_fid.npz", mu=np.zeros(8), sigma=np.eye(8))  # no protocol
    res = evaluate(tmp_path, f"fake_dir={fake}", "ref_stats=pytorch_fid.npz", "metrics=[fid]")
    assert res.returncode == 0, res.stderr
    assert "has no ganlab protocol (a pytorch-fid file?): taken as proj features" in res.stdout
    np.savez(tmp_path / "wide.npz", mu=np.zeros(4), sigma=np.eye(4))
    res = evaluate(tmp_path, f"fake_dir={fake}", "ref_stats=wide.npz")
    assert res.returncode == 1
    assert "ref_stats=wide.npz has 4 features per image, proj gives 8." in res.stderr
    np.savez(tmp_path / "odd.npz", mean=np.zeros(8))
    res = evaluate(tmp_path, f"fake_dir={fake}", "ref_stats=odd.npz")
    assert "ref_stats=odd.npz has no mu or sigma" in res.stderr
    other = json.dumps({"extractor": "x-8"})
    np.savez(tmp_path / "other.npz", mu=np.zeros(8), sigma=np.eye(8), protocol=other)
    res = evaluate(tmp_path, f"fake_dir={fake}", "ref_stats=other.npz")
    assert "holds x-8 statistics, and this evaluation's features are proj-8" in res.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "nothing to measure: give ckpt_path=... (a checkpoint) or fake_dir=..."),
        (["fake_dir=fake"], "fake_dir=fake needs a reference: real_dir=DIR"),
        (["fake_dir=fake", "ckpt_path=x.ckpt"], "ckpt_path and fake_dir both given"),
        (["fake_dir=fake", "real_dir=real", "data=mnist"], "real_dir and data both given"),
        (["fake_dir=nowhere", "real_dir=real"], "fake_dir=nowhere: there is no such folder."),
        (
            ["fake_dir=fake", "real_dir=real", "save_stats=a.txt"],
            "save_stats=a.txt: a statistics file ends in .npz",
        ),
    ],
)
def test_inputs_told_in_one_line(folders, tmp_path, args, message):
    res = evaluate(tmp_path, *args)
    assert res.returncode == 1
    assert res.stderr.startswith(f"ganlab: error: {message}"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("key", ["data.root", "data_root"])
def test_fake_dir_against_a_data_config_shares_the_reference_cache(
    folders, tmp_path, data_dir, key
):
    fake, _ = folders
    res = evaluate(tmp_path, f"fake_dir={fake}", "data=mnist", f"{key}={data_dir}", "n=30")
    assert res.returncode == 0, res.stderr
    deprecated = "data_root=... is deprecated: write data.root=... (as ganlab-train does)."
    assert (deprecated in res.stdout) == (key == "data_root")
    report = json.loads((tmp_path / "fake_eval.json").read_text())
    assert report["protocol"]["reference"]["proj"].startswith("mnist-")
    assert report["protocol"]["reference"]["proj"].endswith("-train-28px-n30-proj-8")
    assert len(list((tmp_path / "cache" / "reference").iterdir())) == 1
