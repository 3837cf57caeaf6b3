"""Child lists and the due list as sortable, filterable grids (dash-ag-grid),
and the access log as a plain table. Pure builders: a frame in, components out.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_ag_grid as dag
import pandas as pd
from dash import html

from dashboard.components.format import format_fraction, format_value
from dashboard.components.tables import scroll_region
from etl.rules.calendar import parse_period

COLUMN_LABELS = {
    "metric_id": "KPI",
    "child_id": "Child ID",
    "team": "Team",
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


def grid(frame: pd.DataFrame, *, grid_id: str, label: str, metric_names: dict[str, str] | None = None) -> html.Div:
    """A grid of `frame`'s columns, every column sortable and filterable, 50 rows a page."""
    columns = []
    for name in frame.columns:
        # ISO dates as text: sorted correctly, filtered by typing "2023-07", never a US-format date picker.
        column = {"field": name, "headerName": COLUMN_LABELS.get(name, name), "cellDataType": "text"}
        if name in NUMBER_COLUMNS:
            column["cellDataType"] = "number"
            column["filter"] = "agNumberColumnFilter"
            column["type"] = "rightAligned"
        if name == "metric_id" and metric_names:
            # A KPI's whole name, wrapped over lines rather than cut at the column's edge.
            column.update(wrapText=True, autoHeight=True, minWidth=240, flex=2)
        columns.append(column)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    if metric_names:
        for row in rows:
            row["metric_id"] = metric_names.get(row.get("metric_id"), row.get("metric_id"))
    return html.Div(
        dag.AgGrid(
            id=grid_id,
            rowData=rows,
            columnDefs=columns,
            defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True},
            dashGridOptions={"pagination": True, "paginationPageSize": 50, "animateRows": False},
            columnSize="responsiveSizeToFit",
            style={"height": "640px"},
        ),
        role="region",
        **{"aria-label": label},
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
