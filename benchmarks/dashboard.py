"""Speed of the dashboard's page updates over HTTP, on 100 teams x 60 months.

    .venv/bin/python benchmarks/dashboard.py [--workers 2] [--requests 60]

Builds a temporary warehouse with benchmarks/scorecard_bench.py's builder
(organisation + kpi_monthly at every level, every metric), serves the app with
gunicorn (`app:server`, read-only warehouse) in a subprocess, and times what a
person's change of a control costs: the POST to `/_dash-update-component` that
Dash's page router makes when a control writes the URL (the same payload the
browser sends), for the scorecard and the KPI page, over a spread of months,
levels and org units. Baseline in the same run: the KPI query behind each page
called straight (etl.serve.queries, a read-only connection per call, as the page
pays) and the scorecard's own SQL on an already-open DuckDB connection.
Goal: each update under 300 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would shadow the `etl` package with benchmarks/etl.py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import requests  # noqa: E402

from etl.catalogue.metrics import catalogue  # noqa: E402
from etl.serve import queries  # noqa: E402

GOAL_MS = 300.0


def _load_builder():
    """benchmarks/scorecard_bench.py's warehouse builder (loaded by path: see the sys.path note)."""
    spec = importlib.util.spec_from_file_location("scorecard_bench", ROOT / "benchmarks" / "scorecard_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict[str, str], workers: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn serving app:server with `workers` workers on a free local port, its
    output in `log_path`. Returns the process and the base address."""
    port = _free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--chdir", str(ROOT), "app:server"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    return server, f"http://127.0.0.1:{port}"


def wait_until_serving(
    session: requests.Session, base: str, server: subprocess.Popen, log_path: Path, seconds: float = 60
) -> bool:
    """Wait until the app answers its front page; False (its log's tail printed) if it
    stops or does not answer within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if session.get(base + "/", timeout=20).status_code == 200:
                return True
        except (requests.ConnectionError, requests.Timeout):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            print(log_path.read_text()[-3000:])
            return False
        time.sleep(0.3)


def router_payload(pathname: str, search: str) -> dict:
    """What the browser posts when a page's URL changes (captured from Chromium)."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "changedPropIds": ["_pages_location.search"],
        "parsedChangedPropsIds": ["_pages_location.search"],
    }


def search(period: str, level: str, unit: str | None) -> str:
    out = f"?period={period}&level={level}"
    return out + (f"&unit={quote(unit, safe='')}" if unit else "")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(label: str, values: list[float], extra: str = "") -> dict:
    row = {
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "max": max(values),
        "n": len(values),
    }
    print(f"  {label:58s} median {row['median']:6.1f}  p95 {row['p95']:6.1f}  max {row['max']:6.1f} ms {extra}")
    return row


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: this machine's cores)")
    parser.add_argument("--requests", type=int, default=60, help="timed updates per page (default 60)")
    args = parser.parse_args(argv)
    bench = _load_builder()
    rng = random.Random(11)
    cat = catalogue()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "warehouse.duckdb"
        start = time.perf_counter()
        rows = bench.build(db)
        print(
            f"dashboard: {bench.TEAMS} teams x {bench.MONTHS} months x {len(cat.metrics)} metrics "
            f"({rows:,} mart rows, built in {time.perf_counter() - start:.1f} s); gunicorn, {args.workers} workers"
        )
        units = {level: queries.units_at(level, db=db) for level in ("la", "area", "service", "team")}
        months = queries.periods(db=db)[-12:]

        def pick() -> tuple[str, str, str | None]:
            level = rng.choice(("la", "area", "service", "team", "team"))
            return rng.choice(months), level, rng.choice(units[level])

        env = {**os.environ, "CPIP_DB": str(db)}
        log_path = Path(folder) / "gunicorn.log"
        server, base = start_app(env, args.workers, log_path)
        session = requests.Session()
        session.headers.update({"Content-Type": "application/json", "Accept-Encoding": "gzip"})
        try:
            if not wait_until_serving(session, base, server, log_path):
                return 2

            def post(pathname: str, query: str) -> tuple[float, int]:
                body = json.dumps(router_payload(pathname, query))
                start = time.perf_counter()
                response = session.post(base + "/_dash-update-component", data=body, timeout=30)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200 or "_pages_content" not in response.text:
                    raise SystemExit(f"update failed ({response.status_code}): {response.text[:300]}")
                # the size on the wire (gzipped by Dash(compress=True)), not the unpacked body
                return elapsed, int(response.headers.get("Content-Length") or len(response.content))

            # Warm every worker: the first request builds Dash's page registry and caches.
            for _ in range(4 * args.workers):
                post("/", search(months[-1], "la", None))
                post(f"/kpi/{cat.ids[1]}", search(months[-1], "la", None))

            print(f"{args.requests} updates each, random month (last 12), level and org unit (ms):")
            results: dict[str, dict] = {}
            sc_cases = [pick() for _ in range(args.requests)]
            kpi_cases = [(rng.choice(cat.ids), *pick()) for _ in range(args.requests)]

            # HTTP update and its baseline query alternate case by case, so that any other
            # load on the machine falls on both alike.
            con = duckdb.connect(str(db), read_only=True)
            sc_http, sc_query, sc_sql, kpi_http, kpi_query, sizes = [], [], [], [], [], {"sc": [], "kpi": []}
            try:
                for p, lv, u in sc_cases:
                    elapsed, size = post("/", search(p, lv, u))
                    sc_http.append(elapsed)
                    sizes["sc"].append(size)
                    sc_query.append(timed(lambda p=p, lv=lv, u=u: queries.scorecard(p, lv, u, db=db)))
                    sql, params = bench._raw_sql(con, p, lv)
                    sc_sql.append(timed(lambda sql=sql, params=params: con.execute(sql, params).fetchall()))
                for m, p, lv, u in kpi_cases:
                    elapsed, size = post(f"/kpi/{m}", search(p, lv, u))
                    kpi_http.append(elapsed)
                    sizes["kpi"].append(size)
                    kpi_query.append(
                        timed(
                            lambda m=m, p=p, lv=lv, u=u: (
                                queries.series(m, lv, u, db=db),
                                lv != "team" and queries.breakdown(m, p, lv, u, db=db),
                            )
                        )
                    )
            finally:
                con.close()
            kb = {k: statistics.median(v) / 1024 for k, v in sizes.items()}
            results["scorecard update (HTTP)"] = summary(
                "scorecard update, HTTP POST", sc_http, f"({kb['sc']:.0f} KB gzipped)"
            )
            results["scorecard query"] = summary("  baseline: etl.serve.queries.scorecard, own connection", sc_query)
            results["scorecard SQL"] = summary("  baseline: scorecard SQL, open connection, all units", sc_sql)
            results["KPI page update (HTTP)"] = summary(
                "KPI page update, HTTP POST", kpi_http, f"({kb['kpi']:.0f} KB gzipped)"
            )
            results["KPI queries"] = summary(
                "  baseline: etl.serve.queries.series + breakdown, own connections", kpi_query
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    ok = all(results[k]["p95"] < GOAL_MS for k in ("scorecard update (HTTP)", "KPI page update (HTTP)"))
    print(f"goal: each update under {GOAL_MS:.0f} ms at the 95th percentile: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
