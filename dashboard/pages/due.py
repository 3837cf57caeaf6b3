"""What falls due: for every timed KPI, the open records whose deadline falls
in the next N working days, and those already overdue, by team, soonest first.

URL: `/due?team=Coastal%20FS%201&days=5` (`on=2023-07-31` to ask as of a
date; without it, "now" is the as-of date of each extract type's latest load).
Without `team`, every team the viewer may see. The CSV is `/due.csv`.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard.child_routes import parse_days, parse_on
from dashboard.components.banners import notice
from dashboard.components.child_tables import grid
from dashboard.pages.children import building_for_a_visit
from dashboard.pages.common import page_header
from etl.catalogue.metrics import catalogue
from etl.privacy import children
from etl.privacy.access import AccessDenied

dash.register_page(__name__, path="/due", name="What falls due", title="What falls due · CPIP", order=80)


def _day(d: Any) -> str:
    return d.strftime("%-d %B %Y") if d else "no data loaded"


def build(team: str | None, days: str | None, on: str | None) -> list:
    try:
        found = children.due_list(team=team or None, days=parse_days(days), on=parse_on(on), fmt="page")
    except AccessDenied:
        raise  # the gate's 403, never a page
    except ValueError as exc:
        return [page_header("What falls due"), notice([str(exc)], title="Nothing to show", kind="info")]
    names = {m.metric_id: m.label for m in catalogue().metrics}
    scope = found.team or ("every team" if found.teams is None else f"{len(found.teams)} teams")
    overdue = int((found.rows["outcome"] == "overdue").sum())
    due = len(found.rows) - overdue
    if found.on:
        now = f"As of {_day(found.on)}."
    else:
        dates = sorted({d for d in found.now.values() if d})
        now = "As of each extract's latest as-of date: " + (", ".join(_day(d) for d in dates) or "none") + "."
    return [
        page_header(
            "What falls due",
            f"{scope} · next {found.days} working days",
            actions=[
                html.A(
                    "Download CSV",
                    href=children.due_address(found.team, found.days, found.on, csv=True),
                    className="btn btn-primary btn-sm",
                    id="due-csv",
                )
            ],
        ),
        html.Div(
            [
                html.P(
                    f"{due:,} due in the next {found.days} working days; {overdue:,} overdue.",
                    id="due-counts",
                    className="mb-1 fw-bold",
                ),
                html.P(now, className="mb-0"),
            ],
            className="cpip-card",
        ),
        html.P(
            # The KPIs with a clock, in metrics.yml's words (the clocks are declared there only).
            "; ".join(m.label for m in children.timed_metrics()) + ". Every view of this list is recorded.",
            className="cpip-footnote",
        ),
        grid(found.rows, grid_id="due-grid", label=f"What falls due, {scope}", metric_names=names),
    ]


def layout(team: str | None = None, days: str | None = None, on: str | None = None, **_other: Any) -> list:
    # Dash's validation layout calls layout() with no arguments outside the
    # page router's callback, for everyone: no records in it.
    if not building_for_a_visit():
        return [html.Div(id="due-page")]
    return [html.Div(build(team, days, on), id="due-page")]
