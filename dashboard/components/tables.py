"""Tables as semantic HTML (caption, column and row headers), built from the
frames etl.serve.queries returns. Plain tables print well, read well to a screen
reader, and need no script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

import pandas as pd
from dash import dcc, html

from dashboard.components.badges import direction_badge, rag_chip, rag_word
from dashboard.components.commentary import note_marker
from dashboard.components.comparators import SCORECARD_COMPARATOR_HEADERS, comparator_cells
from dashboard.components.controls import view_href
from dashboard.components.format import format_denominator, format_fraction, format_target, format_value, month_label
from dashboard.components.glossary import with_abbreviations
from dashboard.components.sparkline import sparkline_src
from dashboard.components.spc_figure import POINT_STYLES, icon_data_uri, icon_text, icon_word, reason_words, rule_words
from etl.catalogue.contract import EXTRACT_TYPES
from etl.catalogue.metrics import Catalogue, Metric, Polarity, catalogue
from etl.people.notes import Note
from etl.rules.spc import SPCResult
from etl.serve.rag import SMALL


def scroll_region(table, *, label: str, region_id: str | None = None, plain: bool = False) -> html.Div:
    """A table's box, which scrolls sideways when the table is wider than the
    screen (at 320 CSS px most are). It is a named region that takes focus, so
    a keyboard user can scroll it with the arrow keys (WCAG 2.1.1; axe
    `scrollable-region-focusable`) and a screen reader says what it holds.
    `plain` drops the border, for a table inside a card."""
    props = {"id": region_id} if region_id else {}
    return html.Div(
        table,
        className="cpip-scroll" + (" cpip-scroll-plain" if plain else ""),
        tabIndex="0",
        role="region",
        **{"aria-label": label},
        **props,
    )


def _num(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def spc_icon(kind: str, *, size: int = 30) -> html.Img:
    """A Making Data Count icon as an <img> (an inline data URI: it prints, and
    needs no app context) whose alt text is the icon in words."""
    text = icon_text(kind)
    return html.Img(
        src=icon_data_uri(kind), alt=text, title=text, width=size, height=size, className=f"cpip-spc-icon spc-{kind}"
    )


def spc_cell(row: Mapping) -> html.Td:
    """The Making Data Count variation and assurance icons beside the RAG, from
    the scorecard frame's `variation_icon` and `assurance_icon` (their words are
    the alt text, and are printed under the icons on paper); the reason in words
    when there are none ("Too few points (8 of 12)")."""
    variation = str(row.get("variation") or "")
    assurance = str(row.get("assurance") or "")
    kinds = [str(row.get(k) or "") for k in ("variation_icon", "assurance_icon")]
    kinds = [k for k in kinds if k]
    data = {"data-variation": variation, "data-assurance": assurance}
    if not kinds:
        note = str(row.get("spc_note") or "")
        words = reason_words(note)
        if not words or words == "No data":
            # The RAG already says "No data"; a dash, with the reason kept for a screen reader.
            return html.Td(
                ["–", html.Span(" No SPC icons: no data", className="visually-hidden")], className="cpip-spc", **data
            )
        # The words in full, not in a mouse-only tooltip; the scorecard's footnote explains them.
        return html.Td(words, className="cpip-spc", **data)
    return html.Td(
        [
            html.Span([spc_icon(k) for k in kinds], className="d-inline-flex", style={"gap": "4px"}),
            # Paper has no hover and no screen reader: print the short words under the icons.
            html.Div(
                " · ".join(icon_word(k) for k in kinds), className="d-none d-print-block", **{"aria-hidden": "true"}
            ),
        ],
        className="cpip-spc",
        **data,
    )


SCORECARD_HEADERS = (
    ("KPI", "cpip-col-kpi"),
    ("Value", "cpip-num-head"),
    ("Numerator / denominator", "cpip-num-head"),
    ("Target", "cpip-num-head"),
    ("RAG", ""),
    ("Since last month", ""),
    ("Last 12 months", ""),
    *SCORECARD_COMPARATOR_HEADERS,
    ("SPC", ""),
)


def _the_extract(source: str) -> str:
    """The type a KPI source needs, in the contract's words, for "No data: ... would bring it"."""
    extract = EXTRACT_TYPES.get(source)
    return extract.the_words if extract is not None else "its extract"


def small_numbers_words(row: dict) -> str:
    """Why a figure has no colour: "Small numbers: 3 in the count, fewer than the 5 a rating needs"."""
    need = catalogue().metric(row["metric_id"]).min_denominator
    den = _num(row.get("denominator"))
    many = f"{den:,.0f}" if den is not None else "too few"
    return (
        f"Small numbers: {many} counted, fewer than the {need} a RAG rating needs, so the figure is shown "
        "without a colour and left out of the Red and Amber counts."
    )


def scorecard_row(
    row: Mapping,
    *,
    period: str,
    level: str,
    unit: str,
    children_href: str | None = None,
    source: str | None = None,
    note: Note | None = None,
) -> html.Tr:
    """One KPI: name (a link to its trend page for the same unit and month; and to
    the children behind the figure when `children_href` is given), value, counts,
    target, RAG chip, direction, sparkline, published comparators, SPC. With no value, the
    KPI's `source` says which extract would bring it: the scorecard leaves off the
    KPIs that are not the unit's work, so "No data" means the data is missing."""
    unit_kind = row["unit"]
    value, previous = _num(row.get("value")), _num(row.get("previous_value"))
    spark = list(row.get("sparkline") or [])
    known = [v for v in spark if _num(v) is not None]
    alt = (
        f"Last 12 months from {format_value(known[0], unit_kind)} to {format_value(known[-1], unit_kind)}"
        if known
        else "No data in the last 12 months"
    )
    name = row.get("short_name") or row.get("metric_name")
    return html.Tr(
        [
            html.Th(
                [
                    dcc.Link(
                        with_abbreviations(name),
                        href=view_href(f"/kpi/{row['metric_id']}", period, level, unit),
                        className="cpip-kpi-link",
                        id=f"sc-link-{row['metric_id']}",
                    ),
                    html.Div(row.get("metric_name"), className="cpip-kpi-full")
                    if name != row.get("metric_name")
                    else None,
                    html.Div(
                        f"No data for this month: {_the_extract(source)} would bring it.",
                        className="cpip-kpi-full cpip-kpi-missing",
                    )
                    if value is None and source
                    else None,
                    html.Div(small_numbers_words(row), className="cpip-kpi-note", id=f"sc-small-{row['metric_id']}")
                    if row.get("rag") == SMALL
                    else None,
                    # How the figure is pooled, where a reader needs telling (an area and a service's own row).
                    html.Div(f"This figure {row['note']}.", className="cpip-kpi-note")
                    if isinstance(row.get("note"), str) and row.get("note")
                    else None,
                    html.A(
                        "Children behind this figure",
                        href=children_href,
                        className="cpip-children-link d-print-none",
                        id=f"sc-children-{row['metric_id']}",
                    )
                    if children_href
                    else None,
                    note_marker(note, row["metric_id"]),
                ],
                scope="row",
                className="cpip-col-kpi",
            ),
            html.Td(format_value(value, unit_kind), className="cpip-num cpip-value"),
            html.Td(
                format_fraction(row.get("numerator"), row.get("denominator"), unit_kind) or "–", className="cpip-num"
            ),
            html.Td(format_target(row.get("target"), unit_kind), className="cpip-num"),
            html.Td(rag_chip(row.get("rag"))),
            html.Td(direction_badge(row.get("direction"), value, previous)),
            html.Td(html.Img(src=sparkline_src(spark), alt=alt, width=120, height=28, className="cpip-spark")),
            *comparator_cells(row),
            spc_cell(row),
        ],
        className=f"cpip-sc-row cpip-row-{rag_word(row.get('rag')).lower().replace(' ', '-')}",
        id=f"sc-row-{row['metric_id']}",
    )


def scorecard_table(
    frame: pd.DataFrame,
    catalogue: Catalogue,
    *,
    period: str,
    level: str,
    unit: str,
    children_hrefs: Mapping[str, str] | None = None,
    notes: Mapping[str, Note] | None = None,
    overdue: Mapping[str, int] | None = None,
) -> html.Table:
    """The scorecard: KPIs grouped under the improvement areas in catalogue
    order, one <tbody> per area headed by the area's name; `children_hrefs`
    (metric_id -> address) links a row to the children behind its figure; `notes`
    (metric_id -> the month's note) marks a row with its note; `overdue` (area ->
    count) says in an area's heading how many of its plan's actions are overdue."""
    records = frame.to_dict("records")
    hrefs = children_hrefs or {}
    sources = {m.metric_id: m.source for m in catalogue.metrics}

    def row_of(r: Mapping) -> html.Tr:
        return scorecard_row(
            r,
            period=period,
            level=level,
            unit=unit,
            children_href=hrefs.get(r["metric_id"]),
            source=sources.get(r["metric_id"]),
            note=(notes or {}).get(r["metric_id"]),
        )

    bodies = []
    for number, area in enumerate(catalogue.areas, start=1):
        rows = [r for r in records if r["area"] == area]
        if not rows:
            continue
        late = (overdue or {}).get(area, 0)
        flag = (
            [" ", dcc.Link(f"{late} overdue action{'s' if late != 1 else ''}", href=f"/plans?area={quote(area)}",
                           className="cpip-overdue-flag", id=f"sc-overdue-{number}")]
            if late else []
        )  # fmt: skip
        # A real heading in the header cell, so a screen reader's heading list has the areas.
        heading = html.Tr(
            html.Th(
                [html.H2(with_abbreviations(f"{number}. {area}"), className="cpip-area-heading"), *flag],
                colSpan=len(SCORECARD_HEADERS),
                scope="colgroup",
                className="cpip-area",
            ),
            className="cpip-area-row",
        )
        bodies.append(html.Tbody([heading, *(row_of(r) for r in rows)]))
    return html.Table(
        [
            html.Caption(f"CPIP scorecard, {month_label(period)}, {unit}", className="visually-hidden"),
            html.Thead(
                html.Tr([html.Th(with_abbreviations(h), scope="col", className=c) for h, c in SCORECARD_HEADERS])
            ),
            *bodies,
        ],
        className="table cpip-table cpip-scorecard",
        id="sc-table",
    )


def monthly_table(series_df: pd.DataFrame, unit: str, *, caption: str, rated: bool = True) -> html.Table:
    """The KPI's monthly numbers, newest first: month, value, numerator,
    denominator, target, RAG."""
    head = ["Month", "Value", "Numerator", "Denominator", "Target"] + (["RAG"] if rated else [])
    head_class = ["", "cpip-num-head", "cpip-num-head", "cpip-num-head", "cpip-num-head", ""]
    rows = []
    for r in series_df.iloc[::-1].to_dict("records"):
        cells = [
            html.Th(month_label(str(r["period"])[:7]), scope="row"),
            html.Td(format_value(r.get("value"), unit), className="cpip-num"),
            html.Td(
                format_value(r.get("numerator"), "count") if _num(r.get("numerator")) is not None else "–",
                className="cpip-num",
            ),
            html.Td(
                format_denominator(r.get("denominator"), unit) if _num(r.get("denominator")) is not None else "–",
                className="cpip-num",
            ),
            html.Td(format_target(r.get("target"), unit), className="cpip-num"),
        ]
        if rated:
            cells.append(html.Td(rag_chip(r.get("rag"), small=True)))
        rows.append(html.Tr(cells))
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col", className=c) for h, c in zip(head, head_class, strict=False)])),
            html.Tbody(rows),
        ],
        className="table table-sm cpip-table cpip-monthly",
    )


def team_grid_table(
    grid_df: pd.DataFrame, catalogue: Catalogue, *, period: str, metric_ids: Sequence[str] | None = None
) -> html.Table:
    """Team by KPI for one month: a column per team (its name opens the
    scorecard at that team), a row per KPI in catalogue order, the RAG word and
    the value in each cell. KPIs run down the page so their names stay readable
    however many teams there are."""
    ids = list(metric_ids or catalogue.ids)
    metrics = {m.metric_id: m for m in catalogue.metrics}
    cells = {(r["team"], r["metric_id"]): r for r in grid_df.to_dict("records")}
    teams = list(dict.fromkeys(grid_df["team"])) if not grid_df.empty else []
    head = html.Thead(
        html.Tr(
            [html.Th("KPI", scope="col", className="cpip-grid-kpi-head")]
            + [
                html.Th(
                    dcc.Link(
                        team,
                        href=view_href("/", period, "team", team),
                        className="cpip-team-link",
                        id={"type": "tm-team-link", "team": team},
                    ),
                    scope="col",
                    className="cpip-grid-team",
                )
                for team in teams
            ]
        )
    )
    body = []
    for i in ids:
        metric = metrics[i]
        row_cells = [html.Th(with_abbreviations(metric.label), scope="row", className="cpip-grid-kpi")]
        for team in teams:
            r = cells.get((team, i), {})
            row_cells.append(
                html.Td(
                    [
                        rag_chip(r.get("rag"), small=True) if metric.rated else None,
                        # the chip already says "No data"; a value is shown only when there is one
                        html.Span(format_value(r.get("value"), metric.unit), className="cpip-grid-value")
                        if _num(r.get("value")) is not None or not metric.rated
                        else None,
                    ],
                    className="cpip-grid-cell",
                )
            )
        body.append(html.Tr(row_cells))
    return html.Table(
        [
            html.Caption(f"RAG by KPI and team, {month_label(period)}", className="visually-hidden"),
            head,
            html.Tbody(body),
        ],
        className="table table-sm cpip-table cpip-grid",
        id="tm-grid",
    )


AUDIT_HEADERS = ("Total audits", "Total moderations", "Outstanding", "Good", "Requires Improvement", "Inadequate")


def _pct(value: object) -> str:
    v = _num(value)
    return "–" if v is None else f"{v:.0f}%"


def audit_table(audit_df: pd.DataFrame, *, caption: str, by: str) -> html.Table:
    """The audit table in the published report's form: total audits, total
    moderations, then the share of moderated audits in each grade."""
    rows = []
    for r in audit_df.to_dict("records"):
        label = month_label(str(r["period"])) if by == "month" else str(r["period"])
        rows.append(
            html.Tr(
                [
                    html.Th(label, scope="row"),
                    html.Td(format_value(r.get("audits"), "count"), className="cpip-num"),
                    html.Td(format_value(r.get("moderated"), "count"), className="cpip-num"),
                    html.Td(_pct(r.get("outstanding_pct")), className="cpip-num"),
                    html.Td(_pct(r.get("good_pct")), className="cpip-num"),
                    html.Td(_pct(r.get("requires_improvement_pct")), className="cpip-num"),
                    html.Td(_pct(r.get("inadequate_pct")), className="cpip-num"),
                ]
            )
        )
    first = "Month" if by == "month" else "Quarter"
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(
                html.Tr(
                    [html.Th(first, scope="col")]
                    + [html.Th(h, scope="col", className="cpip-num-head") for h in AUDIT_HEADERS]
                )
            ),
            html.Tbody(rows),
        ],
        className="table table-sm cpip-table cpip-audits",
        id=f"au-table-{by}",
    )


# ---------------------------------------------------------------- charts as tables
# Each chart's data as a table a screen reader can walk (WCAG 1.1.1, 1.3.1):
# components/chart_block.py puts it under the chart behind "Show as a table".


def _period(value: object) -> str:
    text = str(value)
    return text[:7] if len(text) >= 7 else text


def heatmap_table(matrix_df: pd.DataFrame, metric: Metric, *, caption: str) -> html.Table:
    """The heatmap's cells: a row per team (A first), a column per month, the
    value and RAG word in each cell (or "No data")."""
    if matrix_df is None or matrix_df.empty:
        return html.Table(html.Caption(caption), className="table table-sm cpip-table")
    frame = matrix_df.rename(columns={"org_unit": "team"}) if "team" not in matrix_df else matrix_df
    periods = sorted({_period(p) for p in frame["period"]})
    teams = sorted(dict.fromkeys(frame["team"]))
    cells = {(r["team"], _period(r["period"])): r for r in frame.to_dict("records")}
    body = []
    for team in teams:
        row_cells: list = [html.Th(team, scope="row")]
        for p in periods:
            r = cells.get((team, p), {})
            if _num(r.get("value")) is None:
                row_cells.append(html.Td("No data", className="cpip-num cpip-muted"))
                continue
            words = format_value(r.get("value"), metric.unit) + (f", {rag_word(r.get('rag'))}" if metric.rated else "")
            row_cells.append(html.Td(words, className="cpip-num"))
        body.append(html.Tr(row_cells))
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(
                html.Tr(
                    [html.Th("Team", scope="col")]
                    + [html.Th(month_label(p), scope="col", className="cpip-num-head") for p in periods]
                )
            ),
            html.Tbody(body),
        ],
        className="table table-sm cpip-table cpip-chart-table",
        id="tm-heatmap-table",
    )


def spc_table(result: SPCResult, unit: str, *, caption: str) -> html.Table:
    """The SPC chart point by point: month, value, mean, process limits, the
    point's class and the rule it met."""
    head = ["Month", "Value", "Mean", "Lower limit", "Upper limit", "Variation", "Rule met"]
    rows = []
    for i, period in enumerate(result.period):
        value = float(result.value[i])
        if value != value:
            continue
        cls = result.point_class[i]
        label = month_label(period) if len(period) == 7 and period[4] == "-" else period
        rows.append(
            html.Tr(
                [
                    html.Th(label, scope="row"),
                    html.Td(format_value(value, unit), className="cpip-num"),
                    html.Td(format_value(float(result.mean[i]), unit), className="cpip-num"),
                    html.Td(format_value(float(result.lower[i]), unit), className="cpip-num"),
                    html.Td(format_value(float(result.upper[i]), unit), className="cpip-num"),
                    html.Td(POINT_STYLES[cls].legend if cls in POINT_STYLES else "–"),
                    html.Td(rule_words(result.rules[i]) or "–"),
                ],
                className="cpip-spc-point",
            )
        )
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
            html.Tbody(rows),
        ],
        className="table table-sm cpip-table cpip-chart-table",
        id="kpi-spc-table",
    )


def breakdown_table(breakdown_df: pd.DataFrame, metric: Metric, *, caption: str, unit_word: str) -> html.Table:
    """The breakdown bars, best first as the chart draws them: each unit's
    value, counts and RAG word."""
    frame = breakdown_df.copy() if breakdown_df is not None else pd.DataFrame()
    rows = []
    if not frame.empty:
        frame["_v"] = [_num(v) for v in frame["value"]]
        frame = frame.sort_values("_v", ascending=metric.polarity is Polarity.LOWER, na_position="last")
        for r in frame.to_dict("records"):
            cells = [
                html.Th(str(r["org_unit"]), scope="row"),
                html.Td(format_value(r.get("value"), metric.unit), className="cpip-num"),
                html.Td(
                    format_fraction(r.get("numerator"), r.get("denominator"), metric.unit) or "–",
                    className="cpip-num",
                ),
            ]
            if metric.rated:
                cells.append(html.Td(rag_word(r.get("rag")) if _num(r.get("value")) is not None else "No data"))
            rows.append(html.Tr(cells))
    head = [unit_word.capitalize(), "Value", "Numerator / denominator"] + (["RAG"] if metric.rated else [])
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
            html.Tbody(rows),
        ],
        className="table table-sm cpip-table cpip-chart-table",
        id="kpi-breakdown-table",
    )
