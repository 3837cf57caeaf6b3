"""The Making Data Count icon matrix: KPIs down, units (the teams of a service or
area, or the authority's services) across, each cell the variation and assurance
icons with their words, a link to that unit's SPC chart; above it the counts.

A pure builder of `etl.queries.icon_matrix`'s frame. Icons are <img> tags pointing
at the stored SVGs in assets/spc-icons/ (not inline data URIs: a matrix of 112 teams
holds thousands of them), each with its words as alt text.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from dash import html

from dashboard.components.controls import view_href
from dashboard.components.format import month_label
from dashboard.components.spc_figure import icon_text, icon_word, reason_words
from etl import spc

# The order and words of the counts line above the matrix.
COUNT_WORDS = (
    (spc.CONCERNING, "special cause concerning"),
    (spc.FAILING, "consistently failing"),
    (spc.IMPROVING, "special cause improving"),
    (spc.PASSING, "consistently passing"),
    (spc.HIT_AND_MISS, "hit and miss"),
)
UNIT_WORDS = {"service": ("service", "services"), "team": ("team", "teams")}


def counts_text(counts: Mapping[str, tuple[int, int]], child_level: str) -> str:
    """ "3 KPIs special cause concerning (in 5 teams); 2 consistently failing (in 9 teams)"
    from etl.queries.matrix_counts; the concerning and failing counts are always said."""
    one, many = UNIT_WORDS.get(child_level, ("unit", "units"))
    parts = []
    for key, words in COUNT_WORDS:
        kpis, cells = counts.get(key, (0, 0))
        if not kpis and key not in (spc.CONCERNING, spc.FAILING):
            continue
        kpi_word = "KPI" if kpis == 1 else "KPIs"
        where = f" (in {cells} {one if cells == 1 else many})" if kpis else ""
        parts.append(f"{kpis} {kpi_word} {words}{where}")
    return "; ".join(parts) + "."


def _icon(kind: str, size: int) -> html.Img:
    text = icon_text(kind)
    return html.Img(src=f"/assets/spc-icons/{kind}.svg", alt=text, title=text, width=size, height=size)


def matrix_cell(row: Mapping, *, period: str, size: int = 26) -> html.Td:
    """One unit's icons for one KPI, with their words, linking to its SPC chart."""
    kinds = [str(row.get(k) or "") for k in ("variation_icon", "assurance_icon")]
    kinds = [k for k in kinds if k]
    href = view_href(f"/kpi/{row['metric_id']}", period, row["level"], row["org_unit"]) + "#kpi-spc-card"
    if kinds:
        content = [
            html.Span([_icon(k, size) for k in kinds]),
            html.Span(" · ".join(icon_word(k) for k in kinds), className="d-block"),
        ]
    else:
        content = [html.Span(reason_words(str(row.get("spc_note") or "")) or "No data", className="cpip-matrix-none")]
    return html.Td(
        html.A(content, href=href, className="cpip-matrix-link", **{"aria-label": _cell_label(row, kinds)}),
        **{"data-variation": row.get("variation") or "", "data-assurance": row.get("assurance") or ""},
    )


def _cell_label(row: Mapping, kinds: list[str]) -> str:
    words = "; ".join(icon_text(k) for k in kinds) or reason_words(str(row.get("spc_note") or "")) or "No data"
    return f"{row['short_name']}, {row['org_unit']}: {words}. Open its SPC chart."


def icon_matrix_table(frame: pd.DataFrame, *, period: str, unit: str, table_id: str) -> html.Table:
    """The matrix as a table: a row per KPI (catalogue order), a column per unit."""
    units = list(dict.fromkeys(frame["org_unit"])) if not frame.empty else []
    child = str(frame["level"].iloc[0]) if not frame.empty else "team"
    head = html.Thead(
        html.Tr(
            [html.Th("KPI", scope="col")]
            + [
                html.Th(html.A(u, href=view_href("/", period, child, u)), scope="col", className="cpip-matrix-unit")
                for u in units
            ]
        )
    )
    body = []
    for _metric_id, rows in frame.groupby("metric_id", sort=False):
        records = rows.to_dict("records")
        body.append(
            html.Tr([html.Th(records[0]["short_name"], scope="row")] + [matrix_cell(r, period=period) for r in records])
        )
    return html.Table(
        [
            html.Caption(f"Variation and assurance by KPI and {child}, {unit}, {month_label(period)}"),
            head,
            html.Tbody(body),
        ],
        className="table table-sm cpip-table cpip-matrix",
        id=table_id,
    )


def icon_matrix_block(frame: pd.DataFrame, counts: Mapping, *, period: str, unit: str, prefix: str) -> html.Div:
    """The counts line and the matrix, in a box that scrolls sideways (and takes focus)."""
    child = str(frame["level"].iloc[0]) if not frame.empty else "team"
    return html.Div(
        [
            html.P(counts_text(counts, child), className="cpip-matrix-counts", id=f"{prefix}-matrix-counts"),
            html.Div(
                icon_matrix_table(frame, period=period, unit=unit, table_id=f"{prefix}-matrix"),
                className="cpip-table-wrap",
                tabIndex="0",
                role="region",
                **{"aria-label": f"Icon matrix by KPI and {child}"},
            ),
            html.P(
                "Each cell is a unit's Making Data Count icons for the month: variation (is something really "
                "changing?) and assurance (will the target be met?). Choose a cell to open that unit's SPC chart.",
                className="cpip-footnote",
            ),
        ]
    )
