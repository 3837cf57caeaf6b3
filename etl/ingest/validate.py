"""The two tiers of findings, as DuckDB SQL over the whole staged file.

Each check is a query that returns the failing rows with a severity, the way
dbt's data tests do: an **error** rejects the row, a **warning** (a query in
the national validators' words) loads it and is reported. Casting happens
here too: `typed` holds each row's contract values in their stored types.

Dates are ISO `2023-07-31` or UK day-first `31/07/2023`, never US month-first;
datetimes add `14:05` (seconds optional). A value is shape-checked before it is
parsed, because DuckDB alone would read `31/07/23` as the year 23.

Results are read with fetchall, never fetchone: a half-read DuckDB result
blocks other work on the connection (the KPI rebuild in the same load).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from etl.catalogue.contract import (
    ACTION_STATUSES,
    FLAG_NO,
    FLAG_YES,
    Column,
    ExtractType,
    audit_type_key_sql,
    name_key,
    name_key_sql,
)
from etl.catalogue.metrics import catalogue
from etl.formats.annex_a import CODE_PREFIX, UNALLOCATED
from etl.rules.calendar import CALENDAR_END, CALENDAR_START
from etl.store import authority

_DATE_HINT = "write dates as 2023-07-31 or 31/07/2023"
_DATETIME_HINT = "write dates and times as 2023-07-31 14:05 or 31/07/2023 14:05"

# Shapes (RE2): ISO year-month-day, UK day/month/year with a four-digit year.
_ISO_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
_UK_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
_TIME = r"\d{1,2}:\d{2}(:\d{2})?"
# A line break or other control character (RE2 class, as a SQL literal).
_CONTROL = "'[\\x00-\\x1f\\x7f]'"


@dataclass
class Validation:
    rows: int
    rejected: int
    warnings: int


def _q(name: str) -> str:
    return f'"{name}"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parse_sql(column: Column) -> str:
    """SQL casting the trimmed text `r."col"` to the column's stored type, NULL if it cannot."""
    raw = f"r.{_q(column.name)}"
    # The usual shapes go through cheap LIKE tests first (regular expressions cost ten times more on a
    # million rows); any other shape is checked by its regular expression before it is parsed.
    if column.type == "date":
        return (
            f"CASE WHEN {raw} LIKE '____-__-__' THEN try_cast({raw} AS DATE) "
            f"WHEN {raw} LIKE '__/__/____' THEN CAST(try_strptime({raw}, '%d/%m/%Y') AS DATE) "
            f"WHEN regexp_full_match({raw}, '{_ISO_DATE}') THEN CAST(try_strptime({raw}, '%Y-%m-%d') AS DATE) "
            f"WHEN regexp_full_match({raw}, '{_UK_DATE}') THEN CAST(try_strptime({raw}, '%d/%m/%Y') AS DATE) END"
        )
    if column.type == "datetime":
        value = f"replace({raw}, 'T', ' ')"
        return (
            f"CASE WHEN {raw} LIKE '____-__-__ __:__' THEN CAST(try_strptime({raw}, '%Y-%m-%d %H:%M') AS TIMESTAMP) "
            f"WHEN {raw} LIKE '____-__-__ __:__:__' "
            f"THEN CAST(try_strptime({raw}, '%Y-%m-%d %H:%M:%S') AS TIMESTAMP) "
            f"WHEN regexp_full_match({value}, '{_ISO_DATE} {_TIME}') "
            f"THEN CAST(try_strptime({value}, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) AS TIMESTAMP) "
            f"WHEN regexp_full_match({value}, '{_UK_DATE} {_TIME}') "
            f"THEN CAST(try_strptime({value}, ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M']) AS TIMESTAMP) END"
        )
    if column.type == "month":
        return (
            f"CASE WHEN regexp_full_match({raw}, '\\d{{4}}-\\d{{2}}') "
            f"THEN CAST(try_strptime({raw} || '-01', '%Y-%m-%d') AS DATE) END"
        )
    if column.type == "number":
        return f"CASE WHEN isfinite(try_cast({raw} AS DOUBLE)) THEN try_cast({raw} AS DOUBLE) END"
    if column.type == "grade":
        spaced = f"lower(regexp_replace({raw}, '[\\s_]+', ' ', 'g'))"
        return (
            f"CASE {spaced} WHEN 'outstanding' THEN 'Outstanding' WHEN 'good' THEN 'Good' "
            "WHEN 'requires improvement' THEN 'Requires Improvement' WHEN 'ri' THEN 'Requires Improvement' "
            "WHEN 'requires improvement to be good' THEN 'Requires Improvement' "
            "WHEN 'inadequate' THEN 'Inadequate' END"
        )
    if column.type == "status":
        spaced = f"lower(trim(regexp_replace({raw}, '[\\s_]+', ' ', 'g')))"
        return f"CASE WHEN {spaced} IN ({', '.join(_lit(w) for w in ACTION_STATUSES)}) THEN {spaced} END"
    if column.type == "flag":
        word = f"lower(trim(regexp_replace({raw}, '{CODE_PREFIX}', '')))"
        yes = ", ".join(f"'{w}'" for w in FLAG_YES)
        no = ", ".join(f"'{w}'" for w in FLAG_NO)
        return f"CASE WHEN {word} IN ({yes}) THEN true WHEN {word} IN ({no}) THEN false END"
    if column.name == "team":
        return "u.name"
    if column.name == "audit_type":
        # `Management Oversight` and `management_oversight` are one audit type (the KPIs filter on it).
        return audit_type_key_sql(raw)
    return raw


def _bad_value_reason(column: Column) -> str:
    """SQL for why a non-blank value did not cast."""
    raw = f'"{column.name}"'
    if column.type == "date":
        return (
            f"CASE WHEN regexp_full_match({raw}, '{_ISO_DATE}|{_UK_DATE}') "
            f"THEN 'impossible date: no such day (dates are day first: 31/07/2023)' "
            f"ELSE 'not a date: {_DATE_HINT}' END"
        )
    if column.type == "datetime":
        return (
            f"CASE WHEN regexp_full_match(replace({raw}, 'T', ' '), '({_ISO_DATE}|{_UK_DATE}) {_TIME}') "
            f"THEN 'impossible date or time: no such day or time (dates are day first: 31/07/2023 14:05)' "
            f"ELSE 'not a date and time: {_DATETIME_HINT}' END"
        )
    if column.type == "month":
        return "'not a month: write months as 2023-07'"
    if column.type == "number":
        return "'not a number'"
    if column.type == "grade":
        return "'not a grade: use Outstanding, Good, Requires Improvement (or RI) or Inadequate'"
    if column.type == "status":
        return "'not a status: use " + ", ".join(ACTION_STATUSES[:-1]) + f" or {ACTION_STATUSES[-1]}'"
    if column.type == "flag":
        return "'not Yes or No'"
    raise AssertionError(column.type)


def _units_table(con: duckdb.DuckDBPyConnection, extract: ExtractType) -> bool:
    """`_units(key, name)`: the names a `team` may take, matched ignoring case.
    Returns whether the organisation reference holds any team."""
    has_teams = con.execute("SELECT count(*) FROM organisation").fetchall()[0][0] > 0
    if extract.team_names == "unit":
        # An aggregate may be given for a team, a service, an area or the authority as a whole.
        names = (
            "SELECT team AS name FROM organisation UNION SELECT service FROM organisation "
            "UNION SELECT area FROM organisation UNION SELECT CAST(? AS VARCHAR)"
        )
        params = [authority.current().name]
    else:
        names, params = "SELECT team AS name FROM organisation", []
    # A team's other names (team_aliases) key to the team itself, unless a real name has that key.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _units AS WITH n AS (SELECT {name_key_sql('name')} AS key, name FROM ({names}))"
        " SELECT key, min(name) AS name FROM (SELECT key, name FROM n UNION ALL"
        f" SELECT {name_key_sql('alias')}, team FROM team_aliases"
        f" WHERE {name_key_sql('alias')} NOT IN (SELECT key FROM n)) AS k GROUP BY ALL",
        params,
    )
    return has_teams


def _metrics_table(con: duckdb.DuckDBPyConnection, covered: dict[str, list[tuple]] | None = None) -> None:
    """`_metrics(metric_id, unit, source)`: each metric; `_covered(metric_id, first_month, last_month)`:
    the months its records cover (a kpi_values row there is superseded by the records). `covered`:
    etl.rules.kpis.coverage() of the warehouse, when it is not `con` (PostgreSQL's, staged in DuckDB)."""
    from etl.rules.kpis import coverage

    if covered is None:
        covered = coverage(con)
    metrics = catalogue().metrics
    con.execute("CREATE OR REPLACE TEMP TABLE _metrics (metric_id VARCHAR, unit VARCHAR, source VARCHAR)")
    con.executemany("INSERT INTO _metrics VALUES (?, ?, ?)", [[m.metric_id, m.unit, m.source] for m in metrics])
    con.execute("CREATE OR REPLACE TEMP TABLE _covered (metric_id VARCHAR, first_month DATE, last_month DATE)")
    spans = [[metric, first, last] for metric, found in covered.items() for first, last in found]
    if spans:
        con.executemany("INSERT INTO _covered VALUES (?, ?, ?)", spans)


def build_typed(
    con: duckdb.DuckDBPyConnection,
    extract: ExtractType,
    stage: str = "stage",
    *,
    blank_team: bool = False,
    covered: dict[str, list[tuple]] | None = None,
) -> bool:
    """`typed(line, <raw columns>, <column>__v typed values>)` from the staged text.
    Returns False when teams are checked but no organisation reference is loaded.
    `blank_team`: a blank team is stored as Unallocated (Annex A lists)."""
    checks_team = "team" in extract.column_names and not extract.declares_teams
    joins = ""
    has_teams = True
    if checks_team:
        has_teams = _units_table(con, extract)
        # Each team the file names, matched once (a million rows name a hundred teams): a regular expression
        # per distinct name, not per row.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _team_names AS SELECT t.team, u.name FROM "
            f"(SELECT DISTINCT team FROM {_q(stage)} WHERE team IS NOT NULL) AS t "
            f"LEFT JOIN _units u ON u.key = {name_key_sql('t.team')}"
        )
        joins += " LEFT JOIN _team_names u ON u.team = r.team"
    if "given_figures" in extract.checks:
        _metrics_table(con, covered)
        joins += " LEFT JOIN _metrics m ON m.metric_id = r.metric_id"
    values = []
    for column in extract.columns:
        if column.name == "team" and not checks_team:
            values.append(f"r.team AS {_q('team__v')}")
        elif column.name == "team" and blank_team:
            values.append(f"CASE WHEN r.team IS NULL THEN '{UNALLOCATED}' ELSE u.name END AS {_q('team__v')}")
        else:
            values.append(f"{_parse_sql(column)} AS {_q(column.name + '__v')}")
    extra = ", m.unit AS _unit, m.source AS _source" if "given_figures" in extract.checks else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE typed AS SELECT r.*, {', '.join(values)}{extra} FROM {_q(stage)} r{joins}"
    )
    return has_teams


def _error_checks(
    extract: ExtractType, has_teams: bool, blank_team: bool = False
) -> list[tuple[str | None, str, str, str]]:
    """(column, failing-row condition, value SQL, reason SQL) for every error."""
    checks: list[tuple[str | None, str, str, str]] = []
    for column in extract.columns:
        name, value = _q(column.name), _q(column.name + "__v")
        if column.required and not (blank_team and column.name == "team"):
            checks.append((column.name, f"{name} IS NULL", "NULL", "'missing required value'"))
        if column.type in ("date", "datetime", "month", "number", "grade", "flag", "status"):
            checks.append((column.name, f"{name} IS NOT NULL AND {value} IS NULL", name, _bad_value_reason(column)))
        if column.type == "number":
            checks.append((column.name, f"{value} < 0", name, "'a negative number'"))
        if column.type == "text":
            # A line break or control character inside an identifier would make two records of one
            # child, or a name no filter can match: refused on its line.
            checks.append(
                (
                    column.name,
                    f"regexp_matches({name}, {_CONTROL})",
                    name,
                    "'contains a line break or other control character'",
                )
            )
        if column.type in ("date", "datetime", "month"):
            # Working days are counted from a calendar of these years; a date outside it would be
            # dropped from every KPI without a word, so it is refused instead.
            checks.append(
                (
                    column.name,
                    f"CAST({value} AS DATE) NOT BETWEEN DATE '{CALENDAR_START}' AND DATE '{CALENDAR_END}'",
                    name,
                    f"'outside the years this dashboard counts ({CALENDAR_START.year} to {CALENDAR_END.year})'",
                )
            )
    if "team" in extract.column_names and not extract.declares_teams:
        what = "team, service or area" if extract.team_names == "unit" else "team"
        hint = "not in the organisation reference" if has_teams else "no organisation reference is loaded yet"
        checks.append(
            (
                "team",
                f"team IS NOT NULL AND team__v IS NULL AND NOT regexp_matches(team, {_CONTROL})",
                "team",
                f"'unknown {what} ''' || team || ''': {hint}'",
            )
        )
    for later, earlier, reason in ((o.later, o.earlier, o.reason) for o in extract.order):
        fmt = "%Y-%m-%d %H:%M" if extract.column(earlier).type == "datetime" else "%Y-%m-%d"
        checks.append(
            (
                later,
                f"{later}__v < {earlier}__v",
                later,
                f"'{reason} ({earlier} ' || strftime({earlier}__v, '{fmt}') || ')'",
            )
        )
    for need in extract.needs:
        checks.append(
            (
                need.column,
                f"{_q(need.column + '__v')} IS NOT NULL AND {_q(need.needed)} IS NULL",
                _q(need.column),
                _lit(need.reason),
            )
        )
    if "plan_actions" in extract.checks:
        cat = catalogue()
        areas = ", ".join(_lit(name_key(a)) for a in cat.areas)
        ids = ", ".join(_lit(m) for m in cat.ids)
        unknown = f"list_filter(string_split(metrics, ';'), lambda x: trim(x) <> '' AND trim(x) NOT IN ({ids}))"
        checks += [
            (
                "area",
                f"area IS NOT NULL AND {name_key_sql('area')} NOT IN ({areas})",
                "area",
                "'unknown area ''' || area || ''': not one of the improvement areas in metrics.yml'",
            ),
            (
                "metrics",
                f"metrics IS NOT NULL AND len({unknown}) > 0",
                "metrics",
                f"'unknown metric ' || array_to_string({unknown}, ', ') || ': not in metrics.yml (separate with ;)'",
            ),
        ]
    if "given_figures" in extract.checks:
        checks += [
            (
                "metric_id",
                "metric_id IS NOT NULL AND _unit IS NULL",
                "metric_id",
                "'unknown metric ''' || metric_id || ''': not in metrics.yml'",
            ),
            (
                "denominator",
                "_unit = 'percent' AND denominator IS NULL",
                "NULL",
                "'missing denominator: ' || metric_id || ' is a percentage'",
            ),
            (
                "denominator",
                "_unit = 'percent' AND denominator__v = 0",
                "denominator",
                "'the denominator must be above 0 for a percentage'",
            ),
            (
                "numerator",
                "_unit = 'percent' AND numerator__v > denominator__v",
                "numerator",
                "'numerator above denominator (' || denominator || ')'",
            ),
            (
                "denominator",
                "_unit = 'count' AND denominator IS NOT NULL",
                "denominator",
                "'a count takes no denominator: ' || metric_id || ' is a count, leave it blank'",
            ),
        ]
    return checks


def _warning_checks(
    extract: ExtractType, as_of: date, blank_team: bool = False
) -> list[tuple[str | None, str, str, str]]:
    """Warnings: the row loads, the finding is reported."""
    checks: list[tuple[str | None, str, str, str]] = []
    if blank_team and "team" in extract.column_names:
        checks.append(
            ("team", "team IS NULL", "NULL", f"'no allocated team: counted for the authority as {UNALLOCATED}'")
        )
    as_of_sql = f"DATE '{as_of.isoformat()}'"
    for column in extract.columns:
        value = _q(column.name + "__v")
        if column.type in ("date", "datetime"):
            condition = f"CAST({value} AS DATE) > {as_of_sql}"
        elif column.type == "month":
            condition = f"{value} > date_trunc('month', {as_of_sql})"
        else:
            continue
        checks.append((column.name, condition, _q(column.name), f"'after the as-of date {as_of.isoformat()}'"))
    for index, rule in enumerate(extract.open_for):
        # Working days after the start up to the as-of date: two lookups in the running-count calendar.
        checks.append(
            (
                rule.column,
                f"{_q(rule.column + '__v')} IS NULL AND _open_wd{index} > {rule.working_days}",
                "NULL",
                f"'{rule.what} still open ' || _open_wd{index} || ' working days after it started "
                f"(more than {rule.working_days}) at the as-of date {as_of.isoformat()}'",
            )
        )
    if "given_figures" in extract.checks:
        # One rule whatever the metric's source: where records cover the month, the records win.
        checks.append(
            (
                "period",
                "EXISTS (SELECT 1 FROM _covered c WHERE c.metric_id = metric_id__v"
                " AND period__v BETWEEN c.first_month AND c.last_month)",
                "period",
                "'superseded: the ' || _source || ' records cover ' || strftime(period__v, '%Y-%m') || ', so '"
                " || metric_id || ' is counted from them there (the row is kept for a month they do not cover)'",
            )
        )
    for rule in extract.late:
        later, earlier = _q(rule.later + "__v"), _q(rule.earlier + "__v")
        checks.append(
            (
                rule.later,
                f"{later} > {earlier} + INTERVAL {rule.days} DAY",
                _q(rule.later),
                f"'{rule.what} ' || date_diff('day', {earlier}, {later}) "
                f"|| ' days after {rule.since} (more than {rule.days})'",
            )
        )
    return checks


def _union(checks: list[tuple[str | None, str, str, str]], severity: str, source: str) -> str:
    parts = []
    for order, (column, condition, value, reason) in enumerate(checks):
        col = "NULL" if column is None else _lit(column)
        parts.append(
            f"SELECT line, {order} AS ord, '{severity}' AS severity, {col} AS column_name, "
            f"CAST({value} AS VARCHAR) AS value, {reason} AS reason FROM {source} WHERE {condition}"
        )
    return "\nUNION ALL\n".join(parts)


def validate(
    con: duckdb.DuckDBPyConnection,
    extract: ExtractType,
    *,
    as_of: date,
    stage: str = "stage",
    blank_team: bool = False,
    team_given: bool = True,
    covered: dict[str, list[tuple]] | None = None,
) -> Validation:
    """Cast the staged file and find its errors and warnings.

    Leaves temp tables `typed` (every row, cast), `findings(line, ord,
    severity, column_name, value, reason)` and view `good` (the rows without
    an error, in the contract's columns and types)."""
    has_teams = build_typed(con, extract, stage, blank_team=blank_team, covered=covered)
    errors = _error_checks(extract, has_teams, blank_team)
    con.execute(f"CREATE OR REPLACE TEMP TABLE findings AS {_union(errors, 'error', 'typed')}")
    _duplicate_keys(con, extract)
    con.execute("CREATE OR REPLACE TEMP TABLE rejected AS SELECT DISTINCT line FROM findings")
    rejected = con.execute("SELECT count(*) FROM rejected").fetchall()[0][0]
    source = "typed"
    if rejected:
        con.execute("CREATE OR REPLACE TEMP TABLE typed_ok AS SELECT * FROM typed ANTI JOIN rejected USING (line)")
        source = "typed_ok"
    if extract.open_for:
        wd_as_of = con.execute("SELECT working_day_number FROM calendar WHERE day = ?", [as_of]).fetchall()
        wd = wd_as_of[0][0] if wd_as_of else "NULL"  # an as-of date outside the calendar: no such warning
        opened = ", ".join(f"{wd} - c{i}.working_day_number AS _open_wd{i}" for i in range(len(extract.open_for)))
        joins = " ".join(
            f"LEFT JOIN calendar c{i} ON c{i}.day = t.{_q(rule.start + '__v')}"
            for i, rule in enumerate(extract.open_for)
        )
        source = f"(SELECT t.*, {opened} FROM {source} t {joins})"
    # A layout that never names a team (a statutory return) warns of no blank team: every record has one.
    warnings = _warning_checks(extract, as_of, blank_team and team_given)
    before = con.execute("SELECT count(*) FROM findings").fetchall()[0][0]
    if warnings:
        con.execute(f"INSERT INTO findings {_union(warnings, 'warning', source)}")
    warned = con.execute("SELECT count(*) FROM findings").fetchall()[0][0] - before
    good_source = "typed_ok" if rejected else "typed"
    columns = ", ".join(f"{_q(c.name + '__v')} AS {_q(c.name)}" for c in extract.columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW good AS SELECT line, {columns} FROM {good_source}")
    rows = con.execute("SELECT count(*) FROM typed").fetchall()[0][0]
    return Validation(rows=rows, rejected=rejected, warnings=warned)


def _duplicate_keys(con: duckdb.DuckDBPyConnection, extract: ExtractType) -> None:
    """Every row whose record key appears more than once in the file is an error:
    which of them is right is for the analyst to say."""
    keys = [_q(k + "__v") for k in extract.key]
    key_list = ", ".join(keys)
    not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    shown = " || ' + ' || ".join(
        f"strftime(r.{_q(k + '__v')}, '%Y-%m')"
        if extract.column(k).type == "month"
        else f"CAST(r.{_q(k + '__v')} AS VARCHAR)"
        for k in extract.key
    )
    label = " + ".join(extract.key)
    con.execute(
        f"""
        INSERT INTO findings
        WITH dup AS (
            SELECT {key_list} FROM typed WHERE {not_null} GROUP BY ALL HAVING count(*) > 1
        ),
        rows AS (
            SELECT t.line, {", ".join("t." + k for k in keys)} FROM typed t SEMI JOIN dup USING ({key_list})
        ),
        lines AS (
            -- The first five lines are enough to find them.
            SELECT {key_list}, count(*) AS n,
                   array_to_string(list_slice(list(line ORDER BY line), 1, 5), ', ') AS some_lines
            FROM rows GROUP BY ALL
        )
        SELECT r.line, 1000, 'error', NULL, {shown},
               'duplicate record key ({label}): the same record is on '
               || CASE WHEN l.n <= 5 THEN 'lines ' || l.some_lines
                       ELSE l.n || ' lines: ' || l.some_lines || ', ...' END
        FROM rows r JOIN lines l USING ({key_list})
        """
    )
