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


def test_a_running_summary_is_stale_when_its_process_or_heartbeat_is_gone():
    import os
    import socket
    import subprocess
    import sys
    from datetime import datetime, timedelta

    from ganlab.callbacks.summary import now_iso, stale_reason

    host = socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    beat = now_iso()
    alive = {"status": "running", "pid": os.getpid(), "host": host, "heartbeat": beat}
    assert stale_reason(alive) is None
    assert stale_reason({**alive, "pid": dead.pid}) == f"its process ({dead.pid} on {host}) is gone"
    # on another host only the heartbeat tells
    later = datetime.fromisoformat(beat) + timedelta(minutes=11)
    other = {**alive, "host": "elsewhere", "pid": dead.pid}
    assert stale_reason(other) is None
    assert stale_reason(other, now=later) == f"its last heartbeat was 11 min ago ({beat})"
    assert stale_reason({**other, "status": "completed"}, now=later) is None
