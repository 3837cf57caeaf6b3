"""The CPIP dashboard: `python app.py` serves it on http://127.0.0.1:8050
(`HOST` and `PORT` in the environment choose another address: `make run PORT=8060`).

For many users, serve the WSGI `server` with gunicorn (the warehouse is only
ever opened read-only, per request):  gunicorn -w 4 -b 0.0.0.0:8050 app:server

On several machines (README, "On two or more machines"), CPIP_REDIS_URL sends
the data page's background jobs to Celery (`cpip worker`, dashboard/jobs.py),
and CPIP_OIDC_* let the app sign people in itself (dashboard/signin.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from etl.catalogue.metrics import require_catalogue
from etl.privacy.access import check_access_file, require_policy

require_catalogue()  # a broken metrics.yml stops here with one line, before any page is built
require_policy()  # so does a broken access file (CPIP_ACCESS)
try:
    check_access_file()  # a team or service the organisation reference lacks: logged (and on the data page)
except Exception:  # no warehouse yet, or one being replaced: the data page checks again
    logging.getLogger("cpip.access").info("the access file was not checked against the organisation at start-up")

import dash  # noqa: E402

from dashboard import child_routes, gate, inbox_schedule, timing  # noqa: E402
from dashboard.components.upload import max_upload_bytes  # noqa: E402
from dashboard.export import routes as boardpack_routes  # noqa: E402
from dashboard.shell import APP_TITLE, build_shell, index_string, install_skeleton  # noqa: E402

HERE = Path(__file__).resolve().parent

app = dash.Dash(
    __name__,
    use_pages=True,
    pages_folder=str(HERE / "dashboard" / "pages"),
    assets_folder=str(HERE / "dashboard" / "assets"),
    title=APP_TITLE,
    compress=True,  # callback responses shrink about tenfold
    suppress_callback_exceptions=False,
    update_title=None,  # no "Updating..." flicker in the tab title
)
app.index_string = index_string()
# Built for each page load, so the header names the authority the request is for (dashboard/gate.py).
app.layout = lambda: build_shell(app.get_asset_url)
server = app.server
# Refuse an oversized upload before it is read (base64 makes a file about 4/3 larger).
server.config["MAX_CONTENT_LENGTH"] = int(max_upload_bytes() * 1.4) + 2**20
gate.install(app)  # who may see what: every route and callback, before anything else runs
timing.install(server)  # Server-Timing on every response (benchmarks/pages.py reads it)
install_skeleton(app)  # the validation layout in every page: ids alone, built as nobody, before the gate
boardpack_routes.register(server)  # /boardpack.pdf and /boardpack.xlsx
child_routes.register(server)  # /kpi/<metric_id>/children.csv and /due.csv
inbox_schedule.start(server)  # only when CPIP_INBOX_INTERVAL is set; one worker wins the lock


def address() -> tuple[str, int]:
    """Where `python app.py` listens: `HOST` (default 127.0.0.1, this machine only) and `PORT` (default 8050)."""
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    text = os.environ.get("PORT", "").strip() or "8050"
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SystemExit(f"PORT must be a port number from 1 to 65535, not {text!r}")
    return host, int(text)


if __name__ == "__main__":
    host, port = address()
    app.run(host=host, port=port, debug=False)
