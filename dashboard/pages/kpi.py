"""One KPI: its monthly trend for an org unit, where the authority stands among all
councils (DfE's published comparators and the comparison chart), its definition,
its SPC chart and why each special point is special, the breakdown across the
units below, and the monthly numbers with a CSV download.

URL: `/kpi/iha_20wd?period=2023-07&level=service&unit=Children%20We%20Care%20For`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from dashboard import gate
from dashboard.components.badges import direction_badge, rag_chip
from dashboard.components.banners import notice
from dashboard.components.chart_block import chart_block
from dashboard.components.commentary import actions_table, event_form, events_list, note_card, note_current
from dashboard.components.comparators import (
    comparator_note,
    comparator_tiles,
    comparison_figure,
    comparison_table,
    england_by_period,
    year_label,
)
from dashboard.components.controls import Selection, refusal, resolve_selection, url_parts, url_sync, view_href
from dashboard.components.figures import breakdown_figure, trend_figure
from dashboard.components.format import format_fraction, format_target, format_value, long_month_label, month_label
from dashboard.components.glossary import glossary_link
from dashboard.components.spc_figure import (
    icon_word,
    icons_for,
    reason_words,
    spc_explanation,
    spc_figure,
    special_cause_rows,
)
from dashboard.components.tables import breakdown_table, monthly_table, scroll_region, spc_icon, spc_table
from dashboard.pages.common import no_data_message, page_header, per_load, remembered, safely, unit_controls
from etl.catalogue.contract import EXTRACT_TYPES
from etl.catalogue.metrics import Metric, Polarity, catalogue
from etl.catalogue.reference import INDICATORS
from etl.people import notes, plans
from etl.privacy import access, children
from etl.rules.calendar import add_months, financial_year_of, parse_period
from etl.rules.kpis import caveats_at
from etl.rules.spc import SPCResult
from etl.serve import queries
from etl.serve.safe_csv import to_csv_text
from etl.store import authority as authorities


def _title(metric_id: str | None = None, **_other: str) -> str:
    try:
        return f"{catalogue().metric(metric_id or '').label} · CPIP"
    except KeyError:
        return "KPI · CPIP"


dash.register_page(__name__, path_template="/kpi/<metric_id>", name="KPI", title=_title, order=1)

PREFIX = "kpi"
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kpi-page")
url_sync(PREFIX, ("period", "level", "unit"), resets={"unit": ["level"]})

POLARITY_WORDS = {
    Polarity.HIGHER: "Higher is better",
    Polarity.LOWER: "Lower is better",
    Polarity.MONITORED: "Monitored: neither higher nor lower is better (no RAG)",
}
CHILD_WORDS = {"la": "services", "area": "teams", "service": "teams"}


def source_words(source: str) -> str:
    """The type a KPI is counted from, in the contract's words (never its id)."""
    extract = EXTRACT_TYPES.get(source)
    return extract.source_words if extract is not None else source


def thresholds_text(metric: Metric, period: str) -> str:
    """The thresholds in force in the month, in words."""
    t = metric.thresholds_for(period)
    if t is None:
        return "None: this KPI is monitored, not rated."
    sign = "at or above" if metric.polarity is Polarity.HIGHER else "at or below"
    target = f"Target {format_target(t.target, metric.unit)}; " if t.target is not None else ""
    return (
        f"{target}Green {sign} {format_value(t.green, metric.unit)}, Amber {sign} "
        f"{format_value(t.amber, metric.unit)}, otherwise Red (financial year {financial_year_of(period)})."
    )


def definition(metric: Metric, period: str) -> html.Div:
    """What the KPI counts, in plain words, and who owns it."""
    items = [
        ("KPI", metric.name),
        ("Rule", metric.rule),
        ("Polarity", POLARITY_WORDS[metric.polarity]),
        ("Source", source_words(metric.source)),
        ("Owner", metric.owner),
        ("Thresholds", thresholds_text(metric, period)),
        ("Improvement area", metric.area),
    ]
    if metric.benchmark:
        indicator = INDICATORS[metric.benchmark]
        counterpart = f"{indicator.name} (DfE, {indicator.source})"
        # Where DfE counts something other than the KPI does, say what (issue 25).
        items.append(("Published counterpart", counterpart + (f". {indicator.counts}." if indicator.counts else "")))
    body = []
    for term, text in items:
        body += [html.Dt(term), html.Dd(text)]
    return html.Div(
        [html.H2("Definition", className="cpip-h2 mt-0"), html.Dl(body, className="cpip-definition")],
        className="cpip-card",
        id="kpi-definition",
    )


ENGLAND_LINE = "England (published, each year)"


def england_line(metric: Metric, periods: list[str]) -> dict[str, list[float | None]]:
    """The second reference line of the trend and SPC charts: England's published
    figure of each month's year, where the KPI has a counterpart."""
    if not metric.benchmark or not periods:
        return {}
    return {ENGLAND_LINE: england_by_period(periods, per_load(queries.england_by_year, metric.metric_id))}


def comparator_card(metric: Metric, period: str) -> html.Div | None:
    """Where the authority stands: its published figure, England, region, the median of
    its neighbours and its quartile band, then the comparison chart year by year."""
    if not metric.benchmark:
        return None
    frame = per_load(queries.comparators, period)
    rows = frame[frame["metric_id"] == metric.metric_id].to_dict("records")
    row = {**(rows[0] if rows else {}), "unit": metric.unit}
    authority = per_load(queries.reference_authority)
    name = (authority or {}).get("la_name") or "the authority"
    comparison = per_load(queries.comparison, metric.metric_id)
    indicator = INDICATORS[metric.benchmark]
    year = year_label(row.get("benchmark_year"))
    return html.Div(
        [
            html.H2(f"Where we stand among all councils{', ' + year if year else ''}", className="cpip-h2 mt-0"),
            comparator_tiles(row, authority),
            html.H3(
                f"{indicator.name}: {name} against its ten statistical neighbours and England", className="cpip-h3"
            ),
            chart_block(
                "kpi-comparison",
                comparison_figure(comparison, unit=metric.unit, authority_name=name, label="%"),
                label=f"{indicator.name}: {name}, its ten statistical neighbours and England, by year",
                table=comparison_table(comparison, unit=metric.unit, caption=f"{indicator.name}, by year to 31 March"),
                table_label="Show the comparison as a table",
                min_width=560,
                class_name="cpip-graph",
            ),
            html.P(
                comparator_note(authority, authorities.current().name) + f" Source: DfE, {indicator.source}.",
                className="cpip-footnote",
                id="kpi-comparator-note",
            ),
        ],
        className="cpip-card",
        id="kpi-comparator-card",
    )


def month_row(metric: Metric, series, period: str) -> dict:
    """The month's figure from the KPI's series, with the direction of travel
    against the month before (etl.serve.queries.direction_for)."""
    if series.empty:
        return {}
    by_period = {r["period"]: r for r in series.to_dict("records")}
    row = dict(by_period.get(period, {}))
    if not row:
        return {}
    previous = by_period.get(add_months(period, -1), {}).get("value")
    row["previous_value"] = previous
    row["direction"] = queries.direction_for(metric, row.get("value"), previous)
    return row


def headline(metric: Metric, row: dict | None, period: str) -> html.Div:
    """The month's figure: value, counts, target, RAG, direction."""
    row = row or {}
    value = row.get("value")
    tiles = [
        ("Value", html.Span(format_value(value, metric.unit), className="cpip-headline-value", id="kpi-value")),
        ("Numerator / denominator", format_fraction(row.get("numerator"), row.get("denominator"), metric.unit) or "–"),
        ("Target", format_target(row.get("target"), metric.unit)),
        ("RAG", rag_chip(row.get("rag"))),
        ("Since last month", direction_badge(row.get("direction"), value, row.get("previous_value"))),
    ]
    return html.Div(
        [
            html.Div([html.Div(label, className="cpip-tile-label"), html.Div(content)], className="cpip-tile")
            for label, content in tiles
        ],
        className="cpip-tiles",
        role="group",
        **{"aria-label": f"{metric.label}, {long_month_label(period)}"},
    )


def spc_icons(result: SPCResult) -> html.Div:
    """The variation and assurance icons for the latest month, each with its
    caption (the alt text says it in full), or in words why there are none."""
    kinds = [kind for kind in icons_for(result) if kind]
    items: list = [
        html.Figure(
            [spc_icon(kind, size=52), html.Figcaption(icon_word(kind), className="cpip-footnote mb-0")],
            className="m-0 text-center",
            style={"maxWidth": "9rem"},
        )
        for kind in kinds
    ]
    if not kinds:
        why = reason_words(result.reason) or "No data"
        items.append(html.P(f"No variation or assurance icons: {why[:1].lower() + why[1:]}.", className="mb-0"))
    elif result.assurance_reason:
        items.append(html.P(f"No assurance icon: {result.assurance_reason}.", className="cpip-footnote mb-0"))
    return html.Div(
        items,
        className="d-flex flex-wrap align-items-start",
        style={"gap": "16px"},
        id="kpi-spc-icons",
        role="group",
        **{"aria-label": "Variation and assurance for the latest month"},
    )


def chart_words(result: SPCResult) -> str:
    """Which chart, over which months: "p-chart (limits from each month's cases), May 2020 to Jul 2023"."""
    if not result.period:
        return ""
    kind = "p-chart (limits from each month's cases)" if result.chart == "p" else "XmR chart (individual values)"
    return f"{kind}, {month_label(result.period[0])} to {month_label(result.period[-1])}"


def special_points(result: SPCResult, unit: str) -> html.Div:
    """Why each special point is special: the month, its value and class, the rules it met."""
    rows = special_cause_rows(result)
    if not rows:
        return html.P("No month is special cause: every point is common cause variation.", className="cpip-footnote",
                      id="kpi-spc-rules-none")  # fmt: skip
    body = [
        html.Tr(
            [
                html.Th(month_label(r["period"]) if len(r["period"]) == 7 else r["period"], scope="row"),
                html.Td(format_value(r["value"], unit), className="cpip-num"),
                html.Td(r["class"]),
                html.Td("; ".join(r["rules"])),
            ]
        )
        for r in reversed(rows)
    ]
    table = html.Table(
        [
            html.Caption("Why each special-cause month is special (newest first)"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Month", "Value", "Variation", "Rule met")])),
            html.Tbody(body),
        ],
        className="table table-sm cpip-table cpip-spc-rules",
        id="kpi-spc-rules",
    )
    region = scroll_region(table, label="Why each special-cause month is special", plain=True)
    # A long list (a p-chart after a shift marks most months) folds away; a short one is open.
    return html.Details(
        [html.Summary(f"Why each special-cause month is special: {len(rows)} month{'s' if len(rows) != 1 else ''}"),
         region],
        open=len(rows) <= 8,
        id="kpi-spc-rules-box",
    )  # fmt: skip


def spc_card(
    metric: Metric, result: SPCResult, unit_name: str, period: str, events: list | tuple = (), *, level: str = ""
) -> html.Div:
    """The Making Data Count view: the icons, the chart and what it means in words."""
    reasons = {r.period: r.reason for r in metric.rebase}
    # The title and subtitle are the card's heading and first line, in HTML: inside
    # the chart a narrow screen cut them off ("...statistical process cor").
    figure = remembered(
        ("spc", metric.metric_id, level, unit_name, period, tuple(events)),
        lambda: spc_figure(
            result,
            title="",
            unit=metric.unit,
            polarity=str(metric.polarity),
            rebase_reasons=reasons,
            show_icons=False,  # drawn beside the chart as images with alt text instead
            subtitle="",
            events=events,
            references=england_line(metric, list(result.period)),
        ),
    )
    label = f"{metric.label}: statistical process control chart, {unit_name}"
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H2(
                                f"Statistical process control, {unit_name}, to {month_label(period)}",
                                className="cpip-h2 mt-0",
                            ),
                            html.P(chart_words(result), className="cpip-footnote mt-0", id="kpi-spc-kind"),
                        ]
                    ),
                    spc_icons(result),
                ],
                className="d-flex flex-wrap justify-content-between align-items-start",
                style={"gap": "12px"},
            ),
            chart_block(
                "kpi-spc",
                figure,
                label=label,
                table=spc_table(result, metric.unit, caption=f"{label}: each month's class and the rule it met"),
                table_label="Show the SPC chart as a table",
                min_width=600,
                class_name="cpip-graph",
            ),
            html.P(spc_explanation(result, unit=metric.unit, rebase_reasons=reasons), className="cpip-footnote",
                   id="kpi-spc-note"),
            special_points(result, metric.unit),
            html.P(glossary_link("What special cause, assurance and hit and miss mean"), className="cpip-footnote"),
        ],
        className="cpip-card",
        id="kpi-spc-card",
    )  # fmt: skip


def actions_card(metric: Metric) -> html.Div:
    """The Practice Action Plan actions meant to move this KPI."""
    on = plans.judged_on()
    return html.Div(
        [
            html.H2("Actions meant to move this KPI", className="cpip-h2 mt-0"),
            scroll_region(actions_table(
                plans.actions_for_metric(metric.metric_id), on,
                caption=f"Practice Action Plan actions, overdue judged on {on:%-d %B %Y}", table_id="kpi-actions",
            ), label="Actions meant to move this KPI", plain=True),
            dcc.Link("All Practice Action Plans", href="/plans", className="cpip-footnote"),
        ],
        className="cpip-card",
        id="kpi-actions-card",
    )  # fmt: skip


def children_link(metric: Metric, period: str, level: str, unit: str) -> list:
    """A link to the children behind the month's figure, for a record-level KPI,
    when the viewer may open this unit's child lists (the query layer's answer)."""
    if not children.is_record_level(metric) or not children.may_list(level, unit):
        return []
    href = children.list_address(metric.metric_id, period, level, unit)
    return [html.A("Children behind this figure", href=href, className="btn btn-primary btn-sm", id="kpi-children")]


def not_found(metric_id: str | None) -> list:
    return [
        page_header("KPI not found"),
        notice(
            [f"There is no KPI called {metric_id!s}. Choose one from the scorecard."],
            title="Not found",
            kind="info",
        ),
        dcc.Link("Back to the scorecard", href="/"),
    ]


def header(metric: Metric, sel: Selection) -> list:
    """The page's heading with its links, the month and unit controls, and what of the address was not understood."""
    return [
        page_header(
            metric.label,
            f"{sel.unit} · {long_month_label(sel.period)}",
            actions=[
                *children_link(metric, sel.period, sel.level, sel.unit),
                dcc.Link(
                    "← Back to the scorecard",
                    href=view_href("/", sel.period, sel.level, sel.unit),
                    className="btn btn-outline-primary btn-sm",
                    id="kpi-back",
                ),
            ],
        ),
        html.Div(
            unit_controls(PREFIX, sel),
            className="cpip-controls d-print-none",
            role="group",
            **{"aria-label": "Choose the month and org unit"},
        ),
        notice(sel.notes, title="Some of the address was not understood", kind="info"),
        # Figures that may be incomplete (docs/spec/windows.md): possibly undercounted, partly covered.
        notice(
            [w for m, w in per_load(caveats_at, sel.period).items() if m == metric.metric_id],
            title="This figure may be incomplete",
            kind="info",
            banner_id="kpi-caveat",
        ),
    ]


def trend_card(metric: Metric, sel: Selection, shown, events: list) -> html.Div:
    """The monthly trend with the events on it and the form to add one, beside the KPI's definition."""
    marks = [(e.event_date, e.label) for e in events]
    trend = remembered(
        ("trend", metric.metric_id, sel.level, sel.unit, sel.period, tuple(marks)),
        lambda: trend_figure(
            shown, metric, events=marks, references=england_line(metric, [str(p) for p in shown["period"]])
        ),
    )
    months = list(shown["period"]) if not shown.empty else [sel.period]
    first_day, last_day = parse_period(str(months[0])[:7]), add_months(sel.period, 1)
    shown_events = events_list(
        events,
        [(r.period, r.reason) for r in metric.rebase if months[0] <= r.period <= sel.period],
        first=first_day,
        last=parse_period(last_day),
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H2(f"Monthly trend, {sel.unit}", className="cpip-h2 mt-0"),
                    chart_block(
                        "kpi-trend",
                        trend,
                        label=f"Monthly trend of {metric.label}, {sel.unit}",
                        min_width=560,
                        class_name="cpip-graph",
                        note=html.P(
                            html.A("The chart's figures are in the Monthly numbers table", href="#kpi-monthly"),
                            className="cpip-footnote mb-0",
                        ),
                    ),
                    html.P(
                        "Shaded bands show the RAG thresholds in force each financial year; the dashed line is "
                        "the target; the purple dotted line, where the KPI has a published counterpart, is "
                        "England's figure of each year; dotted vertical lines mark the start of each financial "
                        "year.",
                        className="cpip-footnote",
                    ),
                    shown_events,
                    event_form(metric.metric_id, may_edit=notes.may_edit_plans()),
                ],
                className="cpip-card",
            ),
            definition(metric, sel.period),
        ],
        className="cpip-two-col",
    )


def breakdown_card(metric: Metric, sel: Selection, below) -> html.Div:
    """The chosen month across the units one level down, each a link to its own trend."""
    child = CHILD_WORDS[sel.level]
    child_level = "team" if child == "teams" else "service"
    links = []
    for i, name in enumerate(below["org_unit"]):
        links += [", "] if i else []
        links.append(
            dcc.Link(name, href=view_href(f"/kpi/{metric.metric_id}", sel.period, child_level, name),
                     className="cpip-unit-link")
        )  # fmt: skip
    return html.Div(
        [
            html.H2(f"{month_label(sel.period)} across the {child} of {sel.unit}", className="cpip-h2 mt-0"),
            html.P(
                "Sorted best first; each bar gives the value, the counts and the RAG. Choose a bar, or a "
                "name below, to see its trend.",
                className="cpip-footnote",
            ),
            chart_block(
                "kpi-breakdown",
                breakdown_figure(below, metric, period=sel.period),
                label=f"{metric.label}, {month_label(sel.period)}, across the {child} of {sel.unit}",
                table=breakdown_table(
                    below,
                    metric,
                    caption=f"{metric.label}, {month_label(sel.period)}, across the {child} of {sel.unit}",
                    unit_word=child_level,
                ),
                table_label="Show the bars as a table",
                min_width=560,
            ),
            dcc.Store(
                id="kpi-breakdown-target",
                data={"metric_id": metric.metric_id, "period": sel.period, "level": child_level},
            ),
            html.P(
                [f"Open a {child_level}'s trend: ", *links],
                className="cpip-team-links",
                id="kpi-breakdown-links",
            ),
        ],
        className="cpip-card",
    )


def monthly_card(metric: Metric, sel: Selection, shown) -> html.Div:
    """The trend's figures as a table, with its CSV download."""
    return html.Div(
        [
            html.Div(
                [
                    html.H2("Monthly numbers", className="cpip-h2 mt-0"),
                    html.Button(
                        "Download CSV",
                        id="kpi-download-btn",
                        className="btn btn-outline-primary btn-sm cpip-download",
                    ),
                ],
                className="cpip-page-header",
            ),
            dcc.Download(id="kpi-download"),
            dcc.Store(
                id="kpi-params",
                data={"metric_id": metric.metric_id, "level": sel.level, "unit": sel.unit, "period": sel.period},
            ),
            scroll_region(
                monthly_table(shown, metric.unit, caption=f"{metric.label}, {sel.unit}, by month", rated=metric.rated),
                label=f"Monthly numbers of {metric.label}, {sel.unit}",
                region_id="kpi-monthly",
            ),
        ],
        className="cpip-card",
    )


def build(metric_id: str | None, period: str | None, level: str | None, unit: str | None) -> list:
    try:
        metric = catalogue().metric(metric_id or "")
    except KeyError:
        return not_found(metric_id)
    sel = resolve_selection(
        period, level, unit, periods=per_load(queries.periods), units_at=lambda lv: per_load(queries.units_at, lv)
    )
    if sel.period is None or sel.unit is None:
        return [page_header(metric.label), no_data_message()]
    # The trend and the breakdown are independent queries, each on its own
    # read-only connection: run them side by side (DuckDB releases the GIL).
    below_job = (
        _POOL.submit(queries.breakdown, metric.metric_id, sel.period, sel.level, sel.unit)
        if sel.level != "team"
        else None
    )
    series = queries.series(metric.metric_id, sel.level, sel.unit)
    # The same months the trend shows, judged as the scorecard's icons judge them.
    spc_result = queries.spc_of_series(metric.metric_id, series, period=sel.period)
    # The trend runs from the first month with data to the chosen month.
    shown = series[series["period"] <= sel.period] if not series.empty else series
    events = notes.events_for(metric.metric_id)
    parts = [
        *header(metric, sel),
        headline(metric, month_row(metric, series, sel.period), sel.period),
        trend_card(metric, sel, shown, events),
        note_card(
            notes.note_history(metric.metric_id, sel.period, sel.level, sel.unit),
            period=sel.period,
            unit=sel.unit,
            may_write=notes.may_write(sel.level, sel.unit),
            params={"metric_id": metric.metric_id, "period": sel.period, "level": sel.level, "unit": sel.unit},
        ),
        comparator_card(metric, sel.period),
        spc_card(metric, spc_result, sel.unit, sel.period, [(e.event_date, e.label) for e in events], level=sel.level),
        actions_card(metric),
    ]
    if below_job is not None:
        parts.append(breakdown_card(metric, sel, below_job.result()))
    parts.append(monthly_card(metric, sel, shown))
    return parts


def layout(
    metric_id: str | None = None,
    period: str | None = None,
    level: str | None = None,
    unit: str | None = None,
    **_other: str,
) -> list:
    # Dash builds its validation layout by calling layout() with no arguments:
    # give it a real KPI so that every component id the callbacks use is there.
    metric_id = metric_id or catalogue().ids[0]
    return [
        *url_parts(PREFIX),
        dcc.Location(id="kpi-go", refresh="callback-nav"),
        html.Div(safely(lambda: build(metric_id, period, level, unit), what="KPI page"), id="kpi-page"),
    ]


def csv_frame(metric_id: str, level: str, unit: str, period: str | None = None):
    """The monthly numbers as the CSV gives them (up to the month on screen)."""
    metric = catalogue().metric(metric_id)
    frame = queries.series(metric_id, level, unit)
    if period:
        frame = frame[frame["period"] <= period]
    out = frame[["period", "numerator", "denominator", "value", "target", "rag"]].copy()
    out.insert(0, "org_unit", unit)
    out.insert(0, "level", level)
    out.insert(0, "metric_id", metric_id)
    if metric.unit == "count":
        out["denominator"] = None
    out["value"] = out["value"].round(1)
    return out


@callback(
    Output("kpi-download", "data"),
    Input("kpi-download-btn", "n_clicks"),
    State("kpi-params", "data"),
    prevent_initial_call=True,
)
def download_csv(n_clicks: int | None, params: dict | None):
    """The monthly numbers as CSV, written so that no cell can run as a formula
    (etl.serve.safe_csv): an org unit named `=HYPERLINK(...)` arrives as text."""
    if not n_clicks or not params:
        return no_update
    params = gate.callback_params(params, "metric_id", "level", "unit")
    try:
        frame = csv_frame(params["metric_id"], params["level"], params["unit"], params.get("period"))
    except (ValueError, LookupError) as exc:  # a hand-made request naming no real KPI, level or unit
        raise gate.MalformedRequest(f"The CSV could not be made: {exc}") from None
    safe_unit = "".join(c if c.isalnum() else "-" for c in params["unit"] or "").strip("-").lower()
    return {
        "content": to_csv_text(frame),
        "filename": f"{params['metric_id']}_{safe_unit}.csv",
        "type": "text/csv",
    }


@callback(
    Output("note-current", "children"),
    Output("note-message", "children"),
    Input("note-save", "n_clicks"),
    State("note-text", "value"),
    State("note-params", "data"),
    prevent_initial_call=True,
)
def save_note(n_clicks: int | None, text: str | None, params: dict | None):
    """Save the note as a new version; the gate lets only roles that may write notes
    this far, and etl.people.notes checks the unit against the viewer's."""
    if not n_clicks or not params:
        return no_update, no_update
    params = gate.callback_params(params, "metric_id", "period", "level", "unit")
    try:
        note = notes.write_note(
            params["metric_id"], params["period"], params["level"], params["unit"], text or "",
            author=notes.current_author(),
        )  # fmt: skip
    except (ValueError, access.AccessDenied) as exc:
        return no_update, f"Not saved: {exc}"
    history = notes.note_history(params["metric_id"], params["period"], params["level"], params["unit"])
    saved = f"Saved (version {note.version})." if note.version > 1 else "Saved."
    return note_current(history, period=params["period"], unit=params["unit"]), saved


@callback(
    Output("plan-edit-event-message", "children"),
    Input("plan-edit-event-add", "n_clicks"),
    State("plan-edit-event-date", "value"),
    State("plan-edit-event-label", "value"),
    State("plan-edit-event-metric", "data"),
    prevent_initial_call=True,
)
def add_event(n_clicks: int | None, day: str | None, label: str | None, metric_id: str | None):
    """Add a KPI's event (the gate lets only analysts and the board this far; etl.people.notes checks again)."""
    if not n_clicks or not metric_id:
        return no_update
    if not day:  # the date box is marked invalid and takes focus (controls.refusal)
        return refusal("Not added: choose the date it happened.", "plan-edit-event-date")
    if not isinstance(metric_id, str) or not isinstance(day, str) or not isinstance(label, str | None):
        raise gate.MalformedRequest(gate.MALFORMED_CALLBACK)
    try:
        notes.add_event(metric_id, day, label or "", author=notes.current_author())
    except (ValueError, access.AccessDenied) as exc:
        return f"Not added: {exc}"
    return f"Added {day}: {(label or '').strip()}. It is drawn on the charts when the page is next opened."


# Clicking a bar of the breakdown opens that service's or team's trend for the
# same KPI and month (the links under the chart do the same by keyboard).
clientside_callback(
    """
    function(click, target) {
        if (!click || !click.points || !click.points.length || !target) { return window.dash_clientside.no_update; }
        const query = new URLSearchParams({period: target.period, level: target.level, unit: click.points[0].y});
        return "/kpi/" + target.metric_id + "?" + query.toString().replace(/\\+/g, "%20");
    }
    """,
    Output("kpi-go", "href"),
    Input("kpi-breakdown", "clickData"),
    State("kpi-breakdown-target", "data"),
    prevent_initial_call=True,
)
