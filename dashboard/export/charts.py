"""Charts for the pack, drawn on the server with Plotly's static export.

The figures are the dashboard's own (dashboard.components.figures), so the
pack looks like the dashboard; here they are only sized for paper, given a
font that is installed, and turned into PNG by kaleido driving the system's
Chromium. Nothing touches the network.

Kaleido starts a browser per call (about 2 s) unless its sync server is
running, after which an image takes a fraction of a second; so the server is
started once per process (`start()`, which returns at once while Chromium
boots in the background) and kept. Its queue is not safe for two threads at
once, hence the lock.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import plotly.graph_objects as go

from dashboard.export import look

log = logging.getLogger(__name__)

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
# Pixels at which a chart is laid out; rendered at SCALE for print sharpness.
TREND_SIZE = (780, 470)
AUDIT_SIZE = (1100, 330)
BREAKDOWN_WIDTH = 520
SCALE = 2

_lock = threading.Lock()
_started = False


class ChartError(RuntimeError):
    """A chart could not be drawn (no browser, a timeout): the pack says so in its place."""


def start() -> None:
    """Start kaleido's browser once per process; returns while it boots."""
    global _started
    with _lock:
        if _started:
            return
        if "BROWSER_PATH" not in os.environ and SYSTEM_CHROMIUM.exists():
            os.environ["BROWSER_PATH"] = str(SYSTEM_CHROMIUM)
        import kaleido

        kaleido.start_sync_server(n=1, silence_warnings=True)
        _started = True


def for_print(fig: go.Figure, width: int, height: int) -> go.Figure:
    """The dashboard figure at a fixed size, with the embedded print font."""
    fig = go.Figure(fig)
    fig.update_layout(width=width, height=height, font_family=look.CHART_FONT, hoverlabel_font_family=look.CHART_FONT)
    return fig


def render_png(fig: go.Figure) -> bytes:
    """One figure as PNG bytes (its layout must carry width and height)."""
    start()
    import kaleido

    opts = {"format": "png", "width": fig.layout.width, "height": fig.layout.height, "scale": SCALE}
    try:
        with _lock:
            return kaleido.calc_fig_sync(fig, opts=opts)
    except Exception as exc:  # kaleido raises its own and choreographer's errors
        log.warning("board pack chart not drawn: %s", exc)
        raise ChartError(f"{exc.__class__.__name__}: {exc}".strip()) from exc


def month_ticks(fig: go.Figure, months: int) -> go.Figure:
    """One tick a month on a short trend (plotly's automatic ticks repeat a
    month when there are only a few), one a quarter on a longer one."""
    if months <= 14:
        fig.update_xaxes(dtick="M1")
    elif months <= 30:
        fig.update_xaxes(dtick="M3")
    return fig


def breakdown_height(rows: int) -> int:
    return max(220, 60 + 34 * rows)
