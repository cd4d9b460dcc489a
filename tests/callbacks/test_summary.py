import json

from ganlab.callbacks import write_summary
from ganlab.callbacks.summary import _scalars


def test_write_summary_is_atomic_json(tmp_path):
    path = write_summary(tmp_path / "run", {"status": "completed", "g_steps": 3})
    assert json.loads(path.read_text()) == {"status": "completed", "g_steps": 3}
    assert [p.name for p in path.parent.iterdir()] == ["summary.json"]  # no temp file left


def test_non_finite_metrics_stay_valid_json():
    assert _scalars({"a": 1.5, "b": float("nan"), "c": float("inf")}) == {
        "a": 1.5,
        "b": "nan",
        "c": "inf",
    }
