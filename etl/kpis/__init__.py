"""The KPI rules (../shared/spec/kpis.md) as SQL, one file per source, and the
rebuild of the `kpi_monthly` mart.

Each `<source>.sql` is one SELECT over the warehouse returning
`(metric_id, period, level, org_unit, numerator, denominator)`: record-level
sources give team rows only; `kpi_values` also gives rows named directly for a
service, area or the authority. `rebuild` then rolls team rows up to service,
area and the authority (`la`) by summing numerators and denominators (never
averaging percentages), and lets a directly given row override the roll-up for
its unit. Everything is whole-set DuckDB SQL: no Python loop over records.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import duckdb

from etl.metrics import catalogue

SQL_DIR = Path(__file__).resolve().parent
SOURCES = (
    "assessments",
    "health_assessments",
    "missing_episodes",
    "referrals",
    "case_audits",
    "s47_enquiries",
    "children_in_care",
    "care_leavers",
    "kpi_values",
)
# Record sources whose metrics were counted upstream before: kpi_values rows still give the months
# that no record covers (records win where they give a month).
FILLED_FROM_KPI_VALUES = ("s47_enquiries", "children_in_care", "care_leavers")

_FILL = """
INSERT INTO _kpi_rows
SELECT v.* FROM ({kpi_values}\n) AS v
WHERE v.metric_id IN (SELECT metric_id FROM _kpi_metrics WHERE source = $source)
  AND NOT EXISTS (SELECT 1 FROM _kpi_rows r WHERE r.metric_id = v.metric_id AND r.period = v.period)
"""

# Team rows -> service, area, la; rows given directly for a unit above team
# replace that unit's roll-up.
_ROLLUP = """
INSERT INTO kpi_monthly (metric_id, period, level, org_unit, numerator, denominator)
WITH team_rows AS (
    SELECT metric_id, period, org_unit, numerator, denominator FROM _kpi_rows WHERE level = 'team'
),
direct AS (
    SELECT metric_id, period, level, org_unit, sum(numerator) AS numerator, sum(denominator) AS denominator
    FROM _kpi_rows WHERE level <> 'team' GROUP BY ALL
),
rolled AS (
    SELECT metric_id, period, 'team' AS level, org_unit, sum(numerator) AS numerator,
           sum(denominator) AS denominator
    FROM team_rows GROUP BY ALL
    UNION ALL
    SELECT t.metric_id, t.period, 'service', o.service, sum(t.numerator), sum(t.denominator)
    FROM team_rows t JOIN organisation o ON o.team = t.org_unit GROUP BY ALL
    UNION ALL
    SELECT t.metric_id, t.period, 'area', o.area, sum(t.numerator), sum(t.denominator)
    FROM team_rows t JOIN organisation o ON o.team = t.org_unit GROUP BY ALL
    UNION ALL
    -- The authority counts every record, whatever its team.
    SELECT metric_id, period, 'la', $authority, sum(numerator), sum(denominator) FROM team_rows GROUP BY ALL
)
SELECT r.metric_id, r.period, r.level, r.org_unit, r.numerator, r.denominator
FROM rolled r ANTI JOIN direct d USING (metric_id, period, level, org_unit)
UNION ALL
SELECT metric_id, period, level, org_unit, numerator, denominator FROM direct
"""


@cache
def source_sql(source: str) -> str:
    """The SELECT of one source's rules (comments kept, trailing `;` dropped)."""
    if source not in SOURCES:
        raise ValueError(f"{source!r} is not a KPI source (one of {', '.join(SOURCES)})")
    return (SQL_DIR / f"{source}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def rebuild(con: duckdb.DuckDBPyConnection, sources: Iterable[str] | None = None) -> int:
    """Recompute `kpi_monthly` for the catalogue's metrics whose source is in
    `sources` (None = every metric; an `organisation` source also means every
    metric, since teams may have moved). Returns the number of mart rows written.

    Runs on the caller's connection (normally `etl.warehouse.writer()`'s, inside
    its transaction), so the mart changes in the same commit as the load."""
    cat = catalogue()
    wanted = None if sources is None else set(sources)
    if wanted is not None and "organisation" in wanted:
        wanted = None
    if wanted is not None and "kpi_values" in wanted:
        wanted |= set(FILLED_FROM_KPI_VALUES)
    if wanted is not None:
        unknown = wanted - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown KPI source(s): {', '.join(sorted(unknown))}")
    metrics = [m for m in cat.metrics if wanted is None or m.source in wanted]

    con.execute("CREATE OR REPLACE TEMP TABLE _kpi_metrics (metric_id VARCHAR, source VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE _kpi_audit_metrics (metric_id VARCHAR, audit_type VARCHAR)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _kpi_rows (metric_id VARCHAR, period DATE, level VARCHAR, org_unit VARCHAR,"
        " numerator DOUBLE, denominator DOUBLE)"
    )
    try:
        if metrics:
            con.executemany("INSERT INTO _kpi_metrics VALUES (?, ?)", [(m.metric_id, m.source) for m in metrics])
        audits = [(m.metric_id, m.audit_type) for m in metrics if m.source == "case_audits"]
        if audits:
            con.executemany("INSERT INTO _kpi_audit_metrics VALUES (?, ?)", audits)

        # Out with the old rows of every metric rebuilt (and, on a full rebuild,
        # of metrics no longer in the catalogue).
        if wanted is None:
            con.execute("DELETE FROM kpi_monthly")
        else:
            con.execute("DELETE FROM kpi_monthly WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics)")

        for source in sorted({m.source for m in metrics}, key=SOURCES.index):
            sql = source_sql(source)
            params = {"source": source}
            if "$authority" in sql:
                params["authority"] = cat.authority.name
            con.execute(
                f"INSERT INTO _kpi_rows SELECT * FROM ({sql}\n) AS rows"
                " WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics WHERE source = $source)",
                params,
            )
            if source in FILLED_FROM_KPI_VALUES:
                con.execute(
                    _FILL.format(kpi_values=source_sql("kpi_values")),
                    {"source": source, "authority": cat.authority.name},
                )
        con.execute(_ROLLUP, {"authority": cat.authority.name})
        written = "SELECT count(*) FROM kpi_monthly WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics)"
        return con.execute(written).fetchone()[0]
    finally:
        for table in ("_kpi_rows", "_kpi_audit_metrics", "_kpi_metrics"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
