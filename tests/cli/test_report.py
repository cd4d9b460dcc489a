"""ganlab-report on hand-written sweeps (known values) and on one real tiny sweep."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from PIL import Image

from ganlab.cli.common import CONF_DIR
from ganlab.cli.report import cell, positional_dir, report
from ganlab.cli.report_jobs import Job, by_config, find_jobs, label_configs, read_series
from ganlab.cli.report_plot import curves, rolling_mean
from tests.conftest import TINY, run_cli

COMMON = ["model.generator.nz=16", "max_iters=20", "data.root=/data"]
DIVERGED = "DivergedError: training diverged at iteration 15: non-finite g_loss"
FAILED = "ConfigError: unknown loss wgan_gp"


def write_job(root: Path, num: int, overrides: list[str], *, status="completed", fids=None,
              best=None, g_steps=20, d_steps=20, message=None) -> Path:  # fmt: skip
    """A job folder as ganlab-train writes it. ``fids``: {batch step: val/fid_x}; train/g_loss
    is the iteration's number, logged again at each batch as Lightning does."""
    job = root / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    choices = dict(o.split("=", 1) for o in overrides)
    summary = {"model": "dcgan", "loss": choices["loss"], "seed": int(choices["seed"])}
    summary["status"] = status
    if message:
        summary["message"] = message
    if fids is not None:  # it trained: counters, values, and metrics.csv
        g_loss = [(s + 1) * g_steps // d_steps for s in range(d_steps)]  # 0: no G update yet
        final = {"train/g_loss": g_loss[-1]}
        if fids:
            final["val/fid_x"] = list(fids.values())[-1]
        summary.update(g_steps=g_steps, d_steps=d_steps, final=final, best=best or {})
        rows = [{"epoch": 0, "step": s, "train/g_loss": g or ""} for s, g in enumerate(g_loss)]
        rows += [{"step": step, "val/fid_x": fid} for step, fid in fids.items()]
        with (job / "metrics.csv").open("w", newline="") as f:
            header = ["epoch", "step", "train/g_loss", "val/fid_x"]
            writer = csv.DictWriter(f, header, restval="")  # sparse rows, as Lightning's
            writer.writeheader()
            writer.writerows(sorted(rows, key=lambda r: r["step"]))
    (job / "summary.json").write_text(json.dumps(summary))
    return job


def best(fid: float, kid: float) -> dict:
    """summary.json's "best": the metrics, with what the report must leave out of the table."""
    return {
        "val/fid_x": fid,
        "val/kid_x": kid,
        "val/kid_std_x": 0.01,
        "val/is_std_x": 0.2,
        "val/eval_seconds": 3.0,
        "g_steps": 20,
        "monitor": "fid_x",
    }


@pytest.fixture
def sweep(tmp_path) -> Path:
    """loss=js,ls x seed=0,1 (+ an ls seed that diverged) and a wgan_gp job that failed."""
    root = tmp_path / "sweep"
    # Evaluations at iterations 10 and 20 (logged at batch steps 9 and 19).
    write_job(root, 0, [*COMMON, "loss=js", "seed=0"], fids={9: 30, 19: 10}, best=best(10, 0.5))
    write_job(root, 1, [*COMMON, "loss=js", "seed=1"], fids={9: 34, 19: 12}, best=best(12, 0.7))
    write_job(root, 2, [*COMMON, "loss=ls", "seed=0"], fids={9: 40, 19: 20}, best=best(20, 1))
    write_job(root, 3, [*COMMON, "loss=ls", "seed=1"], fids={9: 44, 19: 26}, best=best(26, 2))
    write_job(
        root, 4, [*COMMON, "loss=ls", "seed=2"], status="diverged", fids={9: 60},
        best=best(60, 9), g_steps=15, d_steps=15, message=DIVERGED,
    )  # fmt: skip
    write_job(root, 5, [*COMMON, "loss=wgan_gp", "seed=0"], status="failed", message=FAILED)
    return root


def run_report(root: Path, **options):
    """report() with ganlab/conf/report.yaml's defaults (Hydra's own settings left out)."""
    cfg = OmegaConf.load(Path(CONF_DIR) / "report.yaml")
    for key in ("defaults", "hydra"):
        cfg.pop(key)
    return report(OmegaConf.merge(cfg, {"dir": str(root), **options}))


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_mean_and_std_over_seeds_per_config(sweep, capsys):
    run_report(sweep)
    rows = {row["config"]: row for row in read_csv(sweep / "report.csv")}
    assert list(rows) == ["loss=js", "loss=ls", "loss=wgan_gp"]
    js, ls, wgan = rows.values()
    assert (js["jobs"], js["status"]) == ("2", "2 completed")
    assert float(js["val/fid_x_mean"]) == 11.0
    assert float(js["val/fid_x_std"]) == pytest.approx(math.sqrt(2))  # n-1: (10, 12)
    # The diverged seed's FID (60) is no result: mean and std of 20 and 26 only.
    assert (ls["jobs"], ls["status"]) == ("3", "2 completed, 1 diverged")
    assert float(ls["val/fid_x_mean"]) == 23.0 and ls["val/fid_x_n"] == "2"
    assert float(ls["val/fid_x_std"]) == pytest.approx(math.sqrt(18))
    assert float(ls["val/kid_x_mean"]) == 1.5
    assert (wgan["status"], wgan["val/fid_x_mean"], wgan["val/fid_x_n"]) == ("1 failed", "", "0")
    # kid_std, is_std and eval_seconds are no quality measures: not columns by default.
    assert [k for k in js if k.startswith("val/")] == [
        f"val/{m}_{part}" for m in ("fid_x", "kid_x") for part in ("mean", "std", "n")
    ]
    table = (sweep / "report.md").read_text()
    assert "| config | jobs | status | val/fid_x | val/kid_x |" in table
    assert "| loss=js | 2 | 2 completed | 11.00 ± 1.414 | 0.6000 ± 0.1414 |" in table
    ls_row = (
        "| loss=ls | 3 | 2 completed, 1 diverged | 23.00 ± 4.243 (n=2) | 1.500 ± 0.7071 (n=2) |"
    )
    assert ls_row in table
    assert "| loss=wgan_gp | 1 | 1 failed | n/a | n/a |" in table
    assert "| loss=js | 2 | 2 completed | 11.00 ± 1.414 |" in capsys.readouterr().out


def test_jobs_that_did_not_complete_are_listed_with_their_message(sweep):
    run_report(sweep)
    text = (sweep / "report.md").read_text()
    section = text.split("## Jobs that did not complete")[1].splitlines()
    assert [line for line in section if line[:3] in ("| 4", "| 5", "| 0")] == [
        f"| 4 | loss=ls | 2 | diverged | {DIVERGED} |",
        f"| 5 | loss=wgan_gp | 0 | failed | {FAILED} |",
    ]  # the completed jobs are not listed
    jobs = read_csv(sweep / "jobs.csv")
    assert [(j["job"], j["status"], j["seed"]) for j in jobs] == [
        ("0", "completed", "0"), ("1", "completed", "1"), ("2", "completed", "0"),
        ("3", "completed", "1"), ("4", "diverged", "2"), ("5", "failed", "0"),
    ]  # fmt: skip
    assert (jobs[4]["val/fid_x"], jobs[4]["message"]) == ("60.0", DIVERGED)
    assert (jobs[5]["val/fid_x"], jobs[5]["message"]) == ("", FAILED)


def test_a_damaged_summary_is_listed_not_a_traceback(sweep):
    (sweep / "3" / "summary.json").write_text('{"status": "compl')  # cut short
    run_report(sweep)
    section = (sweep / "report.md").read_text().split("## Jobs that did not complete")[1]
    assert "| 3 | loss=ls | 1 | unknown | its summary.json is not valid JSON |" in section
    ls = {row["config"]: row for row in read_csv(sweep / "report.csv")}["loss=ls"]
    assert (ls["jobs"], ls["status"]) == ("3", "1 completed, 1 diverged, 1 unknown")
    assert float(ls["val/fid_x_mean"]) == 20.0 and ls["val/fid_x_n"] == "1"


def test_cells_show_the_spread_only_where_there_is_one():
    assert cell(None, None, 0, 2) == "n/a"
    assert cell(7046.79, None, 1, 1) == "7047"  # one seed: no spread to show
    assert cell(7046.79, None, 1, 2) == "7047 (n=1)"
    assert cell(431637888.0, 3439.4, 2, 2) == "4.316e+08 ± 3439"


def test_columns_option_and_final_values(sweep):
    run_report(sweep, columns=["fid_x", "g_loss"], value="final")  # val/, else train/
    rows = read_csv(sweep / "report.csv")
    assert list(rows[0]) == ["config", "jobs", "status"] + [
        f"{m}_{part}" for m in ("val/fid_x", "train/g_loss") for part in ("mean", "std", "n")
    ]
    assert [(r["val/fid_x_mean"], r["train/g_loss_mean"]) for r in rows] == [
        ("11.0", "20.0"), ("23.0", "20.0"), ("", "")
    ]  # fmt: skip
    assert (
        "| loss=js | 2 | 2 completed | 11.00 ± 1.414 | 20.00 ± 0 |"
        in (sweep / "report.md").read_text()
    )


def test_config_labels_show_only_the_overrides_that_vary():
    def job(*overrides):
        return Job(Path("."), {}, dict(o.split("=", 1) for o in overrides))

    jobs = [
        job("data.root=/d", "loss=js", "lr=1e-4", "seed=0"),
        job("data.root=/d", "loss=js", "lr=1e-4", "seed=1"),
        job("data.root=/d", "loss=ls", "lr=1e-4", "seed=0"),
        job("data.root=/d", "loss=ls", "lr=2e-4", "seed=0"),
    ]
    label_configs(jobs)
    assert [j.config for j in jobs] == ["loss=js lr=1e-4", "loss=js lr=1e-4",
                                        "loss=ls lr=1e-4", "loss=ls lr=2e-4"]  # fmt: skip
    assert list(by_config(jobs)) == ["loss=js lr=1e-4", "loss=ls lr=1e-4", "loss=ls lr=2e-4"]
    seeds_only = jobs[:2]
    label_configs(seeds_only)
    assert [j.config for j in seeds_only] == ["all", "all"]


def test_iterations_from_batch_steps_with_n_critic_5(tmp_path):
    # 4 iterations of 5 D updates each: batches 0..19; G updates end batches 4, 9, 14 and 19,
    # and an evaluation is logged at the last batch of its iteration.
    job_dir = write_job(tmp_path, 0, ["loss=wgan_gp", "seed=0"], fids={9: 50, 19: 40},
                        g_steps=4, d_steps=20)  # fmt: skip
    (job,) = find_jobs(tmp_path)
    assert job.dir == job_dir
    x, y = read_series(job, "val/fid_x")
    assert x.tolist() == [2.0, 4.0] and y.tolist() == [50.0, 40.0]
    x, y = read_series(job, "train/g_loss")  # not its repeats on the D-only batches
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0] and y.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_curves_mean_band_and_where_a_diverged_run_stopped(sweep):
    js, ls, wgan = curves(by_config(find_jobs(sweep)), "val/fid_x")
    assert js.label == "loss=js" and js.seeds == 2 and js.stops == []
    assert js.x.tolist() == [10.0, 20.0]
    assert js.mean.tolist() == [32.0, 11.0]
    assert (js.low.tolist(), js.high.tolist()) == ([30.0, 10.0], [34.0, 12.0])
    # The diverged seed counts until it stopped (after iteration 10), then leaves the mean.
    assert ls.seeds == 3 and ls.mean.tolist() == [48.0, 23.0]
    assert (ls.low.tolist(), ls.high.tolist()) == ([40.0, 20.0], [60.0, 26.0])
    assert ls.stops == [(10.0, 60.0)]
    assert wgan.seeds == 0 and wgan.x.tolist() == []


def test_seeds_evaluated_at_different_iterations_are_interpolated(tmp_path):
    write_job(tmp_path, 0, ["loss=js", "seed=0"], fids={9: 10, 19: 20})
    write_job(tmp_path, 1, ["loss=js", "seed=1"], fids={9: 30, 14: 25, 19: 40})
    (curve,) = curves(by_config(find_jobs(tmp_path)), "val/fid_x")
    assert curve.label == "all"
    assert curve.x.tolist() == [10.0, 15.0, 20.0]
    assert curve.mean.tolist() == [20.0, 20.0, 30.0]  # seed 0 at 15: halfway, 15


def test_train_metrics_are_smoothed_by_a_rolling_mean(sweep):
    assert rolling_mean([1.0, 3.0, 5.0, 7.0], 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    assert rolling_mean([1.0, 3.0, 5.0, 7.0], 3).tolist() == [1.0, 2.0, 3.0, 5.0]
    js = curves(by_config(find_jobs(sweep)), "train/g_loss", window=4)[0]
    assert js.x.tolist() == list(range(1, 21))
    assert js.mean.tolist()[:5] == [1.0, 1.5, 2.0, 2.5, 3.5]  # g_loss: 1, 2, 3, ...
    assert js.mean.tolist()[-1] == 18.5
    # 20 values: the default window for a train/ metric is 5% of them, for val/ none.
    assert curves(by_config(find_jobs(sweep)), "train/g_loss")[0].mean.tolist()[:2] == [1, 2]
    assert curves(by_config(find_jobs(sweep)), "val/fid_x")[0].mean.tolist() == [32, 11]


def test_a_constant_keeps_its_first_and_last_batch(tmp_path):
    job_dir = write_job(tmp_path, 0, ["loss=js", "seed=0"], fids={})
    lines = (job_dir / "metrics.csv").read_text().splitlines()
    (job_dir / "metrics.csv").write_text(
        "\n".join([lines[0], *(f"0,{s},0.5," for s in range(20))]) + "\n"
    )
    x, y = read_series(find_jobs(tmp_path)[0], "train/g_loss")
    assert x.tolist() == [1.0, 20.0] and y.tolist() == [0.5, 0.5]


def test_plot_is_a_png_of_the_monitored_metric(sweep, tmp_path):
    written = run_report(sweep, out=str(tmp_path / "out"))
    png = tmp_path / "out" / "report_val_fid_x.png"  # the metric best.ckpt was chosen on
    assert png in written and (tmp_path / "out" / "report.md") in written
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (960, 600)  # 8 x 5 inches at 120 dpi
    assert png.stat().st_size > 10_000
    assert "![report_val_fid_x](report_val_fid_x.png)" in (png.parent / "report.md").read_text()
    assert not (sweep / "report.md").exists()  # out= moves every output


def test_positional_dir_becomes_an_override():
    assert positional_dir(["runs/2026-01-02_03-04-05", "plot=g_loss"]) == [
        "dir=runs/2026-01-02_03-04-05",
        "plot=g_loss",
    ]
    assert positional_dir(["/a b/it's"]) == ["dir='/a b/it\\'s'"]
    for args in (["dir=x"], ["--cfg", "job"], []):
        assert positional_dir(args) == args


def test_cli_takes_the_sweep_dir_as_its_first_argument(sweep, tmp_path):
    spaced = tmp_path / "my sweep"
    sweep.rename(spaced)  # a path Hydra's parser needs quoted
    res = run_cli("report", str(spaced), "plot=g_loss", "smooth=1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "| loss=js | 2 | 2 completed | 11.00 ± 1.414 |" in res.stdout
    assert f"wrote {spaced / 'report.md'}" in res.stdout
    assert (spaced / "report_train_g_loss.png").is_file()
    assert not (tmp_path / "outputs").exists() and not (tmp_path / ".hydra").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "nope is not a directory: give the folder of a `ganlab-train -m` sweep"),
        (["empty"], "no summary.json under empty: give the folder of a `ganlab-train -m` sweep"),
        (["sweep", "columns=[fid_y]"], "no job has fid_y in its best values (value=final also "
         + "has the train/ metrics); available: val/eval_seconds, val/fid_x, val/is_std_x, "
         + "val/kid_std_x, val/kid_x."),
        (["sweep", "plot=val/nope"], "no job has val/nope in its metrics.csv; available: "
         + "train/g_loss, val/fid_x."),
        ([], "no value for dir"),
    ],
    ids=["missing", "empty", "unknown-column", "unknown-plot", "no-dir"],
)  # fmt: skip
def test_user_errors_are_one_line(sweep, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    res = run_cli("report", *args, cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip().startswith(f"ganlab: error: {message}"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_report_of_a_real_sweep_with_a_failed_job(tmp_path, data_dir):
    sweep = tmp_path / "sweep"
    res = run_cli(
        "train", "-m", *TINY, "loss._target_=tests.helpers.Broken,ganlab.losses.JSLoss",
        "model.n_critic=2", "max_iters=3", f"data.root={data_dir}", f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )  # fmt: skip
    assert (sweep / "1" / "summary.json").is_file(), res.stderr
    res = run_cli("report", str(sweep), "columns=[train/g_loss]", "value=final", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    broken, js = read_csv(sweep / "report.csv")
    assert broken["config"] == "loss._target_=tests.helpers.Broken"
    assert (broken["status"], broken["train/g_loss_n"]) == ("1 failed", "0")
    final = json.loads((sweep / "1" / "summary.json").read_text())["final"]["train/g_loss"]
    assert float(js["train/g_loss_mean"]) == pytest.approx(final)
    listed = "| 0 | loss._target_=tests.helpers.Broken | 0 | failed | RuntimeError: a bug"
    assert listed in (sweep / "report.md").read_text()
    # Two batches (D updates) per iteration: G's loss is logged at iterations 1, 2 and 3.
    (_, curve) = curves(by_config(find_jobs(sweep)), "train/g_loss", window=1)
    assert curve.x.tolist() == [1.0, 2.0, 3.0]
    assert curve.mean[-1] == pytest.approx(final)
    assert (sweep / "report_train_g_loss.png").is_file()  # no evaluation: the table's metric
