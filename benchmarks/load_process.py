"""The whole `cpip load` process on a 1,000,000-row assessments CSV against a whole Python process that runs
DuckDB's `read_csv` of the same file into a file database (checkpoint included), in the same run.

    .venv/bin/python benchmarks/load_process.py [--rows N] [--repeat N]

Goal: within 2x. Both are timed from the command line, interpreter start-up and imports included, because
that is what an analyst (or the inbox's cron job) waits for.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 2.0
AS_OF = "2024-01-31"

BASELINE = """
import sys
import duckdb
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE assessments AS SELECT * FROM read_csv(?, header = true, auto_detect = false,"
            " columns = {'c0': 'VARCHAR', 'c1': 'VARCHAR', 'c2': 'VARCHAR', 'c3': 'VARCHAR', 'c4': 'VARCHAR'})",
            [sys.argv[1]])
con.execute("CHECKPOINT")
con.close()
"""


def _write_extracts(folder: Path, rows: int) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location("bench_etl", ROOT / "benchmarks" / "etl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_extracts(folder, rows)


def _seconds(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({result.returncode}): {result.stdout[-1500:]}{result.stderr[-1500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    cpip = str(Path(python).with_name("cpip"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        org, extract = _write_extracts(folder, args.rows)
        template = folder / "template.duckdb"
        env = {**os.environ, "CPIP_DB": str(template)}
        subprocess.run([cpip, "load", "--as-of", AS_OF, str(org)], env=env, check=True, capture_output=True)
        base, load = [], []
        for i in range(args.repeat):
            target = folder / f"plain{i}.duckdb"
            base.append(_seconds([python, "-c", BASELINE, str(extract), str(target)], env))
            db = folder / f"w{i}.duckdb"
            shutil.copyfile(template, db)
            load.append(_seconds([cpip, "load", "--as-of", AS_OF, str(extract)], {**env, "CPIP_DB": str(db)}))
        out = subprocess.run(
            [cpip, "load", "--as-of", AS_OF, str(extract)],
            env={**env, "CPIP_DB": str(db)},
            capture_output=True,
            text=True,
        ).stdout
    b, m = statistics.median(base), statistics.median(load)
    print(f"{args.rows:,} rows; the load printed {len(out.splitlines())} lines")
    print(f"python + duckdb read_csv into a file database: {b:.2f} s (median of {len(base)}: {base})")
    print(f"cpip load: {m:.2f} s (median of {len(load)}: {load})")
    print(f"ratio {m / b:.2f}x (goal within {GOAL:g}x): {'met' if m / b <= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
