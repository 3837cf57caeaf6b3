"""Child lists and the due list as sortable, filterable grids (dash-ag-grid),
and the access log as a plain table. Pure builders: a frame in, components out.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_ag_grid as dag
import pandas as pd
from dash import dcc, html

from dashboard.components.format import format_fraction, format_value
from dashboard.components.tables import scroll_region
from etl.rules.calendar import parse_period

COLUMN_LABELS = {
    "metric_id": "KPI",
    "child_id": "Child ID",
    "team": "Team",
    "worker": "Worker",
    "start": "Start",
    "deadline": "Deadline",
    "event_date": "Event",
    "working_days": "Working days",
    "days_left": "Days left",
    "days_overdue": "Days overdue",
    "outcome": "Outcome",
}
NUMBER_COLUMNS = ("working_days", "days_left", "days_overdue")


def period_words(period: str, months: Sequence[str]) -> str:
    """`2023-07` -> "July 2023"; "2023/24 Q1" -> "2023/24 Q1 (April to June 2023)"."""
    import calendar as _calendar

    def long(month: str) -> str:
        d = parse_period(month)
        return f"{_calendar.month_name[d.month]} {d.year}"

    if len(months) == 1:
        return long(months[0])
    first, last = parse_period(months[0]), parse_period(months[-1])
    span = f"{_calendar.month_name[first.month]}" + (f" {first.year}" if first.year != last.year else "")
    return f"{period} ({span} to {long(months[-1])})"


# Each column's narrowest width (CSS px) at which its words wrap whole and its codes
# and ISO dates stay on one line: the grid scrolls sideways inside itself below
# that (arrow keys move cell to cell and bring each into view), never cuts a cell.
COLUMN_WIDTHS = {
    "metric_id": 190,
    "child_id": 110,
    "team": 150,
    "worker": 130,
    "start": 118,
    "deadline": 118,
    "event_date": 118,
    "due_at": 118,
    "working_days": 110,
    "days_left": 100,
    "days_overdue": 110,
    "outcome": 120,
}


def grid(frame: pd.DataFrame, *, grid_id: str, label: str, metric_names: dict[str, str] | None = None) -> html.Div:
    """A grid of `frame`'s columns, every column sortable, 50 rows a page, one filter box
    for every column, as the ARIA grid pattern has it: one Tab stop (the arrow keys move
    inside, Enter on a column's heading sorts), a link to skip past it, and every cell's
    whole text shown (words wrap; the grid scrolls in its own box when narrower than its
    columns)."""
    columns = []
    for name in frame.columns:
        # ISO dates as text: sorted correctly, filtered by typing "2023-07", never a US-format date picker.
        column = {
            "field": name,
            "headerName": COLUMN_LABELS.get(name, name),
            "cellDataType": "text",
            "minWidth": COLUMN_WIDTHS.get(name, 120),
            "flex": 2 if name == "metric_id" else 1,
        }
        if name == "child_id":
            # Each row keeps its child in view while the list scrolls sideways; no flex, so it stays narrow.
            column.update(pinned="left", width=COLUMN_WIDTHS["child_id"], flex=None)
        if name in NUMBER_COLUMNS:
            column["cellDataType"] = "number"
            column["type"] = "rightAligned"
        columns.append(column)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    if metric_names:
        for row in rows:
            row["metric_id"] = metric_names.get(row.get("metric_id"), row.get("metric_id"))
    return html.Div(
        [
            html.Div(
                [
                    # The hint is in the label, so a screen reader says it with the box.
                    html.Label(
                        [
                            "Filter this list",
                            html.Span(
                                "Words or digits in any column: a child ID, a team, 2023-07",
                                className="cpip-grid-filter-hint",
                            ),
                        ],
                        htmlFor=f"{grid_id}-filter",
                        className="cpip-control-label",
                    ),
                    # assets/cpip.js hands what is typed to the grid: no callback, nothing leaves the page.
                    dcc.Input(
                        id=f"{grid_id}-filter", type="search", className="form-control form-control-sm cpip-grid-filter"
                    ),
                    html.Span(id=f"{grid_id}-filter-count", role="status", className="cpip-footnote mt-0"),
                ],
                className="cpip-control cpip-grid-filter-box",
            ),
            # Shown by assets/cpip.js only while the list is wider than its box.
            html.P(
                "This list is wider than the screen: scroll it sideways (swipe, Shift and the mouse wheel, "
                "or the arrow keys inside it).",
                id=f"{grid_id}-wide",
                className="cpip-footnote cpip-grid-wide mt-0",
                hidden=True,
            ),
            html.A(
                f"Skip past the list to its pages and what follows ({len(rows):,} rows)",
                href=f"#{grid_id}-end",
                className="cpip-skip-grid",
                id=f"{grid_id}-skip",
            ),
            dag.AgGrid(
                id=grid_id,
                rowData=rows,
                columnDefs=columns,
                defaultColDef={
                    "sortable": True,
                    "filter": False,  # the one filter box above does every column (seven menus were seven Tab stops)
                    "resizable": True,
                    "wrapText": True,
                    "autoHeight": True,
                    "wrapHeaderText": True,
                    "autoHeaderHeight": True,
                    "suppressHeaderMenuButton": True,
                },
                dashGridOptions={
                    "pagination": True,
                    "paginationPageSize": 50,
                    "paginationPageSizeSelector": False,
                    "animateRows": False,
                    "domLayout": "autoHeight",  # the page scrolls, not a box inside it
                    # Tab leaves the grid (its heading row and its cells are one Tab stop; arrows move inside).
                    "tabToNextCell": {"function": "false"},
                    "tabToNextHeader": {"function": "false"},
                    "ensureDomOrder": True,
                },
                className="ag-theme-quartz cpip-ag-grid",
            ),
            html.Div(id=f"{grid_id}-end", tabIndex="-1", className="cpip-grid-end"),
        ],
        role="region",
        **{"aria-label": label, "data-grid-label": label},
        className="cpip-child-grid",
    )


def figure_line(*, unit_kind: str, numerator: float | None, denominator: float | None) -> str:
    """The figure above a list, as the scorecard prints it."""
    if numerator is None:
        return "No figure for this period (no records counted)."
    if unit_kind == "count":
        return f"Scorecard figure: {format_value(numerator, 'count')}."
    value = 100.0 * numerator / denominator if denominator else None
    return f"Scorecard figure: {format_value(value, 'percent')} ({format_fraction(numerator, denominator, 'percent')})."


def list_counts(*, unit_kind: str, met: int, counted: int, not_yet_due: int, rows: int) -> str:
    if unit_kind == "count":
        return f"This list: {rows:,} records counted."
    text = f"This list: {met:,} met of {counted:,} counted"
    if not_yet_due:
        text += f"; {not_yet_due:,} not yet due (listed, not in the figure)"
    return text + "."


def access_log_table(frame: pd.DataFrame) -> html.Div:
    """Who looked at which child list, newest first."""
    if frame.empty:
        return html.P("No child list has been viewed yet.", className="text-muted", id="data-access-log-empty")
    head = html.Thead(
        html.Tr([html.Th(h, scope="col") for h in ("When (UTC)", "Who", "Role", "List", "How", "Children")])
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(str(r.viewed_at).replace("T", " ").removesuffix("+00:00")),
                    html.Td(r.who),
                    html.Td(str(r.role).replace("_", " ")),
                    html.Td(html.Code(r.list)),
                    html.Td(r.format),
                    html.Td(f"{int(r.children):,}", className="cpip-num"),
                ]
            )
            for r in frame.itertuples()
        ]
    )
    # A region that takes focus, so the table scrolls from the keyboard at 320 px (the house pattern).
    return scroll_region(
        html.Table(
            [html.Caption("Child lists viewed or downloaded, newest first"), head, body],
            className="table table-sm cpip-table",
            id="data-access-log-table",
        ),
        label="Access log: child lists viewed or downloaded",
    )
