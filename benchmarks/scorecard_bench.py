"""Speed of the scorecard on 100 teams x 60 months, against the same query straight in DuckDB.

    .venv/bin/python benchmarks/scorecard_bench.py

Builds a temporary warehouse: 100 teams (10 services, 5 areas), every metric of
metrics.yml, 60 months of team figures, rolled up to service, area and the
authority by etl.rules.kpis' own roll-up. Then, for one month at every level, times
`etl.serve.queries.scorecard(period, level)` (a read-only connection opened per call,
RAG, direction, sparklines, comparators, the SPC icons of every row's series: what a
page callback pays) against its baseline in the same run: the underlying SQL (every
series' monthly figures up to the month, `scorecard._SERIES_SQL`) run on an
already-open DuckDB connection and fetched as arrays. The two are timed in turn, one
call of each per round, and the medians compared.
Goal (issue 27): the 100-team team-level scorecard under 50 ms; every level is reported.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would shadow the `etl` package with benchmarks/etl.py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from etl.catalogue.metrics import catalogue  # noqa: E402
from etl.rules import kpis  # noqa: E402
from etl.rules.calendar import add_months  # noqa: E402
from etl.serve import common, queries, units  # noqa: E402
from etl.serve import scorecard as scorecard_module  # noqa: E402
from etl.store.warehouse import reading, writer  # noqa: E402

TEAMS = 100
MONTHS = 60
FIRST = "2021-01"
GOAL_MS = 50.0  # the team level (100 teams: 2,100 series)
REPEATS = 21


def build(db: Path) -> int:
    """The warehouse: organisation, loads, and kpi_monthly at every level. Returns mart rows."""
    cat = catalogue()
    metrics = ", ".join(f"('{m.metric_id}', {'true' if m.unit == 'count' else 'false'})" for m in cat.metrics)
    with writer(db) as con:
        con.execute(
            f"""
            INSERT INTO organisation (team, service, area, load_id)
            SELECT 'Team ' || lpad(CAST(i AS VARCHAR), 3, '0'), 'Service ' || CAST(i % 10 AS VARCHAR),
                   'Area ' || CAST(i % 5 AS VARCHAR), 1
            FROM range({TEAMS}) t(i)
            """
        )
        con.execute(
            "CREATE TEMP TABLE _kpi_rows (metric_id VARCHAR, period DATE, level VARCHAR, org_unit VARCHAR,"
            " numerator DOUBLE, denominator DOUBLE)"
        )
        # Deterministic figures: denominators 5-44, numerators below them; about 3% of
        # team-months missing, so gaps and "No data" are exercised too.
        con.execute(
            f"""
            INSERT INTO _kpi_rows
            WITH metrics(metric_id, is_count) AS (VALUES {metrics}),
            months AS (
                SELECT CAST(range AS DATE) AS period
                FROM range(DATE '{FIRST}-01', DATE '{FIRST}-01' + INTERVAL {MONTHS} MONTH, INTERVAL 1 MONTH)
            ),
            cells AS (
                SELECT m.metric_id, m.is_count, mo.period, o.team,
                       hash(m.metric_id, mo.period, o.team) AS h
                FROM metrics m CROSS JOIN months mo CROSS JOIN organisation o
            )
            SELECT metric_id, period, 'team', team,
                   CAST(h % 40 AS DOUBLE) * CASE WHEN is_count THEN 1 ELSE 0 END
                       + CASE WHEN is_count THEN 0 ELSE CAST((h >> 8) % (5 + h % 40) AS DOUBLE) END,
                   CASE WHEN is_count THEN NULL ELSE CAST(5 + h % 40 AS DOUBLE) END
            FROM cells WHERE (h >> 16) % 33 <> 0
            """
        )
        # The roll-up reads each metric's unit (a rate's row without a denominator pools nothing).
        con.execute("CREATE TEMP TABLE _kpi_metrics (metric_id VARCHAR, source VARCHAR, unit VARCHAR)")
        con.executemany(
            "INSERT INTO _kpi_metrics VALUES (?, ?, ?)", [(m.metric_id, m.source, m.unit) for m in cat.metrics]
        )
        con.execute(kpis._ROLLUP, {"authority": cat.authority.name})
        con.execute("DROP TABLE _kpi_rows")
        con.execute("DROP TABLE _kpi_metrics")
        return con.execute("SELECT count(*) FROM kpi_monthly").fetchone()[0]


def _time(fn: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    fn()  # warm: first call parses metrics.yml and primes the OS file cache
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _alternate(first: Callable[[], object], second: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Both timed in turn (first, second, first, ...), so a busy machine slows both alike."""
    first(), second()
    a, b = [], []
    for _ in range(REPEATS):
        for fn, out in ((first, a), (second, b)):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return a, b


def _raw_sql(con: duckdb.DuckDBPyConnection, period: str, level: str) -> tuple[str, dict]:
    """The scorecard's own SQL and parameters, as queries.scorecard runs it for a whole level:
    every series of the level's units up to the month."""
    from etl.rules.calendar import parse_period

    sql = scorecard_module._SERIES_SQL.format(metrics=common._metrics_values_sql())
    return sql, {"level": level, "last": parse_period(period), "units": units._units_at(con, level)}


def _series_sql(con: duckdb.DuckDBPyConnection, period: str, level: str) -> Callable[[], object]:
    """_raw_sql run on the open connection and fetched as arrays, as queries.scorecard fetches it."""
    sql, params = _raw_sql(con, period, level)
    return lambda: con.execute(sql, params).fetchnumpy()


def run() -> dict[str, dict[str, float]]:
    """Build the warehouse, time the scorecard at every level, print and return the figures (ms)."""
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "warehouse.duckdb"
        start = time.perf_counter()
        rows = build(db)
        built = time.perf_counter() - start
        period = add_months(FIRST, MONTHS - 1)
        print(
            f"scorecard: {TEAMS} teams x {MONTHS} months x {len(catalogue().metrics)} metrics "
            f"({rows:,} mart rows, built in {built:.1f} s); month {period}; {REPEATS} runs each; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        open_ms = _time(lambda: reading(db).__enter__().close())
        print(f"  opening a read-only connection: median {statistics.median(open_ms):.1f} ms")
        con = duckdb.connect(str(db), read_only=True)
        try:
            for level in ("la", "area", "service", "team"):
                full, raw = _alternate(
                    lambda level=level: queries.scorecard(period, level, db=db), _series_sql(con, period, level)
                )
                n = len(queries.scorecard(period, level, db=db))
                median, raw_median = statistics.median(full), statistics.median(raw)
                results[level] = {"rows": n, "best_ms": min(full), "median_ms": median, "duckdb_best_ms": min(raw),
                                  "duckdb_median_ms": raw_median, "ratio": median / raw_median}  # fmt: skip
                met = "met" if median < GOAL_MS else "NOT met"
                goal = f" | goal < {GOAL_MS:.0f} ms: {met}" if level == "team" else ""
                print(
                    f"  {level:<7} {n:>5} rows: scorecard() best {min(full):6.1f} ms, median {median:6.1f} ms | "
                    f"its SQL in DuckDB (open connection) best {min(raw):6.1f} ms, median {raw_median:6.1f} ms | "
                    f"{median / raw_median:4.1f}x the SQL{goal}"
                )
        finally:
            con.close()
        # The other read functions a page update calls (goal: each update under 300 ms).
        others = {
            "series (la)": lambda: queries.series("assessments_45wd", "la", None, db=db),
            "breakdown (la -> services)": lambda: queries.breakdown("assessments_45wd", period, "la", None, db=db),
            "team_matrix (all teams x 12)": lambda: queries.team_matrix("assessments_45wd", "la", None, period, db=db),
            "team_grid (all teams)": lambda: queries.team_grid(period, "la", None, db=db),
            "pooled (a year)": lambda: queries.pooled(
                "assessments_45wd", [add_months(period, -i) for i in range(12)], "la", None, db=db
            ),
            "freshness": lambda: queries.freshness(db=db),
            "periods": lambda: queries.periods(db=db),
        }
        for name, fn in others.items():
            t = _time(fn)
            results[name] = {"best_ms": min(t), "median_ms": statistics.median(t)}
            print(f"  {name:<29} best {min(t):6.1f} ms, median {statistics.median(t):6.1f} ms")
    return results


if __name__ == "__main__":
    run()
