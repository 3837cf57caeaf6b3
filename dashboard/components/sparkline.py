"""A 12-month sparkline as a tiny inline SVG image.

An image rather than a plotly chart: a scorecard has a sparkline per KPI, and
twenty plotly charts would slow the page and the print; an SVG is a few
hundred bytes, prints crisply, and carries a text alternative.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from dashboard import theme

WIDTH, HEIGHT, PAD = 120, 28, 3


def _clean(values: Sequence[float | None]) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(None if f != f else f)
    return out


def sparkline_svg(values: Sequence[float | None]) -> str:
    """The SVG markup of a sparkline: a polyline per run of known values (a
    gap where a month has no data) and a dot on the last known value."""
    clean = _clean(values)
    known = [v for v in clean if v is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">'
    ]
    if known:
        lo, hi = min(known), max(known)
        span = (hi - lo) or 1.0
        step = (WIDTH - 2 * PAD) / max(len(clean) - 1, 1)

        def point(i: int, v: float) -> tuple[float, float]:
            y = HEIGHT - PAD - (v - lo) / span * (HEIGHT - 2 * PAD) if hi != lo else HEIGHT / 2
            return round(PAD + i * step, 1), round(y, 1)

        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(clean):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(point(i, v))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x},{y}" for x, y in run)
                parts.append(
                    f'<polyline points="{pts}" fill="none" stroke="{theme.SPARK_LINE}" '
                    'stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>'
                )
        last_i = max(i for i, v in enumerate(clean) if v is not None)
        x, y = point(last_i, clean[last_i])  # type: ignore[arg-type]
        parts.append(f'<circle cx="{x}" cy="{y}" r="2.6" fill="{theme.SPARK_POINT}"/>')
    parts.append("</svg>")
    return "".join(parts)


def sparkline_src(values: Sequence[float | None]) -> str:
    """The sparkline as a `data:` URL for an <img>."""
    return "data:image/svg+xml;charset=utf-8," + quote(sparkline_svg(values))
