"""The Practice Action Plans: one per improvement area, its actions and the KPIs
each is meant to move, with their RAG and SPC icons.

URL: `/plans?show=overdue&lead=Head%20of%20Safeguarding&area=...` (`show`:
`overdue` or `due` this month). The filters are a plain form, so every view
can be bookmarked. Analysts and the board add and edit actions at the foot of
the page (the gate and etl.people.plans decide who may); every version is kept.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard.components.badges import rag_chip
from dashboard.components.commentary import actions_table
from dashboard.components.controls import labelled_select, refusal
from dashboard.components.format import format_value, long_month_label
from dashboard.components.tables import scroll_region, spc_cell
from dashboard.pages.common import page_header, per_load, safely
from etl.catalogue.contract import ACTION_STATUSES
from etl.catalogue.metrics import catalogue
from etl.people import notes, plans
from etl.privacy import access
from etl.serve import queries

dash.register_page(__name__, path="/plans", name="Action plans", title="Practice Action Plans · CPIP", order=4)

NEW = "__new__"
SHOW = {"": "All actions", "overdue": "Overdue only", "due": "Due this month"}


def _select(name: str, label: str, options: list[tuple[str, str]], chosen: str) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=f"plans-{name}", className="form-label mb-0"),
            html.Select(
                [html.Option(text, value=value, selected=value == chosen) for value, text in options],
                id=f"plans-{name}",
                name=name,
                className="form-select form-select-sm",
            ),
        ]
    )


def filters(show: str, lead: str, area: str) -> html.Form:
    cat = catalogue()
    return html.Form(
        [
            _select("show", "Show", list(SHOW.items()), show),
            _select("lead", "Responsible lead", [("", "Any lead"), *((n, n) for n in plans.leads())], lead),
            _select("area", "Improvement area", [("", "Every area"), *((a, a) for a in cat.areas)], area),
            html.Button("Show", type="submit", className="btn btn-primary btn-sm", id="plans-apply"),
        ],
        method="get",
        action="/plans",
        className="cpip-controls d-flex flex-wrap align-items-end d-print-none",
        style={"gap": "12px"},
        id="plans-filters",
    )


def kpi_table(metric_ids: list[str], frame, period: str) -> html.Table:
    """The plan's KPIs for the latest month: value, RAG and the SPC icons."""
    cat = catalogue()
    rows = {r["metric_id"]: r for r in frame.to_dict("records")}
    body = []
    for metric_id in metric_ids:
        metric = cat.metric(metric_id)
        r = rows.get(metric_id, {"metric_id": metric_id})
        body.append(
            html.Tr(
                [
                    html.Th(dcc.Link(metric.label, href=f"/kpi/{metric_id}?period={period}"), scope="row"),
                    html.Td(format_value(r.get("value"), metric.unit), className="cpip-num"),
                    html.Td(rag_chip(r.get("rag"))),
                    spc_cell(r),
                ]
            )
        )
    return html.Table(
        [
            html.Caption(f"Its KPIs, whole authority, {long_month_label(period)}"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in ("KPI", "Value", "RAG", "SPC")])),
            html.Tbody(body),
        ],
        className="table table-sm cpip-table",
    )


def history(action: plans.Action, versions: list[plans.Action] | None = None) -> html.Details | None:
    """The action's versions, when it has more than one (`versions`: as plans.action_histories gives them)."""
    versions = plans.action_history(action.action_id) if versions is None else versions
    if len(versions) < 2:
        return None
    return html.Details(
        [
            html.Summary(f"{action.action_id}: {len(versions)} versions"),
            html.Ol(
                [
                    html.Li(f"{v.written_at[:16].replace('T', ' ')} UTC, {v.author or 'tracker'} ({v.source}): "
                            f"{v.status}, due {v.due_text}, lead {v.lead or '–'}" + (f"; {v.notes}" if v.notes else ""))
                    for v in versions
                ],
                reversed=False,
            ),
        ],
        className="cpip-footnote",
    )  # fmt: skip


def editor(*, hidden: bool) -> html.Div:
    """Add an action or edit one (analysts and the board). Always in the page, hidden
    from other roles, so Dash's validation layout knows its ids; the gate refuses their saves."""
    cat = catalogue()
    every = plans.actions()
    field = "form-control form-control-sm"
    choices = [(NEW, "New action"), *((a.action_id, f"{a.action_id}: {a.action[:70]}") for a in every)]
    return html.Div(
        [
            html.H2("Add or edit an action", className="cpip-h2 mt-0"),
            html.P("Saving keeps every earlier version. An action past its date and not done shows as overdue "
                   "whatever its status says.", className="cpip-footnote"),
            # Choosing an action fills the form only at the button: arrowing through the closed list
            # used to overwrite what had been typed at every option passed (WCAG 3.2.2).
            html.Div([
                labelled_select("plan-edit-pick", "Action", choices, NEW, width="lg"),
                html.Button("Open in the form", id="plan-edit-open", type="button",
                            className="btn btn-outline-primary btn-sm"),
            ], className="d-flex flex-wrap align-items-end", style={"gap": "12px"}),
            labelled_select("plan-edit-area", "Improvement area", [(a, a) for a in cat.areas], cat.areas[0],
                            width="lg"),
            html.Label("What will be done", htmlFor="plan-edit-action", className="form-label mb-0 mt-2"),
            dcc.Textarea(id="plan-edit-action", className=field),
            html.Div([
                html.Div([html.Label("Sponsor", htmlFor="plan-edit-sponsor", className="form-label mb-0"),
                          dcc.Input(id="plan-edit-sponsor", type="text", className=field)], className="cpip-field"),
                html.Div([html.Label("Responsible lead(s)", htmlFor="plan-edit-lead", className="form-label mb-0"),
                          dcc.Input(id="plan-edit-lead", type="text", className=field)], className="cpip-field"),
                html.Div([html.Label("Due date", htmlFor="plan-edit-due", className="form-label mb-0"),
                          dcc.Input(id="plan-edit-due", type="date", className=field)]),
                labelled_select("plan-edit-status", "Status", [(s, s) for s in ACTION_STATUSES], "not started",
                                width="sm"),
            ], className="d-flex flex-wrap mt-2", style={"gap": "12px"}),
            html.Label("KPIs it is meant to move (metric_ids separated by ;)", htmlFor="plan-edit-metrics",
                       className="form-label mb-0 mt-2"),
            dcc.Input(id="plan-edit-metrics", type="text", className=field),
            html.Details([html.Summary("The metric_ids"),
                          html.Ul([html.Li(f"{m.metric_id}: {m.label}") for m in cat.metrics])],
                         className="cpip-footnote", id="plan-edit-ids"),
            html.Label("Notes", htmlFor="plan-edit-notes", className="form-label mb-0 mt-2"),
            dcc.Textarea(id="plan-edit-notes", className=field),
            html.Button("Save action", id="plan-edit-save", className="btn btn-primary btn-sm mt-2"),
            html.Div(id="plan-edit-message", role="status", className="cpip-footnote mt-1"),
        ],
        className="cpip-card d-print-none",
        id="plans-editor",
        hidden=hidden,
    )  # fmt: skip


def build(show: str, lead: str, area: str) -> list:
    on = plans.judged_on()
    period = per_load(queries.latest_period)
    due_in = on.strftime("%Y-%m") if show == "due" else None
    _on, sections = plans.plan_sections(
        on=on, overdue_only=show == "overdue", due_in=due_in, lead=lead or None, area=area or None
    )
    frame = queries.scorecard(period, "la") if period else None
    parts: list = [
        page_header(
            "Practice Action Plans",
            f"Overdue judged on {on:%-d %B %Y}, the data's as-of date",
        ),
        filters(show, lead, area),
    ]
    if not sections:
        parts.append(html.P("No Practice Action Plans yet: load the actions tracker (an actions extract).",
                            id="plans-none"))  # fmt: skip
    every = plans.action_histories() if sections else {}
    for number, section in enumerate(sections, start=1):
        late = f" · {section.overdue} overdue" if section.overdue else ""
        parts.append(
            html.Section(
                [
                    html.H2(f"{section.area}{late}", className="cpip-h2 mt-0"),
                    html.P(section.meaning) if section.meaning else None,
                    html.P(f"Owner: {section.owner}", className="cpip-footnote") if section.owner else None,
                    scroll_region(actions_table(section.actions, on, caption=f"Actions ({SHOW.get(show, SHOW[''])})",
                                                table_id=f"plans-actions-{number}"),
                                  label=f"Actions, {section.area}", plain=True)
                    if section.actions else html.P("No actions match.", className="cpip-footnote"),
                    *[h for a in section.actions if (h := history(a, every.get(a.action_id, []))) is not None],
                    scroll_region(kpi_table(section.metric_ids, frame, period), label=f"KPIs, {section.area}",
                                  plain=True) if frame is not None else None,
                ],
                className="cpip-card",
                id=f"plans-area-{number}",
            )
        )  # fmt: skip
    parts.append(editor(hidden=not notes.may_edit_plans()))
    return parts


def layout(show: str | None = None, lead: str | None = None, area: str | None = None, **_other: str) -> list:
    show = show if show in SHOW else ""
    return [html.Div(safely(lambda: build(show, lead or "", area or ""), what="action plans"), id="plans-page")]


# Which field a refusal is about, from its words (etl.people.plans.save_action's sentences).
INVALID_FIELD = (
    ("improvement area", "plan-edit-area"),
    ("status", "plan-edit-status"),
    ("its text", "plan-edit-action"),
    ("unknown KPI", "plan-edit-metrics"),
    ("date", "plan-edit-due"),
)


def not_saved(reason: str) -> html.Span:
    """The refusal, naming the field it is about (marked invalid in the browser)."""
    return refusal(f"Not saved: {reason}", next((f for words, f in INVALID_FIELD if words in reason), None))


@callback(
    Output("plan-edit-area", "value"),
    Output("plan-edit-action", "value"),
    Output("plan-edit-sponsor", "value"),
    Output("plan-edit-lead", "value"),
    Output("plan-edit-due", "value"),
    Output("plan-edit-status", "value"),
    Output("plan-edit-metrics", "value"),
    Output("plan-edit-notes", "value"),
    Input("plan-edit-open", "n_clicks"),
    State("plan-edit-pick", "value"),
    prevent_initial_call=True,
)
def pick(n_clicks: int | None, action_id: str | None):
    """Fill the form with the chosen action's current version (at the button, never at each option passed)."""
    if not n_clicks:
        return (no_update,) * 8
    found = next((a for a in plans.actions() if a.action_id == action_id), None)
    if found is None:
        return no_update, "", "", "", None, "not started", "", ""
    due = found.due_date.isoformat() if found.due_date else None
    return found.area, found.action, found.sponsor, found.lead, due, found.status, ";".join(found.metrics), found.notes


@callback(
    Output("plan-edit-message", "children"),
    Input("plan-edit-save", "n_clicks"),
    State("plan-edit-pick", "value"),
    State("plan-edit-area", "value"),
    State("plan-edit-action", "value"),
    State("plan-edit-sponsor", "value"),
    State("plan-edit-lead", "value"),
    State("plan-edit-due", "value"),
    State("plan-edit-status", "value"),
    State("plan-edit-metrics", "value"),
    State("plan-edit-notes", "value"),
    prevent_initial_call=True,
)
def save(n_clicks, action_id, area, action, sponsor, lead, due, status, metrics, notes_text):
    if not n_clicks:
        return no_update
    try:
        saved = plans.save_action(
            action_id=None if action_id == NEW else action_id, area=area or "", action=action or "",
            sponsor=sponsor or "", lead=lead or "", due_date=due or None, status=status or "",
            notes_text=notes_text or "", metrics=metrics or "", author=notes.current_author(),
        )  # fmt: skip
    except (ValueError, access.AccessDenied) as exc:
        return not_saved(str(exc))
    return f"Saved {saved.action_id} (version {saved.versions}). Reload the page to see it in its plan."
