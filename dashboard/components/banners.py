"""Notices at the top of a page: data that is incomplete or stale, and URL values
that were not understood."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.components.format import long_month_label


def _month_end(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def _day(d: date) -> str:
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def freshness_notes(fresh: pd.DataFrame, period: str, *, sources: Sequence[str] | None = None) -> list[str]:
    """Plain-language reasons the month's figures may be incomplete, from
    etl.serve.queries.freshness(): metrics with no data for the month (named by their
    source extract), and sources whose latest load was taken before the month
    ended. `sources` limits the check to the extracts the page's KPIs use."""
    if fresh is None or fresh.empty or not period:
        return []
    metrics = fresh[fresh["kind"] == "metric"]
    if sources is not None:
        metrics = metrics[metrics["source"].isin(list(sources))]
    notes: list[str] = []
    missing = metrics[
        [(lp is None or (isinstance(lp, float) and lp != lp) or str(lp) < period) for lp in metrics["latest_period"]]
    ]
    if not missing.empty:
        names = sorted(set(missing["source"]))
        notes.append(
            f"No data yet for {long_month_label(period)} from: {', '.join(names)}. "
            + (f"{len(missing)} KPIs show" if len(missing) != 1 else "1 KPI shows")
            + " No data for this month."
        )
    month_end = _month_end(period)
    extracts = fresh[(fresh["kind"] == "extract") & (fresh["name"] != "organisation")]
    used = set(metrics["source"])
    stale = []
    for row in extracts.itertuples(index=False):
        if row.name not in used or row.as_of is None or (isinstance(row.as_of, float) and row.as_of != row.as_of):
            continue
        as_of = row.as_of if isinstance(row.as_of, date) else pd.Timestamp(row.as_of).date()
        if as_of < month_end:
            stale.append((row.name, as_of))
    if stale:
        described = ", ".join(f"{name} (taken {_day(as_of)})" for name, as_of in sorted(stale))
        notes.append(
            f"The latest extracts were taken before {long_month_label(period)} ended, so the month may be "
            f"incomplete: {described}."
        )
    return notes


def notice(messages: Sequence[str], *, title: str, kind: str = "warning", banner_id: str | None = None) -> html.Div:
    """A banner with a heading and one line per message; nothing when there are none.
    role=status so screen readers announce it without stealing focus."""
    if not messages:
        return html.Div(id=banner_id) if banner_id else html.Div()
    body = [html.Strong(title, className="cpip-notice-title")]
    body += [html.P(m, className="mb-0") for m in messages]
    props = {"id": banner_id} if banner_id else {}
    return html.Div(
        dbc.Alert(body, color=kind, className=f"cpip-notice cpip-notice-{kind}", is_open=True), role="status", **props
    )
