"""The README quotes the committed evaluation reports (reproduce/results/*.json) as they are:
a figure in a results row is the one its report holds, rounded, never typed in apart from it."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
RESULTS = REPO / "reproduce" / "results"
REPORTS = sorted(p for p in RESULTS.glob("*.json") if not p.name.endswith(".summary.json"))
# How the README rounds each kind of value (its columns' convention).
ROUNDING = {"fid": "{:.2f}", "kid": "{:.4f}", "psnr": "{:.2f}", "ssim": "{:.3f}", "nll": "{:.2f}"}
EXPERIMENTS = sorted(
    p.stem
    for p in (REPO / "ganlab" / "conf" / "experiment").glob("*.yaml")
    if p.stem.startswith(("mnist_", "mnist100_", "sr_", "inpaint_"))
)


def quoted(values: dict) -> list[str]:
    """The README's spelling of a report's values (not their spreads)."""
    return [
        ROUNDING[name.split("_")[0]].format(value)
        for name, value in values.items()
        if name.split("_")[0] in ROUNDING and "_std" not in name and not name.endswith("_se")
    ]


def row(experiment: str) -> str:
    """The experiment's row of its results table (the first table row it begins), or ""."""
    lines = README.splitlines()
    return next((line for line in lines if line.startswith(f"| `{experiment}` |")), "")


def test_every_reproduction_has_one_row_and_a_committed_report():
    assert {"mnist_dcgan_js", "mnist100_diffaug", "mnist_vae", "sr_mnist"} <= set(EXPERIMENTS)
    for experiment in EXPERIMENTS:
        assert row(experiment), f"{experiment} has no row in the README"
        assert (RESULTS / f"{experiment}.json").is_file(), experiment
        assert (RESULTS / f"{experiment}.summary.json").is_file(), experiment


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.name)
def test_each_report_is_quoted_as_it_is(report):
    experiment, *kind = report.name.removesuffix(".json").split(".")
    data = json.loads(report.read_text())
    figures = quoted(data["values"])
    assert figures
    if kind in ([], ["nll"]):  # the run's own report (mnist_vae's NLL too): in its row
        for figure in figures:
            assert figure in row(experiment), f"{report.name}: {figure} is not in its row"
    else:  # an earlier run kept for the record (mnist_vaegan.binarized): in its footnote
        assert figures[0] in README, f"{report.name}: {figures[0]} is not in the README"
    # A classical baseline (bicubic, the mean fill) is quoted once for its two rows.
    for figure in quoted(data.get("baseline", {})):
        assert figure in README, f"{report.name}'s baseline: {figure} is not in the README"
