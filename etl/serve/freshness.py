"""How current the data is: each extract type's latest load and each KPI's latest month."""

from __future__ import annotations

from datetime import date

import pandas as pd

from etl.catalogue.contract import EXTRACT_TYPES
from etl.catalogue.metrics import catalogue
from etl.serve.common import _COUNTED_UPSTREAM_UNTIL_NOW, _month_text
from etl.store.db import Db
from etl.store.warehouse import reading

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


def latest_complete_period(db: Db = None) -> str | None:
    """The latest month with KPI data that had ended before the latest load's as-of date (a
    list taken on 5 April holds March whole, April in part): the board pack's default month.
    The latest month with data when none has; None when nothing is loaded."""
    from etl.rules.calendar import parse_period
    from etl.serve.units import periods

    months = periods(db)
    if not months:
        return None
    fresh = freshness(db)
    loaded = fresh[(fresh["kind"] == "extract") & ~fresh["name"].isin(["organisation", "actions"])]["as_of"]
    dates = [d for d in loaded if d is not None]
    if not dates:
        return months[-1]
    latest = max(dates)
    for month in reversed(months):
        first = parse_period(month)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if latest >= following:  # the month's last day is before the as-of date
            return month
    return months[-1]
