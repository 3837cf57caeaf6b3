"""The KPI rules (../shared/spec/kpis.md) as SQL, one file per source, and the
rebuild of the `kpi_monthly` mart.

One rule per KPI, by construction. Each record-level source's `<source>.sql` is
one SELECT that judges every record, once, for each of its KPIs:

    metric_id, period, team, child_id, start, deadline, event_date, working_days,
    outcome, deadline_wd, due_at

`period` is the month whose figure counts the record (metrics.yml `counted_on`;
NULL when it is in no month's figure yet, e.g. an open assessment for
assessments_45wd). `outcome` is `met`, `late`, `not met`, `overdue` (no event,
deadline passed on the day judged: counted, not met), `not yet due` (outside
the figure) or NULL for a plain count. A record a KPI cannot judge (Annex A's
Yes/No seen flag for seen_5wd) is in none of its rows. `deadline_wd` (the
deadline's working-day number) and `due_at` serve the due list. A record is
judged on `coalesce($on, as_of)`: its own as-of date for the mart and the child
lists ($on NULL), the due list's "now" for the due list. The clocks and counted
dates are metrics.yml's, substituted into the SQL when it is loaded
(`record_sql`), so they are declared once.

`rebuild` groups those rows by metric, month and team (numerator = `met`,
denominator = met, late, not met and overdue; a count counts rows), adds
`kpi_values.sql`'s figures given upstream, then rolls team rows up to service,
area and the authority (`la`) by summing numerators and denominators (never
averaging percentages), letting a directly given row override the roll-up for
its unit. The child lists and the due list (etl/privacy/children.py) select
from the same rows. Everything is whole-set SQL, the same on DuckDB and
PostgreSQL (etl/store/db.py): no Python loop over records. On PostgreSQL,
row-level security confines the rebuild to the load's authority: it reads and
replaces that authority's rows only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from etl.catalogue.contract import EXTRACT_TYPES, KPI_SOURCES, RECORD_SOURCES, UNALLOCATED
from etl.catalogue.metrics import Catalogue, catalogue
from etl.store import authority
from etl.store.db import touch

SQL_DIR = Path(__file__).resolve().parent
SOURCES = KPI_SOURCES
# Every KPI source but kpi_values (figures given upstream) has records behind it, judged in its <source>.sql.
RECORD_COLUMNS = (
    "metric_id", "period", "team", "child_id", "start", "deadline", "event_date", "working_days", "outcome",
    "deadline_wd", "due_at",
)  # fmt: skip
COUNTED = ("met", "late", "not met", "overdue")  # the denominator's outcomes; `not yet due` is outside
_COUNTED_SQL = ", ".join(f"'{o}'" for o in COUNTED)

# A team's figures: the record-level rows grouped (the one rule per KPI, rows judged on their own as_of).
_FIGURES = f"""
INSERT INTO _kpi_rows
SELECT r.metric_id, r.period, 'team', r.team,
       CAST(CASE WHEN m.unit = 'count' THEN count(*)
                 ELSE count(*) FILTER (WHERE r.outcome = 'met') END AS DOUBLE PRECISION),
       CASE WHEN m.unit = 'count' THEN NULL
            ELSE CAST(count(*) FILTER (WHERE r.outcome IN ({_COUNTED_SQL})) AS DOUBLE PRECISION) END
FROM ({{sql}}
) AS r JOIN _kpi_metrics m ON m.metric_id = r.metric_id AND m.source = '{{source}}'
WHERE r.period IS NOT NULL
GROUP BY r.metric_id, r.period, r.team, m.unit
HAVING m.unit = 'count' OR count(*) FILTER (WHERE r.outcome IN ({_COUNTED_SQL})) > 0
"""

# Every level from the rows the sources give. A unit's figure is its own given row
# where there is one; otherwise the pool of the units under it: a service pools its
# teams; the authority pools its services (a service's own row in place of its
# teams) and any team in no service (every record counts for the authority), or,
# with nothing else, its areas' own rows; an area, which a row given for a whole
# service cannot be split across, pools its teams and its note says so.
_ROLLUP = """
INSERT INTO kpi_monthly (metric_id, period, level, org_unit, numerator, denominator, note)
WITH given AS (
    SELECT metric_id, period, level, org_unit, sum(numerator) AS numerator, sum(denominator) AS denominator
    FROM _kpi_rows GROUP BY metric_id, period, level, org_unit
),
teams AS (
    SELECT g.metric_id, g.period, g.org_unit, g.numerator, g.denominator, o.service, o.area
    FROM given g LEFT JOIN organisation o ON o.team = g.org_unit
    WHERE g.level = 'team'
),
service_given AS (SELECT * FROM given WHERE level = 'service'),
area_given AS (SELECT * FROM given WHERE level = 'area'),
la_given AS (SELECT * FROM given WHERE level = 'la'),
services AS (
    SELECT metric_id, period, org_unit, numerator, denominator FROM service_given
    UNION ALL
    SELECT metric_id, period, service, sum(numerator), sum(denominator)
    FROM teams t WHERE service IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM service_given s
                        WHERE s.metric_id = t.metric_id AND s.period = t.period AND s.org_unit = t.service)
    GROUP BY metric_id, period, service
),
areas AS (
    SELECT metric_id, period, org_unit, numerator, denominator, CAST(NULL AS VARCHAR) AS note FROM area_given
    UNION ALL
    SELECT t.metric_id, t.period, t.area, sum(t.numerator), sum(t.denominator),
           (SELECT 'pools its teams'' own figures: the figure given for '
                   || string_agg(DISTINCT s.org_unit, ', ' ORDER BY s.org_unit)
                   || ' covers the whole service and cannot be split across areas'
            FROM service_given s JOIN organisation o ON o.service = s.org_unit
            WHERE s.metric_id = t.metric_id AND s.period = t.period AND o.area = t.area)
    FROM teams t WHERE area IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM area_given a
                        WHERE a.metric_id = t.metric_id AND a.period = t.period AND a.org_unit = t.area)
    GROUP BY t.metric_id, t.period, t.area
),
la_pooled AS (
    SELECT metric_id, period, sum(numerator) AS numerator, sum(denominator) AS denominator FROM (
        SELECT metric_id, period, numerator, denominator FROM services
        UNION ALL
        SELECT metric_id, period, numerator, denominator FROM teams WHERE service IS NULL
    ) AS pooled GROUP BY metric_id, period
),
la AS (
    SELECT metric_id, period, numerator, denominator FROM la_given
    UNION ALL
    SELECT * FROM la_pooled p
    WHERE NOT EXISTS (SELECT 1 FROM la_given g WHERE g.metric_id = p.metric_id AND g.period = p.period)
    UNION ALL
    SELECT metric_id, period, sum(numerator), sum(denominator) FROM area_given a
    WHERE NOT EXISTS (SELECT 1 FROM la_given g WHERE g.metric_id = a.metric_id AND g.period = a.period)
      AND NOT EXISTS (SELECT 1 FROM la_pooled p WHERE p.metric_id = a.metric_id AND p.period = a.period)
    GROUP BY metric_id, period
)
SELECT metric_id, period, 'team', org_unit, numerator, denominator, NULL FROM teams
UNION ALL
SELECT metric_id, period, 'service', org_unit, numerator, denominator, NULL FROM services
UNION ALL
SELECT metric_id, period, 'area', org_unit, numerator, denominator, note FROM areas
UNION ALL
SELECT metric_id, period, 'la', $authority, numerator, denominator, NULL FROM la
"""

# The months an extract type covers: from its earliest record's month to the month of
# the latest as-of date of the loads its records came in (or its latest record, if
# later). kpi_values rows for a metric counted from that type fill only the months
# outside; inside, the records win and a count with no record is 0.
_COVERAGE = """
SELECT CAST(date_trunc('month', min("{column}")) AS DATE) AS first_month,
       CAST(date_trunc('month', greatest(max(as_of), max(CAST("{column}" AS DATE)))) AS DATE) AS last_month
FROM "{table}"
"""


def coverage(con) -> dict[str, tuple]:
    """{record-level KPI source: (first month, last month)} for each source holding records."""
    out = {}
    for source in SOURCES:
        extract = EXTRACT_TYPES.get(source)
        if extract is None or not extract.record_level or not extract.period_column:
            continue
        first, last = con.execute(_COVERAGE.format(column=extract.period_column, table=extract.table)).fetchall()[0]
        if first is not None:
            out[source] = (first, last)
    return out


def _coverage_table(con) -> None:
    """Temp table `_kpi_coverage(source, first_month, last_month)`."""
    con.execute("DROP TABLE IF EXISTS _kpi_coverage")
    con.execute("CREATE TEMP TABLE _kpi_coverage (source VARCHAR, first_month DATE, last_month DATE)")
    rows = [(source, first, last) for source, (first, last) in coverage(con).items()]
    # A snapshot covers the month of each as-of date it was taken on, and no month between; a year-end type
    # (the SSDA903's OC2 and OC3: no period column) the month of each year end it holds.
    for source in SOURCES:
        extract = EXTRACT_TYPES.get(source)
        if extract is None or not extract.record_level:
            continue
        if extract.snapshot:
            day = "as_of"
        elif extract.period_column is None and extract.window_date:
            day = f'"{extract.window_date}"'
        else:
            continue
        months = con.execute(
            f"SELECT DISTINCT CAST(date_trunc('month', {day}) AS DATE) FROM \"{extract.table}\" ORDER BY 1"
        ).fetchall()
        rows += [(source, month, month) for (month,) in months]
    # A source whose rule also reads another type's records (care_episodes reads List 8) covers what they cover.
    own = list(rows)
    for source in SOURCES:
        extract = EXTRACT_TYPES.get(source)
        for other in extract.reads if extract is not None else ():
            rows += [(source, first, last) for name, first, last in own if name == other]
    if rows:
        con.executemany("INSERT INTO _kpi_coverage VALUES (?, ?, ?)", rows)


@cache
def _sql_file(source: str) -> str:
    return (SQL_DIR / f"{source}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def source_sql(source: str) -> str:
    """The SQL of one source as written (comments kept, trailing `;` dropped)."""
    if source not in SOURCES:
        raise ValueError(f"{source!r} is not a KPI source (one of {', '.join(SOURCES)})")
    return _sql_file(source)


# {metric_id.field} or {source.field} in a record-level SQL file: a clock or counted date of metrics.yml.
_FIELD = re.compile(r"\{([a-z][a-z0-9_]*)\.(working_days|hours|counted_on)\}")
_NOT_IN_CATALOGUE = {"working_days": "CAST(NULL AS INTEGER)", "hours": "CAST(NULL AS INTEGER)",
                     "counted_on": "CAST(NULL AS DATE)"}  # fmt: skip


def _field(cat: Catalogue, source: str, name: str, field: str) -> str:
    """One placeholder's SQL: a validated integer or a quoted column name. A metric the catalogue
    does not hold gives NULL (its rows are then in no month and never due, and the mart drops them)."""
    if name in cat.ids:
        value = _value(cat.metric(name), field)
    elif name in SOURCES:  # one value for every metric of the source (e.g. every audit metric's date)
        values = {_value(m, field) for m in cat.metrics if m.source == name}
        if len(values) > 1:
            raise ValueError(f"metrics.yml: the {name} metrics must share one {field} ({source}.sql reads one)")
        if not values:
            return _NOT_IN_CATALOGUE[field]
        value = values.pop()
    else:
        return _NOT_IN_CATALOGUE[field]
    if value is None:
        raise ValueError(f"metrics.yml: metric {name} needs '{field}' (etl/rules/kpis/{source}.sql reads it)")
    return f'"{value}"' if field == "counted_on" else str(int(value))


def _value(metric, field: str) -> str | int | None:
    if field == "counted_on":
        return metric.counted_on
    return None if metric.clock is None else getattr(metric.clock, field)


# {metric_id.team:alias} in a record-level SQL file: the team a record counts for. A record with a team
# counts for it; one counted as Unallocated (a statutory return's records carry no team; a blank Annex A
# team) takes the team the allocation history (child_teams) gives its child on the record's counted date
# (metrics.yml counted_on; while it has none, the day it is judged on), else stays Unallocated. Of two
# allocations open that day the later-starting one wins: child_teams is keyed by (child_id, from_date),
# so the latest from_date is one row, picked by an aggregate both engines decorrelate into a join.
# {metric_id.team:alias:column}: the same, counted on `column` of the alias (a date the rule derives, such as
# the month end S placements_3plus counts on, rather than a column of the source).
_TEAM = re.compile(r"\{([a-z][a-z0-9_]*)\.team:([a-z_][a-z0-9_]*)(?::([a-z_][a-z0-9_]*))?\}")
# {rows_of:source} in a record-level SQL file: that source's record-level rows, where its rule feeds another
# source's KPI in the months no newer record of this source speaks for (List 8 beside the SSDA903).
_ROWS_OF = re.compile(r"\{rows_of:([a-z][a-z0-9_]*)\}")


def _team_sql(cat: Catalogue, source: str, name: str, alias: str, column: str | None = None) -> str:
    counted = f'"{column}"' if column else _field(cat, source, name, "counted_on")
    on = f"coalesce(CAST({alias}.{counted} AS DATE), CAST($on AS DATE), {alias}.as_of)"
    if counted == "CAST(NULL AS DATE)":
        on = f"coalesce(CAST($on AS DATE), {alias}.as_of)"
    allocated = (
        "(SELECT substr(max(CAST(ct.from_date AS VARCHAR) || ct.team), 11) FROM child_teams ct"
        f" WHERE ct.child_id = {alias}.child_id AND ct.from_date <= {on}"
        f" AND (ct.to_date IS NULL OR ct.to_date >= {on}))"
    )
    return f"CASE WHEN {alias}.team = '{UNALLOCATED}' THEN coalesce({allocated}, '{UNALLOCATED}') ELSE {alias}.team END"


def _audit_metrics(cat: Catalogue) -> str:
    """The catalogue's audit metrics as VALUES rows (metric ids are validated `^[a-z][a-z0-9_]*$`;
    audit types are quoted)."""
    rows = []
    for m in cat.metrics:
        if m.source == "case_audits":
            kind = "CAST(NULL AS VARCHAR)" if m.audit_type is None else "'" + m.audit_type.replace("'", "''") + "'"
            rows.append(f"(CAST('{m.metric_id}' AS VARCHAR), {kind})")
    return ", ".join(rows) or "(CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR))"


def record_sql(source: str, cat: Catalogue | None = None) -> str:
    """The record-level SELECT of one source (RECORD_COLUMNS, one row per record and KPI), with
    metrics.yml's clocks and counted dates in place. It takes one parameter, `$on`: the day to judge
    records on (None: each record's own as-of date). ValueError for a source without records."""
    if source not in RECORD_SOURCES:
        raise ValueError(f"{source!r} has no record-level rules (one of {', '.join(RECORD_SOURCES)})")
    cat = cat or catalogue()
    sql = _sql_file(source).replace("{audit_metrics}", _audit_metrics(cat))
    sql = _ROWS_OF.sub(lambda m: record_sql(m.group(1), cat), sql)
    sql = _TEAM.sub(lambda m: _team_sql(cat, source, m.group(1), m.group(2), m.group(3)), sql)
    return _FIELD.sub(lambda m: _field(cat, source, m.group(1), m.group(2)), sql)


def record_params(sql: str, on=None) -> dict:
    """The parameters a record-level SELECT takes (DuckDB refuses one the statement does not name)."""
    return {"on": on} if "$on" in sql else {}


def rebuild(con, sources: Iterable[str] | None = None) -> int:
    """Recompute `kpi_monthly` for the catalogue's metrics whose source is in
    `sources` (None = every metric; an `organisation` source also means every
    metric, since teams may have moved). Returns the number of mart rows written.

    Runs on the caller's connection (normally `etl.store.warehouse.writer()`'s, inside
    its transaction), so the mart changes in the same commit as the load."""
    cat = catalogue()
    wanted = None if sources is None else set(sources)
    # Teams may have moved (organisation), and kpi_values rows may give any metric.
    if wanted is not None and wanted & {"organisation", "kpi_values"}:
        wanted = None
    if wanted is not None:
        unknown = wanted - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown KPI source(s): {', '.join(sorted(unknown))}")
    metrics = [m for m in cat.metrics if wanted is None or m.source in wanted]

    for table in ("_kpi_rows", "_kpi_metrics"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("CREATE TEMP TABLE _kpi_metrics (metric_id VARCHAR, source VARCHAR, unit VARCHAR)")
    con.execute(
        "CREATE TEMP TABLE _kpi_rows (metric_id VARCHAR, period DATE, level VARCHAR, org_unit VARCHAR,"
        " numerator DOUBLE PRECISION, denominator DOUBLE PRECISION)"
    )
    name = authority.current().name
    touch(con, "kpi_monthly")
    try:
        if metrics:
            con.executemany(
                "INSERT INTO _kpi_metrics VALUES (?, ?, ?)", [(m.metric_id, m.source, m.unit) for m in metrics]
            )
        _coverage_table(con)

        # Out with the old rows of every metric rebuilt (and, on a full rebuild,
        # of metrics no longer in the catalogue).
        if wanted is None:
            con.execute("DELETE FROM kpi_monthly")
        else:
            con.execute("DELETE FROM kpi_monthly WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics)")

        for source in sorted({m.source for m in metrics} - {"kpi_values"}, key=SOURCES.index):
            sql = record_sql(source, cat)
            # A source's rows count for the metrics whose source it is (a rule may include another's rows).
            con.execute(_FIGURES.format(sql=sql, source=source), record_params(sql))
        # A count counted from records is 0, not "no data", for a team in a month its
        # extract covers but no record falls in.
        con.execute(
            """
            INSERT INTO _kpi_rows
            SELECT m.metric_id, CAST(g.month AS DATE), 'team', o.team, 0, NULL
            FROM _kpi_metrics m JOIN _kpi_coverage c ON c.source = m.source
            CROSS JOIN LATERAL generate_series(CAST(c.first_month AS TIMESTAMP), CAST(c.last_month AS TIMESTAMP),
                                               INTERVAL '1 month') AS g(month)
            CROSS JOIN (SELECT DISTINCT team FROM organisation) AS o
            WHERE m.unit = 'count'
              AND NOT EXISTS (SELECT 1 FROM _kpi_rows r WHERE r.metric_id = m.metric_id AND r.level = 'team'
                              AND r.org_unit = o.team AND r.period = CAST(g.month AS DATE))
            """
        )
        # kpi_values, one rule whatever the metric's source: rows fill the months its
        # records do not cover; where they cover a month, the records win.
        con.execute(
            f"INSERT INTO _kpi_rows SELECT rows.* FROM ({source_sql('kpi_values')}\n) AS rows"
            " JOIN _kpi_metrics m USING (metric_id)"
            " WHERE NOT EXISTS (SELECT 1 FROM _kpi_coverage c WHERE c.source = m.source"
            "                   AND rows.period BETWEEN c.first_month AND c.last_month)",
            {"authority": name},
        )
        con.execute(_ROLLUP, {"authority": name})
        written = "SELECT count(*) FROM kpi_monthly WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics)"
        return con.execute(written).fetchone()[0]
    finally:
        for table in ("_kpi_rows", "_kpi_metrics", "_kpi_coverage"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
