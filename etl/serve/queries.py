"""The read side: what pages, the board pack and the CLI ask of the warehouse.

Every function opens its own read-only connection (`etl.store.warehouse.reading`),
so a load that swaps a new warehouse file in is seen by the next call. KPI
values come from the `kpi_monthly` mart only (pages never count records
themselves); percentages are pooled by summing numerators and denominators,
never averaged. RAG and direction of travel are computed over whole columns
(numpy), not row by row, because the scorecard must answer in well under
200 ms on 100 teams x 60 months. The SQL is written in the dialect DuckDB and
PostgreSQL share (see etl/store/db.py), so it runs unchanged on either warehouse.

Conventions: periods are months as text (`2023-07`); levels are `la`, `area`,
`service`, `team`; the `la` unit is the name of the authority of the work in
hand (`etl.store.authority.current()`; metrics.yml's by default). A value is 0-100
for a percentage (unrounded) and the count for a count; no data is NaN (None
in lists and dicts), rated "No data", never 0 and never Red.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from etl.catalogue import reference
from etl.catalogue.contract import EXTRACT_TYPES, audit_type_key, match_name, name_key
from etl.catalogue.metrics import Metric, Polarity, catalogue
from etl.rules import spc
from etl.rules.calendar import add_months, financial_year_of, parse_period, period_of
from etl.store import authority
from etl.store.warehouse import reading

LEVELS = ("la", "area", "service", "team")
# Record sources of metrics that councils counted upstream (kpi_values) before these extracts existed: while a
# source holds no record, freshness names kpi_values as the metric's source.
_COUNTED_UPSTREAM_UNTIL_NOW = ("s47_enquiries", "children_in_care", "care_leavers")
# The units one level below, for drill-down (la -> services; area, service -> teams).
CHILD_LEVEL = {"la": "service", "area": "team", "service": "team"}
GREEN, AMBER, RED, NO_DATA = "Green", "Amber", "Red", "No data"

Db = str | os.PathLike | None


# --- catalogue helpers -------------------------------------------------------


class UnknownName(ValueError):
    """A filter names something the warehouse does not hold; the message names what it does."""


def _known(values: Iterable[str]) -> str:
    values = list(values)
    if not values:
        return "there are none yet"
    shown = ", ".join(values[:30])
    return f"known: {shown}" + (f" and {len(values) - 30} more" if len(values) > 30 else "")


def _resolve(what: str, name: str, known: Iterable[str], *, key=name_key) -> str:
    known = list(known)
    found = match_name(name, known, key=key)
    if found is None:
        raise UnknownName(f"{name!r} is not {'an' if what[0] in 'aeiou' else 'a'} {what} ({_known(known)})")
    return found


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise UnknownName(f"{level!r} is not a level (one of {', '.join(LEVELS)})")


def _metric(metric_id: str) -> Metric:
    try:
        return catalogue().metric(metric_id)
    except KeyError:
        known = [m.metric_id for m in catalogue().metrics]
        found = match_name(metric_id, known)
        if found is None:
            raise UnknownName(f"{metric_id!r} is not a metric in metrics.yml ({_known(known)})") from None
        return catalogue().metric(found)


def _unit_or_authority(level: str, unit: str | None) -> str:
    _check_level(level)
    if unit:
        return unit
    if level == "la":
        return authority.current().name
    raise ValueError(f"name the {level} (a unit is needed below the authority as a whole)")


def _resolve_unit(con: duckdb.DuckDBPyConnection, level: str, unit: str) -> str:
    """The org unit `unit` names at `level`, as the organisation reference spells it."""
    return _resolve(
        {"la": "authority", "area": "area", "service": "service", "team": "team"}[level], unit, _units_at(con, level)
    )


def resolve_unit(level: str, unit: str, db: Db = None) -> str:
    """The org unit `unit` names at `level` (matched as the loader matches); UnknownName
    naming the known units when there is none."""
    _check_level(level)
    with reading(db) as con:
        return _resolve_unit(con, level, unit)


def _first(period: str | date) -> date:
    """`2023-07` (or a date) -> date(2023, 7, 1)."""
    if isinstance(period, date):
        return period.replace(day=1)
    return parse_period(period)


def _months_sql(first: str, last: str) -> str:
    """A SELECT of every month from `first` to `last` (SQL expressions of first days of months), as `period` DATEs."""
    return (
        "SELECT CAST(g.period AS DATE) AS period FROM generate_series("
        f"CAST({first} AS TIMESTAMP), CAST({last} AS TIMESTAMP), INTERVAL '1 month') AS g(period)"
    )


def _month_text(date_sql: str) -> str:
    """`2023-07`, the month of a DATE (or TIMESTAMP) expression, as text."""
    return f"substr(CAST({date_sql} AS VARCHAR), 1, 7)"


def _authority_code() -> str | None:
    """The DfE code of the authority of the work in hand (None when metrics.yml names none)."""
    code = authority.current().code
    return None if code == authority.UNNAMED else code


def _thresholds(metric: Metric, period: str, level: str | None = None) -> tuple[float, float, float]:
    """(target, green, amber) in force in the period; NaN for a monitored metric, or
    at a level the metric is not rated at (metrics.yml `rated_levels`)."""
    t = metric.thresholds_for(period) if metric.rated_at(level) else None
    if t is None:
        return (math.nan, math.nan, math.nan)
    return (math.nan if t.target is None else t.target, t.green, t.amber)


def _metrics_frame(period: str, level: str | None = None) -> pd.DataFrame:
    """The catalogue as a frame, in catalogue order, with the thresholds in force in
    `period` at `level`; `rated` says whether the metric carries a RAG there."""
    rows = []
    for order, m in enumerate(catalogue().metrics):
        target, green, amber = _thresholds(m, period, level)
        rows.append(
            {
                "ord": order,
                "metric_id": m.metric_id,
                "metric_name": m.name,
                "short_name": m.label,
                "area": m.area,
                "unit": m.unit,
                "polarity": str(m.polarity),
                "rated": m.rated_at(level),
                "target": target,
                "green": green,
                "amber": amber,
                "benchmark_kpi": m.benchmark,
            }
        )
    return pd.DataFrame(rows)


def _metrics_values_sql() -> str:
    """The catalogue as a VALUES list (ord, metric_id, is_count). Metric ids are
    validated by metrics.yml's model (`^[a-z][a-z0-9_]*$`), so they are safe inline."""
    return ", ".join(
        f"({i}, '{m.metric_id}', {'true' if m.unit == 'count' else 'false'})" for i, m in enumerate(catalogue().metrics)
    )


# --- RAG and direction, vectorised and scalar ---------------------------------

# Values and thresholds are compared, and printed, at this many decimal places: far
# finer than any figure is read at, far coarser than floating-point noise.
PRECISION = 9


def exact(values: Iterable[float] | float) -> np.ndarray:
    """Values rounded to PRECISION decimal places, once, before any comparison or print."""
    return np.round(np.asarray(values, dtype=float), PRECISION)


def rag_array(
    values: Iterable[float],
    green: Iterable[float],
    amber: Iterable[float],
    polarity: Iterable[str],
    rated: Iterable[bool] | None = None,
) -> np.ndarray:
    """RAG for whole columns. Higher is better: Green at or above green, Amber at or
    above amber, else Red; lower is better the mirror; a value exactly on a threshold
    takes the better colour; no value "No data"; monitored metrics, and rows where
    `rated` is False (a level the metric is not rated at), ""."""
    # On a threshold is on it, whatever the arithmetic: 100 * 2.2 / 10 is 22.000000000000004.
    v, g, a = exact(values), exact(green), exact(amber)
    pol = np.asarray(polarity, dtype=object)
    higher = pol == str(Polarity.HIGHER)
    green_ok = np.where(higher, v >= g, v <= g)
    amber_ok = np.where(higher, v >= a, v <= a)
    out = np.where(green_ok, GREEN, np.where(amber_ok, AMBER, RED)).astype(object)
    out[np.isnan(v)] = NO_DATA
    out[pol == str(Polarity.MONITORED)] = ""
    if rated is not None:
        out[~np.asarray(rated, dtype=bool)] = ""
    return out


def direction_array(values: Iterable[float], previous: Iterable[float], polarity: Iterable[str]) -> np.ndarray:
    """Direction of travel against the previous month, in each metric's polarity:
    improving / worsening / no change; up / down / no change for monitored metrics;
    "" when either value is missing."""
    v = np.asarray(values, dtype=float)
    p = np.asarray(previous, dtype=float)
    pol = np.asarray(polarity, dtype=object)
    diff = v - p
    # Percentages of equal ratios are bit-identical (one correctly rounded division);
    # the tolerance only absorbs noise from non-integer upstream figures.
    same = np.abs(diff) <= 1e-9
    up = diff > 0
    better = np.where(pol == str(Polarity.LOWER), ~up, up)
    out = np.where(better, "improving", "worsening").astype(object)
    monitored = pol == str(Polarity.MONITORED)
    out[monitored] = np.where(up[monitored], "up", "down")
    out[same] = "no change"
    out[np.isnan(diff)] = ""
    return out


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rag_for(metric: Metric, value: float | None, period: str, level: str | None = None) -> str:
    """RAG of one value with the thresholds in force in `period` (at `level`)."""
    if not metric.rated_at(level):
        return ""
    if _is_missing(value):
        return NO_DATA
    _, green, amber = _thresholds(metric, period, level)
    return str(rag_array([value], [green], [amber], [str(metric.polarity)])[0])


def direction_for(metric: Metric, value: float | None, previous: float | None) -> str:
    """Direction of travel of one value against the previous month's."""
    if _is_missing(value) or _is_missing(previous):
        return ""
    return str(direction_array([value], [previous], [str(metric.polarity)])[0])


# --- periods and organisation --------------------------------------------------


# A month is one the scorecard offers when some figure in it is more than a count of 0:
# an extract covers the days up to its as-of date, so the month it was taken in holds
# zero counts (no missing episodes yet) long before it can be reported.
_REPORTED = "(denominator IS NOT NULL OR numerator <> 0)"


def latest_period(db: Db = None) -> str | None:
    """The latest month with any KPI in the warehouse, or None when it is empty."""
    with reading(db) as con:
        latest = con.execute(f"SELECT max(period) AS latest FROM kpi_monthly WHERE {_REPORTED}").fetchone()[0]
    return period_of(latest) if latest else None


def periods(db: Db = None) -> list[str]:
    """Every month with any KPI, oldest first."""
    with reading(db) as con:
        rows = con.execute(f"SELECT DISTINCT period FROM kpi_monthly WHERE {_REPORTED} ORDER BY period").fetchall()
    return [period_of(p) for (p,) in rows]


def org_units(db: Db = None) -> pd.DataFrame:
    """The organisation reference: team, service, area (by area, service, team)."""
    with reading(db) as con:
        return con.execute("SELECT team, service, area FROM organisation ORDER BY area, service, team").df()


# Records with no team count as the team Unallocated (docs/spec/windows.md): listed wherever teams are,
# once there are any, so the teams add up to the authority.
_UNALLOCATED = (
    "SELECT 'Unallocated' WHERE EXISTS (SELECT 1 FROM kpi_monthly WHERE level = 'team' AND org_unit = 'Unallocated')"
)
_UNITS_SQL = {
    "team": f"SELECT DISTINCT team AS org_unit FROM organisation UNION {_UNALLOCATED}",
    "service": "SELECT DISTINCT service AS org_unit FROM organisation",
    "area": "SELECT DISTINCT area AS org_unit FROM organisation",
    "la": "SELECT CAST($authority AS VARCHAR) AS org_unit",
}


def _units_at(con: duckdb.DuckDBPyConnection, level: str) -> list[str]:
    _check_level(level)
    params = {"authority": authority.current().name} if level == "la" else {}
    rows = con.execute(f"SELECT org_unit FROM ({_UNITS_SQL[level]}) AS units ORDER BY org_unit", params).fetchall()
    return [u for (u,) in rows]


def units_at(level: str, db: Db = None) -> list[str]:
    """Every org unit at a level (alphabetical); `la` is the authority alone."""
    with reading(db) as con:
        return _units_at(con, level)


def _teams_under(con: duckdb.DuckDBPyConnection, level: str, unit: str) -> list[str]:
    """The teams of a unit: all of them for the authority, the unit itself for a team."""
    if level == "team":
        return [unit]
    where = {"la": "true", "area": "area = $unit", "service": "service = $unit"}[level]
    params = {"unit": unit} if level != "la" else {}
    rows = con.execute(f"SELECT DISTINCT team FROM organisation WHERE {where} ORDER BY team", params).fetchall()
    teams = [t for (t,) in rows]
    if level == "la" and con.execute(_UNALLOCATED).fetchall():
        teams.append("Unallocated")
    return teams


def _children(con: duckdb.DuckDBPyConnection, level: str, unit: str) -> list[str]:
    """The units one level below `unit` (empty for a team)."""
    if level == "team":
        return []
    if level == "la":
        return _units_at(con, "service")
    return _teams_under(con, level, unit)


# --- the scorecard --------------------------------------------------------------

_SCORECARD_SQL = """
WITH metrics(ord, metric_id, is_count) AS (VALUES {metrics}),
units AS ({units}),
months AS ({months}),
data AS (
    SELECT metric_id, org_unit, period, numerator, denominator, note FROM kpi_monthly
    WHERE level = $level AND period BETWEEN $first AND $last
),
valued AS (
    SELECT m.ord, m.metric_id, u.org_unit, mo.period, d.numerator, d.denominator, d.note,
           CASE WHEN m.is_count THEN d.numerator
                WHEN d.denominator > 0 THEN 100.0 * d.numerator / d.denominator END AS value
    FROM metrics m CROSS JOIN units u CROSS JOIN months mo
    LEFT JOIN data d ON d.metric_id = m.metric_id AND d.org_unit = u.org_unit AND d.period = mo.period
)
SELECT ord, metric_id, org_unit,
       max(numerator) FILTER (WHERE period = $last) AS numerator,
       max(denominator) FILTER (WHERE period = $last) AS denominator,
       max(value) FILTER (WHERE period = $last) AS value,
       max(value) FILTER (WHERE period = $previous) AS previous_value,
       max(note) FILTER (WHERE period = $last) AS note,
       array_agg(value ORDER BY period) AS sparkline
FROM valued
GROUP BY ord, metric_id, org_unit
ORDER BY ord, org_unit
"""


def published_year_for(period: str) -> int:
    """The published year matching a month: the year ending 31 March inside its
    financial year (2023-07 is in 2023/24, so 2024)."""
    return int(financial_year_of(period)[:4]) + 1


def _comparators(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """etl.catalogue.reference comparators for every metric with a benchmark, for the period's published year."""
    year = published_year_for(period)
    wanted = [(m.metric_id, m.benchmark, str(m.polarity), year) for m in catalogue().metrics if m.benchmark]
    # DfE's figures change only when the shipped files are reloaded (settings' reference_hash), so each
    # authority's comparators are worked out once per year asked for, not on every scorecard (about 45 ms).
    found = con.execute("SELECT value FROM settings WHERE key = 'reference_hash'").fetchall()
    key = (_authority_code(), tuple(wanted), found[0][0] if found else None)
    with _COMPARATORS_LOCK:
        cached = _COMPARATORS.get(key)
    if cached is None:
        cached = reference.comparator_frame(con, _authority_code(), wanted)
        with _COMPARATORS_LOCK:
            if len(_COMPARATORS) > 512:
                _COMPARATORS.clear()
            _COMPARATORS[key] = cached
    return cached.copy()


_COMPARATORS: dict[tuple, pd.DataFrame] = {}
_COMPARATORS_LOCK = threading.Lock()


def comparators(period: str, *, db: Db = None) -> pd.DataFrame:
    """The published comparators of every KPI with a counterpart, for the month's
    published year (etl.catalogue.reference.COMPARATOR_COLUMNS; the scorecard carries the same)."""
    with reading(db) as con:
        return _comparators(con, period_of(_first(period)))


def reference_authority(db: Db = None) -> dict | None:
    """The authority whose published figures are the comparators (the authority of the
    work in hand, by default metrics.yml's `authority.la_code`): {la_code, la_name,
    region_name, neighbours: [names, closest first]}; la_name None when DfE's files do
    not know the code; None when no code is set."""
    code = _authority_code()
    if not code:
        return None
    with reading(db) as con:
        found = con.execute("SELECT la_name, region_name FROM authorities WHERE la_code = ?", [code]).fetchall()
        neighbours = con.execute(
            "SELECT a.la_name FROM neighbours n JOIN authorities a ON a.la_code = n.neighbour_code "
            "WHERE n.la_code = ? ORDER BY n.rank",
            [code],
        ).fetchall()
    name, region = found[0] if found else (None, None)
    return {"la_code": code, "la_name": name, "region_name": region, "neighbours": [n for (n,) in neighbours]}


def comparison(metric_id: str, *, db: Db = None) -> pd.DataFrame:
    """A KPI's published counterpart year by year: the authority, each of its ten
    neighbours (closest first) and England (etl.catalogue.reference.comparison_frame); empty
    when the KPI has no counterpart."""
    metric = _metric(metric_id)
    with reading(db) as con:
        if not metric.benchmark:
            return pd.DataFrame(columns=reference.COMPARISON_COLUMNS)
        return reference.comparison_frame(con, _authority_code(), metric.benchmark)


def england_by_year(metric_id: str, *, db: Db = None) -> dict[int, float]:
    """England's published figure of a KPI's counterpart by year (to 31 March); {} when none."""
    frame = comparison(metric_id, db=db)
    england = frame[(frame["role"] == "england") & frame["value"].notna()]
    return {int(y): float(v) for y, v in zip(england["year"], england["value"], strict=True)}


SCORECARD_COLUMNS = [
    "metric_id", "metric_name", "short_name", "area", "period", "level", "org_unit", "numerator", "denominator",
    "value", "unit", "polarity", "target", "green", "amber", "rag", "previous_value", "direction", "sparkline",
    "benchmark_kpi", "benchmark_year", "published", "england", "region", "region_name", "sn_median", "sn_count",
    "rank", "ranked", "quartile", "variation", "assurance",
    "variation_icon", "assurance_icon", "spc_note", "note", "applies",
]  # fmt: skip


def scorecard(period: str, level: str = "la", unit: str | None = None, *, db: Db = None) -> pd.DataFrame:
    """The scorecard for one month: one row per metric (catalogue order) per org unit
    at `level` (alphabetical; every unit of the organisation reference, with or
    without data; only `unit` when given). Columns: SCORECARD_COLUMNS. The
    sparkline is the 12 monthly values ending at `period` (None for gaps)."""
    _check_level(level)
    last = _first(period)
    period = period_of(last)
    first = _first(add_months(period, -11))
    previous = _first(add_months(period, -1))
    units = "SELECT CAST($unit AS VARCHAR) AS org_unit" if unit else _UNITS_SQL[level]
    params: dict = {"first": first, "last": last, "previous": previous, "level": level}
    if unit:
        params["unit"] = unit
    elif level == "la":
        params["authority"] = authority.current().name
    sql = _SCORECARD_SQL.format(metrics=_metrics_values_sql(), units=units, months=_months_sql("$first", "$last"))
    with reading(db) as con:
        if unit:
            params["unit"] = _resolve_unit(con, level, unit)
        data = con.execute(sql, params).df()
        bench = _comparators(con, period).drop(columns="indicator")
        history = _history(con, level, last, [params["unit"]] if unit else _units_at(con, level))
        org = con.execute("SELECT team, service, area FROM organisation").df()

    meta = _metrics_frame(period, level).merge(bench, on="metric_id", how="left")
    frame = data.merge(meta.drop(columns="metric_id"), on="ord", how="left", sort=False)
    frame["period"] = period
    frame["level"] = level
    frame["rag"] = rag_array(frame["value"], frame["green"], frame["amber"], frame["polarity"], frame["rated"])
    frame["direction"] = direction_array(frame["value"], frame["previous_value"], frame["polarity"])
    # DuckDB hands lists over as masked arrays (tolist() turns masked gaps into None), PostgreSQL as lists.
    frame["sparkline"] = [s.tolist() if hasattr(s, "tolist") else list(s) for s in frame["sparkline"]]
    for column in ("benchmark_year", "sn_count", "rank", "ranked"):
        frame[column] = frame[column].astype("Int64")
    frame["quartile"] = frame["quartile"].astype(object).where(frame["quartile"].notna(), None)
    _add_spc(frame, history)
    frame["applies"] = _applies(frame, org, {(h[0], h[1]) for h in history})
    return frame[SCORECARD_COLUMNS].reset_index(drop=True)


def _applies(frame: pd.DataFrame, org: pd.DataFrame, with_records: set[tuple[str, str]]) -> list[bool]:
    """Per row: does the KPI apply to the row's unit (metrics.yml `applies_to`, by the
    services the unit is made of)? The authority always does, and so does a unit with
    records for the KPI; an `applies_to` naming no service of the organisation
    reference (a misspelling, another authority's names) is not trusted to leave anything off."""
    metrics = {m.metric_id: m for m in catalogue().metrics}
    services: dict[str, dict[str, list[str]]] = {
        "team": {t: [s] for t, s in zip(org["team"], org["service"], strict=True)},
        "service": {s: [s] for s in org["service"]},
        "area": {a: list(g["service"]) for a, g in org.groupby("area")},
    }
    everything = list(org["service"])
    out = []
    for metric_id, level, unit in zip(frame["metric_id"], frame["level"], frame["org_unit"], strict=True):
        metric = metrics[metric_id]
        made_of = services.get(level, {}).get(unit, [])
        out.append(
            level == "la"
            or (metric_id, unit) in with_records
            or not made_of
            or not metric.applies_to_any(everything)
            or metric.applies_to_any(made_of)
        )
    return out


_HISTORY_SQL = """
WITH metrics(ord, metric_id, is_count) AS (VALUES {metrics}),
units AS (
    SELECT org_unit, CAST(n - 1 AS INTEGER) AS ui
    FROM unnest(CAST($units AS VARCHAR[])) WITH ORDINALITY AS u(org_unit, n)
)
SELECT m.ord, u.ui,
       CAST(extract(year FROM k.period) * 12 + extract(month FROM k.period) - 1 AS INTEGER) AS month_number,
       k.numerator, k.denominator
FROM kpi_monthly k JOIN metrics m ON m.metric_id = k.metric_id JOIN units u ON u.org_unit = k.org_unit
WHERE k.level = $level AND k.period <= $last
ORDER BY m.ord, u.ui, month_number
"""


def _history(
    con: duckdb.DuckDBPyConnection, level: str, last: date, units: list[str]
) -> list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]]:
    """Every (metric, unit) monthly series up to `last`, for the SPC icons: (metric_id,
    org_unit, periods, numerators, denominators), arrays oldest first. Fetched as
    integer codes and numbers, then cut into series in numpy: the text and nested lists
    a GROUP BY would hand over cost ten times the query (2,352 series of 60 months)."""
    if not units:
        return []
    data = con.execute(
        _HISTORY_SQL.format(metrics=_metrics_values_sql()), {"level": level, "last": last, "units": units}
    ).fetchnumpy()
    ords = np.asarray(data["ord"], dtype=np.int64)
    if ords.size == 0:
        return []
    uis = np.asarray(data["ui"], dtype=np.int64)
    months = np.asarray(data["month_number"], dtype=np.int64)
    numerators = np.ma.filled(np.ma.asarray(data["numerator"], dtype=float), np.nan)
    denominators = np.ma.filled(np.ma.asarray(data["denominator"], dtype=float), np.nan)
    first = int(months.min())
    labels = np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, int(months.max()) + 1)], dtype=object)[
        months - first
    ]
    key = ords * (len(units) + 1) + uis
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    ends = np.concatenate((starts[1:], [key.size]))
    ids = catalogue().ids
    return [
        (ids[ords[s]], units[uis[s]], labels[s:e], numerators[s:e], denominators[s:e])
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def _add_spc(frame: pd.DataFrame, history: list[tuple]) -> None:
    """Variation and assurance (Making Data Count) for each row's own monthly series up to
    and including the period, from its latest rebase; the reason when there is no icon."""
    cat = catalogue()
    metrics = {m.metric_id: m for m in cat.metrics}
    target_of = dict(zip(frame["metric_id"], frame["target"], strict=False))
    keys, rows = [], []
    for metric_id, org_unit, months, numerators, denominators in history:
        metric = metrics.get(metric_id)
        if metric is None:
            continue
        num = np.asarray(numerators, dtype=float)
        if metric.unit == "count":
            values, chart_den, chart = num, None, "xmr"
        else:
            den = np.asarray(denominators, dtype=float)  # NaN where there is none
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(den > 0, 100.0 * num / den, np.nan)
            chart, chart_den = metric.spc_chart, (den if metric.spc_chart == "p" else None)
        target = target_of.get(metric_id)
        target = None if target is None or pd.isna(target) else float(target)
        keys.append((metric_id, org_unit))
        rows.append(
            (values, chart_den, metric.polarity.value, target, chart, months, [r.period for r in metric.rebase])
        )
    icons = dict(zip(keys, spc.scorecard_icons_many(rows), strict=True))
    empty = ("", "", "", "no data")
    found = [icons.get(key, empty) for key in zip(frame["metric_id"], frame["org_unit"], strict=True)]
    frame["variation"] = [f[0] for f in found]
    frame["variation_icon"] = [f[1] for f in found]
    frame["assurance"] = [f[2] for f in found]
    frame["assurance_icon"] = [spc.assurance_icon_kind(f[2]) for f in found]
    frame["spc_note"] = [f[3] for f in found]


MATRIX_COLUMNS = [
    "metric_id", "short_name", "level", "org_unit", "variation", "variation_icon", "assurance", "assurance_icon",
    "spc_note",
]  # fmt: skip


def icon_matrix(period: str, level: str = "la", unit: str | None = None, *, db: Db = None) -> pd.DataFrame:
    """The Making Data Count icons of every KPI for each unit one level below `unit`
    (la -> services, area and service -> teams) for one month: MATRIX_COLUMNS, in
    catalogue order then unit order. The same judgement as each unit's own scorecard
    (the icons of `scorecard(period, child_level, that_unit)`), without the rest of it."""
    unit = _unit_or_authority(level, unit)
    if level == "team":
        raise UnknownName("a team has no units below it: its scorecard shows its icons")
    child = CHILD_LEVEL[level]
    last = _first(period)
    period = period_of(last)
    with reading(db) as con:
        unit = _resolve_unit(con, level, unit)
        children = _children(con, level, unit)
        history = _history(con, child, last, children)
    meta = _metrics_frame(period, child)[["ord", "metric_id", "short_name", "target"]]
    frame = meta.merge(pd.DataFrame({"org_unit": children, "_u": range(len(children))}), how="cross")
    frame = frame.sort_values(["ord", "_u"], kind="stable").reset_index(drop=True)
    frame["level"] = child
    _add_spc(frame, history)
    return frame[MATRIX_COLUMNS]


def matrix_counts(frame: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """How many KPIs (and cells) of an icon matrix show each variation and assurance:
    {"special cause concerning": (KPIs, cells), ...}."""
    out: dict[str, tuple[int, int]] = {}
    for column in ("variation", "assurance"):
        for value, rows in frame[frame[column].astype(bool)].groupby(column):
            out[str(value)] = (rows["metric_id"].nunique(), len(rows))
    return out


SCORECARD_TABLE_COLUMNS = [
    "metric_id", "metric_name", "area", "period", "level", "org_unit", "numerator", "denominator", "value", "unit",
    "target", "rag", "previous_value", "direction", "variation", "assurance", "applies",
    "benchmark_year", "published", "england", "region", "sn_median", "quartile",
]  # fmt: skip


def _whole_numbers(column: pd.Series) -> pd.Series:
    """Counts print as 3, not 3.0; a column with fractions stays as it is."""
    present = column.dropna()
    if len(present) and not (present % 1 == 0).all():
        return column
    return column.astype("Int64")


def scorecard_table(period: str, level: str, db: Db = None) -> pd.DataFrame:
    """The scorecard as the CLI prints it (SCORECARD_TABLE_COLUMNS): a count's value
    and numerator are the count and its denominator is empty; no data leaves the
    value empty; monitored metrics have an empty rag."""
    frame = scorecard(period, level, db=db)[SCORECARD_TABLE_COLUMNS].copy()
    # Every row stays (the CLI's contract); `applies` says whether the KPI is the unit's work.
    frame["applies"] = ["yes" if a else "no" for a in frame["applies"]]
    for column in ("numerator", "denominator", "target"):
        frame[column] = _whole_numbers(frame[column])
    # A count prints as 19, not 19.0; a percentage keeps every digit.
    counts = frame["unit"].eq("count")
    for column in ("value", "previous_value"):
        frame[column] = pd.Series(
            [
                None if pd.isna(v) else (int(v) if is_count and float(v).is_integer() else float(exact(v)))
                for v, is_count in zip(frame[column], counts, strict=True)
            ],
            index=frame.index,
            dtype=object,
        )
    return frame


# --- one metric: series, breakdown, matrices -------------------------------------


def _rag_by_period(metric: Metric, values: pd.Series, period_labels: pd.Series, level: str) -> pd.DataFrame:
    """target, green, amber and rag per row, with the thresholds of each row's period at `level`."""
    years = period_labels.map(financial_year_of)
    by_year = {y: _thresholds(metric, p, level) for y, p in zip(years, period_labels, strict=True)}
    limits = np.array([by_year[y] for y in years], dtype=float).reshape(-1, 3)
    out = pd.DataFrame({"target": limits[:, 0], "green": limits[:, 1], "amber": limits[:, 2]}, index=values.index)
    rated = [metric.rated_at(level)] * len(values)
    out["rag"] = rag_array(values, out["green"], out["amber"], [str(metric.polarity)] * len(values), rated)
    return out


def _value_sql(metric: Metric, alias: str = "d") -> str:
    if metric.unit == "count":
        return f"{alias}.numerator"
    return f"CASE WHEN {alias}.denominator > 0 THEN 100.0 * {alias}.numerator / {alias}.denominator END"


def series(metric_id: str, level: str, unit: str | None, *, db: Db = None) -> pd.DataFrame:
    """One metric for one unit, every month from its first month with data to the
    latest month in the warehouse (gaps as no data): period, numerator, denominator,
    value, target, green, amber, rag (each month rated with its own year's thresholds)."""
    metric = _metric(metric_id)
    unit = _unit_or_authority(level, unit)
    latest = f"(SELECT max(period) FROM kpi_monthly WHERE {_REPORTED})"
    sql = f"""
        WITH d AS (
            SELECT period, numerator, denominator FROM kpi_monthly
            WHERE metric_id = $metric AND level = $level AND org_unit = $unit
        ),
        months AS ({_months_sql("(SELECT min(period) FROM d)", latest)})
        SELECT {_month_text("m.period")} AS period, d.numerator, d.denominator, {_value_sql(metric)} AS value
        FROM months m LEFT JOIN d USING (period)
        ORDER BY m.period
    """
    with reading(db) as con:
        unit = _resolve_unit(con, level, unit)
        frame = con.execute(sql, {"metric": metric_id, "level": level, "unit": unit}).df()
    frame = frame.astype({"numerator": float, "denominator": float, "value": float})
    if frame.empty:
        return pd.DataFrame(columns=["period", "numerator", "denominator", "value", "target", "green", "amber", "rag"])
    return pd.concat([frame, _rag_by_period(metric, frame["value"], frame["period"], level)], axis=1)


def spc_of_series(metric_id: str, frame: pd.DataFrame, *, period: str | None = None) -> spc.SPCResult:
    """The Making Data Count chart of a `series(...)` frame, up to and including `period`
    (all of it when None): the metric's `spc_chart` (a p-chart takes each month's
    denominator; a count is always XmR), its `rebase` periods, and the target in force
    in the last month. The same judgement the scorecard's icons make for that month."""
    metric = _metric(metric_id)
    if period is not None and not frame.empty:
        frame = frame[frame["period"] <= period]
    periods = [str(p) for p in frame["period"]]
    values = frame["value"].to_numpy(dtype=float) if len(frame) else np.array([], dtype=float)
    chart = "xmr" if metric.unit == "count" else metric.spc_chart
    denominators = frame["denominator"].to_numpy(dtype=float) if chart == "p" else None
    target = None
    if periods:
        # The series carries the target in force at its level (none where the metric is not rated).
        t = float(frame["target"].iloc[-1]) if "target" in frame else _thresholds(metric, periods[-1])[0]
        target = None if math.isnan(t) else t
    return spc.spc(
        values,
        polarity=str(metric.polarity),
        denominators=denominators,
        target=target,
        chart=chart,
        periods=periods,
        rebase=[r.period for r in metric.rebase],
    )


def spc_series(
    metric_id: str, level: str, unit: str | None, *, period: str | None = None, db: Db = None
) -> spc.SPCResult:
    """Statistical process control of one metric for one unit: `series(...)` up to
    `period` (default: the latest month) judged by `etl.rules.spc.spc` (see `spc_of_series`)."""
    return spc_of_series(metric_id, series(metric_id, level, unit, db=db), period=period)


def _sort_best_first(frame: pd.DataFrame, metric: Metric, by: str = "value") -> pd.DataFrame:
    """Best first in the metric's polarity (highest first when monitored), no data last."""
    ascending = metric.polarity is Polarity.LOWER
    return frame.sort_values([by, "org_unit"], ascending=[ascending, True], na_position="last", kind="stable")


def breakdown(metric_id: str, period: str, level: str, unit: str | None, *, db: Db = None) -> pd.DataFrame:
    """The units one level below `unit` for one metric and month (la -> services,
    area -> teams, service -> teams; a team has none): org_unit, level, numerator,
    denominator, value, rag; best first, no data last."""
    metric = _metric(metric_id)
    unit = _unit_or_authority(level, unit)
    month = _first(period)
    columns = ["org_unit", "level", "numerator", "denominator", "value", "rag"]
    if level == "team":
        return pd.DataFrame(columns=columns)
    child = CHILD_LEVEL[level]
    with reading(db) as con:
        unit = _resolve_unit(con, level, unit)
        children = _children(con, level, unit)
        frame = con.execute(
            f"""
            SELECT u.org_unit, CAST($child AS VARCHAR) AS level, d.numerator, d.denominator,
                   {_value_sql(metric)} AS value
            FROM unnest(CAST($children AS VARCHAR[])) AS u(org_unit)
            LEFT JOIN kpi_monthly d
                ON d.org_unit = u.org_unit AND d.metric_id = $metric AND d.level = $child AND d.period = $period
            """,
            {"children": children, "child": child, "metric": metric_id, "period": month},
        ).df()
    frame = frame.astype({"numerator": float, "denominator": float, "value": float})
    labels = pd.Series([period_of(month)] * len(frame))
    frame["rag"] = _rag_by_period(metric, frame["value"], labels, child)["rag"].values
    return _sort_best_first(frame, metric)[columns].reset_index(drop=True)


def team_matrix(
    metric_id: str, level: str, unit: str | None, end_period: str, months: int = 12, *, db: Db = None
) -> pd.DataFrame:
    """The heatmap data: every team of `unit` (all teams for the authority) by the
    `months` months ending at `end_period`, as a long frame sorted by team then
    period: team, period, numerator, denominator, value, rag (gaps as no data).
    Pivot with `frame.pivot(index="team", columns="period", values="value")`."""
    metric = _metric(metric_id)
    unit = _unit_or_authority(level, unit)
    last = _first(end_period)
    first = _first(add_months(period_of(last), -(months - 1)))
    with reading(db) as con:
        unit = _resolve_unit(con, level, unit)
        teams = _teams_under(con, level, unit)
        frame = con.execute(
            f"""
            WITH months AS ({_months_sql("$first", "$last")})
            SELECT t.team, {_month_text("m.period")} AS period, d.numerator, d.denominator,
                   {_value_sql(metric)} AS value
            FROM unnest(CAST($teams AS VARCHAR[])) AS t(team) CROSS JOIN months m
            LEFT JOIN kpi_monthly d ON d.metric_id = $metric AND d.level = 'team' AND d.org_unit = t.team
                AND d.period = m.period
            ORDER BY t.team, m.period
            """,
            {"teams": teams, "first": first, "last": last, "metric": metric_id},
        ).df()
    frame = frame.astype({"numerator": float, "denominator": float, "value": float})
    frame["rag"] = _rag_by_period(metric, frame["value"], frame["period"], "team")["rag"].values
    return frame


def team_grid(period: str, level: str, unit: str | None, *, db: Db = None) -> pd.DataFrame:
    """Teams of `unit` by every metric for one month: team, metric_id, short_name,
    numerator, denominator, value, rag (sorted by team, then catalogue order)."""
    unit = _unit_or_authority(level, unit)
    month = _first(period)
    label = period_of(month)
    with reading(db) as con:
        unit = _resolve_unit(con, level, unit)
        teams = _teams_under(con, level, unit)
        frame = con.execute(
            f"""
            WITH metrics(ord, metric_id, is_count) AS (VALUES {_metrics_values_sql()})
            SELECT t.team, m.ord, m.metric_id, d.numerator, d.denominator,
                   CASE WHEN m.is_count THEN d.numerator
                        WHEN d.denominator > 0 THEN 100.0 * d.numerator / d.denominator END AS value
            FROM unnest(CAST($teams AS VARCHAR[])) AS t(team) CROSS JOIN metrics m
            LEFT JOIN kpi_monthly d ON d.metric_id = m.metric_id AND d.level = 'team' AND d.org_unit = t.team
                AND d.period = $period
            ORDER BY t.team, m.ord
            """,
            {"teams": teams, "period": month},
        ).df()
    meta = _metrics_frame(label, "team")
    frame = frame.astype({"numerator": float, "denominator": float, "value": float})
    frame = frame.merge(
        meta[["ord", "short_name", "green", "amber", "polarity", "rated"]], on="ord", how="left", sort=False
    )
    frame["rag"] = rag_array(frame["value"], frame["green"], frame["amber"], frame["polarity"], frame["rated"])
    return frame[["team", "metric_id", "short_name", "numerator", "denominator", "value", "rag"]]


def pooled(metric_id: str, months: Iterable[str], level: str, unit: str | None, *, db: Db = None) -> dict:
    """One metric over several months (a quarter, a year), pooled: numerators and
    denominators summed, then divided. {numerator, denominator, value}; None where
    there is no data."""
    metric = _metric(metric_id)
    unit = _unit_or_authority(level, unit)
    firsts = [_first(m) for m in months]
    with reading(db) as con:
        unit = _resolve_unit(con, level, unit)
        numerator, denominator, rows = con.execute(
            "SELECT sum(numerator) AS numerator, sum(denominator) AS denominator, count(*) AS months FROM kpi_monthly"
            " WHERE metric_id = $metric AND level = $level AND org_unit = $unit"
            " AND period IN (SELECT unnest(CAST($months AS DATE[])))",
            {"metric": metric_id, "level": level, "unit": unit, "months": firsts},
        ).fetchone()
    if not rows:
        return {"numerator": None, "denominator": None, "value": None}
    if metric.unit == "count":
        return {"numerator": numerator, "denominator": None, "value": numerator}
    value = 100.0 * numerator / denominator if denominator else None
    return {"numerator": numerator, "denominator": denominator, "value": value}


# --- audits --------------------------------------------------------------------

AUDIT_COLUMNS = [
    "period", "audits", "moderated", "outstanding", "good", "requires_improvement", "inadequate",
    "outstanding_pct", "good_pct", "requires_improvement_pct", "inadequate_pct",
]  # fmt: skip

# A financial-year quarter label from a month: 2023-07 -> 2023/24 Q2.
_FY_START_SQL = (
    "CAST(extract(year FROM audit_month) AS INTEGER) - CASE WHEN extract(month FROM audit_month) < 4 THEN 1 ELSE 0 END"
)
_QUARTER_SQL = f"""
    CAST({_FY_START_SQL} AS VARCHAR) || '/' || substr(CAST({_FY_START_SQL} + 1 AS VARCHAR), 3, 2)
    || ' Q' || CASE WHEN extract(month FROM audit_month) BETWEEN 4 AND 6 THEN '1'
                    WHEN extract(month FROM audit_month) BETWEEN 7 AND 9 THEN '2'
                    WHEN extract(month FROM audit_month) BETWEEN 10 AND 12 THEN '3' ELSE '4' END
"""


def audit_grades(
    by: str = "month",
    *,
    team: str | None = None,
    service: str | None = None,
    area: str | None = None,
    audit_type: str | None = None,
    db: Db = None,
) -> pd.DataFrame:
    """The audit-grade table of the published report, by month (`2023-04`) or
    financial-year quarter (`2023/24 Q1`). `audits` counts every audit, `moderated`
    the moderated ones; grade counts and percentages (0-100, unrounded) are shares
    of the moderated audits by moderated grade."""
    if by not in ("month", "quarter"):
        raise ValueError(f"{by!r}: audits are grouped by month or quarter")
    label = _month_text("audit_month") if by == "month" else _QUARTER_SQL
    filters, params = ["true"], {}
    with reading(db) as con:
        # Names match as the loader matches them; one it does not know is an error naming those it does.
        for column, value in (("team", team), ("service", service), ("area", area)):
            if value:
                params[column] = _resolve_unit(con, column, value)
                filters.append(f"a.team IN (SELECT team FROM organisation WHERE {column} = ${column})")
        if audit_type:
            known = [t for (t,) in con.execute("SELECT DISTINCT audit_type FROM case_audits ORDER BY 1").fetchall()]
            known += [m.audit_type for m in catalogue().metrics if m.audit_type and m.audit_type not in known]
            params["audit_type"] = _resolve("audit type", audit_type, known, key=audit_type_key)
            filters.append("a.audit_type = $audit_type")
        sql = f"""
            WITH a AS (
                SELECT CAST(date_trunc('month', a.audit_date) AS DATE) AS audit_month,
                       nullif(lower(trim(a.moderated_grade)), '') AS grade
                FROM case_audits a WHERE {" AND ".join(filters)}
            ),
            counted AS (
                SELECT {label} AS period, min(audit_month) AS first_month,
                       count(*) AS audits,
                       count(grade) AS moderated,
                       count(*) FILTER (WHERE grade = 'outstanding') AS outstanding,
                       count(*) FILTER (WHERE grade = 'good') AS good,
                       count(*) FILTER (WHERE grade IN ('requires improvement', 'ri')) AS requires_improvement,
                       count(*) FILTER (WHERE grade = 'inadequate') AS inadequate
                FROM a GROUP BY 1
            )
            SELECT period, audits, moderated, outstanding, good, requires_improvement, inadequate,
                   100.0 * CAST(outstanding AS DOUBLE PRECISION) / nullif(moderated, 0) AS outstanding_pct,
                   100.0 * CAST(good AS DOUBLE PRECISION) / nullif(moderated, 0) AS good_pct,
                   100.0 * CAST(requires_improvement AS DOUBLE PRECISION) / nullif(moderated, 0)
                       AS requires_improvement_pct,
                   100.0 * CAST(inadequate AS DOUBLE PRECISION) / nullif(moderated, 0) AS inadequate_pct
            FROM counted ORDER BY first_month
        """
        frame = con.execute(sql, params).df()
    counts = {c: "int64" for c in AUDIT_COLUMNS[1:] if not c.endswith("_pct")}
    return frame[AUDIT_COLUMNS].astype(counts | {c: float for c in AUDIT_COLUMNS if c.endswith("_pct")})


# --- freshness -------------------------------------------------------------------


def freshness(db: Db = None) -> pd.DataFrame:
    """How current the data is: one row per extract type, then one per metric.
    Columns: kind ("extract" | "metric"), name, source, latest_period (latest month
    with data, None if none), as_of (as-of date of the latest load whose records
    are in force for that extract type, None if none)."""
    parts = []
    for extract in EXTRACT_TYPES.values():
        latest = (
            f"(SELECT {_month_text(f'max({extract.period_column})')} FROM {extract.table})"
            if extract.period_column
            else "CAST(NULL AS VARCHAR)"
        )
        if extract.snapshot:  # a snapshot counts in the month of its as-of date
            latest = f"(SELECT {_month_text('max(as_of)')} FROM {extract.table})"
        # A record carries the latest as-of date of the loads that contained it; an aggregate, its load's.
        by_load = f"(SELECT max(as_of) FROM loads WHERE load_id IN (SELECT load_id FROM {extract.table}))"
        as_of = f"greatest((SELECT max(as_of) FROM {extract.table}), {by_load})" if extract.record_level else by_load
        parts.append(f"SELECT '{extract.name}' AS source, {latest} AS latest_period, {as_of} AS as_of")
    with reading(db) as con:
        extracts = con.execute(" UNION ALL ".join(parts)).df()
        marts = con.execute(
            f"SELECT metric_id, {_month_text('max(period)')} AS latest_period FROM kpi_monthly GROUP BY metric_id"
        ).df()
    as_of = {r.source: r.as_of for r in extracts.itertuples()}
    latest = dict(zip(marts["metric_id"], marts["latest_period"], strict=True))
    rows = [
        {"kind": "extract", "name": r.source, "source": r.source, "latest_period": r.latest_period, "as_of": r.as_of}
        for r in extracts.itertuples()
    ]

    def source_of(metric) -> str:
        # A metric counted from records that kpi_values still fill: kpi_values while no record is loaded.
        if metric.source in _COUNTED_UPSTREAM_UNTIL_NOW and pd.isna(as_of.get(metric.source)):
            return "kpi_values"
        return metric.source

    rows += [
        {
            "kind": "metric",
            "name": m.metric_id,
            "source": source_of(m),
            "latest_period": latest.get(m.metric_id),
            "as_of": as_of.get(source_of(m)),
        }
        for m in catalogue().metrics
    ]
    frame = pd.DataFrame(rows, columns=["kind", "name", "source", "latest_period", "as_of"])
    # None, not NaN or NaT, where there is nothing yet: the page prints "no data yet".
    frame["latest_period"] = pd.Series([None if pd.isna(v) else v for v in frame["latest_period"]], dtype=object)
    frame["as_of"] = pd.Series([None if pd.isna(v) else pd.Timestamp(v).date() for v in frame["as_of"]], dtype=object)
    return frame
