"""A chart as a page shows it: the plotly graph, kept wide enough for its
labels (it scrolls sideways inside its own box on a narrow screen, never the
page), and its data as a table behind a "Show as a table" toggle, so a
screen-reader user and a keyboard user get every number the chart draws.

assets/cpip.js does the rest in the browser: the chart's SVG is hidden from
screen readers (the table is its text alternative), the toolbar is one Tab
stop, and the chart's box takes focus only when it really scrolls.
"""

from __future__ import annotations

from dash import dcc, html

from dashboard import theme
from dashboard.components.tables import scroll_region


def chart_block(
    graph_id: str,
    figure,
    *,
    label: str,
    table=None,
    table_label: str = "Show the chart's data as a table",
    min_width: int = 0,
    note=None,
    class_name: str = "",
) -> html.Figure:
    """The chart `figure` as dcc.Graph `graph_id` inside a <figure> named
    `label` (what the chart shows, for a screen reader), with `table` (a
    components.tables builder's table) behind a toggle, or `note` (words that
    point to a table elsewhere on the page). `min_width` in CSS px: below it
    the chart scrolls in its box."""
    style = {"--cpip-chart-min": f"{min_width}px"} if min_width else None
    parts: list = [
        html.Div(
            dcc.Graph(figure=figure, config=theme.GRAPH_CONFIG, id=graph_id, className=class_name or None),
            className="cpip-chart-scroll",
            style=style,
            **{"data-label": f"{label} (scrolls sideways)"},
        )
    ]
    if table is not None:
        parts.append(
            html.Details(
                [
                    html.Summary(table_label),
                    scroll_region(table, label=f"{label}: the data as a table", plain=True),
                ],
                className="cpip-chart-data",
                id=f"{graph_id}-data",
            )
        )
    if note is not None:
        parts.append(note)
    return html.Figure(parts, className="cpip-chart", **{"aria-label": label})
