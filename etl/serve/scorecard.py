"""The scorecard: every KPI for one month at a level, with RAG, direction, comparators and the SPC icons of
each row's own series; the icon matrix judged the same way; the CLI's table of it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from etl.catalogue.metrics import catalogue
from etl.rules import spc
from etl.rules.calendar import add_months, period_of
from etl.serve.common import (
    CHILD_LEVEL,
    UnknownName,
    _check_level,
    _first,
    _metrics_frame,
    _metrics_values_sql,
    _months_sql,
    _unit_or_authority,
)
from etl.serve.comparators import _comparators
from etl.serve.rag import direction_array, exact, minimums_of, rag_array, small_numbers_array
from etl.serve.units import _UNITS_SQL, _children, _resolve_unit, _units_at
from etl.store import authority
from etl.store.db import Connection, Db
from etl.store.warehouse import reading

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
    frame["rag"] = small_numbers_array(frame["rag"], frame["denominator"], minimums_of(frame["metric_id"]))
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
    con: Connection, level: str, last: date, units: list[str]
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
    """How many KPIs, and in how many units, of an icon matrix show each variation and assurance:
    {"special cause concerning": (KPIs, units), ...} (12 KPIs hit and miss in 5 services, not in
    the 24 cells they fill)."""
    out: dict[str, tuple[int, int]] = {}
    for column in ("variation", "assurance"):
        for value, rows in frame[frame[column].astype(bool)].groupby(column):
            out[str(value)] = (rows["metric_id"].nunique(), rows["org_unit"].nunique())
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
