"""One KPI: its monthly series and SPC chart, the breakdown one level down, the team matrices, a pooled
figure over months."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from etl.catalogue.metrics import SCALE, Metric, Polarity
from etl.rules import spc
from etl.rules.calendar import add_months, financial_year_of, period_of
from etl.serve.common import (
    CHILD_LEVEL,
    _first,
    _metric,
    _metrics_frame,
    _metrics_values_sql,
    _month_text,
    _months_sql,
    _thresholds,
    _unit_or_authority,
)
from etl.serve.rag import minimums_of, rag_array, small_numbers_array
from etl.serve.units import _REPORTED, _children, _resolve_unit, _teams_under
from etl.store.db import Db
from etl.store.warehouse import reading

# --- one metric: series, breakdown, matrices -------------------------------------


def _rag_by_period(
    metric: Metric, values: pd.Series, period_labels: pd.Series, level: str, denominators: pd.Series | None = None
) -> pd.DataFrame:
    """target, green, amber and rag per row, with the thresholds of each row's period at `level`
    ("Small numbers" where a share's denominator is below the KPI's min_denominator)."""
    years = period_labels.map(financial_year_of)
    by_year = {y: _thresholds(metric, p, level) for y, p in zip(years, period_labels, strict=True)}
    limits = np.array([by_year[y] for y in years], dtype=float).reshape(-1, 3)
    out = pd.DataFrame({"target": limits[:, 0], "green": limits[:, 1], "amber": limits[:, 2]}, index=values.index)
    rated = [metric.rated_at(level)] * len(values)
    out["rag"] = rag_array(values, out["green"], out["amber"], [str(metric.polarity)] * len(values), rated)
    if denominators is not None:
        low = [0.0 if metric.unit == "count" else float(metric.min_denominator)] * len(values)
        out["rag"] = small_numbers_array(out["rag"].to_numpy(), denominators, low)
    return out


def _value_sql(metric: Metric, alias: str = "d") -> str:
    if metric.unit == "count":
        return f"{alias}.numerator"
    scale = f"{SCALE[metric.unit]:.1f}"  # 100.0 for a percentage, 1.0 for a rate
    return f"CASE WHEN {alias}.denominator > 0 THEN {scale} * {alias}.numerator / {alias}.denominator END"


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
    rags = _rag_by_period(metric, frame["value"], frame["period"], level, frame["denominator"])
    return pd.concat([frame, rags], axis=1)


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
    chart = metric.chart
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
    frame["rag"] = _rag_by_period(metric, frame["value"], labels, child, frame["denominator"])["rag"].values
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
    frame["rag"] = _rag_by_period(metric, frame["value"], frame["period"], "team", frame["denominator"])["rag"].values
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
            WITH metrics(ord, metric_id, scale) AS (VALUES {_metrics_values_sql()})
            SELECT t.team, m.ord, m.metric_id, d.numerator, d.denominator,
                   CASE WHEN m.scale IS NULL THEN d.numerator
                        WHEN d.denominator > 0 THEN m.scale * d.numerator / d.denominator END AS value
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
    frame["rag"] = small_numbers_array(frame["rag"], frame["denominator"], minimums_of(frame["metric_id"]))
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
    return {"numerator": numerator, "denominator": denominator, "value": metric.value_of(numerator, denominator)}
