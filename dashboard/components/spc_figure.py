"""The Making Data Count SPC chart and its variation and assurance icons.

`spc_figure` draws an `etl.rules.spc.SPCResult`: the values as a grey line, the mean,
dashed process limits, the target as a red dashed line, and each point coloured
(and shaped, so colour is never the only cue) by its class, one trace per class
so the legend says in words what each colour means. A rebase breaks the mean and
limit lines, with a vertical line and a note.

`icon_svg` / `icon_text` give the variation and assurance icons as small SVGs
with a text alternative; the same SVGs are stored in assets/spc-icons/ for the
board pack and <img> tags (tests keep the files in step with the code).

Colours follow the Making Data Count tool. They live here, beside the chart that
is their only user, rather than in theme.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import plotly.graph_objects as go

from dashboard import theme
from dashboard.components.format import format_value
from etl.rules.spc import (
    ASSURANCE_ICON_KINDS,
    COMMON_CAUSE,
    CONCERNING,
    IMPROVING,
    NEUTRAL,
    RULE_DESCRIPTIONS,
    VARIATION_ICON_KINDS,
    SPCResult,
    assurance_icon_kind,
    variation_icon_kind,
)

# Making Data Count palette.
SPC_COMMON = "#A6A6A6"
SPC_IMPROVING = "#00B0F0"
SPC_CONCERNING = "#E46C0A"
SPC_NEUTRAL = "#490092"
SPC_VALUE_LINE = "#7F7F7F"  # a darker grey than the common-cause points, so the line reads on white
SPC_MEAN = "#231F20"
SPC_LIMIT = "#6F6F6F"
SPC_TARGET = "#C00000"
SPC_REBASE = "#555F6B"


@dataclass(frozen=True)
class PointStyle:
    """How one class of point looks: a legend word, a colour and a marker shape."""

    legend: str
    colour: str
    symbol: str
    size: int


POINT_STYLES: dict[str, PointStyle] = {
    COMMON_CAUSE: PointStyle("Common cause", SPC_COMMON, "circle", 7),
    IMPROVING: PointStyle("Special cause – improving", SPC_IMPROVING, "diamond", 11),
    CONCERNING: PointStyle("Special cause – concerning", SPC_CONCERNING, "square", 10),
    NEUTRAL: PointStyle("Special cause – neither improving nor concerning", SPC_NEUTRAL, "triangle-up", 11),
}

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# ---------------------------------------------------------------- icons

_ICON_TEXT = {
    "common_cause": "Common cause variation: no significant change",
    "improvement_high": "Special cause variation – improving: higher values",
    "improvement_low": "Special cause variation – improving: lower values",
    "concern_high": "Special cause variation – concerning: higher values",
    "concern_low": "Special cause variation – concerning: lower values",
    "neither_high": "Special cause variation – neither improving nor concerning: higher values",
    "neither_low": "Special cause variation – neither improving nor concerning: lower values",
    "pass": "Assurance: the process will consistently pass the target",
    "fail": "Assurance: the process will consistently fail the target",
    "hit_and_miss": "Assurance: hit and miss – the target lies within the process limits",
}

_ICON_COLOUR = {
    "common": SPC_COMMON,
    "improvement": SPC_IMPROVING,
    "concern": SPC_CONCERNING,
    "neither": SPC_NEUTRAL,
    "pass": SPC_IMPROVING,
    "fail": SPC_CONCERNING,
    "hit_and_miss": SPC_COMMON,
}

_ICON_LETTER = {"pass": "P", "fail": "F", "hit_and_miss": "?"}


def icon_text(kind: str) -> str:
    """The words for an icon (its alt text); "" for no icon."""
    if not kind:
        return ""
    try:
        return _ICON_TEXT[kind]
    except KeyError:
        raise ValueError(f"unknown SPC icon {kind!r}") from None


def icon_svg(kind: str, *, size: int = 40) -> str:
    """A Making Data Count style icon as a standalone SVG string ("" for no icon).

    Variation: a ring in the class colour around five dots (flat for common
    cause, rising for "high", falling for "low") and the letter H or L.
    Assurance: a ring around a dashed target line and P (pass), F (fail) or ?
    (hit and miss). Each carries its text alternative as <title> and aria-label.
    """
    text = icon_text(kind)
    if not text:
        return ""
    family, _, side = kind.rpartition("_") if kind.endswith(("_high", "_low")) else (kind, "", "")
    colour = _ICON_COLOUR["common" if kind == "common_cause" else family]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="{size}" height="{size}" '
        f'role="img" aria-label="{text}">',
        f"<title>{text}</title>",
        f'<circle cx="50" cy="50" r="44" fill="#FFFFFF" stroke="{colour}" stroke-width="8"/>',
    ]
    if kind in ASSURANCE_ICON_KINDS:
        parts.append(
            f'<line x1="18" y1="70" x2="82" y2="70" stroke="{SPC_TARGET}" stroke-width="4" stroke-dasharray="8 5"/>'
        )
        parts.append(_letter(_ICON_LETTER[kind], colour="#231F20", y=58))
    else:
        ys = [62, 62, 62, 62, 62]
        if side == "high":
            ys = [80, 76, 72, 64, 56]
        elif side == "low":
            ys = [56, 60, 64, 72, 80]
        dots = [(22 + 14 * i, y) for i, y in enumerate(ys)]
        parts.append(
            '<polyline points="'
            + " ".join(f"{x},{y}" for x, y in dots)
            + f'" fill="none" stroke="{SPC_COMMON}" stroke-width="3"/>'
        )
        # The last two dots carry the class colour, as in the Making Data Count icons.
        for i, (x, y) in enumerate(dots):
            fill = colour if (kind != "common_cause" and i >= 3) else SPC_COMMON
            parts.append(f'<circle cx="{x}" cy="{y}" r="6" fill="{fill}"/>')
        if side:
            parts.append(_letter("H" if side == "high" else "L", colour="#231F20", y=45))
    parts.append("</svg>")
    return "".join(parts)


def _letter(letter: str, *, colour: str, y: int) -> str:
    return (
        f'<text x="50" y="{y}" text-anchor="middle" font-family="Arial, Helvetica, sans-serif" '
        f'font-size="34" font-weight="bold" fill="{colour}">{letter}</text>'
    )


def icon_data_uri(kind: str) -> str:
    """The icon as a data: URI, for an <img src> or a plotly layout image."""
    svg = icon_svg(kind)
    return "data:image/svg+xml;charset=utf-8," + quote(svg) if svg else ""


def icons_for(result: SPCResult) -> tuple[str, str]:
    """(variation icon kind, assurance icon kind) for a result; "" where there is none."""
    return variation_icon_kind(result.variation, result.variation_side), assurance_icon_kind(result.assurance)


ICON_DIR = Path(__file__).resolve().parent.parent / "assets" / "spc-icons"


def write_icon_files(folder: Path = ICON_DIR) -> list[Path]:
    """Write every icon as <kind>.svg (the stored copies in assets/spc-icons/)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in (*VARIATION_ICON_KINDS, *ASSURANCE_ICON_KINDS):
        path = folder / f"{kind}.svg"
        path.write_text(icon_svg(kind) + "\n", encoding="utf-8")
        written.append(path)
    return written


# ---------------------------------------------------------------- the chart


def _x_axis(periods: tuple[str, ...]) -> tuple[list[object], bool]:
    """Months as dates (a real time axis); anything else as positions labelled by the period."""
    if periods and all(_MONTH.match(p) for p in periods):
        return [date(int(p[:4]), int(p[5:7]), 1) for p in periods], True
    return list(range(len(periods))), False


def _broken(x: list[object], y: np.ndarray, segment: np.ndarray) -> tuple[list[object], list[float | None]]:
    """A line that stops at each rebase: a None between segments breaks it."""
    xs: list[object] = []
    ys: list[float | None] = []
    for i, (xi, yi) in enumerate(zip(x, y.tolist(), strict=True)):
        if i and segment[i] != segment[i - 1]:
            xs.append(None)
            ys.append(None)
        xs.append(xi)
        ys.append(None if yi != yi else yi)  # NaN -> None (a gap)
    return xs, ys


def _midpoint(a: object, b: object) -> object:
    if isinstance(a, date) and isinstance(b, date):
        return a + (b - a) / 2
    return (a + b) / 2  # type: ignore[operator]


def _line(
    x: list[object], y: list[float | None], name: str, colour: str, dash: str, width: float, **kw: object
) -> go.Scatter:
    return go.Scatter(
        x=x, y=y, mode="lines", name=name, line={"color": colour, "dash": dash, "width": width},
        hoverinfo="skip", connectgaps=False, **kw,
    )  # fmt: skip


def spc_figure(
    result: SPCResult,
    *,
    title: str,
    unit: str,
    target: float | None = None,
    polarity: str | None = None,
    rebase_reasons: Mapping[str, str] | None = None,
    show_icons: bool = True,
    show_two_sigma: bool = False,
    subtitle: str | None = None,
    events: Sequence[tuple[date, str]] = (),
    references: Mapping[str, Sequence[float | None]] | None = None,
) -> go.Figure:
    """The Making Data Count chart of one series. events: (date, label) pairs drawn as
    labelled vertical lines, as on the trend.

    unit: "percent", "count" or "rate" (as in metrics.yml). target: drawn as a red
    dashed line (defaults to the result's). polarity defaults to the result's;
    it only changes the words in the subtitle. rebase_reasons: period -> why
    (from metrics.yml), shown at each rebase. Two-sigma lines are in the legend
    but hidden until clicked, unless show_two_sigma. subtitle replaces the
    default one (the icons in words), e.g. when the page shows the icons beside.
    references: label -> a value per point (None for none), drawn as a step line
    beside the target: England's published figure of each year.
    """
    target = result.target if target is None else target
    polarity = str(polarity or result.polarity)
    fig = go.Figure()
    fig.update_layout(theme.CHART_LAYOUT)
    n = len(result.period)
    observed = ~np.isnan(result.value)
    if n == 0 or not observed.any():
        fig.update_layout(title={"text": title}, xaxis={"visible": False}, yaxis={"visible": False})
        fig.add_annotation(text="No data for this series", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        return fig

    x, is_date = _x_axis(result.period)
    seg = result.segment
    step = "hvh" if result.chart == "p" else "linear"  # p-chart limits change month by month

    # Traces, shapes and notes are gathered and given to the figure at once: each of plotly's add_* calls
    # validates and copies the layout again (the KPI page's chart took about 100 ms that way).
    traces: list[go.Scatter] = []
    shapes: list = []
    notes: list = []
    traces.append(
        go.Scatter(
            x=x, y=[None if v != v else v for v in result.value.tolist()], mode="lines", name="Value",
            line={"color": SPC_VALUE_LINE, "width": 2}, hoverinfo="skip", connectgaps=False, showlegend=False,
        )
    )  # fmt: skip
    traces.append(_line(*_broken(x, result.mean, seg), "Mean", SPC_MEAN, "solid", 1.5))
    ux, uy = _broken(x, result.upper, seg)
    lx, ly = _broken(x, result.lower, seg)
    traces.append(_line(ux, uy, "Process limits", SPC_LIMIT, "dash", 1.5, legendgroup="limits", line_shape=step))
    traces.append(
        _line(lx, ly, "Lower process limit", SPC_LIMIT, "dash", 1.5, legendgroup="limits", showlegend=False,
              line_shape=step)
    )  # fmt: skip
    visible: bool | str = True if show_two_sigma else "legendonly"
    u2x, u2y = _broken(x, result.upper_2s, seg)
    l2x, l2y = _broken(x, result.lower_2s, seg)
    traces.append(
        _line(u2x, u2y, "Two-sigma lines", SPC_LIMIT, "dot", 1, legendgroup="2s", visible=visible, line_shape=step)
    )
    traces.append(
        _line(l2x, l2y, "Lower two-sigma line", SPC_LIMIT, "dot", 1, legendgroup="2s", showlegend=False,
              visible=visible, line_shape=step)
    )  # fmt: skip
    if target is not None and np.isfinite(target):
        traces.append(
            _line([x[0], x[-1]], [target, target], f"Target ({format_value(target, unit)})", SPC_TARGET, "dash", 2)
        )

    suffix = "%" if unit == "percent" else ""
    for label, values in (references or {}).items():
        ys = [None if v is None or v != v else float(v) for v in values]
        if any(v is not None for v in ys):
            traces.append(
                go.Scatter(
                    x=x, y=ys, mode="lines", name=label, line={"color": theme.ENGLAND, "dash": "dot", "width": 2,
                    "shape": "hv"}, hovertemplate=f"{label}: %{{y:.1f}}{suffix}<extra></extra>",
                    connectgaps=False,
                )
            )  # fmt: skip

    # One trace per class, in a fixed order, so the legend reads in words.
    classes = np.array(result.point_class)
    for cls, style in POINT_STYLES.items():
        idx = np.flatnonzero(classes == cls)
        if idx.size == 0:
            continue
        hover = [_hover(result, i, unit, style.legend) for i in idx.tolist()]
        traces.append(
            go.Scatter(
                x=[x[i] for i in idx], y=result.value[idx].tolist(), mode="markers", name=style.legend,
                # A dark edge: Making Data Count's grey (2.4:1) and blue (2.5:1) fills alone are
                # under the 3:1 a mark needs on white (WCAG 1.4.11); the fill keeps its meaning.
                marker={"color": style.colour, "symbol": style.symbol, "size": style.size,
                        "line": {"color": SPC_MEAN, "width": 1.5}},
                text=hover, hovertemplate="%{text}<extra></extra>",
            )
        )  # fmt: skip

    for pos in result.rebase_positions:
        at = _midpoint(x[pos - 1], x[pos])
        period = result.period[pos]
        note = "Limits recalculated"
        reason = (rebase_reasons or {}).get(period)
        if reason:
            note += f": {reason}"
        # what fig.add_vline draws
        shapes.append(
            {"type": "line", "x0": at, "x1": at, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
             "line": {"color": SPC_REBASE, "dash": "dashdot", "width": 1.5}}
        )  # fmt: skip
        # The note runs away from the nearer edge, so it stays over the plot.
        notes.append(
            {"x": at, "y": 1, "yref": "paper", "yanchor": "bottom", "xanchor": "left" if pos < n / 2 else "right",
             "showarrow": False, "text": note, "font": {"size": 11, "color": SPC_REBASE}}
        )  # fmt: skip

    if is_date and events:
        from dashboard.components.figures import event_marks

        event_marks(shapes, notes, events, x[0], x[-1])
    subtitle = _subtitle(result, polarity) if subtitle is None else subtitle
    xaxis: dict[str, object] = {"title": {"text": ""}}
    # A fixed range: plotly would otherwise widen the axis to fit the rebase notes.
    if is_date:
        xaxis["type"] = "date"
        xaxis["range"] = [x[0] - timedelta(days=15), x[-1] + timedelta(days=15)]
    else:
        xaxis.update(tickmode="array", tickvals=x, ticktext=list(result.period), range=[-0.5, n - 0.5])
    yaxis: dict[str, object] = {"title": {"text": "%" if unit == "percent" else unit}}
    if unit == "percent":
        yaxis["ticksuffix"] = "%"
    images: list[dict] = []
    if show_icons:
        kinds = [kind for kind in icons_for(result) if kind]
        for k, kind in enumerate(kinds):  # variation first, assurance at the right, as Making Data Count places them
            images.append(
                {"source": icon_data_uri(kind), "xref": "paper", "yref": "paper", "x": 1 - 0.09 * (len(kinds) - 1 - k),
                 "y": 1.02, "sizex": 0.08, "sizey": 0.16, "xanchor": "right", "yanchor": "bottom"}
            )  # fmt: skip
    fig.add_traces(traces)
    fig.update_layout(
        title={"text": title, "subtitle": {"text": subtitle}},
        xaxis=xaxis,
        yaxis=yaxis,
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        hovermode="closest",
        margin={"t": 90 if (title or subtitle) else 36},  # room for the rebase notes only, when untitled
        **({"shapes": shapes} if shapes else {}),
        **({"annotations": notes} if notes else {}),
        **({"images": images} if images else {}),
    )
    return fig


def _hover(result: SPCResult, i: int, unit: str, legend: str) -> str:
    lines = [f"<b>{result.period[i]}</b>: {format_value(float(result.value[i]), unit)}", legend]
    if result.rules[i]:
        lines.append("Special because: " + "; ".join(RULE_DESCRIPTIONS.get(r, r) for r in result.rules[i]))
    if result.denominator is not None and result.chart == "p" and np.isfinite(result.denominator[i]):
        lines.append(f"Out of {int(result.denominator[i]):,}")
    return "<br>".join(lines)


def _subtitle(result: SPCResult, polarity: str) -> str:
    """The icons in words (the icons are pictures; this is what a screen reader and a printout keep)."""
    if result.reason:
        return f"No SPC icons: {result.reason}"
    v_kind, a_kind = icons_for(result)
    parts = [icon_text(v_kind)]
    if a_kind:
        parts.append(icon_text(a_kind))
    elif polarity == "monitored":
        parts.append("Monitored: no assurance against a target")
    return " · ".join(p for p in parts if p)


# ---------------------------------------------------------------- words beside the icons

# The rules etl.rules.spc applies, in words for the chart's data table.
RULE_WORDS = RULE_DESCRIPTIONS  # one set of words, in etl.rules.spc beside the rules


def rule_words(rules: tuple[str, ...] | list[str]) -> str:
    """The rules a point met, in words; "" when it met none."""
    return "; ".join(RULE_WORDS.get(r, r) for r in rules)


_ICON_WORD = {
    "common_cause": "Common cause",
    "improvement_high": "Improving (high)",
    "improvement_low": "Improving (low)",
    "concern_high": "Concerning (high)",
    "concern_low": "Concerning (low)",
    "neither_high": "Special cause (high)",
    "neither_low": "Special cause (low)",
    "pass": "Passing",
    "fail": "Failing",
    "hit_and_miss": "Hit and miss",
}

_TOO_FEW = re.compile(r"needs at least (\d+) points( since the last rebase)?; has (\d+)")


def icon_word(kind: str) -> str:
    """A short caption for an icon, printed beside it ("" for no icon)."""
    if not kind:
        return ""
    icon_text(kind)  # raises on an unknown kind
    return _ICON_WORD[kind]


def reason_words(reason: str) -> str:
    """Why a series has no icons, short enough for a table cell:
    "needs at least 12 points; has 8" -> "Too few points (8 of 12)"."""
    if not reason:
        return ""
    found = _TOO_FEW.fullmatch(reason.strip())
    if found:
        need, since, has = found.groups()
        return f"Too few points{' since the rebase' if since else ''} ({has} of {need})"
    if reason.strip() == "no data":
        return "No data"
    return reason[:1].upper() + reason[1:]


def spc_explanation(
    result: SPCResult, *, unit: str, target: float | None = None, rebase_reasons: Mapping[str, str] | None = None
) -> str:
    """The chart in plain words, for the paragraph under it."""
    if len(result.period) == 0 or np.isnan(result.value).all():
        return "There is no data for this KPI and unit yet, so there is no chart."
    target = result.target if target is None else target
    parts = []
    if result.polarity == "monitored":
        parts.append(
            "Each point is a month. Grey circles are common cause: the ordinary ups and downs of the process. "
            "Purple triangles are special cause: a change unlikely to be chance (this KPI is monitored, so a "
            "change is neither improving nor concerning)."
        )
    else:
        better = "higher" if result.polarity == "higher_is_better" else "lower"
        parts.append(
            "Each point is a month. Points in blue (diamonds) are special cause improving and points in orange "
            "(squares) special cause concerning: a change unlikely to be chance, judged in this KPI's direction "
            f"({better} is better). Grey circles are common cause: the ordinary ups and downs of the process."
        )
    parts.append(
        "The solid line is the mean and the dashed lines the process limits. A month is special cause when it "
        "falls outside the limits, is one of 7 or more in a row on the same side of the mean, one of 7 rising or "
        "falling in a row, or one of 2 in 3 close to a limit."
    )
    if result.chart == "p":
        parts.append("The limits are wider in months with fewer cases.")
    if target is not None and np.isfinite(target) and result.polarity != "monitored":
        parts.append(
            f"The red dashed line is the target ({format_value(target, unit)}): between the limits, meeting it is "
            "hit and miss; outside them, the process will consistently pass or consistently fail."
        )
    for pos in result.rebase_positions:
        period = result.period[pos]
        reason = (rebase_reasons or {}).get(period)
        when = _month_words(period)
        parts.append(f"The mean and limits were recalculated from {when}" + (f" ({reason})." if reason else "."))
    return " ".join(parts)


def _month_words(period: str) -> str:
    if _MONTH.match(period):
        return date(int(period[:4]), int(period[5:7]), 1).strftime("%B %Y")
    return period


# ---------------------------------------------------------------- why a point is special


def special_cause_rows(result: SPCResult) -> list[dict]:
    """Each special-cause point: period, value, class (in words) and the rules it met."""
    rows = []
    for i, cls in enumerate(result.point_class):
        if cls in (COMMON_CAUSE, "") or not result.rules[i]:
            continue
        rows.append(
            {
                "period": result.period[i],
                "value": float(result.value[i]),
                "class": POINT_STYLES[cls].legend if cls in POINT_STYLES else cls,
                "rules": [RULE_DESCRIPTIONS.get(r, r) for r in result.rules[i]],
            }
        )
    return rows
