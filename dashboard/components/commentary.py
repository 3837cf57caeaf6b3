"""What the Board discusses, as page pieces: a KPI's note with its earlier
versions, the events on its charts, the actions meant to move it, and the
scorecard's note marker. Pure builders: data in (etl.people.notes, etl.people.plans), Dash
components out; the pages call them and own the callbacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from dash import dcc, html

from dashboard.components.format import long_month_label
from etl.people.notes import Event, Note
from etl.people.plans import OVERDUE, Action

STATE_WORDS = {
    OVERDUE: "Overdue",
    "not started": "Not started",
    "on track": "On track",
    "at risk": "At risk",
    "done": "Done",
}


def _text(text: str, **props) -> html.Div:
    """A person's words, line breaks kept (white-space: pre-line), never as markup."""
    return html.Div(text, className="cpip-note-text", **props)


def note_byline(note: Note) -> str:
    edited = f" · version {note.version} of {note.versions}" if note.versions > 1 else ""
    return f"{note.author}, {note.written_text}{edited}"


def note_current(history: Sequence[Note], *, period: str, unit: str) -> list:
    """The latest version of a note, and the earlier ones a click away (newest first)."""
    if not history:
        return [html.P(f"No note for {long_month_label(period)}, {unit}, yet.", className="mb-0", id="note-none")]
    latest = history[-1]
    parts: list = [
        html.Blockquote([_text(latest.text, id="note-latest")], className="cpip-note mb-1"),
        html.P(note_byline(latest), className="cpip-footnote mb-1", id="note-byline"),
    ]
    if len(history) > 1:
        parts.append(
            html.Details(
                [
                    html.Summary(f"Earlier versions ({len(history) - 1})"),
                    html.Ol(
                        [
                            html.Li([_text(n.text), html.Div(note_byline(n), className="cpip-footnote")])
                            for n in reversed(history[:-1])
                        ],
                        reversed=True,
                        className="cpip-note-history",
                    ),
                ],
                id="note-history",
            )
        )
    return parts


def note_card(history: Sequence[Note], *, period: str, unit: str, may_write: bool, params: dict) -> html.Div:
    """The KPI page's note for the month and unit on screen, with the form to write
    one when the access policy lets the viewer. The form is always in the page
    (hidden otherwise), so Dash's validation layout knows its ids whoever asks first;
    the gate refuses a save from a role that may not write."""
    body: list = [
        html.H2(f"Note for the Board, {long_month_label(period)}", className="cpip-h2 mt-0"),
        html.Div(note_current(history, period=period, unit=unit), id="note-current"),
    ]
    form = [
        html.Label("Write or edit the note (earlier versions are kept)", htmlFor="note-text",
                   className="form-label mt-2"),
        dcc.Textarea(id="note-text", value=history[-1].text if history else "", className="form-control",
                     style={"minHeight": "6rem"}, maxLength=4000),
        html.Button("Save note", id="note-save", className="btn btn-primary btn-sm mt-2"),
        html.Div(id="note-message", role="status", className="cpip-footnote mt-1"),
        dcc.Store(id="note-params", data=params),
    ]  # fmt: skip
    body.append(html.Div(form, hidden=not may_write, id="note-form"))
    return html.Div(body, className="cpip-card", id="kpi-note-card")


def events_list(events: Sequence[Event], rebases: Sequence[tuple[str, str]], *, first: date, last: date) -> html.Div:
    """The events drawn on the charts (and rebase points with their reasons), in words."""
    items = [
        html.Li(f"{e.event_date:%-d %b %Y}: {e.label} ({e.scope_words})")
        for e in events
        if first <= e.event_date <= last
    ]
    items += [html.Li(f"{long_month_label(p)}: SPC limits recalculated: {why}") for p, why in rebases]
    if not items:
        return html.Div(id="kpi-events")
    return html.Div(
        [html.P("Events on these charts (dotted lines):", className="cpip-footnote mb-0"),
         html.Ul(items, className="cpip-footnote cpip-events mb-0")],
        id="kpi-events",
    )  # fmt: skip


def event_form(metric_id: str, *, may_edit: bool) -> html.Details:
    """Add a dated event to this KPI's charts (analysts and the board; hidden from others,
    but always in the layout so Dash knows its ids)."""
    field = "form-control form-control-sm"
    return html.Details(
        [
            html.Summary("Add an event to this KPI's charts"),
            html.Div([
                html.Div([html.Label("Date", htmlFor="plan-edit-event-date", className="form-label mb-0"),
                          dcc.Input(id="plan-edit-event-date", type="date", className=field)]),
                html.Div([html.Label("What happened", htmlFor="plan-edit-event-label", className="form-label mb-0"),
                          dcc.Input(id="plan-edit-event-label", type="text", maxLength=120, className=field)]),
                html.Button("Add event", id="plan-edit-event-add", className="btn btn-outline-primary btn-sm"),
            ], className="d-flex flex-wrap align-items-end mt-1", style={"gap": "8px"}),
            html.Div(id="plan-edit-event-message", role="status", className="cpip-footnote mt-1"),
            dcc.Store(id="plan-edit-event-metric", data=metric_id),
        ],
        hidden=not may_edit,
        className="cpip-footnote d-print-none mt-2",
        id="kpi-event-form",
    )  # fmt: skip


def state_chip(state: str) -> html.Span:
    return html.Span(STATE_WORDS.get(state, state), className=f"cpip-state cpip-state-{state.replace(' ', '-')}")


def actions_table(actions: Sequence[Action], on: date, *, caption: str, table_id: str) -> html.Table | html.P:
    """Actions with their lead, due date and status (`Overdue` when past its date and not done)."""
    if not actions:
        return html.P("No action in any plan is meant to move this KPI.", className="mb-0", id=table_id)
    rows = [
        html.Tr(
            [
                html.Td(a.action_id),
                html.Td([a.action, html.Div(a.notes, className="cpip-footnote") if a.notes else None]),
                html.Td(a.lead or "–"),
                html.Td(a.due_text),
                html.Td(state_chip(a.state(on))),
            ],
            className=f"cpip-action cpip-action-{a.state(on).replace(' ', '-')}",
        )
        for a in actions
    ]
    head = ["Ref", "Action", "Responsible lead", "Due", "Status"]
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
            html.Tbody(rows),
        ],
        className="table table-sm cpip-table cpip-actions-table",
        id=table_id,
    )


def note_marker(note: Note | None, metric_id: str) -> html.Details | None:
    """The scorecard's marker: "Note" and the note's first line; the whole note a click away."""
    if note is None:
        return None
    return html.Details(
        [
            html.Summary(
                [html.Span("Note", className="cpip-note-marker"), " ", note.first_line],
                className="cpip-note-summary",
            ),
            _text(note.text),
            html.Div(note_byline(note), className="cpip-footnote"),
        ],
        className="cpip-note-details",
        id=f"sc-note-{metric_id}",
    )
