"""The board pack's charts drawn as SVG directly: no browser, no plotly.

Starting Chromium for kaleido was most of a fresh `cpip boardpack` (about 2-5 s
of 7.6 s); these small charts need only lines, rectangles and words, so they
are written here as SVG text, in the theme's colours and the print font, and
WeasyPrint sets their words in the embedded fonts (so they are in the PDF's
text, and print sharp). They follow the dashboard's figures
(dashboard/components/figures.py): the trend with its RAG bands, target,
benchmarks and events; the breakdown as bars, best first; the audit grades
as 100% stacked bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

import pandas as pd

from dashboard import theme
from dashboard.components.trend_model import trend_model
from dashboard.export import look
from dashboard.export.look import format_fraction, format_value
from etl.catalogue.metrics import Metric, Polarity
from etl.rules.calendar import add_months, parse_period

FONT = look.CHART_FONT
GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")


def _num(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _t(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 11,
    anchor: str = "start",
    colour: str = theme.INK,
    weight: str = "normal",
    baseline: str = "auto",
) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="{weight}" dominant-baseline="{baseline}">{escape(text)}</text>')  # fmt: skip


def _svg(width: int, height: int, body: list[str], title: str, desc: str = "") -> bytes:
    # <desc> is the chart in words (its figures, trend and target): the PDF's alternative text (export/pdf.py).
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{FONT}"><title>{escape(title)}</title><desc>{escape(desc or title)}</desc>'
        f'<rect width="{width}" height="{height}" fill="{theme.SURFACE}"/>' + "".join(body) + "</svg>"
    ).encode("utf-8")


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = max(high - low, 1e-9)
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]


def _month_label(period: str) -> str:
    return parse_period(period).strftime("%b %Y")


def trend_svg(
    trend: pd.DataFrame,
    metric: Metric,
    period: str,
    *,
    benchmarks: Mapping[str, float] | None = None,
    events: Sequence[tuple[date, str]] = (),
    width: int = 780,
    height: int = 530,
) -> bytes:
    """The monthly trend: RAG bands of each month's thresholds (named at the right
    edge for black-and-white print), the target, benchmarks, events, the series."""
    periods = [str(p)[:7] for p in trend["period"]]
    values = [_num(v) for v in trend["value"]]
    if not periods or all(v is None for v in values):
        return _svg(width, 120, [_t(width / 2, 60, "No data for this KPI yet", anchor="middle")], "No data")
    unit = metric.unit
    bench = {k: v for k, v in (benchmarks or {}).items() if v is not None}
    thresholds = metric.thresholds_for(period) if metric.rated else None
    model = trend_model(metric, periods, values, also=bench.values())
    targets, y_low, y_high = model.targets, model.y_low, model.y_high
    legend_rows = 1 + (len(bench) + 2) // 3
    left, right, top, bottom = 62, 16, 16, 46 + 18 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(periods)

    def x(i: float) -> float:
        return left + (i + 0.5) * plot_w / n

    def y(v: float) -> float:
        return top + (y_high - v) / (y_high - y_low) * plot_h

    body: list[str] = []
    # RAG bands, month by month (thresholds change by financial year).
    if metric.rated:
        for i, p in enumerate(periods):
            t = metric.thresholds_for(p)
            if t is None:
                continue
            if metric.polarity is Polarity.HIGHER:
                zones = [("Green", t.green, y_high), ("Amber", t.amber, t.green), ("Red", y_low, t.amber)]
            else:
                zones = [("Green", y_low, t.green), ("Amber", t.green, t.amber), ("Red", t.amber, y_high)]
            for word, a, b in zones:
                a, b = max(a, y_low), min(b, y_high)
                if b > a:
                    body.append(f'<rect x="{left + i * plot_w / n:.1f}" y="{y(b):.1f}" width="{plot_w / n + 0.3:.1f}" '
                                f'height="{y(a) - y(b):.1f}" fill="{theme.RAG[word].band}"/>')  # fmt: skip
    # Gridlines and the value axis.
    suffix = "%" if unit == "percent" else ""
    for tick in _nice_ticks(y_low, y_high):
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                    f'stroke="{theme.LINE}" stroke-width="0.6"/>')  # fmt: skip
        body.append(_t(left - 6, y(tick) + 4, f"{tick:g}{suffix}", anchor="end", colour=theme.MUTED))
    # Month ticks: every month on a short trend, every quarter on a longer one.
    step = 1 if n <= 14 else 3
    for i, p in enumerate(periods):
        if (n - 1 - i) % step == 0:
            body.append(_t(x(i), top + plot_h + 16, _month_label(p), anchor="middle", size=10, colour=theme.MUTED))
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
                f'stroke="{theme.MUTED}" stroke-width="0.8"/>')  # fmt: skip
    # Benchmarks and the target.
    styles = [(theme.ENGLAND, "2,3"), (theme.NEIGHBOURS, "6,3,2,3"), (theme.MUTED, "8,4")]
    legend: list[tuple[str, str, str, bool]] = [(metric.label, theme.PRIMARY, "", True)]
    for (label, level), (colour, dash) in zip(bench.items(), styles, strict=False):
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                    f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>')  # fmt: skip
        legend.append((f"{label} {format_value(level, unit)}", colour, dash, False))
    if any(t is not None for t in targets):
        points = []
        for i, t in enumerate(targets):
            if t is not None:
                points += [f"{left + i * plot_w / n:.1f},{y(t):.1f}", f"{left + (i + 1) * plot_w / n:.1f},{y(t):.1f}"]
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{theme.TARGET}" stroke-width="1.5" '
                    'stroke-dasharray="6,4"/>')  # fmt: skip
        legend.append(("Target", theme.TARGET, "6,4", False))
    # Events: dotted lines, labelled at the top (listed again under the chart).
    first_day, after = parse_period(periods[0]), parse_period(add_months(periods[-1], 1))
    for k, (day, label) in enumerate(e for e in events if first_day <= e[0] < after):
        months = (day.year - first_day.year) * 12 + day.month - first_day.month
        at = left + (months + (day.day - 1) / 31) * plot_w / n
        body.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{theme.EVENT}" '
                    'stroke-width="1.5" stroke-dasharray="2,3"/>')  # fmt: skip
        body.append(_t(at + 3, top + 12 + 14 * (k % 2), label, size=10, colour=theme.EVENT))
    # The series: a line that breaks at a month with no data, and a marker per month.
    runs, run = [], []
    for i, v in enumerate(values):
        if v is None:
            if len(run) > 1:
                runs.append(run)
            run = []
        else:
            run.append(f"{x(i):.1f},{y(v):.1f}")
    if len(run) > 1:
        runs.append(run)
    for r in runs:
        body.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{theme.PRIMARY}" stroke-width="2.5" '
                    'stroke-linejoin="round"/>')  # fmt: skip
    for i, v in enumerate(values):
        if v is not None:
            body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{theme.PRIMARY}"/>')
    # The bands in force in the pack's month, in words at the right edge.
    if thresholds is not None:
        higher = metric.polarity is Polarity.HIGHER
        for text, at, above in (
            (f"Green {'≥' if higher else '≤'} {format_value(thresholds.green, unit)}", thresholds.green, higher),
            (f"Amber {'≥' if higher else '≤'} {format_value(thresholds.amber, unit)}", thresholds.amber, higher),
            (f"Red {'below' if higher else 'above'} {format_value(thresholds.amber, unit)}", thresholds.amber,
             not higher),
        ):  # fmt: skip
            if y_low < at < y_high:
                body.append(_t(left + plot_w - 4, y(at) + (-4 if above else 12), text, anchor="end", size=11))
    # Legend under the axis.
    lx, ly = left, top + plot_h + 38
    for label, colour, dash, is_series in legend:
        w = 30
        style = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<line x1="{lx}" x2="{lx + w}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
                    f'stroke-width="{2.5 if is_series else 1.5}"{style}/>')  # fmt: skip
        body.append(_t(lx + w + 5, ly, label, size=11))
        lx += w + 20 + 6.2 * len(label)
        if lx > width - 200:
            lx, ly = left, ly + 18
    return _svg(width, height, body, f"Trend of {metric.label}", trend_words(metric, periods, values, targets))


def breakdown_svg(spread: pd.DataFrame, metric: Metric, period: str, *, width: int = 520) -> bytes:
    """One month across the units below: horizontal bars, best first, each with its
    value, counts and RAG word, and the month's target as a line."""
    frame = spread.assign(value=[_num(v) for v in spread["value"]])
    frame = frame.sort_values("value", ascending=metric.polarity is Polarity.LOWER, na_position="last")
    rows = len(frame)
    height = max(220, 60 + 34 * rows)
    left, right, top, bottom = 170, 20, 10, 36
    plot_w, bar_h = width - left - right, (height - top - bottom) / max(rows, 1)
    known = [v for v in map(_num, frame["value"]) if v is not None]
    t = metric.thresholds_for(period)
    target = t.target if t is not None else None
    high = 100.0 if metric.unit == "percent" else max([*known, target or 0, 1]) * 1.15
    body: list[str] = []

    def x(v: float) -> float:
        return left + v / high * plot_w

    for i, r in enumerate(frame.itertuples(index=False)):
        value = _num(r.value)
        mid = top + (i + 0.5) * bar_h
        name = str(r.org_unit)
        body.append(_t(left - 6, mid + 4, name if len(name) <= 26 else name[:25] + "…", anchor="end", size=11))
        rag = str(getattr(r, "rag", "") or "No data")
        if value is None:
            body.append(_t(left + 4, mid + 4, "No data", size=10, colour=theme.MUTED))
            continue
        colour = theme.RAG.get(rag, theme.RAG["No data"]).background if metric.rated else theme.PRIMARY
        body.append(f'<rect x="{left}" y="{mid - bar_h * 0.35:.1f}" width="{max(x(value) - left, 1):.1f}" '
                    f'height="{bar_h * 0.7:.1f}" fill="{colour}" stroke="{theme.INK}" '
                    'stroke-width="0.4"/>')  # fmt: skip
        fraction = format_fraction(_num(r.numerator), _num(r.denominator), metric.unit)
        label = format_value(value, metric.unit) + (f" ({fraction})" if fraction and metric.unit != "count"
                                                      else "") + (f" · {rag}" if metric.rated else "")  # fmt: skip
        inside = x(value) - left > 6.3 * len(label) + 10
        body.append(_t(x(value) - 4 if inside else x(value) + 4, mid + 4, label, size=10,
                       anchor="end" if inside else "start", colour=theme.RAG[rag].text if inside and metric.rated
                       and rag in theme.RAG else theme.INK))  # fmt: skip
    if target is not None:
        body.append(f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{top}" y2="{height - bottom}" '
                    f'stroke="{theme.TARGET}" stroke-width="1.5" stroke-dasharray="6,4"/>')  # fmt: skip
        body.append(_t(x(target), height - bottom + 16, f"Target {format_value(target, metric.unit)}",
                       anchor="middle", size=11))  # fmt: skip
    said = [f"{r.org_unit} {_bar_words(r, metric)}" for r in frame.itertuples(index=False)]
    aim = f" Target {format_value(target, metric.unit)}." if target is not None else ""
    desc = f"Bar chart of {metric.label}, {_month_label(period)}, best first: {'; '.join(said)}.{aim}"
    return _svg(width, height, body, f"{metric.label} by unit", desc)


def audit_svg(months: pd.DataFrame, *, width: int = 1100, height: int = 330) -> bytes:
    """Moderated audit grades by month as 100% stacked bars, in grade order."""
    columns = {g: g.lower().replace(" ", "_") + "_pct" for g in GRADES}
    left, right, top, bottom = 60, 16, 34, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(months), 1)
    body: list[str] = []
    for tick in (0, 25, 50, 75, 100):
        yy = top + (100 - tick) / 100 * plot_h
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{theme.LINE}" '
                    'stroke-width="0.6"/>')  # fmt: skip
        body.append(_t(left - 6, yy + 4, f"{tick}%", anchor="end", colour=theme.MUTED, size=10))
    for i, r in enumerate(months.to_dict("records")):
        x0, bar = left + i * plot_w / n + plot_w / n * 0.15, plot_w / n * 0.7
        base = 0.0
        for grade in GRADES:
            v = _num(r.get(columns[grade])) or 0.0
            if v <= 0:
                continue
            y1 = top + (100 - base - v) / 100 * plot_h
            body.append(f'<rect x="{x0:.1f}" y="{y1:.1f}" width="{bar:.1f}" height="{v / 100 * plot_h:.1f}" '
                        f'fill="{theme.GRADE_COLOURS[grade]}" stroke="{theme.SURFACE}" stroke-width="1"/>')  # fmt: skip
            if v >= 8:
                light = grade in ("Outstanding", "Good", "Inadequate")
                body.append(_t(x0 + bar / 2, y1 + v / 200 * plot_h + 4, f"{v:.0f}%", anchor="middle", size=10,
                               colour=theme.SURFACE if light else theme.INK))  # fmt: skip
            base += v
        label = parse_period(str(r["period"])[:7]).strftime("%b %Y")
        body.append(_t(x0 + bar / 2, top + plot_h + 16, label, anchor="middle", size=10, colour=theme.MUTED))
    lx = left
    for grade in GRADES:
        body.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{theme.GRADE_COLOURS[grade]}"/>')
        body.append(_t(lx + 16, 18, grade, size=11))
        lx += 40 + 6.5 * len(grade)
    said = [
        parse_period(str(r["period"])[:7]).strftime("%b %Y") + ": "
        + (", ".join(f"{g} {_num(r.get(columns[g])) or 0:.0f}%" for g in GRADES)
           if r.get("moderated") else "none moderated")
        for r in months.to_dict("records")
    ]  # fmt: skip
    desc = "Moderated audit grades by month, as shares of the moderated audits: " + "; ".join(said) + "."
    return _svg(width, height, body, "Moderated audit grades by month", desc)


def _bar_words(r: object, metric: Metric) -> str:
    value = _num(getattr(r, "value", None))
    if value is None:
        return "no data"
    fraction = format_fraction(_num(r.numerator), _num(r.denominator), metric.unit)
    rag = str(getattr(r, "rag", "") or "")
    return (
        format_value(value, metric.unit)
        + (f" ({fraction})" if fraction and metric.unit != "count" else "")
        + (f", {rag}" if metric.rated and rag else "")
    )


def trend_words(
    metric: Metric, periods: Sequence[str], values: Sequence[float | None], targets: Sequence[float | None]
) -> str:
    """The trend chart in words, for a reader who cannot see it: every month's figure,
    the way it went from first to last, and the target in the latest month."""
    unit = metric.unit
    known = [(p, v) for p, v in zip(periods, values, strict=True) if v is not None]
    if not known:
        return f"Trend of {metric.label}: no data."
    (p0, v0), (p1, v1) = known[0], known[-1]
    if len(known) == 1:
        way = f"one month of data: {format_value(v1, unit)} in {_month_label(p1)}"
    else:
        moved = "rose" if v1 > v0 else "fell" if v1 < v0 else "was unchanged"
        better = (v1 > v0) == (metric.polarity is Polarity.HIGHER)
        judged = "" if v1 == v0 else " (better)" if better else " (worse)"
        way = (
            f"it {moved} from {format_value(v0, unit)} in {_month_label(p0)} to {format_value(v1, unit)} "
            f"in {_month_label(p1)}{judged}"
        )
    target = targets[-1] if targets else None
    polarity = metric.polarity.value.replace("_", " ")
    aim = f" Target {format_value(target, unit)}, {polarity}." if target is not None else " No target."
    months = "; ".join(f"{_month_label(p)} {format_value(v, unit) if v is not None else 'no data'}"
                       for p, v in zip(periods, values, strict=True))  # fmt: skip
    span = f"{_month_label(periods[0])} to {_month_label(periods[-1])}"
    return f"Line chart of {metric.label}, {span}: {way}.{aim} {months}."
