"""The README's benchmark tables are generated from benchmarks/results/*.json."""

import json

from benchmarks import readme
from benchmarks.readme import BLOCK, README, TABLES, regenerate, stale


def test_every_readme_table_matches_its_results_file():
    text = README.read_text()
    names = [m[2] for m in BLOCK.finditer(text)]
    assert sorted(names) == sorted(TABLES)  # every results table is shown once
    assert stale(text) == [], "run: python -m benchmarks.readme"


def test_a_changed_result_is_found_and_rewritten(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    data = json.loads((readme.RESULTS / "data_pipeline.json").read_text())
    data["rows"][0]["median"] = 1234.4
    (results / "data_pipeline.json").write_text(json.dumps(data))
    text = "before\n<!-- table: data_pipeline -->\n| old |\n<!-- end table -->\nafter\n"
    assert stale(text, results) == ["data_pipeline"]
    new = regenerate(text, results)
    assert new.startswith("before\n<!-- table: data_pipeline -->\n| data | read from |")
    assert f"| {data['rows'][0]['data']} | image files | 1234 (" in new
    assert new.endswith("|\n<!-- end table -->\nafter\n") and stale(new, results) == []
