"""Chart builders: pure functions of DataFrames that return a plotly Figure.

The dashboard pages and the board pack (dashboard/export) both call these, so
the pack looks like the dashboard. They never query the warehouse and never
compute a KPI: values, numerators, denominators and RAG ratings come in the
frames from etl.serve.queries; the catalogue's `Metric` supplies the thresholds in
force for each month (for shading and the target line) and the polarity.

Traces are built as `go.Scatter`/`go.Bar`/`go.Heatmap` directly (about twice
as fast as plotly.express for the same figure).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from dashboard import theme
from dashboard.components.format import NO_DATA, format_fraction, format_value, month_label
from dashboard.components.trend_model import trend_model
from etl.catalogue.metrics import Metric, Polarity
from etl.rules.calendar import add_months, financial_year_of

GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")


# ---------------------------------------------------------------- helpers


def period_text(value: object) -> str:
    """A period from a frame (`'2023-07'`, a date or a Timestamp) as `YYYY-MM`."""
    if isinstance(value, str):
        return value[:7]
    if isinstance(value, pd.Timestamp | date):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def _month_date(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _rag_word(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return NO_DATA
    return str(value)


def _layout(*, xaxis: dict | None = None, yaxis: dict | None = None, margin: dict | None = None, **extra) -> dict:
    """The theme's chart layout with this chart's settings merged in, as one
    dict: a figure built with its whole layout at once is validated once,
    several times faster than a chain of update_layout calls."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in theme.CHART_LAYOUT.items()}
    out["xaxis"].update(xaxis or {})
    out["yaxis"].update(yaxis or {})
    out["margin"].update(margin or {})
    out.update(extra)
    return out


def _empty(message: str, *, height: int = 320, title: str | None = None) -> go.Figure:
    """A figure that says why there is nothing to draw (rather than blank axes)."""
    layout = _layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        height=height,
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 15, "color": theme.MUTED},
            }
        ],
    )
    return go.Figure(layout=layout)


def _value_axis_title(metric: Metric) -> str:
    return "%" if metric.unit == "percent" else "Number"


def _fy_start(period: str) -> str:
    return f"{financial_year_of(period)[:4]}-04"


# ---------------------------------------------------------------- trend


def _bands(metric: Metric, first: str, last: str, y_low: float, y_high: float) -> list[dict]:
    """RAG bands shaded behind the line, one set per financial year, since
    thresholds can change from year to year."""
    if not metric.rated:
        return []
    shapes: list[dict] = []
    start = first
    while start <= last:
        end = min(add_months(_fy_start(start), 12), add_months(last, 1))
        t = metric.thresholds_for(start)
        if t is not None:
            if metric.polarity is Polarity.HIGHER:
                zones = [("Green", t.green, y_high), ("Amber", t.amber, t.green), ("Red", y_low, t.amber)]
            else:
                zones = [("Green", y_low, t.green), ("Amber", t.green, t.amber), ("Red", t.amber, y_high)]
            x0 = pd.Timestamp(_month_date(start)) - pd.Timedelta(days=15)
            x1 = pd.Timestamp(_month_date(end)) - pd.Timedelta(days=15)
            for word, lo, hi in zones:
                if hi <= lo:
                    continue
                shapes.append(
                    {
                        "type": "rect",
                        "layer": "below",
                        "xref": "x",
                        "yref": "y",
                        "x0": x0,
                        "x1": x1,
                        "y0": max(lo, y_low),
                        "y1": min(hi, y_high),
                        "fillcolor": theme.RAG[word].band,
                        "line": {"width": 0},
                        "name": f"{word} band",
                    }
                )
        start = end
    return shapes


def trend_figure(
    series_df: pd.DataFrame,
    metric: Metric,
    *,
    benchmarks: Mapping[str, float | None] | None = None,
    title: str | None = None,
    events: Sequence[tuple[date, str]] = (),
    references: Mapping[str, Sequence[float | None]] | None = None,
) -> go.Figure:
    """The monthly trend of one KPI for one org unit.

    events: (date, label) pairs drawn as labelled vertical lines where they fall
    inside the months shown (etl.people.notes.events_for gives them).
    references: label -> a value per month of series_df (None for none), drawn as a
    step line: England's published figure of each year beside the target.

    series_df: one row per month with `period`, `value`, `numerator`,
    `denominator` and (optionally) `rag`. Draws the RAG bands for the
    thresholds in force each month, the target (a step line, as targets change
    by financial year), benchmark figures as labelled reference lines,
    financial-year boundaries, and a hover with the value, the counts and the
    RAG word.
    """
    if series_df is None or series_df.empty or series_df["value"].notna().sum() == 0:
        return _empty("No data for this KPI and org unit yet", height=380, title=title)
    frame = series_df.copy()
    frame["period"] = [period_text(p) for p in frame["period"]]
    frame = frame.sort_values("period")
    periods: list[str] = list(frame["period"])
    first, last = periods[0], periods[-1]
    x = [_month_date(p) for p in periods]
    values = [_num(v) for v in frame["value"]]
    rags = [_rag_word(r) for r in frame["rag"]] if "rag" in frame else [""] * len(frame)
    numerators = frame["numerator"] if "numerator" in frame else [None] * len(frame)
    denominators = frame["denominator"] if "denominator" in frame else [None] * len(frame)
    hover = [
        f"{format_value(v, metric.unit)}"
        + (f" ({frac})" if (frac := format_fraction(n, d, metric.unit)) and metric.unit != "count" else "")
        + (f"<br>RAG: {r}" if metric.rated else "")
        for v, n, d, r in zip(values, numerators, denominators, rags, strict=True)
    ]

    bench = {k: v for k, v in (benchmarks or {}).items() if _num(v) is not None}
    lines = {k: [_num(v) for v in vs] for k, vs in (references or {}).items()}
    lines = {k: vs for k, vs in lines.items() if any(v is not None for v in vs)}
    model = trend_model(metric, periods, values, also=[*bench.values(), *(v for vs in lines.values() for v in vs)])
    targets, y_low, y_high = model.targets, model.y_low, model.y_high

    traces: list[go.BaseTraceType] = [
        go.Scatter(
            x=x,
            y=values,
            mode="lines+markers",
            name=metric.label,
            line={"color": theme.PRIMARY, "width": 2.5},
            marker={"size": 6, "color": theme.PRIMARY},
            customdata=hover,
            hovertemplate="<b>%{x|%b %Y}</b><br>%{customdata}<extra></extra>",
            connectgaps=False,
        )
    ]
    if any(t is not None for t in targets):
        traces.append(
            go.Scatter(
                x=x,
                y=targets,
                mode="lines",
                name="Target",
                line={"color": theme.TARGET, "width": 1.5, "dash": "dash", "shape": "hvh"},
                hovertemplate="Target: %{y}<extra></extra>",
            )
        )
    bench_styles = [(theme.ENGLAND, "dot"), (theme.NEIGHBOURS, "dashdot"), (theme.MUTED, "longdash")]
    for (label, level), (colour, dash) in zip(bench.items(), bench_styles, strict=False):
        traces.append(
            go.Scatter(
                x=[x[0], x[-1]],
                y=[level, level],
                mode="lines",
                name=f"{label} {format_value(level, metric.unit)}",
                line={"color": colour, "width": 1.5, "dash": dash},
                hovertemplate=f"{label}: {format_value(level, metric.unit)}<extra></extra>",
            )
        )

    for label, line in lines.items():
        traces.append(
            go.Scatter(
                x=x,
                y=line,
                mode="lines",
                name=label,
                line={"color": theme.ENGLAND, "width": 2, "dash": "dot", "shape": "hv"},
                customdata=[format_value(v, metric.unit) for v in line],
                hovertemplate=f"{label}: %{{customdata}}<extra></extra>",
                connectgaps=False,
            )
        )

    shapes = _bands(metric, first, last, y_low, y_high)
    annotations = []
    for p in periods[1:]:
        if p[5:7] == "04":  # a new financial year starts in April
            boundary = pd.Timestamp(_month_date(p)) - pd.Timedelta(days=15)
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": boundary,
                    "x1": boundary,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": theme.FY_BOUNDARY, "width": 1, "dash": "dot"},
                }
            )
            annotations.append(
                {
                    "x": boundary,
                    "y": 1,
                    "xref": "x",
                    "yref": "paper",
                    "text": financial_year_of(p),
                    "showarrow": False,
                    "xanchor": "left",
                    "yanchor": "bottom",
                    "font": {"size": 11, "color": theme.MUTED},
                }
            )

    event_marks(shapes, annotations, events, x[0], x[-1])
    layout = _layout(
        xaxis={"tickformat": "%b %Y", "hoverformat": "%b %Y"},
        yaxis={"range": [y_low, y_high], "title": {"text": _value_axis_title(metric)}},
        margin=None if title else {"t": 28},
        height=400,
        shapes=shapes,
        annotations=annotations,
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
    )
    return go.Figure(data=traces, layout=layout)


def event_marks(shapes: list, annotations: list, events: Sequence[tuple[date, str]], first: date, last: date) -> None:
    """Dated events as dotted vertical lines, each labelled with its words at the
    top (the list under the chart says them again, for print and screen readers).
    Labels alternate between two heights so that two events close together stay legible."""
    shown = [(d, label) for d, label in events if first <= d <= last + timedelta(days=31)]
    for i, (day, label) in enumerate(shown):
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
             "line": {"color": theme.EVENT, "width": 1.5, "dash": "dot"}}
        )  # fmt: skip
        annotations.append(
            {"x": day, "y": 0.98 - 0.07 * (i % 2), "xref": "x", "yref": "paper", "text": label,
             "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"size": 11, "color": theme.EVENT},
             "bgcolor": "rgba(255,255,255,0.8)"}
        )  # fmt: skip


# ---------------------------------------------------------------- breakdown


def breakdown_figure(breakdown_df: pd.DataFrame, metric: Metric, *, period: str | None = None) -> go.Figure:
    """One KPI for one month across the services or teams below a unit:
    horizontal bars, best first (in the metric's polarity), each labelled with
    its value, counts and RAG word, with the month's target as a line.

    breakdown_df: `org_unit`, `value`, `numerator`, `denominator`, `rag` (as
    etl.serve.queries.breakdown gives it); `period` names the month for the target."""
    if breakdown_df is None or breakdown_df.empty:
        return _empty("No services or teams below this unit", height=220)
    frame = breakdown_df.copy()
    frame["value"] = [_num(v) for v in frame["value"]]
    descending = metric.polarity is not Polarity.LOWER
    frame = frame.sort_values("value", ascending=not descending, na_position="last")
    # plotly draws the first category at the bottom: reverse so the best is on top.
    frame = frame.iloc[::-1]
    rags = [_rag_word(r) for r in frame["rag"]] if "rag" in frame else [""] * len(frame)
    colours = [theme.RAG.get(r, theme.RAG["No data"]).background if metric.rated else theme.PRIMARY for r in rags]
    labels = []
    for v, n, d, r in zip(frame["value"], frame["numerator"], frame["denominator"], rags, strict=True):
        text = format_value(v, metric.unit)
        frac = format_fraction(n, d, metric.unit)
        if frac and metric.unit != "count":  # a share's counts, a rate's cases / FTE
            text += f" ({frac})"
        if metric.rated and _num(v) is not None:
            text += f" · {r}"
        labels.append(text)
    units = list(frame["org_unit"])
    x_values = [_num(v) or 0 for v in frame["value"]]
    bar = go.Bar(
        x=x_values,
        y=units,
        orientation="h",
        marker={"color": colours, "line": {"color": theme.INK, "width": 0.5}},
        text=labels,
        textposition="outside",
        cliponaxis=False,
        textfont={"color": theme.INK},
        customdata=labels,
        hovertemplate="<b>%{y}</b><br>%{customdata}<extra></extra>",
    )
    known = [v for v in (_num(x) for x in frame["value"]) if v is not None]
    top = max(known, default=0)
    if period is None and "period" in frame:
        period = period_text(frame["period"].iloc[0])
    t = metric.thresholds_for(period) if period else None
    shapes, annotations = [], []
    if t is not None and t.target is not None:
        top = max(top, t.target)
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": t.target, "x1": t.target, "y0": 0, "y1": 1,
             "line": {"color": theme.TARGET, "dash": "dash", "width": 1.5}}
        )  # fmt: skip
        annotations.append(
            {"x": t.target, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
             "text": f"Target {format_value(t.target, metric.unit)}", "font": {"size": 11}}
        )  # fmt: skip
    x_max = 100.0 if metric.unit == "percent" else max(top * 1.45, 1.0)
    xaxis = {
        # room on the right for the labels of the longest bars
        "range": [0, x_max * (1.55 if metric.unit == "percent" else 1.0)],
        "title": {"text": _value_axis_title(metric)},
    }
    if metric.unit == "percent":
        xaxis["tickvals"] = [0, 20, 40, 60, 80, 100]
    layout = _layout(
        xaxis=xaxis,
        margin={"l": 8, "r": 24, "t": 28, "b": 40},
        height=max(200, 40 + 34 * len(frame)),
        showlegend=False,
        bargap=0.3,
        shapes=shapes,
        annotations=annotations,
    )
    return go.Figure(data=[bar], layout=layout)


# ---------------------------------------------------------------- heatmap


def _rgb_hex(colour: str) -> str:
    """`rgb(125, 124, 118)` or `#7d7c76` -> `#7d7c76`."""
    if colour.startswith("#"):
        return colour
    r, g, b = (round(float(c)) for c in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


@functools.cache
def _heatmap_scale() -> tuple:
    # plotly looks a named scale up by inspecting its colour modules: about 4 ms a call, once is enough
    return tuple(tuple(step) for step in plotly.colors.get_colorscale(theme.HEATMAP_SCALE))


@functools.lru_cache(maxsize=4096)
def _sampled_colour(share: float) -> str:
    return _rgb_hex(plotly.colors.sample_colorscale([list(step) for step in _heatmap_scale()], [share])[0])


def heatmap_cell_colour(value: float, zmin: float, zmax: float, *, reverse: bool = False) -> str:
    """The colour (`#rrggbb`) the heatmap paints a value, as plotly samples the scale."""
    share = 0.5 if zmax <= zmin else min(max((value - zmin) / (zmax - zmin), 0.0), 1.0)
    return _sampled_colour(1 - share if reverse else share)


def heatmap_text_colour(background: str) -> str:
    """Black or white, whichever contrasts more with the cell (WCAG 1.4.3: at
    least 4.5:1 on every colour of the scale)."""
    dark, light = theme.HEATMAP_TEXT_DARK, theme.HEATMAP_TEXT_LIGHT
    return dark if theme.contrast(dark, background) >= theme.contrast(light, background) else light


def heatmap_figure(matrix_df: pd.DataFrame, metric: Metric) -> go.Figure:
    """Teams (rows) by month (columns) for one KPI, from the long frame of
    etl.serve.queries.team_matrix (`team`, `period`, `value`, `numerator`,
    `denominator`, `rag`). Colour follows the value on
    a colour-blind-safe scale independent of RAG; each cell prints the value
    and the RAG word, and the hover adds the counts.

    Plotly picks one text colour per trace, and its choice (#444 or white)
    fails contrast on the middle of the scale; so the cells are drawn as two
    traces on one scale, those that take black text and those that take white."""
    if matrix_df is None or matrix_df.empty:
        return _empty("No teams with data for this KPI", height=260)
    frame = matrix_df.copy()
    frame["period"] = [period_text(p) for p in frame["period"]]
    if "team" in frame and "org_unit" not in frame:
        frame = frame.rename(columns={"team": "org_unit"})
    periods = sorted(frame["period"].unique())
    teams = list(dict.fromkeys(frame["org_unit"]))
    teams.sort(reverse=True)  # plotly's first row is the bottom one: A at the top
    index = {(r.org_unit, r.period): r for r in frame.itertuples(index=False)}
    known = [v for v in (_num(v) for v in frame["value"]) if v is not None]
    if metric.unit == "percent":
        zmin, zmax = 0.0, 100.0
    else:
        zmin, zmax = (min(known), max(known)) if known else (0.0, 1.0)
        zmax = zmax if zmax > zmin else zmin + 1.0
    reverse = metric.polarity is Polarity.LOWER  # darker = worse in either polarity
    dark = theme.HEATMAP_TEXT_DARK
    colours = (dark, theme.HEATMAP_TEXT_LIGHT)
    layers: dict[str, dict[str, list]] = {c: {"z": [], "text": [], "hover": []} for c in colours}
    for team in teams:
        rows = {c: {"z": [], "text": [], "hover": []} for c in layers}
        for p in periods:
            row = index.get((team, p))
            value = _num(getattr(row, "value", None)) if row is not None else None
            rag = _rag_word(getattr(row, "rag", None)) if row is not None else NO_DATA
            shown = format_value(value, metric.unit)
            frac = (
                format_fraction(getattr(row, "numerator", None), getattr(row, "denominator", None), metric.unit)
                if row is not None
                else ""
            )
            hover = (
                f"<b>{team}</b><br>{month_label(p)}: {shown}"
                + (f" ({frac})" if frac and metric.unit != "count" else "")
                + (f"<br>RAG: {rag}" if metric.rated else "")
            )
            owner = None
            if value is not None:
                owner = heatmap_text_colour(heatmap_cell_colour(value, zmin, zmax, reverse=reverse))
            for colour, cells in rows.items():
                mine = colour == owner
                cells["z"].append(value if mine else None)
                cells["text"].append((f"{shown}<br>{rag}" if metric.rated else shown) if mine else "")
                # every layer carries every cell's hover, so a point (or a gap) reads and clicks the same
                cells["hover"].append(hover)
        for colour, cells in rows.items():
            for key, values in cells.items():
                layers[colour][key].append(values)
    x = [month_label(p) for p in periods]
    traces = [
        go.Heatmap(
            z=layer["z"],
            x=x,
            y=teams,
            text=layer["text"],
            texttemplate="%{text}",
            textfont={"size": 12, "color": colour},
            customdata=layer["hover"],
            hovertemplate="%{customdata}<extra></extra>",
            colorscale=theme.HEATMAP_SCALE,
            reversescale=reverse,
            xgap=2,
            ygap=2,
            showscale=colour == dark,
            colorbar={
                "title": {"text": _value_axis_title(metric)},
                "thickness": 12,
                "ticksuffix": "%" if metric.unit == "percent" else "",
            },
            zmin=zmin,
            zmax=zmax,
        )
        for colour, layer in layers.items()
    ]
    layout = _layout(
        xaxis={"side": "top", "showgrid": False},
        yaxis={"showgrid": False},
        margin={"l": 8, "r": 8, "t": 40, "b": 16},
        height=max(260, 90 + 44 * len(teams)),
    )
    return go.Figure(data=traces, layout=layout)


# ---------------------------------------------------------------- audits


def _grade_columns(audit_df: pd.DataFrame) -> dict[str, str]:
    """Map each grade to the frame's percentage column (tolerates `good_pct`,
    `Good` or `good`)."""
    out = {}
    for grade in GRADES:
        slug = grade.lower().replace(" ", "_")
        for candidate in (f"{slug}_pct", grade, slug, f"pct_{slug}"):
            if candidate in audit_df.columns:
                out[grade] = candidate
                break
    return out


def audit_label_column(audit_df: pd.DataFrame) -> str:
    for name in ("period", "quarter", "label"):
        if name in audit_df.columns:
            return name
    return audit_df.columns[0]


def _audit_label(value: object) -> str:
    """A month (`2023-04` -> `Apr 2023`) or a quarter label as it is (`2023/24 Q1`)."""
    text = str(value)
    if len(text) >= 7 and text[4] == "-" and text[5:7].isdigit():
        return month_label(text[:7])
    return text


def audit_bars_figure(audit_df: pd.DataFrame) -> go.Figure:
    """Moderated grades as 100% stacked bars, one bar per month or quarter, in
    grade order (Outstanding, Good, Requires Improvement, Inadequate). Each
    segment carries its percentage; the colours come from one ordered ramp."""
    if audit_df is None or audit_df.empty:
        return _empty("No audits for these filters", height=320)
    grades = _grade_columns(audit_df)
    label_col = audit_label_column(audit_df)
    labels = [_audit_label(v) for v in audit_df[label_col]]
    traces = []
    for grade in GRADES:
        column = grades.get(grade)
        values = [(_num(v) or 0.0) for v in audit_df[column]] if column else [0.0] * len(audit_df)
        text = [f"{v:.0f}%" if v >= 4 else "" for v in values]
        traces.append(
            go.Bar(
                name=grade,
                x=labels,
                y=values,
                marker={"color": theme.GRADE_COLOURS[grade], "line": {"color": theme.SURFACE, "width": 1}},
                text=text,
                textposition="inside",
                insidetextanchor="middle",
                textangle=0,
                hovertemplate=f"<b>%{{x}}</b><br>{grade}: %{{y:.0f}}%<extra></extra>",
            )
        )
    layout = _layout(
        xaxis={"type": "category"},
        yaxis={"range": [0, 100], "ticksuffix": "%", "title": {"text": "% of moderated audits"}},
        barmode="stack",
        height=380,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "traceorder": "normal"},
        uniformtext={"minsize": 10, "mode": "hide"},
    )
    return go.Figure(data=traces, layout=layout)
