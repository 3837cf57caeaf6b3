"""Regional view: one KPI for each authority the viewer may see, side by side, month by month, on the
same definitions (every figure is its authority's own pooled numerator over denominator, from the same
rules over its own records), with the chart's data as the table beneath it.

URL: `/regional?metric=assessments_45wd`.
"""

from __future__ import annotations

import math

import dash
import plotly.graph_objects as go
from dash import html

from dashboard import theme
from dashboard.components.chart_block import chart_block
from dashboard.components.controls import labelled_select, url_parts, url_sync
from dashboard.components.format import format_fraction, format_value, month_label
from dashboard.components.tables import scroll_region
from dashboard.pages.common import page_header, safely
from etl.catalogue.contract import match_name
from etl.catalogue.metrics import catalogue
from etl.serve.regional import regional
from etl.store import authority

dash.register_page(__name__, path="/regional", name="Regional", title="Regional view · CPIP", order=90)

PREFIX = "rg"
MONTHS_SHOWN = 24
url_sync(PREFIX, ("metric",))
# Each authority's line: a colour-blind-safe colour, and a dash and marker of its own, so no line is told
# from another by colour alone (Okabe and Ito's palette, darkened to 3:1 on white).
LINES = [
    (theme.PRIMARY, "solid", "circle"),
    ("#b35900", "dash", "square"),
    ("#00727a", "dot", "diamond"),
    ("#6b3fa0", "dashdot", "triangle-up"),
    ("#8a5a00", "longdash", "x"),
    ("#a3246b", "longdashdot", "star"),
]


def _figure(frame, codes, metric) -> go.Figure:
    traces = []
    for i, code in enumerate(codes):
        rows = frame[frame["la_code"] == code]
        colour, dash_style, symbol = LINES[i % len(LINES)]
        traces.append(
            go.Scatter(
                x=[f"{p}-01" for p in rows["period"]],
                y=rows["value"],
                name=authority.authority(code).name,
                mode="lines+markers",
                line={"color": colour, "dash": dash_style, "width": 2},
                marker={"symbol": symbol, "size": 7, "color": colour},
                connectgaps=False,
            )
        )
    layout = {k: (dict(v) if isinstance(v, dict) else v) for k, v in theme.CHART_LAYOUT.items()}
    layout["yaxis"].update({"title": {"text": "%" if metric.unit == "percent" else "Number"}, "rangemode": "tozero"})
    layout["xaxis"].update({"type": "date", "tickformat": "%b %Y", "hoverformat": "%B %Y"})
    layout.update(height=360, legend={"orientation": "h", "y": -0.2}, showlegend=True)
    return go.Figure(data=traces, layout=layout)


def _table(frame, codes, metric, caption: str) -> html.Table:
    names = {c: authority.authority(c).name for c in codes}
    cells = {(r.la_code, r.period): r for r in frame.itertuples()}
    periods = sorted({p for p in frame["period"]}, reverse=True)[:MONTHS_SHOWN]
    head = html.Thead(html.Tr([html.Th("Month", scope="col")] + [html.Th(names[c], scope="col") for c in codes]))
    body = []
    for period in periods:
        row = [html.Th(month_label(period), scope="row")]
        for code in codes:
            cell = cells.get((code, period))
            if cell is None or (isinstance(cell.value, float) and math.isnan(cell.value)):
                row.append(html.Td("No data", className="cpip-num cpip-muted"))
                continue
            text = format_value(cell.value, metric.unit)
            if metric.unit != "count":  # a share's counts, a rate's cases / FTE
                text += f" ({format_fraction(cell.numerator, cell.denominator, metric.unit)})"
            row.append(html.Td(text, className="cpip-num"))
        body.append(html.Tr(row))
    return html.Table([html.Caption(caption), head, html.Tbody(body)], className="table table-sm cpip-table")


def build(metric_id: str | None) -> list:
    cat = catalogue()
    metrics = [m.metric_id for m in cat.metrics]
    chosen = match_name(metric_id, metrics) if metric_id else None
    notes = []
    if metric_id and chosen is None:
        notes.append(html.P(f"{metric_id} is not a KPI; showing {cat.metrics[0].name}.", className="cpip-footnote"))
    metric = cat.metric(chosen or metrics[0])
    codes = list(authority.visible())
    frame = regional(metric.metric_id, codes)
    names = ", ".join(authority.authority(c).name for c in codes)
    what = f"{metric.name}: {names}"
    controls = html.Div(
        labelled_select(f"{PREFIX}-metric", "KPI", [(m.metric_id, m.name) for m in cat.metrics], metric.metric_id),
        className="cpip-controls d-print-none",
        role="group",
        **{"aria-label": "Choose the KPI"},
    )
    if len(codes) < 2:
        notes.append(
            html.P(
                "You may see one authority, so there is nothing to set beside it: the regional view compares the "
                "authorities a regional service serves (CPIP_AUTHORITIES, and each user's authorities in the "
                "access file).",
                className="cpip-footnote",
            )
        )
    if frame.empty:
        body = [html.P("No authority has figures for this KPI yet.", className="cpip-empty")]
    else:
        body = [
            chart_block(
                "rg-graph",
                _figure(frame, codes, metric),
                label=f"{what}, month by month",
                note=html.P("The table below gives every point of the chart.", className="cpip-footnote"),
                min_width=520,
            ),
            scroll_region(_table(frame, codes, metric, f"{what}, by month (newest first)"), label=f"{what}: table"),
        ]
    return [
        page_header("Regional view", what),
        controls,
        *notes,
        html.P(
            "Each figure is the authority's own, counted from its own records by the same rules, so the months "
            "compare like for like. A percentage is the authority's pooled count over its cases that month.",
            className="cpip-footnote",
        ),
        html.Div(body, className="cpip-card"),
    ]


def layout(metric: str | None = None, **_other: str) -> list:
    return [*url_parts(PREFIX), html.Div(safely(lambda: build(metric), what="regional view"), id="rg-page")]
