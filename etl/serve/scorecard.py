"""The scorecard: every KPI for one month at a level, with RAG, direction, comparators and the SPC icons of
each row's own series; the icon matrix judged the same way; the CLI's table of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from etl.catalogue.metrics import SCALE, catalogue
from etl.rules import spc
from etl.rules.calendar import period_of
from etl.serve.common import (
    CHILD_LEVEL,
    UnknownName,
    _check_level,
    _first,
    _metrics_frame,
    _metrics_values_sql,
    _unit_or_authority,
)
from etl.serve.comparators import _comparators
from etl.serve.rag import direction_array, exact, minimums_of, rag_array, small_numbers_array
from etl.serve.units import _children, _resolve_unit, _units_at
from etl.store.db import Connection, Db
from etl.store.warehouse import reading

# --- the scorecard --------------------------------------------------------------

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
    with reading(db) as con:
        units = [_resolve_unit(con, level, unit)] if unit else _units_at(con, level)
        grid = _series(con, level, last, units)
        notes = _notes(con, level, last)
        bench = _comparators(con, period).drop(columns="indicator")
        org = con.execute("SELECT team, service, area FROM organisation").fetchall()

    # One row per (metric, unit), metric-major: the grid's own row order. The catalogue's and the
    # comparators' columns are fixed on their 21 rows, then repeated; the rest built as whole columns
    # and joined once (a column set at a time costs more than the arithmetic).
    meta = _metrics_frame(period, level).merge(bench, on="metric_id", how="left")
    for column in ("benchmark_year", "sn_count", "rank", "ranked"):
        meta[column] = meta[column].astype("Int64")
    meta["quartile"] = meta["quartile"].astype(object).where(meta["quartile"].notna(), None)
    n_units = len(units)
    rows = np.repeat(np.arange(len(meta)), n_units)
    taken = meta.iloc[rows].reset_index(drop=True)
    metric_ids = [m for m in meta["metric_id"].tolist() for _ in units]
    row_units = units * len(meta)
    value, previous = grid.values[:, -1], grid.values[:, -2]
    polarity = meta["polarity"].to_numpy(dtype=object)[rows]
    rag = rag_array(value, meta["green"].to_numpy()[rows], meta["amber"].to_numpy()[rows], polarity,
                    meta["rated"].to_numpy(dtype=bool)[rows])  # fmt: skip
    recent = grid.values[:, -12:]
    computed = {
        "period": period,
        "level": level,
        "org_unit": pd.array(row_units, dtype="str"),
        "numerator": grid.numerator[:, -1],
        "denominator": grid.denominator[:, -1],
        "value": value,
        "previous_value": previous,
        "rag": small_numbers_array(rag, grid.denominator[:, -1], minimums_of(metric_ids)),
        "direction": direction_array(value, previous, polarity),
        "sparkline": np.where(np.isnan(recent), None, recent).tolist(),
        "note": pd.Series(
            [notes.get(key) for key in zip(metric_ids, row_units, strict=True)] if notes else None,
            index=taken.index,
            dtype=object,
        ),
        "applies": _applies(metric_ids, level, row_units, org, grid.has_row.any(axis=1)),
        **_spc_icons(grid, metric_ids, taken["target"].to_numpy(dtype=float)),
    }
    return pd.DataFrame({c: computed[c] if c in computed else taken[c] for c in SCORECARD_COLUMNS})


def _applies(
    metric_ids: list[str], level: str, units: list[str], org: list[tuple[str, str, str]], with_records: np.ndarray
) -> list[bool]:
    """Per row (a metric and a unit at `level`): does the KPI apply to the unit (metrics.yml
    `applies_to`, by the services the unit is made of)? The authority always does, and so
    does a unit with records for the KPI (`with_records`, per row); an `applies_to` naming
    no service of the organisation reference (`org`: its (team, service, area) rows; a
    misspelling, another authority's names) is not trusted to leave anything off."""
    if level == "la":
        return [True] * len(metric_ids)
    metrics = {m.metric_id: m for m in catalogue().metrics}
    services: dict[str, dict[str, list[str]]] = {
        "team": {t: [s] for t, s, _a in org},
        "service": {s: [s] for _t, s, _a in org},
        "area": {},
    }
    for _team, service, area in org:
        services["area"].setdefault(area, []).append(service)
    everything = [s for _t, s, _a in org]
    trusted = {m_id: not m.applies_to or not m.applies_to_any(everything) for m_id, m in metrics.items()}
    judged: dict[tuple[str, str], bool] = {}  # (metric, unit): the same answer for every row that asks
    out = []
    for metric_id, unit, has_records in zip(metric_ids, units, with_records.tolist(), strict=True):
        if has_records or trusted[metric_id]:
            out.append(True)
            continue
        key = (metric_id, unit)
        if key not in judged:
            made_of = services.get(level, {}).get(unit, [])
            judged[key] = not made_of or metrics[metric_id].applies_to_any(made_of)
        out.append(judged[key])
    return out


# Every (metric, unit) row of kpi_monthly up to a month, as integer codes and numbers (text and
# nested lists cost many times the query): the metric's catalogue position, the unit's position in
# the list asked for, and the month as year x 12 + month - 1.
_SERIES_SQL = """
WITH metrics(ord, metric_id, scale) AS (VALUES {metrics}),
units AS (
    SELECT org_unit, CAST(n - 1 AS INTEGER) AS ui
    FROM unnest(CAST($units AS VARCHAR[])) WITH ORDINALITY AS u(org_unit, n)
)
SELECT m.ord, u.ui,
       CAST(extract(year FROM k.period) * 12 + extract(month FROM k.period) - 1 AS INTEGER) AS month_number,
       k.numerator, k.denominator
FROM kpi_monthly k JOIN metrics m ON m.metric_id = k.metric_id JOIN units u ON u.org_unit = k.org_unit
WHERE k.level = $level AND k.period <= $last
"""


@dataclass(frozen=True)
class _Grid:
    """Every (metric, unit) monthly series up to a month on one grid: a row per series,
    metric-major (catalogue order, then the units in the order asked for), a column per
    month, the last column the month asked for and at least 12 columns. NaN (has_row
    False) where the series has no row that month."""

    periods: list[str]
    numerator: np.ndarray
    denominator: np.ndarray
    values: np.ndarray  # the scorecard's value: the count, 100 x numerator / denominator, or a rate's quotient
    has_row: np.ndarray


def _series(con: Connection, level: str, last: date, units: list[str]) -> _Grid:
    """The grid of every metric's series for `units` at `level`, up to and including `last`.
    One query; each row is put in its cell by number, so no sort and no per-series Python."""
    metrics = catalogue().metrics
    n_units = len(units)
    last_month = last.year * 12 + last.month - 1
    data = (
        con.execute(
            _SERIES_SQL.format(metrics=_metrics_values_sql()), {"level": level, "last": last, "units": units}
        ).fetchnumpy()
        if units
        else {"ord": [], "ui": [], "month_number": [], "numerator": [], "denominator": []}
    )
    months = np.asarray(data["month_number"], dtype=np.int64)
    first_month = min(int(months.min()) if months.size else last_month, last_month - 11)
    n_months = last_month - first_month + 1
    cell = (np.asarray(data["ord"], dtype=np.int64) * n_units + np.asarray(data["ui"], dtype=np.int64)) * n_months + (
        months - first_month
    )
    shape = (len(metrics) * n_units, n_months)
    numerator, denominator = np.full(shape, np.nan), np.full(shape, np.nan)
    has_row = np.zeros(shape, dtype=bool)
    numerator.flat[cell] = np.ma.filled(np.ma.asarray(data["numerator"], dtype=float), np.nan)
    denominator.flat[cell] = np.ma.filled(np.ma.asarray(data["denominator"], dtype=float), np.nan)
    has_row.flat[cell] = True
    is_count = np.repeat([m.unit == "count" for m in metrics], n_units)
    scale = np.repeat([SCALE.get(m.unit, np.nan) for m in metrics], n_units)[:, None]  # 100, or 1 for a rate
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denominator > 0, scale * numerator / denominator, np.nan)
    values = np.where(is_count[:, None], numerator, share)
    periods = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first_month, last_month + 1)]
    return _Grid(periods, numerator, denominator, values, has_row)


def _notes(con: Connection, level: str, last: date) -> dict[tuple[str, str], str]:
    """kpi_monthly's notes for the month (why a figure is pooled as it is), by (metric, unit)."""
    rows = con.execute(
        "SELECT metric_id, org_unit, note FROM kpi_monthly"
        " WHERE level = $level AND period = $last AND note IS NOT NULL",
        {"level": level, "last": last},
    ).fetchall()
    return {(metric_id, unit): note for metric_id, unit, note in rows}


def _spc_icons(grid: _Grid, metric_ids: list[str], targets: np.ndarray) -> dict[str, np.ndarray]:
    """Variation and assurance (Making Data Count) for each of the grid's series (metric-major:
    `metric_ids`, with their `targets`) up to and including its last month, from its latest
    rebase; the reason when there is no icon: spc.scorecard_icons_grid's columns."""
    metrics = {m.metric_id: m for m in catalogue().metrics}
    # Each metric's settings worked out once, then one per row.
    settings = {m_id: (str(m.polarity), m.chart, [r.period for r in m.rebase]) for m_id, m in metrics.items()}
    chosen = [settings[m] for m in metric_ids]
    return spc.scorecard_icons_grid(
        grid.values,
        grid.denominator,
        grid.has_row,
        polarity=[c[0] for c in chosen],
        target=targets,
        chart=[c[1] for c in chosen],
        periods=grid.periods,
        rebase=[c[2] for c in chosen],
    )


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
        grid = _series(con, child, last, children)
    meta = _metrics_frame(period, child)[["metric_id", "short_name", "target"]]
    frame = meta.iloc[np.repeat(np.arange(len(meta)), len(children))].reset_index(drop=True)
    frame["org_unit"] = pd.array(children * len(meta), dtype="str")
    frame["level"] = child
    icons = _spc_icons(grid, [m for m in meta["metric_id"].tolist() for _ in children], frame["target"].to_numpy(float))
    for column, found in icons.items():
        frame[column] = found
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
    """Counts print as 3, not 3.0, each on its own: a rate's FTE (4.5) in the same column keeps its fraction."""
    present = column.dropna()
    if not len(present) or (present % 1 == 0).all():
        return column.astype("Int64")
    return pd.Series(
        [None if pd.isna(v) else (int(v) if float(v).is_integer() else float(v)) for v in column],
        index=column.index,
        dtype=object,
    )


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
