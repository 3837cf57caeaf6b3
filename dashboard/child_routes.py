"""Flask routes that send child lists as CSV downloads.

    GET /kpi/<metric_id>/children.csv?period=2023-07&level=team&unit=Coastal%20FS%201
        columns: child_id, team, start, deadline, event_date, working_days, outcome
    GET /due.csv?team=Coastal%20FS%201&days=5[&on=2023-07-31][&cutoff=3]   (or level=service&unit=...)
        columns: metric_id, child_id, team, start, deadline, days_left, days_overdue, outcome

Formula-safe (etl.serve.safe_csv), dates ISO. The gate (dashboard/gate.py) has
already refused a role that may not see child lists; the query layer
(etl.privacy.children) refuses teams outside the viewer's (403 through the gate's
error handler) and records the download in the access log. A bad parameter
gets a 400 with one plain sentence.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Flask, Response, current_app, request

from etl.privacy import children
from etl.privacy.access_log import AccessLogUnavailable
from etl.serve.safe_csv import to_csv_text


def _plain(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _csv(text: str, name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:80] or "children"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"', "Cache-Control": "no-store"},
    )


def parse_days(text: str | None) -> int:
    try:
        return int(text) if text not in (None, "") else 5
    except ValueError:
        raise ValueError(f"days must be a whole number of working days, not {text!r}") from None


def parse_on(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"on must be a date like 2023-07-31, not {text!r}") from None


def parse_cutoff(text: str | None) -> int:
    """The due list's cut-off in months (0: every overdue record listed)."""
    try:
        return int(text) if text not in (None, "") else children.DUE_CUTOFF_MONTHS
    except ValueError:
        raise ValueError(f"cutoff must be a whole number of months (0 for none), not {text!r}") from None


def children_csv(metric_id: str) -> Response:
    args = request.args
    db = current_app.config.get("CPIP_DB")
    try:
        period = args.get("period") or ""
        found = children.child_list(metric_id, period, args.get("level") or "la", args.get("unit"), fmt="csv", db=db)
    except ValueError as exc:
        return _plain(str(exc), 400)
    except AccessLogUnavailable as exc:
        return _plain(str(exc), 503)
    name = f"children-{metric_id}-{found.period}-{found.level}-{found.unit if found.level != 'la' else ''}"
    return _csv(to_csv_text(found.rows), name)


def due_csv() -> Response:
    args = request.args
    db = current_app.config.get("CPIP_DB")
    try:
        found = children.due_list(
            team=args.get("team") or None, days=parse_days(args.get("days")), on=parse_on(args.get("on")),
            level=args.get("level") or None, unit=args.get("unit") or None, cutoff=parse_cutoff(args.get("cutoff")),
            fmt="csv", db=db,
        )  # fmt: skip
    except ValueError as exc:
        return _plain(str(exc), 400)
    except AccessLogUnavailable as exc:
        return _plain(str(exc), 503)
    return _csv(to_csv_text(found.rows), f"due-{found.unit or 'all-teams'}-{found.days}-days")


def register(server: Flask) -> None:
    server.add_url_rule("/kpi/<metric_id>/children.csv", "children_csv", children_csv, methods=["GET"])
    server.add_url_rule("/due.csv", "due_csv", due_csv, methods=["GET"])
