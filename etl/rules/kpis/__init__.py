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
lists ($on NULL), the due list's "now" for the due list. A source whose contract
declares `worker` (the allocated worker) gives it as a last column, for the due
list only (etl/privacy/children.py). The clocks and counted
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
from datetime import date, timedelta
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
WITH summed AS (
    SELECT metric_id, period, level, org_unit, sum(numerator) AS numerator, sum(denominator) AS denominator
    FROM _kpi_rows GROUP BY metric_id, period, level, org_unit
),
-- A rate's row without a positive denominator (cases with no FTE) is no figure (no row: "No data"), and pools
-- nothing: its numerator left in a service's sum would raise the service's caseload over FTE it never counted.
given AS (
    SELECT s.metric_id, s.period, s.level, s.org_unit,
           CASE WHEN m.unit = 'rate' AND NOT coalesce(s.denominator > 0, false) THEN NULL ELSE s.numerator END
               AS numerator,
           CASE WHEN m.unit = 'rate' AND NOT coalesce(s.denominator > 0, false) THEN NULL ELSE s.denominator END
               AS denominator
    FROM summed s LEFT JOIN _kpi_metrics m ON m.metric_id = s.metric_id
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
SELECT * FROM (
    SELECT metric_id, period, 'team' AS level, org_unit, numerator, denominator, NULL AS note FROM teams
    UNION ALL
    SELECT metric_id, period, 'service', org_unit, numerator, denominator, NULL FROM services
    UNION ALL
    SELECT metric_id, period, 'area', org_unit, numerator, denominator, note FROM areas
    UNION ALL
    SELECT metric_id, period, 'la', $authority, numerator, denominator, NULL FROM la
) AS figures WHERE numerator IS NOT NULL  -- only a rate without its denominator has none: no figure
"""

# The column a KPI cannot be counted without, where a list may give it only as Yes/No (docs/spec/windows.md):
# a load whose records give it so covers none of that KPI's months.
NEEDS = {"seen_5wd": "child_seen_date"}
# The loads that speak for their records (etl/ingest/resolve.py says the same).
_IN_FORCE = "('loaded', 'loaded valid rows only', 're-dated', 'no change')"


def counted_date(metric_id: str, source: str) -> str | None:
    """The date that places a record of the KPI in a month: metrics.yml's `counted_on`, else the
    source's period column."""
    extract = EXTRACT_TYPES.get(source)
    metric = next((m for m in catalogue().metrics if m.metric_id == metric_id), None)
    if metric is not None and metric.counted_on:
        return metric.counted_on
    return extract.period_column if extract else None


def _whole_months(first, last) -> tuple | None:
    """The months wholly inside [first, last], as (first month, last month), or None."""
    import calendar as _cal
    from datetime import timedelta

    start = first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    end_month = last.replace(day=1)
    if last.day != _cal.monthrange(last.year, last.month)[1]:
        end_month = (end_month - timedelta(days=1)).replace(day=1)
    return (start, end_month) if start <= end_month else None


def _merge(spans: list[tuple]) -> list[tuple]:
    out: list[list] = []
    for first, last in sorted(spans):
        if out and first <= _next_month(out[-1][1]):
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return [(a, b) for a, b in out]


def _next_month(month):
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def coverage(con, metrics: Iterable[str] | None = None) -> dict[str, list[tuple]]:
    """{record-level metric: [(first month, last month), ...]}: the months its records cover, where a
    kpi_values row gives way to them (docs/spec/windows.md). A load in force with a window covers each
    month wholly inside it; a load without one the months from its earliest counted date of the metric
    (the KPI's own date, never a stray old record's start) to its latest, or to its as-of date if later
    (an extract taken on 30 September that holds no episode in August says August had none). A load that
    cannot count the metric (a Yes/No seen column) covers nothing of it. A snapshot covers the month of
    each as-of date it was taken on."""
    from etl.store.db import dialect_of

    out: dict[str, list[tuple]] = {}
    if not dialect_of(con).has_table(con, "loads"):
        return out
    columns = set(dialect_of(con).columns(con, "loads"))
    windowed = "window_from" in columns
    wanted = None if metrics is None else set(metrics)
    # Which types have loads in force without a window (their records' dates say what they cover).
    plain = {
        t
        for (t,) in con.execute(
            f"SELECT DISTINCT extract_type FROM loads WHERE outcome IN {_IN_FORCE}"
            + (" AND window_from IS NULL" if windowed else "")
        ).fetchall()
    }
    for metric in catalogue().metrics:
        if wanted is not None and metric.metric_id not in wanted:
            continue
        extract = EXTRACT_TYPES.get(metric.source)
        if extract is None or not extract.record_level or metric.source not in SOURCES:
            continue
        spans: list[tuple] = []
        if extract.snapshot:
            months = con.execute(
                f"SELECT DISTINCT CAST(date_trunc('month', as_of) AS DATE) FROM \"{extract.table}\""
            ).fetchall()
            out[metric.metric_id] = [(m, m) for (m,) in months if m is not None]
            continue
        if extract.period_column is None and extract.window_date:
            # A year-end type (the SSDA903's OC2 and OC3: no period column) covers the month of each year end
            # it holds.
            months = con.execute(
                f'SELECT DISTINCT CAST(date_trunc(\'month\', "{extract.window_date}") AS DATE) FROM "{extract.table}"'
            ).fetchall()
            if months := [(m, m) for (m,) in months if m is not None]:
                out[metric.metric_id] = months
            continue
        column = counted_date(metric.metric_id, metric.source)
        if column is None:
            continue
        able = (
            "(l.uncounted IS NULL OR NOT ((',' || l.uncounted || ',') LIKE ('%,' || $metric || ',%')))"
            if "uncounted" in columns
            else "TRUE"
        )
        if windowed:
            spans += [
                span
                for first, last in con.execute(
                    f"SELECT l.window_from, l.window_to FROM loads l WHERE l.extract_type = $type "
                    f"AND l.outcome IN {_IN_FORCE} AND l.window_from IS NOT NULL AND {able}",
                    {"type": extract.name, "metric": metric.metric_id},
                ).fetchall()
                if (span := _whole_months(first, last)) is not None
            ]
        no_window = "AND l.window_from IS NULL" if windowed else ""
        spans += (
            []
            if extract.name not in plain
            else [
                (first, last)
                for first, last in con.execute(
                    f"SELECT CAST(date_trunc('month', min(CAST(t.\"{column}\" AS DATE))) AS DATE), "
                    f"CAST(date_trunc('month', greatest(max(CAST(t.\"{column}\" AS DATE)), max(l.as_of))) AS DATE) "
                    f'FROM "{extract.table}" t JOIN loads l ON l.load_id = t.load_id '
                    f"WHERE l.outcome IN {_IN_FORCE} {no_window} AND {able} GROUP BY t.load_id",
                    {"metric": metric.metric_id},
                ).fetchall()
                if first is not None
            ]
        )
        if spans:
            out[metric.metric_id] = _merge(spans)
    # A source whose rule also reads another type's records (care_episodes reads List 8) covers what they cover.
    for metric in catalogue().metrics:
        extract = EXTRACT_TYPES.get(metric.source)
        if extract is None or not extract.reads or (wanted is not None and metric.metric_id not in wanted):
            continue
        others = [m.metric_id for m in catalogue().metrics if m.source in extract.reads]
        spans = [span for other in coverage(con, others).values() for span in other]
        if spans:
            out[metric.metric_id] = _merge([*out.get(metric.metric_id, []), *spans])
    return out


def _coverage_table(con, metrics: Iterable[str] | None = None) -> None:
    """Temp table `_kpi_coverage(metric_id, first_month, last_month)`, of `metrics` (None: every one)."""
    con.execute("DROP TABLE IF EXISTS _kpi_coverage")
    con.execute("CREATE TEMP TABLE _kpi_coverage (metric_id VARCHAR, first_month DATE, last_month DATE)")
    rows = [(metric, first, last) for metric, spans in coverage(con, metrics).items() for first, last in spans]
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


def _team_sql(
    cat: Catalogue, source: str, name: str, alias: str, column: str | None = None, *, allocations: bool = True
) -> str:
    if not allocations:  # no allocation history: an Unallocated record stays Unallocated, as the lookup would say
        return f"{alias}.team"
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


def record_sql(source: str, cat: Catalogue | None = None, *, allocations: bool = True) -> str:
    """The record-level SELECT of one source (RECORD_COLUMNS, one row per record and KPI), with
    metrics.yml's clocks and counted dates in place. It takes one parameter, `$on`: the day to judge
    records on (None: each record's own as-of date). ValueError for a source without records.
    `allocations=False` (the caller knows child_teams is empty) leaves out the allocation lookup, whose
    answer would be no team for every record: the same rows, without a correlated lookup per record
    (most of a million-row rebuild's time)."""
    if source not in RECORD_SOURCES:
        raise ValueError(f"{source!r} has no record-level rules (one of {', '.join(RECORD_SOURCES)})")
    cat = cat or catalogue()
    sql = _sql_file(source).replace("{audit_metrics}", _audit_metrics(cat))
    sql = _ROWS_OF.sub(lambda m: record_sql(m.group(1), cat, allocations=allocations), sql)
    sql = _TEAM.sub(lambda m: _team_sql(cat, source, m.group(1), m.group(2), m.group(3), allocations=allocations), sql)
    return _FIELD.sub(lambda m: _field(cat, source, m.group(1), m.group(2)), sql)


def record_params(sql: str, on=None) -> dict:
    """The parameters a record-level SELECT takes (DuckDB refuses one the statement does not name)."""
    return {"on": on} if "$on" in sql else {}


def _has_rows(con, table: str) -> bool:
    from etl.store.db import dialect_of

    if not dialect_of(con).has_table(con, table):
        return False
    return bool(con.execute(f'SELECT count(*) FROM (SELECT 1 FROM "{table}" LIMIT 1) AS t').fetchall()[0][0])


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
        # Only the metrics rebuilt: every use of the coverage below is of a metric in _kpi_metrics.
        _coverage_table(con, None if wanted is None else [m.metric_id for m in metrics])

        # Out with the old rows of every metric rebuilt (and, on a full rebuild,
        # of metrics no longer in the catalogue).
        if wanted is None:
            con.execute("DELETE FROM kpi_monthly")
        else:
            con.execute("DELETE FROM kpi_monthly WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics)")

        allocations = _has_rows(con, "child_teams")
        for source in sorted({m.source for m in metrics} - {"kpi_values"}, key=SOURCES.index):
            sql = record_sql(source, cat, allocations=allocations)
            # A source's rows count for the metrics whose source it is (a rule may include another's rows).
            con.execute(_FIGURES.format(sql=sql, source=source), record_params(sql))
        # A count counted from records is 0, not "no data", for a team in a month its
        # extract covers but no record falls in.
        con.execute(
            """
            INSERT INTO _kpi_rows
            SELECT m.metric_id, CAST(g.month AS DATE), 'team', o.team, 0, NULL
            FROM _kpi_metrics m JOIN _kpi_coverage c ON c.metric_id = m.metric_id
            CROSS JOIN LATERAL generate_series(CAST(c.first_month AS TIMESTAMP), CAST(c.last_month AS TIMESTAMP),
                                               INTERVAL '1 month') AS g(month)
            CROSS JOIN (SELECT DISTINCT team FROM organisation) AS o
            WHERE m.unit = 'count'
              AND NOT EXISTS (SELECT 1 FROM _kpi_rows r WHERE r.metric_id = m.metric_id AND r.level = 'team'
                              AND r.org_unit = o.team AND r.period = CAST(g.month AS DATE))
            """
        )
        con.execute(
            "DELETE FROM _kpi_rows WHERE level = 'team'"
            " AND EXISTS (SELECT 1 FROM _kpi_metrics m WHERE m.metric_id = _kpi_rows.metric_id"
            "             AND m.source <> 'kpi_values')"
            " AND EXISTS (SELECT 1 FROM kpi_values v WHERE v.metric_id = _kpi_rows.metric_id"
            "             AND CAST(date_trunc('month', v.period) AS DATE) = _kpi_rows.period)"
            " AND NOT EXISTS (SELECT 1 FROM _kpi_coverage c WHERE c.metric_id = _kpi_rows.metric_id"
            "                 AND _kpi_rows.period BETWEEN c.first_month AND c.last_month)"
        )
        # kpi_values, one rule whatever the metric's source: rows fill the months its
        # records do not cover; where they cover a month, the records win. Where a row is given
        # for a month the records do not cover (a stray old record, a list's edge), the given
        # figure stands and the records' part-count gives way to it.
        con.execute(
            f"INSERT INTO _kpi_rows SELECT rows.* FROM ({source_sql('kpi_values')}\n) AS rows"
            " JOIN _kpi_metrics m USING (metric_id)"
            " WHERE NOT EXISTS (SELECT 1 FROM _kpi_coverage c WHERE c.metric_id = m.metric_id"
            "                   AND rows.period BETWEEN c.first_month AND c.last_month)",
            {"authority": name},
        )
        con.execute(_ROLLUP, {"authority": name})
        written = "SELECT count(*) FROM kpi_monthly WHERE metric_id IN (SELECT metric_id FROM _kpi_metrics)"
        return con.execute(written).fetchone()[0]
    finally:
        for table in ("_kpi_rows", "_kpi_metrics", "_kpi_coverage"):
            con.execute(f"DROP TABLE IF EXISTS {table}")


# --- caveats: figures that may be incomplete (docs/spec/windows.md) ---------------------------------------


def _day_words(day) -> str:
    return f"{day.day} {day:%b %Y}"


def caveats(con, period: str) -> dict[str, str]:
    """{metric_id: words} for month `period` (YYYY-MM): "possibly undercounted" for re-referrals whose
    12-month look-back reaches before the referrals loaded; "partly covered" for a record-level KPI in a
    month the windows in force cover only in part (and nothing else covers whole)."""
    import calendar as _cal

    from etl.store.db import dialect_of

    if not dialect_of(con).has_table(con, "loads"):
        return {}
    year, month = (int(x) for x in period.split("-"))
    first = date(year, month, 1)
    last = date(year, month, _cal.monthrange(year, month)[1])
    covered = coverage(con)
    windowed = "window_from" in set(dialect_of(con).columns(con, "loads"))
    out: dict[str, str] = {}
    for metric in catalogue().metrics:
        extract = EXTRACT_TYPES.get(metric.source)
        if extract is None or not extract.record_level or extract.snapshot or metric.source not in SOURCES:
            continue
        spans = covered.get(metric.metric_id, [])
        whole = any(a <= first <= b for a, b in spans)
        if metric.metric_id == "rereferrals_12m" and whole:
            earliest = _earliest_referral(con, windowed)
            look_back = date(year - 1, month, 1)
            if earliest is not None and earliest > look_back:
                out[metric.metric_id] = f"possibly undercounted: no referrals loaded before {_day_words(earliest)}"
                continue
        if whole or not windowed:
            continue
        rows = con.execute(
            "SELECT greatest(window_from, $first), least(window_to, $last) FROM loads "
            f"WHERE extract_type = $type AND outcome IN {_IN_FORCE} AND window_from IS NOT NULL "
            "AND window_from <= $last AND window_to >= $first ORDER BY 1",
            {"type": extract.name, "first": first, "last": last},
        ).fetchall()
        merged: list[list] = []
        for a, b in rows:  # overlapping windows read as one span
            if merged and a <= merged[-1][1] + timedelta(days=1):
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        if merged and not (merged[0][0] == first and merged[0][1] == last):
            parts = "; ".join(f"{a.day}-{b.day} {b:%B}" if a != b else f"{a.day} {a:%B}" for a, b in merged)
            out[metric.metric_id] = f"partly covered: the loaded lists cover {parts}"
    return out


def _earliest_referral(con, windowed: bool):
    """The earliest referral date the loads in force speak for: a window's start, or a record's date."""
    found = []
    if windowed:
        found.append(
            con.execute(
                f"SELECT min(window_from) FROM loads WHERE extract_type = 'referrals' AND outcome IN {_IN_FORCE}"
            ).fetchall()[0][0]
        )
    found.append(con.execute("SELECT min(referral_date) FROM referrals").fetchall()[0][0])
    found = [d for d in found if d is not None]
    return min(found) if found else None


def caveats_at(period: str, db=None) -> dict[str, str]:
    """`caveats` of the warehouse in hand, for the pages, the board pack and `cpip scorecard`."""
    from etl.store import warehouse

    try:
        with warehouse.reading(db) as con:
            return caveats(con, period)
    except ValueError:  # a period that is not a month (a quarter, a year): no caveat by month
        return {}


def caveat_lines(period: str, db=None) -> list[str]:
    """The month's figures that may be incomplete, one line per KPI in its own words."""
    labels = {m.metric_id: m.label for m in catalogue().metrics}
    return [f"{labels.get(m, m)}: {words}." for m, words in sorted(caveats_at(period, db).items())]
