"""The same work on two versions of the code, alternated in one run on one machine: a change's cost measured
against what it changed, not against a figure from another day.

    .venv/bin/python benchmarks/before_after.py [--base REF] [--rows N] [--repeat N] [--skip-scorecard]

REF (default: 96ef366, the last commit before etl/ was split into sub-packages and each KPI's rule became one
record-level query) is checked out into a temporary git worktree; this checkout is "after". Both run on this
virtualenv, each with its own folder first on PYTHONPATH.

1. The whole `cpip load` process of an N-row assessments CSV (default 1,000,000; 5% still open) into a warehouse
   already holding the organisation file: interpreter start-up, imports, validation, writing and the KPI rebuild,
   as an analyst waits for it. Median of `--repeat` runs each, before and after alternated.
2. benchmarks/scorecard_bench.py of each version (100 teams x 60 months, the scorecard at every level), run one
   after the other, twice each, alternated; the median of each version's medians.

Goal (issue 19): after no slower than before by more than 45 ms, the cost measured for grouping the record-level
query on 1,000,000 assessments.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE = "96ef366"
AS_OF = "2024-01-31"
ALLOWED_MS = 45.0

SCORECARD = """
import json, sys
sys.argv = ["scorecard_bench"]
import importlib.util
spec = importlib.util.spec_from_file_location("scorecard_bench", "benchmarks/scorecard_bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
import contextlib, io
with contextlib.redirect_stdout(io.StringIO()):
    results = bench.run()
print(json.dumps(results))
"""


def _write_extracts(folder: Path, rows: int) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location("bench_etl", ROOT / "benchmarks" / "etl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_extracts(folder, rows)


def _cli(tree: Path) -> list[str]:
    """The `cpip` command of a version: cpip/cli.py since the split, etl/cli.py before it."""
    module = "cpip.cli" if (tree / "cpip" / "cli.py").exists() else "etl.cli"
    return [sys.executable, "-m", module]


def _env(tree: Path, db: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "CPIP_DB": str(db), "CPIP_HOME": str(tree)}


def _run(args: list[str], tree: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} in {tree} failed: {result.stdout[-1500:]}{result.stderr[-1500:]}")
    return seconds, result.stdout


def _loads(trees: dict[str, Path], folder: Path, rows: int, repeat: int) -> dict[str, list[float]]:
    org, extract = _write_extracts(folder, rows)
    templates = {}
    for name, tree in trees.items():
        templates[name] = folder / f"{name}-template.duckdb"
        _run([*_cli(tree), "load", "--as-of", AS_OF, str(org)], tree, _env(tree, templates[name]))
    seconds: dict[str, list[float]] = {name: [] for name in trees}
    for i in range(repeat):
        for name, tree in trees.items():
            db = folder / f"{name}-{i}.duckdb"
            shutil.copyfile(templates[name], db)
            took, _ = _run([*_cli(tree), "load", "--as-of", AS_OF, str(extract)], tree, _env(tree, db))
            seconds[name].append(took)
            db.unlink()
    return seconds


def _scorecards(trees: dict[str, Path], folder: Path) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for _ in range(2):
        for name, tree in trees.items():
            _, printed = _run([sys.executable, "-c", SCORECARD], tree, _env(tree, folder / "unused.duckdb"))
            for level, figures in json.loads(printed.strip().splitlines()[-1]).items():
                out[name].setdefault(level, []).append(figures["median_ms"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=DEFAULT_BASE)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-scorecard", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = folder / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            trees = {"before": base, "after": ROOT}
            loads = _loads(trees, folder, args.rows, args.repeat)
            b, a = statistics.median(loads["before"]), statistics.median(loads["after"])
            print(f"cpip load of {args.rows:,} assessments, median of {args.repeat} each, alternated:")
            print(f"  before ({args.base}): {b:.2f} s {[round(x, 2) for x in loads['before']]}")
            print(f"  after (this checkout): {a:.2f} s {[round(x, 2) for x in loads['after']]}")
            verdict = "met" if (a - b) * 1000 <= ALLOWED_MS else "NOT met"
            print(f"  difference {(a - b) * 1000:+.0f} ms (goal: no more than +{ALLOWED_MS:.0f} ms): {verdict}")
            if not args.skip_scorecard:
                cards = _scorecards(trees, folder)
                print("scorecard (100 teams x 60 months), median of each run's median, two runs each:")
                for level in ("la", "area", "service", "team"):
                    before = statistics.median(cards["before"][level])
                    after = statistics.median(cards["after"][level])
                    print(f"  {level:<7} before {before:6.1f} ms, after {after:6.1f} ms ({after - before:+.1f} ms)")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False,
                           capture_output=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
