"""How long the server spent on each request, told to the browser.

Every response carries `Server-Timing: app;dur=<ms>` (the time from the first
`before_request` hook to the response leaving Flask, the gate and the callback
included), so the browser's developer tools and `benchmarks/pages.py` can split
a page's time between the server and the browser. It names no user, query or
data: only a duration.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g

HEADER = "Server-Timing"


def install(server: Flask) -> None:
    """Time every request of `server`, from before the gate to its response."""

    def _start() -> None:
        g.cpip_started = time.perf_counter()

    # First of all the hooks, so the gate's own work is counted too.
    server.before_request_funcs.setdefault(None, []).insert(0, _start)

    @server.after_request
    def _told(response: Response) -> Response:
        started = g.get("cpip_started")
        if started is not None:
            response.headers[HEADER] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
