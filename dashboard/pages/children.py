"""The children behind one figure: every record a KPI counts for a month,
financial-year quarter or year, for the authority, an area, a service or a team.

URL: `/kpi/seen_5wd/children?period=2023-07&level=team&unit=Coastal%20FS%201`
(`period` also `2023/24 Q1` or `2023/24`). The CSV is the same address with
`children.csv`. Who may open which list is the gate's business
(dashboard/gate.py) and the query layer's (etl/privacy/children.py): a refusal there
is a 403 before this page is built; this page only shows what it is given.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashboard.components.banners import notice
from dashboard.components.child_tables import figure_line, grid, list_counts, period_words
from dashboard.components.controls import LEVEL_LABELS, view_href
from dashboard.pages.common import page_header, per_load
from etl.catalogue.metrics import catalogue
from etl.privacy import children
from etl.privacy.access import AccessDenied
from etl.rules.calendar import financial_year_of, quarter_of
from etl.serve import queries


def _title(metric_id: str | None = None, **_other: str) -> str:
    try:
        return f"Children: {catalogue().metric(metric_id or '').label} · CPIP"
    except KeyError:
        return "Children · CPIP"


# Before the KPI page (order 1) in Dash's registry: its template /kpi/<metric_id>
# would otherwise also match /kpi/<metric_id>/children.
dash.register_page(__name__, path_template="/kpi/<metric_id>/children", name="Children", title=_title, order=0.5)


def building_for_a_visit() -> bool:
    """True inside the page router's callback (a person opening the page); False
    when Dash builds its validation layout (at the first request, outside any
    callback), which every visitor is sent: that one must carry no records."""
    from dash import ctx
    from dash.exceptions import MissingCallbackContextException

    try:
        ctx.outputs_list  # noqa: B018 - raises outside a callback
    except (MissingCallbackContextException, LookupError):
        return False
    return True


def _message(title: str, text: str) -> list:
    return [page_header(title), notice([text], title="Nothing to show", kind="info")]


def build(metric_id: str, period: str | None, level: str | None, unit: str | None) -> list:
    try:
        metric = children.record_metric(metric_id)
    except ValueError as exc:
        return [*_message("Child list", str(exc)), dcc.Link("Back to the scorecard", href="/")]
    period = period or per_load(queries.latest_period)
    if period is None:
        return _message(metric.label, "No data has been loaded yet.")
    level = level or "la"
    try:
        found = children.child_list(metric.metric_id, period, level, unit, fmt="page")
    except AccessDenied:
        raise  # the gate's 403, never a page
    except ValueError as exc:
        return _message(f"Children: {metric.label}", str(exc))
    where = found.unit if found.level == "la" else f"{LEVEL_LABELS[found.level]} {found.unit}"
    month = found.months[-1]
    wider = [("month", month), ("quarter", quarter_of(month)), ("financial year", financial_year_of(month))]
    other_periods = html.P(
        ["The same list for the "]
        + [
            part
            for i, (word, value) in enumerate(p for p in wider if p[1] != period)
            for part in ([" or the "] if i else [])
            + [html.A(f"{word} {value}", href=children.list_address(metric.metric_id, value, found.level, found.unit))]
        ]
        + ["."],
        className="mb-0",
        id="children-periods",
    )
    csv = children.list_address(metric.metric_id, period, found.level, found.unit, csv=True)
    lines = [
        html.P(
            figure_line(unit_kind=metric.unit, numerator=found.numerator, denominator=found.denominator),
            className="mb-1 fw-bold",
            id="children-figure",
        ),
        html.P(
            list_counts(
                unit_kind=metric.unit,
                met=found.met,
                counted=found.counted,
                not_yet_due=found.not_yet_due,
                rows=len(found.rows),
            ),
            className="mb-1",
            id="children-counts",
        ),
        other_periods,
    ]
    warning = []
    if found.given_upstream:
        months = ", ".join(found.given_upstream)
        warning = [
            notice(
                [
                    f"For {months} the figure was given upstream (the KPI values extract), not counted from the "
                    "records loaded here, so no children can be listed behind that part of it."
                ],
                title="Part of this figure has no records behind it",
                kind="info",
                banner_id="children-upstream",
            )
        ]
    elif not found.ties and found.numerator is not None:
        warning = [
            notice(
                ["The records listed do not add up to the scorecard's figure. Please tell the data team."],
                title="These records do not match the figure",
                banner_id="children-mismatch",
            )
        ]
    return [
        page_header(
            f"Children: {metric.label}",
            f"{where} · {period_words(period, found.months)}",
            actions=[
                html.A("Download CSV", href=csv, className="btn btn-primary btn-sm", id="children-csv"),
                dcc.Link(
                    "← Back to the KPI",
                    href=view_href(f"/kpi/{metric.metric_id}", month, found.level, found.unit),
                    className="btn btn-outline-primary btn-sm",
                    id="children-back",
                ),
            ],
        ),
        *warning,
        html.Div(lines, className="cpip-card", id="children-summary"),
        html.P(
            f"{metric.rule} Outcome: met, late, overdue (no event and the deadline passed by the extract's "
            "as-of date) or not yet due (listed, not in the figure). Sort by any column (Enter on its heading); "
            "filter with the box above the list. "
            "Every view of this list is recorded.",
            className="cpip-footnote",
        ),
        grid(found.rows, grid_id="children-grid", label=f"Children behind {metric.label}, {where}"),
    ]


def layout(
    metric_id: str | None = None,
    period: str | None = None,
    level: str | None = None,
    unit: str | None = None,
    **_other: Any,
) -> list:
    # Dash builds its validation layout by calling layout() with no arguments,
    # for everyone: it must carry no child's record.
    if metric_id is None or not building_for_a_visit():
        return [html.Div(id="children-page")]
    return [html.Div(build(metric_id, period, level, unit), id="children-page")]
