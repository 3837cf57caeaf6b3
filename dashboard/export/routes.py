"""Flask routes that send the board pack as a download.

    GET /boardpack.pdf?period=2023-07&level=la
    GET /boardpack.xlsx?period=2023-07&level=team&unit=North%20A%26I

`period` defaults to the latest month with data, `level` to the authority.
A bad parameter gets a 400 with one plain sentence; anything unexpected a 500
with a plain sentence (the detail goes to the server log), never a traceback.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, current_app, request, send_file

from dashboard.export.boardpack import BoardPackError, build_boardpack, check_request

log = logging.getLogger(__name__)

MIME = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# One pack at a time per process: each build already uses both cores (Chromium
# and WeasyPrint), and a queue is fairer than thrashing.
_building = threading.Lock()


def boardpack_url(kind: str, period: str | None, level: str = "la", unit: str | None = None) -> str:
    """The download link for the scorecard page: `kind` is "pdf" or "xlsx"."""
    params = {"period": period, "level": level}
    if unit and level != "la":
        params["unit"] = unit
    return f"/boardpack.{kind}?" + urlencode({k: v for k, v in params.items() if v})


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def download_name(period: str, level: str, unit: str | None, suffix: str) -> str:
    """`cpip-boardpack-2023-07-team-North-A-I.pdf`: only safe characters in a file name."""
    scope = level if level == "la" or not unit else f"{level}-{unit}"
    scope = re.sub(r"[^A-Za-z0-9]+", "-", scope).strip("-")[:60] or level
    return f"cpip-boardpack-{period}-{scope}.{suffix}"


def _send(suffix: str) -> Response:
    db = current_app.config.get("CPIP_DB")  # None: $CPIP_DB or the default warehouse
    args = request.args
    try:
        period, level, unit = check_request(args.get("period"), args.get("level"), args.get("unit"), db=db)
    except BoardPackError as exc:
        return _plain(str(exc), 400)
    try:
        with _building, tempfile.TemporaryDirectory(prefix="cpip-boardpack-") as folder:
            path = build_boardpack(period, level=level, unit=unit, out=Path(folder) / f"pack.{suffix}", db=db)
            data = path.read_bytes()
    except BoardPackError as exc:
        return _plain(str(exc), 400)
    except Exception:
        log.exception("board pack %s %s %s %s failed", suffix, period, level, unit)
        return _plain("The board pack could not be built. The error has been logged; please tell the data team.", 500)
    return send_file(
        BytesIO(data),
        mimetype=MIME[suffix],
        as_attachment=True,
        download_name=download_name(period, level, unit, suffix),
        max_age=0,
    )


def register(server: Flask) -> None:
    """Add /boardpack.pdf and /boardpack.xlsx to the Dash app's Flask server."""
    server.add_url_rule("/boardpack.pdf", "boardpack_pdf", lambda: _send("pdf"), methods=["GET"])
    server.add_url_rule("/boardpack.xlsx", "boardpack_xlsx", lambda: _send("xlsx"), methods=["GET"])
