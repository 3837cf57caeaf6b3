"""The Making Data Count icon matrix: KPIs down, units (the teams of a service or
area, or the authority's services) across, each cell the variation and assurance
icons with their words, a link to that unit's SPC chart; above it the counts.

A pure builder of `etl.serve.queries.icon_matrix`'s frame. Icons are <img /> tags pointing
at the stored SVGs in assets/spc-icons/ (not inline data URIs: a matrix of 112 teams
holds thousands of them); the words beside them say what they mean.

The table goes to the browser as HTML text in the `data-cpip-html` attribute of an empty
<div>, and assets/html_blocks.js makes it that <div>'s content. Through dcc.Markdown (its
330 KB parser fetched first, then every tag run through a JSX parser) the teams page's matrix
took seconds to draw; set as HTML it takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape as _html_escape

import pandas as pd
from dash import html

from dashboard.components.controls import view_href
from dashboard.components.format import month_label
from dashboard.components.spc_figure import icon_word, reason_words
from dashboard.components.tables import scroll_region
from etl.rules import spc

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
    """ "3 KPIs special cause concerning (in 5 teams); 2 consistently failing (in 9 teams)", each unit once
    from etl.serve.queries.matrix_counts; the concerning and failing counts are always said."""
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


def escape(text: object) -> str:
    """Text safe inside the matrix's HTML: <, >, & and quotes escaped, and braces too (the matrix
    was once read by a JSX parser, where a brace opens an expression; kept, as it costs nothing)."""
    return _html_escape(str(text)).replace("{", "&#123;").replace("}", "&#125;")


def _icon(kind: str, size: int) -> str:
    # Decorative: the icons' words follow in the same link.
    return f'<img src="/assets/spc-icons/{kind}.svg" alt="" width="{size}" height="{size}" />'


def matrix_cell(row: Mapping, *, href: str, size: int = 26) -> str:
    """One unit's icons for one KPI, with their words, as a link to its SPC chart (HTML)."""
    kinds = [k for k in (row.get("variation_icon"), row.get("assurance_icon")) if k]
    if kinds:
        words = " · ".join(icon_word(k) for k in kinds)
        content = "".join(_icon(k, size) for k in kinds) + f"<span>{escape(words)}</span>"
    else:
        words = reason_words(str(row.get("spc_note") or "")) or "No data"
        content = f'<span class="cpip-matrix-none">{escape(words)}</span>'
    return (
        f'<td data-variation="{escape(row.get("variation") or "")}" '
        f'data-assurance="{escape(row.get("assurance") or "")}">'
        f'<a class="cpip-matrix-link" href="{escape(href)}">{content}</a></td>'
    )


def icon_matrix_html(frame: pd.DataFrame, *, period: str, unit: str, table_id: str) -> str:
    """The matrix as an HTML table: a row per KPI (catalogue order), a column per unit.
    Every name is escaped; the table is HTML text rather than Dash components because a
    service of 112 teams makes 2,352 cells, which as components take a second to build
    and send, and as text a few milliseconds."""
    units = list(dict.fromkeys(frame["org_unit"])) if not frame.empty else []
    child = str(frame["level"].iloc[0]) if not frame.empty else "team"
    caption = f"Variation and assurance by KPI and {child}, {unit}, {month_label(period)}"
    head = "".join(
        f'<th scope="col" class="cpip-matrix-unit"><a href="{escape(view_href("/", period, child, u))}">'
        f"{escape(u)}</a></th>"
        for u in units
    )
    # Each link's address: the KPI page for the unit and month, at its SPC chart.
    unit_query = {u: view_href("", period, child, u) for u in units}
    names = dict(zip(frame["metric_id"], frame["short_name"], strict=False))
    cells: dict[str, list[str]] = {m: [] for m in names}
    for row in frame.to_dict("records"):
        href = f"/kpi/{row['metric_id']}{unit_query[row['org_unit']]}#kpi-spc-card"
        cells[row["metric_id"]].append(matrix_cell(row, href=href))
    body = "".join(
        f'<tr><th scope="row">{escape(names[m])}</th>{"".join(row_cells)}</tr>' for m, row_cells in cells.items()
    )
    return (
        f'<table class="table table-sm cpip-table cpip-matrix" id="{escape(table_id)}">'
        f"<caption>{escape(caption)}</caption>"
        f'<thead><tr><th scope="col">KPI</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def icon_matrix_block(frame: pd.DataFrame, counts: Mapping, *, period: str, unit: str, prefix: str) -> html.Div:
    """The counts line and the matrix, in a box that scrolls sideways (and takes focus)."""
    child = str(frame["level"].iloc[0]) if not frame.empty else "team"
    table_id = f"{prefix}-matrix"
    return html.Div(
        [
            html.P(counts_text(counts, child), className="cpip-matrix-counts", id=f"{prefix}-matrix-counts"),
            scroll_region(
                # Built above from escaped text only (assets/html_blocks.js sets it as the <div>'s content).
                html.Div(**{"data-cpip-html": icon_matrix_html(frame, period=period, unit=unit, table_id=table_id)}),
                label=f"Icon matrix by KPI and {child}",
            ),
            html.P(
                "Each cell is a unit's Making Data Count icons for the month: variation (is something really "
                "changing?) and assurance (will the target be met?). Choose a cell to open that unit's SPC chart.",
                className="cpip-footnote",
            ),
        ]
    )
