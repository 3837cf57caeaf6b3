"""Where the authority stands: DfE's published comparators beside a KPI, as table
cells for the scorecard, tiles for the KPI page, and the comparison chart (the
authority against each of its ten statistical neighbours and England, year by year).

Pure builders of the frames etl.serve.queries returns (`scorecard` rows carry
benchmark_year, published, england, region, region_name, sn_median, sn_count,
rank, ranked, quartile; `comparison` is etl.catalogue.reference.comparison_frame's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from dash import html

from dashboard import theme
from dashboard.components.format import format_value

BAND_WORDS = {
    "A": "A: among the best quarter of authorities",
    "B": "B: in the second quarter",
    "C": "C: in the third quarter",
    "D": "D: among the quarter furthest from the best",
}


def _num(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def year_label(year: object) -> str:
    """The published year 2024 (to 31 March 2024) as the financial year 2023/24; "" for none."""
    y = _num(year)
    if y is None:
        return ""
    return f"{int(y) - 1}/{str(int(y))[2:]}"


def band_text(row: Mapping) -> str:
    """ "B (rank 60 of 151)"; "" without a band."""
    band = row.get("quartile")
    if not isinstance(band, str) or not band:
        return ""
    rank, ranked = _num(row.get("rank")), _num(row.get("ranked"))
    return f"{band} (rank {int(rank)} of {int(ranked)})" if rank is not None and ranked is not None else band


def band_chip(band: object, *, title: str = "") -> html.Span:
    """The quartile band as a letter in a box (not coloured by RAG: a band is not a rating)."""
    if not isinstance(band, str) or not band:
        return html.Span("–", className="cpip-muted")
    return html.Span(band, className=f"cpip-band cpip-band-{band.lower()}", title=title or BAND_WORDS.get(band, ""))


# The scorecard's comparator columns, after its own: (header, class).
# DfE's published figures folded into one column, so the scorecard fits 1,280 px and an A4 landscape
# page with every column on it (five columns of their own made the table 1,366 px wide).
SCORECARD_COMPARATOR_HEADERS = (("Published figures", "cpip-comparators-head"),)


def _line(label: str, value: object, unit: str) -> html.Div | None:
    if _num(value) is None:
        return None
    return html.Div([html.Span(label, className="cpip-bench-label"), format_value(value, unit)])


def comparator_cells(row: Mapping) -> list[html.Td]:
    """One cell: the authority's own published figure, England, the region, the neighbours'
    median and the quartile band (with its rank), one line each, and their financial year."""
    unit, year = row.get("unit") or "percent", row.get("benchmark_year")
    lines = [
        _line("Ours", row.get("published"), unit),
        _line("England", row.get("england"), unit),
        _line("Region", row.get("region"), unit),
        _line("Neighbours", row.get("sn_median"), unit),
    ]
    lines = [line for line in lines if line is not None]
    band = row.get("quartile")
    if isinstance(band, str) and band:
        rank = (
            html.Span(f"rank {int(row['rank'])} of {int(row['ranked'])}", className="cpip-bench-year cpip-bench-rank")
            if _num(row.get("rank")) is not None
            else None
        )
        lines.append(html.Div([band_chip(band), rank]))
    if not lines:
        return [html.Td("–", className="cpip-muted cpip-comparators")]
    lines.append(html.Span(year_label(year), className="cpip-bench-year"))
    return [html.Td(lines, className="cpip-comparators")]


def comparator_note(authority: Mapping | None, authority_name: str) -> str:
    """Whose published figures the comparators are, in words, for the page footnote;
    the demo borrows a real authority's and says so."""
    if not authority:
        return "No published comparators: metrics.yml names no DfE authority code (authority.la_code)."
    name, code, region = authority.get("la_name"), authority.get("la_code"), authority.get("region_name")
    if not name:
        return f"No published comparators: DfE's files have no authority with code {code}."
    whose = (
        f"{name}'s (DfE code {code})"
        if name.lower() in authority_name.lower()
        else f"those of {name} (DfE code {code}), not {authority_name}'s own: this is demonstration data"
    )
    return (
        f"Published comparators are {whose}: its own published figure, England, {region or 'its region'} and the "
        "median of its ten statistical neighbours (DfE's 2025 model), for the year to 31 March inside the month's "
        "financial year, or the latest published before it. Band: A is the best quarter of authorities, D the "
        "furthest from it; tied authorities share the better band."
    )


def comparator_tiles(row: Mapping | None, authority: Mapping | None) -> html.Div:
    """The KPI page's "where we stand" tiles."""
    row = row or {}
    unit = row.get("unit") or "percent"
    year = year_label(row.get("benchmark_year"))
    name = (authority or {}).get("la_name") or "Ours"
    region = row.get("region_name") or "Region"
    count = _num(row.get("sn_count"))
    tiles = [
        (f"{name} (published)", format_value(row.get("published"), unit), "cmp-published"),
        ("England", format_value(row.get("england"), unit), "cmp-england"),
        (region, format_value(row.get("region"), unit), "cmp-region"),
        (
            "Statistical neighbours (median" + (f" of {int(count)})" if count else ")"),
            format_value(row.get("sn_median"), unit),
            "cmp-sn",
        ),
        ("Quartile band", band_text(row) or "–", "cmp-band"),
    ]
    return html.Div(
        [
            html.Div(
                [html.Div(label, className="cpip-tile-label"), html.Div(value, id=f"kpi-{tile_id}")],
                className="cpip-tile",
            )
            for label, value, tile_id in tiles
        ],
        className="cpip-tiles mb-1",
        role="group",
        **{"aria-label": f"Published comparators, {year}" if year else "Published comparators"},
    )


def england_by_period(periods: Sequence[str], england: Mapping[int, float | None]) -> list[float | None]:
    """For each month, England's published figure of the month's year (the year ending
    31 March inside its financial year), else the latest published before it; None
    before the first."""
    years = sorted(y for y, v in england.items() if _num(v) is not None)
    out: list[float | None] = []
    for p in periods:
        wanted = int(p[:4]) + (1 if int(p[5:7]) >= 4 else 0)
        known = [y for y in years if y <= wanted]
        out.append(float(england[known[-1]]) if known else None)
    return out


def comparison_figure(frame: pd.DataFrame, *, unit: str, authority_name: str, label: str) -> go.Figure:
    """The authority (bold), each of its ten neighbours (thin, named on hover) and England
    (dashed), by published year."""
    layout = dict(theme.CHART_LAYOUT)
    if frame is None or frame.empty or frame["value"].notna().sum() == 0:
        fig = go.Figure(layout=layout)
        fig.update_layout(height=260, xaxis={"visible": False}, yaxis={"visible": False})
        fig.add_annotation(text="No published figures", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        return fig
    traces = []
    suffix = "%" if unit == "percent" else ""
    first_neighbour = True
    for (role, code), rows in frame.groupby(["role", "code"], sort=False):
        rows = rows.sort_values("year")
        name = str(rows["name"].iloc[0])
        x = [year_label(y) for y in rows["year"]]
        y = [_num(v) for v in rows["value"]]
        hover = f"<b>{name}</b> %{{x}}: %{{y:.1f}}{suffix}<extra></extra>"
        if role == "neighbour":
            traces.append(
                go.Scatter(
                    x=x, y=y, mode="lines+markers", name="Statistical neighbours (each)", legendgroup="sn",
                    showlegend=first_neighbour, line={"color": theme.NEIGHBOUR_EACH, "width": 1},
                    marker={"size": 4, "color": theme.NEIGHBOUR_EACH}, hovertemplate=hover, connectgaps=False,
                )
            )  # fmt: skip
            first_neighbour = False
        elif role == "england":
            traces.append(
                go.Scatter(
                    x=x, y=y, mode="lines+markers", name="England", line={"color": theme.ENGLAND, "width": 2,
                    "dash": "dash"}, marker={"size": 6, "symbol": "square", "color": theme.ENGLAND},
                    hovertemplate=hover, connectgaps=False,
                )
            )  # fmt: skip
        else:
            traces.append(
                go.Scatter(
                    x=x, y=y, mode="lines+markers", name=f"{name} (DfE code {code})",
                    line={"color": theme.PRIMARY, "width": 3}, marker={"size": 8, "color": theme.PRIMARY},
                    hovertemplate=hover, connectgaps=False,
                )
            )  # fmt: skip
    # The authority's line on top of its neighbours'.
    traces.sort(key=lambda t: 0 if t.legendgroup == "sn" else 1)
    years = sorted({year_label(y) for y in frame["year"]})
    fig = go.Figure(data=traces, layout=layout)
    fig.update_layout(
        height=380,
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": years, "title": {"text": ""}},
        yaxis={"title": {"text": label}, "ticksuffix": suffix},
        legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0},
        hovermode="closest",
        margin={"t": 24},
    )
    return fig


def comparison_table(frame: pd.DataFrame, *, unit: str, caption: str) -> html.Table:
    """The comparison chart as a table: a row per authority (ours first, then the
    neighbours closest first, then England), a column per year."""
    if frame is None or frame.empty:
        return html.Table(html.Caption(caption), className="table table-sm cpip-table")
    years = sorted(frame["year"].unique())
    body = []
    for (role, _code), rows in frame.groupby(["role", "code"], sort=False):
        by_year = {int(r.year): r for r in rows.itertuples()}
        name = str(rows["name"].iloc[0]) + (" (neighbour)" if role == "neighbour" else "")
        cells = [html.Th(name, scope="row")]
        for y in years:
            r = by_year.get(int(y))
            value = _num(r.value) if r is not None else None
            marker = r.marker if r is not None and isinstance(r.marker, str) else ""
            text = format_value(value, unit) if value is not None else ("–" + (f" ({marker})" if marker else ""))
            cells.append(html.Td(text, className="cpip-num"))
        body.append(html.Tr(cells, className=f"cmp-row-{role}"))
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(
                html.Tr(
                    [html.Th("Authority", scope="col")]
                    + [html.Th(year_label(y), scope="col", className="cpip-num-head") for y in years]
                )
            ),
            html.Tbody(body),
        ],
        className="table table-sm cpip-table",
        id="kpi-comparison-table",
    )
