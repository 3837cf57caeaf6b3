"""What every response tells the browser about time: how long the server spent on it, and how long
the browser may keep it.

- `Server-Timing: app;dur=<ms>` on every response (the time from the first `before_request` hook to
  the response leaving Flask, the gate and the callback included), so the browser's developer tools and
  `benchmarks/pages.py` can split a page's time between the server and the browser. It names no user,
  query or data: only a duration.
- The app's own files (`/assets/...?m=<mtime>`, an address that changes whenever the file does) may be
  kept a year, and Dash's script chunks that carry no version in their address (the chart's and the
  upload's, plotly.js) an hour, instead of being asked for again on every page: about ten requests a page,
  the plotly.js one on the critical path of every chart. Dash already gives its versioned bundles a year.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

HEADER = "Server-Timing"
VERSIONED = "public, max-age=31536000, immutable"
# Dash's lazily loaded chunks keep one address across releases: an hour at most after an upgrade.
UNVERSIONED_CHUNK = "public, max-age=3600"


def cache_control(path: str, query: dict) -> str | None:
    """How long the browser may keep the answer to GET `path` (with `query`), or None (ask every time)."""
    if path.startswith("/assets/") and "m" in query:
        return VERSIONED
    if path.startswith("/_dash-component-suites/") and path.endswith(".js"):
        return UNVERSIONED_CHUNK  # the versioned bundles are Dash's own (a year), set before this
    return None


def install(server: Flask) -> None:
    """Time every request of `server`, from before the gate to its response, and let the browser keep
    the app's static files."""

    def _start() -> None:
        g.cpip_started = time.perf_counter()

    # First of all the hooks, so the gate's own work is counted too.
    server.before_request_funcs.setdefault(None, []).insert(0, _start)

    @server.after_request
    def _told(response: Response) -> Response:
        started = g.get("cpip_started")
        if started is not None:
            response.headers[HEADER] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        if request.method == "GET" and response.status_code in (200, 304):
            keep = cache_control(request.path, request.args)
            # a bundle Dash already versioned keeps its year; anything else the rules above name gets theirs
            if keep and not (response.cache_control.max_age or 0) > 3600:
                response.headers["Cache-Control"] = keep
        return response
