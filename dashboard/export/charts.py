"""Charts for the pack, drawn on the server with Plotly's static export (SVG).

The figures are the dashboard's own (dashboard.components.figures), so the
pack looks like the dashboard; here they are only sized for paper, given a
font that is installed, and turned into SVG by kaleido driving the system's
Chromium. Nothing touches the network: kaleido uses plotly.py's own
plotly.js, and MathJax (which it would fetch from a CDN) is switched off.

Kaleido starts a browser per call (about 2 s) unless one is kept open, so one
is kept per process: it runs in a background thread with its own event loop,
started by `start()` (which returns at once, so Chromium boots while the
pack's queries run). kaleido's own `start_sync_server` is not used because a
browser that fails to start leaves its callers waiting forever; here the
failure comes back as a ChartError, the pack prints it where the chart would
be, and the next pack tries again.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from dashboard import theme
from dashboard.export import look
from dashboard.export.look import format_value
from etl.catalogue.metrics import Metric, Polarity

log = logging.getLogger(__name__)

SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
# Pixels at which a chart is laid out; rendered at SCALE for print sharpness.
TREND_SIZE = (780, 530)
AUDIT_SIZE = (1100, 330)
BREAKDOWN_WIDTH = 520
# SVG: vector charts that stay sharp in print, whose text WeasyPrint sets in the
# embedded fonts; and faster than PNG both to draw (about 0.15 s a chart) and
# to put in the PDF (no pixels to re-encode), and a quarter of the file size.
IMAGE_FORMAT = "svg"
SCALE = 1  # only used for raster formats
TABS = 2  # charts drawn at once (the machine has two cores)
START_TIMEOUT = 20.0  # seconds for Chromium to come up (about 2 s normally)
RENDER_TIMEOUT = 15.0  # seconds for one chart (a fraction of a second normally)


class ChartError(RuntimeError):
    """A chart could not be drawn (no browser, a timeout): the pack says so in its place."""


class _Renderer:
    """One kaleido browser in a daemon thread with its own asyncio loop.

    `_browser` resolves to the open browser, or to the exception that stopped
    it opening (returned, not raised, so asyncio never logs an unretrieved
    task exception at exit)."""

    def __init__(self) -> None:
        import kaleido

        self.broken = False  # a chart failed: the next pack starts a fresh browser
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="boardpack-charts", daemon=True)
        self._thread.start()

        async def open_browser() -> Any:
            browser = None
            try:
                browser = kaleido.Kaleido(n=TABS, timeout=RENDER_TIMEOUT, mathjax=False)
                await browser.open()
            except Exception as exc:  # no browser, or it died while starting
                if browser is not None:
                    with contextlib.suppress(Exception):
                        await browser.close()  # removes its temporary profile folder
                return exc
            return browser

        self._browser: concurrent.futures.Future = asyncio.run_coroutine_threadsafe(open_browser(), self._loop)

    def _opened(self) -> Any:
        """The open browser, or None (still starting, or failed)."""
        if not self._browser.done():
            return None
        browser = self._browser.result()
        return None if isinstance(browser, Exception) else browser

    def failed(self) -> bool:
        if self.broken or not self._thread.is_alive():
            return True
        return self._browser.done() and self._opened() is None

    def submit(self, fig: go.Figure, opts: dict) -> concurrent.futures.Future:
        async def draw() -> bytes:
            browser = await asyncio.wrap_future(self._browser)
            if isinstance(browser, Exception):
                raise ChartError(_describe(browser))
            return await browser.calc_fig(fig, opts=opts)

        return asyncio.run_coroutine_threadsafe(draw(), self._loop)

    def close(self) -> None:
        with contextlib.suppress(concurrent.futures.TimeoutError):
            self._browser.result(timeout=START_TIMEOUT)  # a browser still starting is closed once up
        browser = self._opened()
        if browser is not None:
            closing = asyncio.run_coroutine_threadsafe(browser.close(), self._loop)
            try:
                closing.result(timeout=10)
            except Exception as exc:  # closing: nothing more to do than say so
                log.debug("chart browser did not close cleanly: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


_lock = threading.Lock()
_renderer: _Renderer | None = None


class _Anchor:
    pass


def _close_before_tempfile_cleanup() -> None:
    """Make `stop` run at exit before Python's tempfile finalizers: atexit runs
    handlers last-in first-out, and weakref registers its own handler (which
    deletes temporary folders, Chromium's profile among them) with the first
    finalizer ever made. Making one first, then registering `stop`, closes the
    browser before its folder is deleted under it (else: a traceback at exit)."""
    weakref.finalize(_ANCHOR, lambda: None)
    atexit.register(stop)


_ANCHOR = _Anchor()
_exit_hook = False


def _describe(exc: BaseException) -> str:
    """One short line: the error's name and the first sentence of its message."""
    if isinstance(exc, ChartError):
        return str(exc)
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = first.split(". ")[0].strip().rstrip(".") or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"


def start() -> None:
    """Start the chart browser if it is not running (or failed last time); returns at once."""
    global _renderer
    with _lock:
        if _renderer is not None and not _renderer.failed():
            return
        if _renderer is not None:
            _renderer.close()
        if "BROWSER_PATH" not in os.environ and SYSTEM_CHROMIUM.exists():
            os.environ["BROWSER_PATH"] = str(SYSTEM_CHROMIUM)
        global _exit_hook
        if not _exit_hook:
            _close_before_tempfile_cleanup()
            _exit_hook = True
        _renderer = _Renderer()


def stop() -> None:
    """Close the chart browser (at exit, and in tests that want a fresh one)."""
    global _renderer
    with _lock:
        if _renderer is not None:
            _renderer.close()
            _renderer = None


def submit(fig: go.Figure) -> concurrent.futures.Future:
    """Start drawing a figure as SVG (its layout carries width and height); the
    browser draws TABS at a time while the caller builds the next figure.
    Pass the future to `result`."""
    start()
    renderer = _renderer
    assert renderer is not None
    opts = {"format": IMAGE_FORMAT, "width": fig.layout.width, "height": fig.layout.height, "scale": SCALE}
    return renderer.submit(fig, opts)


def result(future: concurrent.futures.Future) -> bytes | ChartError:
    """The image (SVG bytes) of a submitted figure, or the ChartError that says why not.
    After a failure the browser is marked broken, so the next pack starts afresh."""
    try:
        return future.result(timeout=START_TIMEOUT + RENDER_TIMEOUT)
    except concurrent.futures.TimeoutError:
        future.cancel()
        error = ChartError(f"the chart was not drawn within {START_TIMEOUT + RENDER_TIMEOUT:.0f} s")
    except Exception as exc:  # kaleido's and choreographer's own errors: no browser, a crash
        error = ChartError(_describe(exc))
    log.warning("board pack chart not drawn: %s", error)
    if _renderer is not None:
        _renderer.broken = True
    return error


def render_many(figures: list[go.Figure]) -> list[bytes | ChartError]:
    """Each figure as image bytes, or a ChartError in its place."""
    return [result(future) for future in [submit(fig) for fig in figures]]


def render(fig: go.Figure) -> bytes:
    """One figure as image bytes; raises ChartError."""
    (result,) = render_many([fig])
    if isinstance(result, ChartError):
        raise result
    return result


def for_print(fig: go.Figure, width: int, height: int) -> go.Figure:
    """The dashboard figure at a fixed size, with the embedded print font (in
    place: the figures are built for the pack, and copying one costs 35 ms)."""
    fig.update_layout(width=width, height=height, font_family=look.CHART_FONT, hoverlabel_font_family=look.CHART_FONT)
    return fig


def month_ticks(fig: go.Figure, months: int) -> go.Figure:
    """One tick a month on a short trend (plotly's automatic ticks repeat a
    month when there are only a few), one a quarter on a longer one."""
    if months <= 14:
        fig.update_xaxes(dtick="M1")
    elif months <= 30:
        fig.update_xaxes(dtick="M3")
    return fig


def label_bands(fig: go.Figure, metric: Metric, period: str) -> go.Figure:
    """Name the RAG bands in force in `period` at the chart's right edge: the
    pale band colours vanish in black-and-white print, the words do not."""
    t = metric.thresholds_for(period)
    y_range = fig.layout.yaxis.range
    if t is None or not metric.rated or y_range is None:
        return fig
    low, high = y_range
    unit = metric.unit
    higher = metric.polarity is Polarity.HIGHER
    # (text, at, above the line?)
    labels = [
        (f"Green {'≥' if higher else '≤'} {format_value(t.green, unit)}", t.green, higher),
        (f"Amber {'≥' if higher else '≤'} {format_value(t.amber, unit)}", t.amber, higher),
        (f"Red {'below' if higher else 'above'} {format_value(t.amber, unit)}", t.amber, not higher),
    ]
    for text, at, above in labels:
        if low < at < high:
            fig.add_annotation(
                text=text, x=1, xref="paper", xanchor="right", y=at, yref="y",
                yanchor="bottom" if above else "top", showarrow=False,
                font={"size": 11, "color": theme.INK}, bgcolor="rgba(255,255,255,0.7)",
            )  # fmt: skip
    return fig


def breakdown_height(rows: int) -> int:
    return max(220, 60 + 34 * rows)
