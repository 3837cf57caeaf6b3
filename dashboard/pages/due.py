"""What falls due: a team manager's worklist. For every timed KPI, the open records
whose deadline falls in the next N working days (soonest first), then those already
overdue (most recent first), with the days left or the days overdue. Overdue for
longer than the cut-off (default 3 months) is counted, with a link that lists it.

URL: `/due?team=Coastal%20FS%201&days=5`, or `/due?level=service&unit=Family%20Safeguarding&days=5`
(`on=2023-07-31` to ask as of a date; without it, "now" is the as-of date of each
extract type's latest load; `cutoff=6` months, `cutoff=0` for every overdue record).
Without a unit, every team the viewer may see. The CSV is `/due.csv`.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard.child_routes import parse_cutoff, parse_days, parse_on
from dashboard.components.banners import notice
from dashboard.components.child_tables import grid
from dashboard.pages.children import building_for_a_visit
from dashboard.pages.common import page_header
from etl.catalogue.metrics import catalogue
from etl.privacy import access, children
from etl.privacy.access import AccessDenied

dash.register_page(__name__, path="/due", name="What falls due", title="What falls due · CPIP", order=80)

CUTOFF_WORDS = {0: "all", 1: "1 month", 3: "3 months", 6: "6 months", 12: "12 months"}


def _day(d: Any) -> str:
    return d.strftime("%-d %B %Y") if d else "no data loaded"


def _months(n: int) -> str:
    return f"{n} {'month' if n == 1 else 'months'}"


def _address(found: children.DueList, *, cutoff: int) -> str:
    return children.due_address(found.team, found.days, found.on, level=found.level, unit=found.unit, cutoff=cutoff)


def counts_line(found: children.DueList) -> str:
    """ "1 due in the next 5 working days; 3 overdue in the last 3 months (40 more overdue for longer)." """
    text = f"{found.due:,} due in the next {found.days} working days; {found.overdue:,} overdue"
    if found.cutoff:
        text += f" in the last {_months(found.cutoff)}"
    if found.older:
        text += f" ({found.older:,} more overdue for longer)"
    return text + "."


def cutoff_control(found: children.DueList) -> html.Div:
    """How far back overdue records are listed: plain links, so every choice is an address."""
    links = []
    for months in children.CUTOFF_CHOICES:
        words = CUTOFF_WORDS.get(months, _months(months))
        if months == found.cutoff:
            links.append(html.Li(html.Strong(words, **{"aria-current": "true"})))
        else:
            links.append(html.Li(html.A(words, href=_address(found, cutoff=months), id=f"due-cutoff-{months}")))
    return html.Div(
        [html.Span("Overdue listed for the last:", className="me-2"), html.Ul(links, className="cpip-inline-list")],
        className="cpip-due-cutoff d-print-none",
        id="due-cutoff",
    )


def older_note(found: children.DueList) -> html.P | None:
    if not found.older:
        return None
    many = found.older != 1
    return html.P(
        [
            f"{found.older:,} {'records' if many else 'record'} ({found.older_children:,} "
            f"{'children' if found.older_children != 1 else 'child'}) overdue for more than "
            f"{_months(found.cutoff)} {'are' if many else 'is'} not listed here. ",
            html.A("List every overdue record", href=_address(found, cutoff=0), id="due-older-link"),
            ".",
        ],
        id="due-older",
        className="mb-0",
    )


def own_unit() -> tuple[str | None, str | None]:
    """With no unit in the address (the menu's link): a team manager of one team sees that team's
    list, a head of service of one service that service's; anyone else every team they may see."""
    try:
        viewer = access.current_viewer()
    except AccessDenied:
        return None, None
    if viewer is None or len(viewer.teams or viewer.services) != 1 or viewer.home is None:
        return None, None
    return viewer.home


def build(
    team: str | None,
    days: str | None,
    on: str | None,
    level: str | None = None,
    unit: str | None = None,
    cutoff: str | None = None,
) -> list:
    if not team and not unit and level in (None, ""):
        level, unit = own_unit()
    try:
        found = children.due_list(
            team=team or None, days=parse_days(days), on=parse_on(on), level=level or None, unit=unit or None,
            cutoff=parse_cutoff(cutoff), fmt="page",
        )  # fmt: skip
    except AccessDenied:
        raise  # the gate's 403, never a page
    except ValueError as exc:
        return [page_header("What falls due"), notice([str(exc)], title="Nothing to show", kind="info")]
    names = {m.metric_id: m.label for m in catalogue().metrics}
    scope = found.scope
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
                    href=children.due_address(
                        found.team,
                        found.days,
                        found.on,
                        csv=True,
                        level=found.level,
                        unit=found.unit,
                        cutoff=found.cutoff,
                    ),
                    className="btn btn-primary btn-sm",
                    id="due-csv",
                )
            ],
        ),
        html.Div(
            [
                html.P(counts_line(found), id="due-counts", className="mb-1 fw-bold"),
                html.P(
                    "Due soonest first, then overdue most recent first. Days are calendar days to the deadline, "
                    "or since it passed. Worker is the allocated worker, where the extract gives one.",
                    className="mb-1",
                ),
                html.P(now, className="mb-1"),
                older_note(found),
                cutoff_control(found),
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


def layout(
    team: str | None = None,
    days: str | None = None,
    on: str | None = None,
    level: str | None = None,
    unit: str | None = None,
    cutoff: str | None = None,
    **_other: Any,
) -> list:
    # Dash's validation layout calls layout() with no arguments outside the
    # page router's callback, for everyone: no records in it.
    if not building_for_a_visit():
        return [html.Div(id="due-page")]
    return [html.Div(build(team, days, on, level, unit, cutoff), id="due-page")]
