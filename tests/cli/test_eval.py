"""ganlab-eval on a checkpoint of a real (tiny) run, with a cheap feature extractor."""

import json

from tests.conftest import run_cli

PROJ = [
    "features=[]",
    "+features.proj._target_=tests.helpers.Projection",
    "+features.proj._partial_=true",
]


def test_table_and_json_report_beside_the_checkpoint(run_train, data_dir, tmp_path):
    _, out = run_train(max_iters=2)
    ckpt = out / "checkpoints" / "last.ckpt"

    def evaluate(*extra):  # one protocol, the same cache: only the report path may change
        args = [f"ckpt_path={ckpt}", *PROJ, "n=200", "batch_size=64", f"data.root={data_dir}"]
        return run_cli("eval", *args, f"paths.cache_dir={tmp_path}/cache", *extra, cwd=tmp_path)

    res = evaluate()
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "checkpoints" / "last_eval.json").read_text())
    assert set(report["values"]) == {
        "fid_proj_200",
        "kid_proj_200",
        "kid_std_proj_200",
        "precision_proj_200",
        "recall_proj_200",
    }
    assert report["g_steps"] == 2 and report["generator"] == "raw" and report["seconds"] > 0
    assert report["protocol"]["n"] == 200 and report["protocol"]["split"] == "train"
    assert report["protocol"]["reference"]["proj"].endswith("-train-28px-n200-proj-8")
    for name, value in report["values"].items():
        assert name in res.stdout and f"{value:.4f}" in res.stdout  # the printed table
    # the same protocol again: the reference features come from the cache, values identical
    res = evaluate(f"report={tmp_path}/again.json")
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "again.json").read_text())["values"] == report["values"]
    assert len(list((tmp_path / "cache" / "reference").iterdir())) == 1


def test_missing_checkpoint_is_one_line(tmp_path):
    res = run_cli("eval", f"ckpt_path={tmp_path}/nope.ckpt", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip().startswith("ganlab: error: checkpoint not found")


def test_ema_false_measures_the_trained_generator(run_train, data_dir, tmp_path):
    # decay 0.5 from iteration 0: after 3 iterations the EMA is far from G's weights
    _, out = run_train("model.ema_decay=0.5", max_iters=3)
    ckpt = out / "checkpoints" / "last.ckpt"
    reports = {}
    for ema in ("true", "false"):
        report = tmp_path / f"{ema}.json"
        args = [f"ckpt_path={ckpt}", *PROJ, "n=200", "batch_size=64", f"data.root={data_dir}"]
        res = run_cli(
            "eval",
            *args,
            f"ema={ema}",
            f"report={report}",
            f"paths.cache_dir={tmp_path}/c",
            cwd=tmp_path,
        )
        assert res.returncode == 0, res.stderr
        reports[ema] = json.loads(report.read_text())
    assert reports["true"]["generator"] == "ema" and reports["false"]["generator"] == "raw"
    assert reports["true"]["values"]["fid_proj_200"] != reports["false"]["values"]["fid_proj_200"]
