"""Case audits: the moderated grade distribution by month and by financial-year
quarter, as 100% stacked bars in grade order, each beside the table in the
published report's form (total audits, total moderations, % in each grade).

URL: `/audits?service=Family%20Safeguarding&team=Coastal%20FS%201&audit_type=assessment`.
"""

from __future__ import annotations

import dash
from dash import html

from dashboard.components.banners import notice
from dashboard.components.chart_block import chart_block
from dashboard.components.controls import labelled_select, url_parts, url_sync
from dashboard.components.figures import audit_bars_figure
from dashboard.components.tables import audit_table, scroll_region
from dashboard.pages.common import page_header, per_load, safely
from etl.catalogue.contract import audit_type_key, match_name
from etl.catalogue.metrics import catalogue
from etl.serve import queries
from etl.store import authority as authorities

dash.register_page(__name__, path="/audits", name="Audits", title="Audits · CPIP", order=3)

PREFIX = "au"
MONTHS_SHOWN = 12
url_sync(PREFIX, ("service", "team", "audit_type"), resets={"team": ["service"]})
ALL = "_all"  # the "All ..." option; never written into the URL


def audit_types() -> list[str]:
    """The audit types the catalogue's audit KPIs name, in catalogue order."""
    return list(dict.fromkeys(m.audit_type for m in catalogue().metrics if m.audit_type))


def audit_type_label(audit_type: str) -> str:
    """`management_oversight` -> `Management oversight`."""
    return audit_type.replace("_", " ").capitalize()


def filters(service: str | None, team: str | None, audit_type: str | None) -> tuple[dict, list[str], dict]:
    """Check the URL's filters against the organisation reference: a team
    outside the chosen service, or an unknown name, is dropped with a note.
    Returns (filters for etl.serve.queries.audit_grades, notes, options)."""
    org = per_load(queries.org_units)
    services = sorted(set(org["service"])) if not org.empty else []
    notes = []
    # Names match as the loader matches them (case, spaces, underscores).
    if service and match_name(service, services) is None:
        notes.append(f"{service!s} is not a service; showing every service (choose one from the list).")
        service = None
    elif service:
        service = match_name(service, services)
    teams = sorted(set(org[org["service"] == service]["team"] if service else org["team"])) if not org.empty else []
    if team and match_name(team, teams) is None:
        notes.append(f"{team!s} is not a team{' of ' + service if service else ''}; showing every team.")
        team = None
    elif team:
        team = match_name(team, teams)
    types = audit_types()
    if audit_type and match_name(audit_type, types, key=audit_type_key) is None:
        notes.append(f"{audit_type!s} is not an audit type; showing every type ({', '.join(types)}).")
        audit_type = None
    elif audit_type:
        audit_type = match_name(audit_type, types, key=audit_type_key)
    chosen = {"service": service or None, "team": team or None, "audit_type": audit_type or None}
    return chosen, notes, {"services": services, "teams": teams, "types": types}


def grades(by: str, team: str | None, service: str | None, audit_type: str | None):
    """etl.serve.queries.audit_grades with positional filters, so per_load can remember it until the next load."""
    return queries.audit_grades(by, team=team, service=service, audit_type=audit_type)


def describe(chosen: dict) -> str:
    parts = [chosen["team"] or chosen["service"] or authorities.current().name]
    parts.append(audit_type_label(chosen["audit_type"]) + " audits" if chosen["audit_type"] else "all audit types")
    return " · ".join(parts)


def build(service: str | None, team: str | None, audit_type: str | None) -> list:
    chosen, notes, options = filters(service, team, audit_type)
    query = {
        "team": chosen["team"],
        "service": None if chosen["team"] else chosen["service"],
        "audit_type": chosen["audit_type"],
    }
    by_month = per_load(grades, "month", query["team"], query["service"], query["audit_type"]).tail(MONTHS_SHOWN)
    by_quarter = per_load(grades, "quarter", query["team"], query["service"], query["audit_type"])
    what = describe(chosen)
    controls = html.Div(
        [
            labelled_select(
                f"{PREFIX}-service",
                "Service",
                [(ALL, "All services")] + [(s, s) for s in options["services"]],
                chosen["service"] or ALL,
            ),
            labelled_select(
                f"{PREFIX}-team",
                "Team",
                [(ALL, "All teams")] + [(t, t) for t in options["teams"]],
                chosen["team"] or ALL,
            ),
            labelled_select(
                f"{PREFIX}-audit_type",
                "Audit type",
                [(ALL, "All types")] + [(t, audit_type_label(t)) for t in options["types"]],
                chosen["audit_type"] or ALL,
            ),
        ],
        className="cpip-controls d-print-none",
        role="group",
        **{"aria-label": "Filter the audits"},
    )

    def section(title: str, frame, by: str, graph_id: str) -> html.Div:
        return html.Div(
            [
                html.H2(title, className="cpip-h2 mt-0"),
                html.Div(
                    [
                        # The table beside the chart is its text alternative: the same percentages.
                        chart_block(graph_id, audit_bars_figure(frame), label=f"{title}: {what}", min_width=420),
                        scroll_region(audit_table(frame, caption=f"{title}: {what}", by=by), label=f"{title}: table"),
                    ],
                    className="cpip-two-col-even",
                ),
            ],
            className="cpip-card",
        )

    return [
        page_header("Case audits", what),
        controls,
        notice(notes, title="Some of the address was not understood", kind="info"),
        html.P(
            "Percentages are shares of the moderated audits, by moderated grade; total audits includes audits not "
            "yet moderated.",
            className="cpip-footnote",
        ),
        section(f"Grades by month (last {MONTHS_SHOWN} months)", by_month, "month", "au-month-graph"),
        section("Grades by financial-year quarter", by_quarter, "quarter", "au-quarter-graph"),
    ]


def layout(service: str | None = None, team: str | None = None, audit_type: str | None = None, **_other: str) -> list:
    return [
        *url_parts(PREFIX),
        html.Div(safely(lambda: build(service, team, audit_type), what="audits page"), id="au-page"),
    ]
