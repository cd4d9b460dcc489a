"""The README's benchmark tables, generated from ``benchmarks/results/*.json``.

    python -m benchmarks.readme          # rewrite every table in README.md from its JSON
    python -m benchmarks.readme --check  # list the tables that differ (exit status 1)

In README.md each generated table sits between ``<!-- table: NAME -->`` and
``<!-- end table -->``, NAME being a results file (``train_step_cpu``, ...). Rerunning a
benchmark writes its JSON; this script brings the README up to it, and
tests/benchmarks/test_readme_tables.py fails while they disagree. Figures quoted in the
README's prose are not generated: they cite the benchmark and its table.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks import data_pipeline, evaluation, gpu_options, small_data, train_step
from benchmarks.common import RESULTS

README = Path(__file__).resolve().parents[1] / "README.md"

# Each results file and the function that renders its README table.
TABLES: dict[str, Callable[[dict], str]] = {
    "train_step_cpu": train_step.table,
    "train_step_gpu": train_step.table,
    "data_pipeline": data_pipeline.table,
    "small_data": small_data.table,
    "evaluation": evaluation.table,
    "gpu_options": gpu_options.readme_table,
}
BLOCK = re.compile(r"(<!-- table: (\w+) -->\n)(.*?)(<!-- end table -->)", re.DOTALL)


def render(name: str, results: Path = RESULTS) -> str:
    if name not in TABLES:
        raise SystemExit(f"README names a table {name!r}; known: {', '.join(TABLES)}")
    return TABLES[name](json.loads((results / f"{name}.json").read_text()))


def regenerate(text: str, results: Path = RESULTS) -> str:
    """``text`` with every marked table replaced by the one its JSON gives."""
    return BLOCK.sub(lambda m: m[1] + render(m[2], results) + m[4], text)


def stale(text: str, results: Path = RESULTS) -> list[str]:
    """The names of the marked tables in ``text`` that differ from their JSON."""
    return [m[2] for m in BLOCK.finditer(text) if m[3] != render(m[2], results)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the stale tables")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    if args.check:
        names = stale(text)
        for name in names:
            print(f"{args.readme}: the {name} table differs from benchmarks/results/{name}.json")
        return 1 if names else 0
    new = regenerate(text)
    if new != text:
        args.readme.write_text(new)
    print(f"{args.readme}: {len(BLOCK.findall(new))} tables from benchmarks/results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
