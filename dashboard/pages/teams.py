"""Teams: for one service or area, a heatmap of its teams over the last 12
months for one KPI, the Making Data Count icon matrix of its teams (every KPI, a
cell opens that team's SPC chart), and a team-by-KPI grid of RAG for the month.
A team's name opens the scorecard at that team.

URL: `/teams?period=2023-07&level=service&unit=Family%20Safeguarding&kpi=iha_20wd`.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, clientside_callback, dcc, html

from dashboard.components.banners import notice
from dashboard.components.chart_block import chart_block
from dashboard.components.controls import (
    labelled_select,
    resolve_selection,
    url_parts,
    url_sync,
    view_href,
)
from dashboard.components.figures import heatmap_figure
from dashboard.components.format import long_month_label, month_label
from dashboard.components.matrix import icon_matrix_block
from dashboard.components.tables import heatmap_table, scroll_region, team_grid_table
from dashboard.pages.common import no_data_message, page_header, per_load, remembered, safely, unit_controls
from etl.catalogue.metrics import catalogue
from etl.rules.calendar import add_months
from etl.serve import queries

dash.register_page(__name__, path="/teams", name="Teams", title="Teams · CPIP", order=2)

PREFIX = "tm"
LEVELS = ("service", "area")
url_sync(PREFIX, ("period", "level", "unit", "kpi"), resets={"unit": ["level"]})


def grid_metrics(cat, grid, teams: list[str]) -> tuple[list, list]:
    """The KPIs for the team grid, and those left off: a KPI that applies to none
    of the teams' services (metrics.yml applies_to) and has no value for any of
    them is not their work, so it is left off rather than shown as No data."""
    org = per_load(queries.org_units)
    service_of = dict(zip(org["team"], org["service"], strict=False)) if not org.empty else {}
    services = [service_of.get(t, "") for t in teams]
    with_values = set(grid.loc[grid["value"].notna(), "metric_id"]) if not grid.empty else set()
    shown, left_off = [], []
    for metric in cat.metrics:
        keep = metric.metric_id in with_values or not services or metric.applies_to_any(services)
        (shown if keep else left_off).append(metric)
    return shown, left_off


def build(period: str | None, level: str | None, unit: str | None, kpi: str | None) -> list:
    cat = catalogue()
    sel = resolve_selection(
        period,
        level,
        unit,
        periods=per_load(queries.periods),
        units_at=lambda lv: per_load(queries.units_at, lv),
        default_level="service",
        allowed_levels=LEVELS,
    )
    if sel.period is None or sel.unit is None:
        return [page_header("Teams"), no_data_message()]
    metric_id = kpi if kpi in cat.ids else cat.ids[0]
    if kpi and kpi not in cat.ids:
        sel.notes.append(f"There is no KPI called {kpi!s}; showing {cat.metric(metric_id).label}.")
    metric = cat.metric(metric_id)
    # Read-only, the same for every viewer, until the next load.
    matrix = per_load(queries.team_matrix, metric_id, sel.level, sel.unit, sel.period, 12)
    grid = per_load(queries.team_grid, sel.period, sel.level, sel.unit)
    icons = per_load(queries.icon_matrix, sel.period, sel.level, sel.unit)
    first = add_months(sel.period, -11)
    kpi_options = [{"label": m.label, "value": m.metric_id} for m in cat.metrics]
    teams = list(dict.fromkeys(grid["team"])) if not grid.empty else []
    shown, left_off = grid_metrics(cat, grid, teams)
    return [
        page_header("Teams", f"{sel.unit} · {long_month_label(sel.period)}"),
        html.Div(
            [
                *unit_controls(PREFIX, sel, levels=LEVELS),
                labelled_select(f"{PREFIX}-kpi", "KPI for the heatmap", kpi_options, metric_id, width="lg"),
            ],
            className="cpip-controls d-print-none",
            role="group",
            **{"aria-label": "Choose the month, service or area, and KPI"},
        ),
        notice(sel.notes, title="Some of the address was not understood", kind="info"),
        html.Div(
            [
                html.H2(
                    f"{metric.label}: teams of {sel.unit}, {month_label(first)} to {month_label(sel.period)}",
                    className="cpip-h2 mt-0",
                    id="tm-heatmap-title",
                ),
                html.P(
                    "Each cell gives the value and its RAG; darker colours are worse in this KPI's polarity. "
                    "The colour scale is independent of RAG and readable with colour-vision deficiency.",
                    className="cpip-footnote",
                ),
                chart_block(
                    "tm-heatmap",
                    remembered(
                        ("heatmap", metric_id, sel.level, sel.unit, sel.period), lambda: heatmap_figure(matrix, metric)
                    ),
                    label=f"Heatmap of {metric.label} for the teams of {sel.unit}, {month_label(first)} to "
                    f"{month_label(sel.period)}",
                    table=heatmap_table(
                        matrix,
                        metric,
                        caption=f"{metric.label} by team and month, {month_label(first)} to {month_label(sel.period)}",
                    ),
                    table_label="Show the heatmap as a table",
                    min_width=880,  # 12 months of "85.0% Green" side by side
                ),
                html.P(
                    ["Open a team's scorecard: "]
                    + [
                        item
                        for i, team in enumerate(teams)
                        for item in ([", "] if i else [])
                        + [
                            dash.dcc.Link(
                                team, href=view_href("/", sel.period, "team", team), className="cpip-team-link"
                            )
                        ]
                    ],
                    className="cpip-team-links",
                ),
            ],
            className="cpip-card",
        ),
        html.Div(
            [
                html.H2(
                    f"Variation and assurance by team and KPI, {long_month_label(sel.period)}",
                    className="cpip-h2 mt-0",
                ),
                icon_matrix_block(icons, queries.matrix_counts(icons), period=sel.period, unit=sel.unit, prefix=PREFIX),
            ],
            className="cpip-card",
            id="tm-matrix-card",
        ),
        html.Div(
            [
                html.H2(f"RAG by team and KPI, {long_month_label(sel.period)}", className="cpip-h2 mt-0"),
                scroll_region(
                    team_grid_table(grid, cat, period=sel.period, metric_ids=[m.metric_id for m in shown]),
                    label="RAG by KPI and team",
                ),
                html.P(
                    f"{len(left_off)} {'KPI does' if len(left_off) == 1 else 'KPIs do'} not apply to the teams of "
                    f"{sel.unit} and {'is' if len(left_off) == 1 else 'are'} left off: "
                    + ", ".join(m.label for m in left_off)
                    + ".",
                    className="cpip-footnote",
                    id="tm-left-off",
                )
                if left_off
                else None,
            ],
            className="cpip-card",
        ),
    ]


def layout(
    period: str | None = None, level: str | None = None, unit: str | None = None, kpi: str | None = None, **_other: str
) -> list:
    return [
        *url_parts(PREFIX),
        dcc.Location(id="tm-go", refresh="callback-nav"),
        html.Div(safely(lambda: build(period, level, unit, kpi), what="teams page"), id="tm-page"),
    ]


# Clicking a team's cell in the heatmap opens the scorecard at that team for
# the month on screen (the team links below the chart do the same by keyboard).
clientside_callback(
    """
    function(click, period) {
        if (!click || !click.points || !click.points.length) { return window.dash_clientside.no_update; }
        const query = new URLSearchParams({period: period || "", level: "team", unit: click.points[0].y});
        return "/?" + query.toString().replace(/\\+/g, "%20");
    }
    """,
    Output("tm-go", "href"),
    Input("tm-heatmap", "clickData"),
    State("tm-period", "value"),
    prevent_initial_call=True,
)
