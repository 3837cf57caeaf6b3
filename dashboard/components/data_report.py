"""Pure builders for the data page: a file's check report, the load history,
the freshness panel. They take plain dicts and DataFrames (what the loader
and the queries return) and give Dash components, so they are tested without
a browser or a warehouse.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashboard.components.format import month_label
from dashboard.components.tables import scroll_region
from dashboard.components.upload import format_size

MAX_FINDINGS_SHOWN = 200  # a table a person can read; the rest are counted, and kept in the load log
UNDOABLE = ("loaded", "loaded valid rows only", "re-dated")

REPORT_FIELDS = (
    "file_name",
    "extract_type",
    "rows_read",
    "added",
    "replaced",
    "unchanged",
    "redated",
    "rejected",
    "warnings",
    "first_period",
    "last_period",
    "outcome",
    "load_id",
    "retired",
    "held",
    "kept_dates",
)


def report_to_dict(report: Any, *, token: str | None = None, size: int | None = None) -> dict:
    """A LoadReport as JSON-ready data for a dcc.Store (findings as plain dicts)."""
    out = {name: getattr(report, name, None) for name in REPORT_FIELDS}
    out["findings"] = [
        {
            "severity": f.severity,
            "line": f.line,
            "column": f.column,
            "value": f.value,
            "reason": f.reason,
        }
        for f in getattr(report, "findings", [])
    ]
    out["notes"] = list(getattr(report, "notes", []) or [])
    window = getattr(report, "window_words", None)
    out["window"] = window() if callable(window) else None
    changes = getattr(report, "changes", None)
    out["changes"] = (
        None
        if changes is None
        else [
            {
                "metric_id": c.metric_id,
                "period": c.period,
                "before": list(c.before) if c.before is not None else None,
                "after": list(c.after) if c.after is not None else None,
            }
            for c in changes
        ]
    )
    out["dropped_columns"] = list(getattr(report, "dropped_columns", []) or [])
    out["token"] = token
    out["size"] = size
    return out


def refused_dict(name: str, reason: str, *, token: str | None = None, size: int | None = None) -> dict:
    """The report of a file refused before the loader saw it (wrong type, too big, unreadable)."""
    out = dict.fromkeys(REPORT_FIELDS)
    out.update(file_name=name, rows_read=0, added=0, replaced=0, unchanged=0, rejected=0, warnings=0, outcome="refused")
    out["findings"] = [{"severity": "error", "line": None, "column": None, "value": None, "reason": reason}]
    out["token"] = token
    out["size"] = size
    return out


def errors_of(preview: dict) -> list[dict]:
    return [f for f in preview.get("findings") or [] if f.get("severity") == "error"]


def warnings_of(preview: dict) -> list[dict]:
    return [f for f in preview.get("findings") or [] if f.get("severity") == "warning"]


def file_status(preview: dict) -> str:
    """How a checked file stands: `ready` (can be loaded as it is), `errors`
    (only its valid rows could be loaded, by explicit choice), `refused`
    (nothing in it can be loaded), `skipped` (a sheet or list no KPI reads: not an error)."""
    if preview.get("outcome") == "skipped":
        return "skipped"
    if preview.get("outcome") == "refused" and not preview.get("extract_type"):
        return "refused"
    if not preview.get("extract_type") or not preview.get("rows_read"):
        return "refused"
    if errors_of(preview) or (preview.get("rejected") or 0) > 0:
        # Only rows can be left out; if every row is bad there is nothing valid to load.
        valid = (preview.get("rows_read") or 0) - (preview.get("rejected") or 0)
        return "errors" if valid > 0 else "refused"
    return "ready"


def period_text(first: str | None, last: str | None) -> str:
    """`Apr 2023 to Jul 2023`, one month alone, or `–` when unknown."""
    try:
        if not first and not last:
            return "–"
        if not last or first == last:
            return month_label(str(first or last))
        if not first:
            return month_label(str(last))
        return f"{month_label(str(first))} to {month_label(str(last))}"
    except (ValueError, IndexError):  # not a YYYY-MM period: show it as it is
        return f"{first} to {last}"


def _count(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def findings_table(findings: list[dict], *, kind: str, table_id: str | None = None) -> html.Div:
    """Errors or warnings as a table: line, column, value, reason."""
    shown = findings[:MAX_FINDINGS_SHOWN]
    rows = [
        html.Tr(
            [
                html.Td("–" if f.get("line") is None else str(f["line"])),
                html.Td(f.get("column") or "–"),
                html.Td("" if f.get("value") is None else str(f["value"]), className="text-break"),
                html.Td(f.get("reason") or ""),
            ]
        )
        for f in shown
    ]
    caption = f"{len(findings):,} {kind}" if len(findings) != 1 else f"1 {kind.rstrip('s')}"
    children: list[Any] = [
        html.H4(caption, className="h6 mt-3"),
        scroll_region(
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Line", "Column", "Value", "Reason")])),
                    html.Tbody(rows),
                ],
                bordered=False,
                striped=True,
                size="sm",
                className="mb-1",
                **({"id": table_id} if table_id else {}),
            ),
            label=caption,
            plain=True,
        ),
    ]
    if len(findings) > len(shown):
        children.append(html.P(f"… and {len(findings) - len(shown):,} more.", className="text-muted small"))
    return html.Div(children)


STATUS_TEXT = {
    "ready": ("Ready to load", "success"),
    "errors": ("Has errors", "danger"),
    "refused": ("Refused", "danger"),
    "skipped": ("Skipped", "secondary"),
}


def _figure_text(value: list | None, unit: str) -> str:
    if value is None:
        return "No data"
    numerator, denominator = value
    if unit == "count":
        return f"{numerator:,.0f}"
    if not denominator:
        return "No data"
    if unit == "rate":  # cases over FTE
        return f"{numerator:,.0f} / {denominator:,.1f} ({numerator / denominator:.1f})"
    return f"{numerator:,.0f} of {denominator:,.0f} ({100 * numerator / denominator:.1f}%)"


def changes_table(changes: list[dict], *, index: int = 0) -> html.Div:
    """The authority's figures a checked file would change: KPI, month, before, after."""
    from etl.catalogue.metrics import catalogue

    metrics = {m.metric_id: m for m in catalogue().metrics}
    if not changes:
        return html.P("No figure at the authority would change.", className="mt-3 mb-0 data-changes-none")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in ("KPI", "Month", "Now", "After loading")]))
    rows = []
    for c in changes[:MAX_FINDINGS_SHOWN]:
        metric = metrics.get(c["metric_id"])
        unit = metric.unit if metric else "percent"
        rows.append(
            html.Tr(
                [
                    html.Td(metric.label if metric else c["metric_id"]),
                    html.Td(month_label(c["period"])),
                    html.Td(_figure_text(c["before"], unit)),
                    html.Td(_figure_text(c["after"], unit)),
                ]
            )
        )
    more = len(changes) - MAX_FINDINGS_SHOWN
    return html.Div(
        [
            html.H4(
                f"{len(changes):,} {'figure' if len(changes) == 1 else 'figures'} at the authority would change",
                className="h6 mt-3",
            ),
            scroll_region(
                dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, id=f"data-changes-{index}"),
                label="Figures this file would change",
                plain=True,
            ),
            html.P(f"and {more:,} more", className="small text-muted") if more > 0 else None,
        ],
        className="data-changes",
    )


def file_report(preview: dict, *, index: int = 0, show_changes: bool = True) -> dbc.Card:
    """The report for one checked file, before anything is stored."""
    status = file_status(preview)
    label, colour = STATUS_TEXT[status]
    errors, warnings = errors_of(preview), warnings_of(preview)
    name = preview.get("file_name") or "file"
    header = html.Div(
        [
            # A heading between the section's <h2> and the findings' <h4> (axe heading-order).
            html.H3(name, className="h6 mb-0 me-2 fw-bold"),
            dbc.Badge(label, color=colour, className="me-2"),
            html.Span(format_size(preview["size"]), className="text-muted small") if preview.get("size") else None,
        ],
        className="d-flex align-items-center flex-wrap",
    )
    body: list[Any] = []
    notes = preview.get("notes") or []
    if status == "skipped":
        body.append(html.P(f"Skipped, not an error: {'; '.join(notes)}.", className="mb-0"))
        return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3 data-file-report")
    if status == "refused" and not preview.get("extract_type"):
        reason = errors[0]["reason"] if errors else "it could not be read."
        body.append(html.P(f"This file cannot be loaded: {reason}", className="mb-0"))
        # More than one finding (e.g. the loader named the closest type and the missing columns): show them all.
        if len(errors) > 1:
            body.append(findings_table(errors, kind="errors"))
    else:
        facts = [
            ("Extract type", preview.get("extract_type") or "not recognised"),
            ("Rows read", _count(preview.get("rows_read"))),
            ("Period covered", period_text(preview.get("first_period"), preview.get("last_period"))),
            ("Would add", _count(preview.get("added"))),
            ("Would replace", _count(preview.get("replaced"))),
            ("Unchanged", _count(preview.get("unchanged"))),
            # An unchanged open record in an extract taken later is judged at the later date.
            ("Would re-date to this as-of date", _count(preview.get("redated"))),
            ("Rows with errors", _count(preview.get("rejected"))),
            ("Warnings", _count(len(warnings))),
        ]
        if preview.get("window"):
            facts.insert(3, ("Holds every record from", preview["window"]))
        if preview.get("retired"):
            # Records held from earlier loads that this list's window covers and it lacks.
            facts.insert(6, ("Would retire (not in this list)", _count(preview.get("retired"))))
        if preview.get("held"):
            facts.insert(6, ("Kept for history only (a newer list speaks for them)", _count(preview.get("held"))))
        if preview.get("kept_dates"):
            facts.append(("Dates kept that this file gives blank or as Yes/No", _count(preview.get("kept_dates"))))
        if notes:
            facts.insert(1, ("Read as", "; ".join(notes)))
        if preview.get("dropped_columns"):
            facts.append(("Columns dropped, never stored", ", ".join(preview["dropped_columns"])))
        body.append(
            html.Dl(
                [
                    item
                    for k, v in facts
                    for item in (html.Dt(k, className="col-sm-4"), html.Dd(v, className="col-sm-8"))
                ],
                className="row mb-0 data-facts",
            )
        )
        if status == "errors":
            body.append(
                dbc.Alert(
                    f"{_count(preview.get('rejected'))} of {_count(preview.get('rows_read'))} rows have errors, so "
                    "this file cannot be loaded as it is. Correct the file and upload it again, or choose "
                    '"Load the valid rows only" below: the rejected rows and their reasons are kept in the load log.',
                    color="danger",
                    className="mt-3 mb-0",
                )
            )
        elif status == "refused":
            body.append(
                dbc.Alert(
                    "No row of this file is valid, so nothing in it can be loaded.",
                    color="danger",
                    className="mt-3 mb-0",
                )
            )
        if show_changes and preview.get("changes") is not None and status in ("ready", "errors"):
            body.append(changes_table(preview["changes"], index=index))
        if errors:
            body.append(findings_table(errors, kind="errors", table_id=f"data-errors-{index}"))
        if warnings:
            body.append(findings_table(warnings, kind="warnings", table_id=f"data-warnings-{index}"))
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3 data-file-report")


def spoiled_tokens(previews: list[dict] | None) -> set[str]:
    """The uploads (a workbook's lists share one) holding a list with errors or refused: a workbook loads whole
    or not at all, so its good lists load only when the analyst chooses its good lists and valid rows alone."""
    return {p["token"] for p in previews or [] if p.get("token") and file_status(p) in ("errors", "refused")}


def loadable(previews: list[dict], valid_only_tokens: list[str] | None) -> tuple[list[dict], list[dict], list[dict]]:
    """Split checked files into (load as they are, load valid rows only, not loaded)."""
    chosen = set(valid_only_tokens or [])
    spoiled = spoiled_tokens(previews)
    clean, partial, left = [], [], []
    for p in previews or []:
        status = file_status(p)
        if status == "ready" and p.get("token") not in spoiled:
            clean.append(p)
        elif status in ("ready", "errors") and p.get("token") in chosen:
            partial.append(p)
        elif status != "skipped":
            left.append(p)
    return clean, partial, left


def _when(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, datetime | pd.Timestamp):
        return value.strftime("%d %b %Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return str(value)


def _get(row: pd.Series, *names: str) -> Any:
    for name in names:
        if name in row.index:
            value = row[name]
            return None if value is pd.NA else value
    return None


def history_table(log: pd.DataFrame, *, limit: int = 100) -> html.Div:
    """The load log, newest first, with an Undo button on each load that can be undone."""
    if log is None or log.empty:
        return html.P("No loads yet.", className="text-muted")
    frame = log.copy()
    if "load_id" in frame.columns:
        frame = frame.sort_values("load_id", ascending=False)
    frame = frame.head(limit)
    head = html.Thead(
        html.Tr(
            [
                html.Th(h, scope="col")
                for h in (
                    "Load",
                    "When",
                    "Who",
                    "File",
                    "Extract type",
                    "Content hash",
                    "Added",
                    "Replaced",
                    "Rejected",
                    "Outcome",
                    "Actions",
                )
            ]
        )
    )
    rows = []
    offered: set[Any] = set()  # one Undo per file: a workbook's lists undo together
    for _, row in frame.iterrows():
        load_id = int(_get(row, "load_id"))
        outcome = str(_get(row, "outcome") or "")
        content_hash = str(_get(row, "content_hash") or "")
        actions: list[Any] = []
        batch = _get(row, "batch_id")
        batch = load_id if batch is None or (isinstance(batch, float) and math.isnan(batch)) else int(batch)
        if outcome in UNDOABLE and batch not in offered:
            offered.add(batch)
            file_name = str(_get(row, "file_name") or "file").split(", sheet ")[0]
            # html.Button, not dbc.Button, which takes no aria-label: "Undo" alone does
            # not say which load, in a list of a hundred.
            actions.append(
                html.Button(
                    "Undo",
                    id={"type": "data-undo", "index": load_id},
                    className="btn btn-sm btn-outline-secondary me-1",
                    type="button",
                    **{"aria-label": f"Undo load {load_id} ({file_name})"},
                )
            )
        rejected = _get(row, "rows_rejected", "rejected")
        if rejected and not (isinstance(rejected, float) and math.isnan(rejected)) and int(rejected) > 0:
            actions.append(
                html.Button(
                    "Rejected rows",
                    id={"type": "data-findings", "index": load_id},
                    className="btn btn-sm btn-link p-0",
                    type="button",
                    **{"aria-label": f"Rejected rows of load {load_id}"},
                )
            )
        undone = _get(row, "undone_at")
        outcome_cell: list[Any] = [outcome]
        if outcome == "undone" and undone is not None and not pd.isna(undone):
            outcome_cell.append(
                html.Div(f"{_when(undone)} by {_get(row, 'undone_by') or '–'}", className="small text-muted")
            )
        rows.append(
            html.Tr(
                [
                    html.Td(str(load_id)),
                    html.Td(_when(_get(row, "loaded_at"))),
                    html.Td(str(_get(row, "loaded_by", "who") or "–")),
                    html.Td(str(_get(row, "file_name") or "–"), className="text-break"),
                    html.Td(str(_get(row, "extract_type") or "–")),
                    html.Td(html.Code(content_hash[:12]), title=content_hash),
                    html.Td(_count(_get(row, "rows_added", "added"))),
                    html.Td(_count(_get(row, "rows_replaced", "replaced"))),
                    html.Td(_count(rejected)),
                    html.Td(outcome_cell),
                    html.Td(actions, className="text-nowrap"),
                ],
                id=f"data-history-row-{load_id}",
            )
        )
    return scroll_region(
        dbc.Table([head, html.Tbody(rows)], striped=True, hover=True, size="sm", id="data-history-table"),
        label="Load history",
        plain=True,
    )


def _cell(value: Any, *, month: bool = False) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "No data yet"
    if month:
        text = value.strftime("%Y-%m") if isinstance(value, date | datetime | pd.Timestamp) else str(value)
        try:
            return month_label(text[:7])
        except (ValueError, IndexError):
            return text
    if isinstance(value, datetime | pd.Timestamp | date):
        return _when(value)
    return str(value)


def freshness_table(frame: pd.DataFrame, *, metric_names: dict[str, str] | None = None) -> html.Div:
    """For each extract type and each KPI: the latest month loaded and the as-of
    date of that load (etl.serve.queries.freshness), as two tables."""
    if frame is None or frame.empty:
        return html.P("Nothing loaded yet.", className="text-muted")
    names = metric_names or {}
    parts: list[Any] = []
    for kind, title, first in (("extract", "Extract types", "Extract type"), ("metric", "KPIs", "KPI")):
        rows = frame[frame["kind"] == kind] if "kind" in frame.columns else frame
        if rows.empty:
            continue
        head = [first, "Latest month loaded", "As-of date of that load"] + (["Source"] if kind == "metric" else [])
        body = []
        for _, r in rows.iterrows():
            name = str(r.get("name"))
            cells = [
                html.Td(names.get(name, name) if kind == "metric" else name),
                html.Td(_cell(r.get("latest_period"), month=True)),
                html.Td(_cell(r.get("as_of"))),
            ]
            if kind == "metric":
                cells.append(html.Td(str(r.get("source") or "–")))
            body.append(html.Tr(cells, id=f"data-fresh-{kind}-{name}"))
        parts += [
            html.H3(title, className="h6 mt-2"),
            scroll_region(
                dbc.Table(
                    [html.Thead(html.Tr([html.Th(h, scope="col") for h in head])), html.Tbody(body)],
                    striped=True,
                    size="sm",
                    id=f"data-freshness-{kind}",
                ),
                label=f"Freshness of the {title.lower()}",
                plain=True,
            ),
        ]
    return html.Div(parts)


def findings_frame_table(frame: pd.DataFrame, load_id: int) -> html.Div:
    """The findings of one load (rejected rows and warnings), from the load log."""
    if frame is None or frame.empty:
        return html.P(f"Load {load_id} has no findings.", className="text-muted")
    records = [
        {
            "severity": _get(r, "severity"),
            "line": None if pd.isna(_get(r, "line")) else int(_get(r, "line")),
            "column": _get(r, "column_name", "column"),
            "value": _get(r, "value"),
            "reason": _get(r, "reason"),
        }
        for _, r in frame.iterrows()
    ]
    errors = [f for f in records if f["severity"] == "error"]
    warnings = [f for f in records if f["severity"] == "warning"]
    parts: list[Any] = [html.H3(f"Findings of load {load_id}", className="h6")]
    if errors:
        parts.append(findings_table(errors, kind="rejected rows"))
    if warnings:
        parts.append(findings_table(warnings, kind="warnings"))
    return html.Div(parts)
