"""The whole `cpip load` process on a 1,000,000-row assessments CSV against a whole Python process that runs
DuckDB's `read_csv` of the same file into a file database (checkpoint included), in the same run.

    .venv/bin/python benchmarks/load_process.py [--rows N] [--repeat N]

The extract: 1,000,000 assessments, 5% still open (so 50,000 warnings, grouped into two lines of the report).
`cpip load` runs this checkout's code (PYTHONPATH is set to it). `--before-root DIR` also times the load of
another checkout (the code before a change) in the same run, alternated with the other two.

Goal: within 2x. Both are timed from the command line, interpreter start-up and imports included, because
that is what an analyst (or the inbox's cron job) waits for. Then, once each: the same file loaded again
(it changes nothing).
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
    return module.write_extracts(folder, rows, open_every=20)


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
    parser.add_argument("--before-root", type=Path, help="another checkout to time beside this one (before)")
    args = parser.parse_args()
    python = sys.executable
    cpip = [python, "-m", "cpip"]
    roots = {"cpip load": ROOT} | ({"cpip load (before)": args.before_root.resolve()} if args.before_root else {})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        org, extract = _write_extracts(folder, args.rows)
        template = folder / "template.duckdb"
        env = {**os.environ, "CPIP_DB": str(template), "PYTHONPATH": str(ROOT)}
        subprocess.run([*cpip, "load", "--as-of", AS_OF, str(org)], env=env, check=True, capture_output=True)
        base: list[float] = []
        load: dict[str, list[float]] = {name: [] for name in roots}
        for i in range(args.repeat):
            target = folder / f"plain{i}.duckdb"
            base.append(_seconds([python, "-c", BASELINE, str(extract), str(target)], env))
            for name, root in roots.items():
                db = folder / f"w{i}-{len(load[name])}-{root.name}.duckdb"
                shutil.copyfile(template, db)
                run_env = {**env, "CPIP_DB": str(db), "PYTHONPATH": str(root)}
                load[name].append(_seconds([*cpip, "load", "--as-of", AS_OF, str(extract)], run_env))
        db = folder / "again.duckdb"
        shutil.copyfile(template, db)
        out = subprocess.run(
            [*cpip, "load", "--as-of", AS_OF, str(extract)],
            env={**env, "CPIP_DB": str(db)},
            capture_output=True,
            text=True,
        ).stdout
        again = _seconds([*cpip, "load", "--as-of", AS_OF, str(extract)], {**env, "CPIP_DB": str(db)})
    b = statistics.median(base)
    print(f"{args.rows:,} rows, 5% still open; the load printed {len(out.splitlines())} lines:")
    print("".join(f"  {line}\n" for line in out.splitlines()), end="")
    print(f"python + duckdb read_csv into a file database: {b:.2f} s (median of {len(base)}: {_list(base)})")
    for name, seconds in load.items():
        m = statistics.median(seconds)
        print(f"{name}: {m:.2f} s (median of {len(seconds)}: {_list(seconds)}), ratio {m / b:.2f}x")
    m = statistics.median(load["cpip load"])
    print(f"ratio {m / b:.2f}x (goal within {GOAL:g}x): {'met' if m / b <= GOAL else 'NOT met'}")
    print(f"the same file loaded again (no change): {again:.2f} s")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in seconds)


if __name__ == "__main__":
    main()
