"""The low-data experiment on the synthetic dataset: rows, seeds, report files."""

import json

import pytest
from PIL import Image

from ganlab.downstream import AugmentLowData
from ganlab.downstream.report import write_report
from ganlab.errors import ConfigError
from tests.downstream.conftest import Oracle


@pytest.mark.slow  # seconds each: make test runs it, make test-fast does not
def test_rows_for_every_k_and_setting(shapes, cnn, tmp_path):
    task = AugmentLowData(cnn, ks=[1, 5], seeds=[0, 1], gan_per_class=20, steps=60, batch_size=16)
    result = task.run(Oracle(), shapes)
    rows = result["rows"]
    assert [(r["k"], r["setting"], r["seeds"]) for r in rows] == [
        (1, "real", 2), (1, "real+gan", 2), (5, "real", 2), (5, "real+gan", 2),
    ]  # fmt: skip
    for row in rows:
        assert len(row["values"]) == 2 and all(0 <= v <= 1 for v in row["values"])
        assert row["mean"] == pytest.approx(sum(row["values"]) / 2)
    # A perfect generator lifts the 1-image-per-class recogniser to the top.
    assert rows[1]["values"] == [1.0, 1.0]
    assert result["protocol"]["n_test"] == 200 and result["protocol"]["ks"] == [1, 5]

    result["checkpoint"] = "x.ckpt"
    paths = write_report(result, task.name, tmp_path / "last")
    assert [p.name for p in paths] == [
        "last_augment_lowdata.json", "last_augment_lowdata.md", "last_augment_lowdata.png",
    ]  # fmt: skip
    assert json.loads(paths[0].read_text())["rows"] == rows
    table = paths[1].read_text()
    assert "| 1 | real + GAN | 1.0000 ± 0.0000 | 2 |" in table
    assert Image.open(paths[2]).size == (600, 420)


def test_seeds_repeat_exactly(shapes, cnn):
    task = AugmentLowData(cnn, ks=[2], seeds=[3], gan_per_class=5, steps=5, batch_size=8)
    assert task.run(Oracle(), shapes)["rows"] == task.run(Oracle(), shapes)["rows"]


def test_bad_settings(shapes, cnn):
    with pytest.raises(ConfigError, match="real_share must be in"):
        AugmentLowData(cnn, real_share=1.0)
    with pytest.raises(ConfigError, match="ks must be integers >= 1"):
        AugmentLowData(cnn, ks=[0])
    with pytest.raises(ConfigError, match="class 0 has 100 training images, fewer than k=101"):
        AugmentLowData(cnn, ks=[101], seeds=[0], steps=1).run(Oracle(), shapes)
