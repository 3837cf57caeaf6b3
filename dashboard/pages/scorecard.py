"""The CPIP scorecard (home): every KPI for one month and one org unit.

URL: `/?period=2023-07&level=team&unit=Coastal%20FS%201`. The layout is built
from those parameters (see dashboard/components/controls.py); the controls
write them back, so every view can be bookmarked or emailed. `view=icons` shows
the scorecard as the Making Data Count icon matrix of the units one level below
(the authority's services, an area's or a service's teams).
"""

from __future__ import annotations

import dash
from dash import html

from dashboard.components.badges import rag_summary
from dashboard.components.banners import freshness_notes, notice
from dashboard.components.comparators import comparator_note
from dashboard.components.controls import (
    LEVEL_LABELS,
    Selection,
    labelled_select,
    query_string,
    resolve_selection,
    url_parts,
    url_sync,
)
from dashboard.components.format import long_month_label
from dashboard.components.glossary import glossary_link, with_abbreviations
from dashboard.components.matrix import icon_matrix_block
from dashboard.components.tables import scorecard_table, scroll_region
from dashboard.pages.common import no_data_message, page_header, per_load, safely, unit_controls
from etl.catalogue.contract import match_name
from etl.catalogue.metrics import catalogue
from etl.people import notes, plans
from etl.privacy import access, children
from etl.rules.kpis import caveat_lines
from etl.serve import queries
from etl.store import authority as authorities

dash.register_page(__name__, path="/", name="Scorecard", title="CPIP scorecard", order=0)

PREFIX = "sc"
url_sync(PREFIX, ("period", "level", "unit", "view"), resets={"unit": ["level"]})
# The scorecard itself is the view with no `view` in its address (as before the matrix existed).
# "_all" (left out of the URL) rather than "": a select whose value is "" showed a blank
# option that the arrow keys could not pass.
VIEWS = (("_all", "Scorecard"), ("icons", "Icon matrix of the units below"))


def selection(period: str | None, level: str | None, unit: str | None) -> Selection:
    """The month (default: the latest with data), level and org unit the URL asks
    for. With neither, the viewer's own: a team manager's team, a head of service's
    service, else the authority (the level's default unit: the first at that level)."""
    if not level and not unit:
        try:
            viewer = access.current_viewer()
        except access.AccessDenied:
            viewer = None  # no viewer named: the page itself is refused elsewhere, the default serves here
        home = viewer.home if viewer is not None else None
        # A name the organisation reference lacks (the access file's check warns of it) opens the authority's.
        if home is not None and match_name(home[1], per_load(queries.units_at, home[0])) is not None:
            level, unit = home
    return resolve_selection(
        period, level, unit, periods=per_load(queries.periods), units_at=lambda lv: per_load(queries.units_at, lv)
    )


def boardpack_links(sel: Selection) -> html.Div:
    """Links to the board pack for the month and unit on screen (served by
    dashboard/export as Flask routes)."""
    query = query_string({"period": sel.period, "level": sel.level, "unit": sel.unit})
    return html.Div(
        [
            html.A(
                "Download board pack (PDF)",
                href=f"/boardpack.pdf{query}",
                className="btn btn-primary btn-sm",
                id="sc-boardpack-pdf",
            ),
            html.A(
                "Board pack (Excel)",
                href=f"/boardpack.xlsx{query}",
                className="btn btn-outline-primary btn-sm",
                id="sc-boardpack-xlsx",
            ),
        ],
        className="cpip-actions",
    )


def matrix_view(sel: Selection) -> list:
    """The icon matrix of the units below the one chosen (a team has none)."""
    if sel.level == "team":
        return [
            html.P(
                "A team has no units below it: choose the scorecard view to see its icons, or an area or service "
                "for the matrix of its teams.",
                className="cpip-footnote",
                id="sc-matrix-none",
            )
        ]
    frame = per_load(queries.icon_matrix, sel.period, sel.level, sel.unit)
    return [
        html.H2(
            f"Variation and assurance, {long_month_label(sel.period)}: "
            f"{'services' if sel.level == 'la' else 'teams'} of {sel.unit}",
            className="cpip-h2",
        ),
        icon_matrix_block(frame, queries.matrix_counts(frame), period=sel.period, unit=sel.unit, prefix=PREFIX),
    ]


def left_off_note(left_off, unit: str) -> html.P | None:
    """How many KPIs were left off as not the unit's work, and which."""
    if left_off.empty:
        return None
    names = ", ".join(str(n) for n in (left_off["short_name"].fillna(left_off["metric_name"])))
    count = len(left_off)
    return html.P(
        f"{count} {'KPI does' if count == 1 else 'KPIs do'} not apply to {unit} and "
        f"{'is' if count == 1 else 'are'} left off: {names}.",
        className="cpip-footnote",
        id="sc-left-off",
    )


def children_links(sel: Selection, frame) -> dict[str, str]:
    """metric_id -> the children behind its figure, for the record-level KPIs with a
    figure this month, when the viewer may open this unit's child lists (the query
    layer's answer)."""
    if not children.may_list(sel.level, sel.unit):
        return {}
    with_figure = set(frame.loc[frame["numerator"].notna(), "metric_id"])
    return {
        m.metric_id: children.list_address(m.metric_id, sel.period, sel.level, sel.unit)
        for m in catalogue().metrics
        if children.is_record_level(m) and m.metric_id in with_figure
    }


def due_link(sel: Selection, children_hrefs: dict[str, str]) -> list:
    """For a unit whose child lists the viewer may open: what falls due for it (the authority's: every team
    the viewer may see); for every team and service the Practice Action Plans."""
    plans_link = html.A("Action plans", href="/plans", className="btn btn-outline-primary btn-sm", id="sc-plans")
    plans = [plans_link] if sel.level in ("team", "service") else []
    if not children_hrefs:
        return plans
    if sel.level == "team":
        href = children.due_address(sel.unit, 5, None)
    elif sel.level == "la":
        href = children.due_address(None, 5, None)
    else:
        href = children.due_address(None, 5, None, level=sel.level, unit=sel.unit)
    return [html.A("What falls due", href=href, className="btn btn-outline-primary btn-sm", id="sc-due"), *plans]


def build(
    period: str | None = None, level: str | None = None, unit: str | None = None, view: str | None = None
) -> list:
    """The scorecard's content for a URL's parameters (a plain function: tested
    without a browser)."""
    sel = selection(period, level, unit)
    if sel.period is None or sel.unit is None:
        return [page_header("CPIP scorecard"), no_data_message()]
    view = view if view in dict(VIEWS) else "_all"
    cat = catalogue()
    # Read-only and the same for every viewer until the next load (what a viewer may open is worked out below).
    frame = per_load(queries.scorecard, sel.period, sel.level, sel.unit) if view != "icons" else None
    # A KPI that is not this unit's work (metrics.yml applies_to) is left off, so
    # that "No data" on the scorecard always means data is missing.
    left_off = frame[~frame["applies"].astype(bool)] if frame is not None else None
    frame = frame[frame["applies"].astype(bool)] if frame is not None else None
    hrefs = children_links(sel, frame) if frame is not None else {}
    fresh_notes = freshness_notes(per_load(queries.freshness), sel.period)
    level_word = LEVEL_LABELS[sel.level]
    subtitle = f"{sel.unit} · {long_month_label(sel.period)}" + ("" if sel.level == "la" else f" · {level_word}")
    head = [
        page_header("CPIP scorecard", subtitle, actions=[*due_link(sel, hrefs), boardpack_links(sel)]),
        html.Div(
            [*unit_controls(PREFIX, sel), labelled_select(f"{PREFIX}-view", "Show", list(VIEWS), view, width="md")],
            className="cpip-controls d-print-none",
            role="group",
            **{"aria-label": "Choose the month, org unit and view"},
        ),
        notice(sel.notes, title="Some of the address was not understood", kind="info"),
        notice(fresh_notes, title=f"{long_month_label(sel.period)} may be incomplete", banner_id="sc-freshness"),
        notice(
            per_load(caveat_lines, sel.period),
            title="Figures that may be incomplete",
            kind="info",
            banner_id="sc-caveats",
        ),
    ]
    if frame is None:
        return head + matrix_view(sel)
    return [
        *head,
        rag_summary(frame["rag"], id_prefix=PREFIX),
        left_off_note(left_off, sel.unit),
        scroll_region(
            scorecard_table(
                frame,
                cat,
                period=sel.period,
                level=sel.level,
                unit=sel.unit,
                children_hrefs=hrefs,
                notes=notes.notes_by_metric(sel.period, sel.level, sel.unit),
                overdue=plans.overdue_by_area(),
            ),
            label=f"CPIP scorecard, {long_month_label(sel.period)}, {sel.unit}",
        ),
        html.P(
            [
                *with_abbreviations(
                    "RAG uses the thresholds in force in the month's financial year. Direction compares with the "
                    "previous month in the KPI's own polarity. SPC icons show variation and assurance (Making Data "
                    "Count); they need at least 12 months of data, since the last rebase if there was one: until "
                    'then the SPC column says "Too few points" and how many months there are of the 12. '
                ),
                glossary_link(),
                ".",
            ],
            className="cpip-footnote",
            id="sc-footnote",
        ),
        html.P(
            comparator_note(per_load(queries.reference_authority), authorities.current().name),
            className="cpip-footnote",
            id="sc-comparator-note",
        ),
    ]


def layout(
    period: str | None = None,
    level: str | None = None,
    unit: str | None = None,
    view: str | None = None,
    **_other: str,
) -> list:
    return [
        *url_parts(PREFIX),
        html.Div(safely(lambda: build(period, level, unit, view), what="scorecard"), id="sc-page"),
    ]  # fmt: skip
