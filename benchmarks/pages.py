"""Speed of every page in a real browser, against a bare Dash page served the same way, in one run.

    .venv/bin/python benchmarks/pages.py [--warm 5] [--cold 3] [--workers 2] [--before-root /work/main]

Builds the demo warehouse (`cpip demo` in a temporary CPIP_HOME), serves the app with gunicorn
(`app:server`, 2 workers, the settings of ./gunicorn.conf.py) and, beside it, a bare Dash page (one
plotly chart and one 12-row table, `bare_app.py` written to the same temporary folder) with gunicorn,
2 workers and the same settings. Headless Chromium (/usr/bin/chromium, through Playwright, as the
browser tests drive it) then opens each page:

- warm: the median of `--warm` navigations in one browser context (its cache already filled by one
  navigation first), from navigation start to the last response once the network is quiet (Playwright's
  "networkidle": no request for 500 ms);
- cold: the median of `--cold` navigations, each in a fresh browser context (empty cache).

The pages and the bare page take turns, round by round, so any other load on the machine falls on all
of them alike. Where the time goes, per page (warm, medians): the server's own time (the `Server-Timing`
header every response carries, dashboard/timing.py: the page's HTML and each Dash callback), how many
callback round trips, bytes over the wire, and the browser's time (the page's time with no request in
flight: parsing, running scripts, rendering).

With `--before-root DIR`, the app of another checkout (the code before a change) is served too, the same
way and from the same warehouse, and each page is measured there as well, in the same rounds: "(before)".

Goal (issue 27): every page, warm, within 2x the bare page (then 1.5x); cold within 1.5x the bare page's cold.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would shadow the `etl` package with benchmarks/etl.py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GOAL_WARM = 2.0
STRETCH_WARM = 1.5
GOAL_COLD = 1.5

BARE_APP = '''
"""A bare Dash page: one plotly chart and one 12-row table (benchmarks/pages.py's baseline)."""
import time

import plotly.graph_objects as go
from dash import Dash, dash_table, dcc, html
from flask import g

months = [f"2023-{m:02d}" for m in range(1, 13)]
values = [60 + (m * 7) % 23 for m in range(12)]
app = Dash(__name__)
app.layout = html.Main([
    html.H1("Bare page"),
    dcc.Graph(figure=go.Figure(go.Scatter(x=months, y=values, mode="lines+markers"))),
    dash_table.DataTable(data=[{"month": m, "value": v} for m, v in zip(months, values)],
                         columns=[{"name": "Month", "id": "month"}, {"name": "Value", "id": "value"}]),
])
server = app.server


@server.before_request
def _start():
    g.started = time.perf_counter()


@server.after_request
def _told(response):
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.started) * 1000:.1f}"
    return response
'''

# What the browser saw, read from its own Performance API once the network is quiet: the time from
# navigation start to the last response's end; the server's time (Server-Timing, summed); bytes over
# the wire; the Dash callbacks made; and the time no request was in flight (the browser's own work).
MEASURE_JS = """() => {
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  const end = Math.max(...entries.map(e => e.responseEnd));
  let server = 0, bytes = 0, callbacks = 0, callbackServer = 0;
  for (const e of entries) {
    const own = (e.serverTiming || []).filter(t => t.name === 'app').reduce((a, t) => a + t.duration, 0);
    server += own;
    bytes += e.transferSize || 0;
    if (e.name.includes('_dash-update-component')) { callbacks += 1; callbackServer += own; }
  }
  const spans = entries.map(e => [e.startTime, e.responseEnd]).sort((a, b) => a[0] - b[0]);
  let busy = 0, from = -1, to = -1;
  for (const [s, f] of spans) {
    if (s > to) { if (to > from) busy += to - from; from = s; to = f; } else { to = Math.max(to, f); }
  }
  if (to > from) busy += to - from;
  return {total: end, server, callbacks, callbackServer, bytes, browser: end - busy};
}"""


# Dash has drawn the page: the app's page content in place (Dash's page router fills `_pages_content`), or
# the bare page's chart drawn.
DRAWN_JS = """() => {
  const content = document.getElementById('_pages_content');
  return content ? content.childElementCount > 0 : !!document.querySelector('.js-plotly-plot');
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(module: str, folder: Path, env: dict[str, str], workers: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn serving `module` (from `folder`) with `workers` workers; waits until its front page answers."""
    port = free_port()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", module, "-w", str(workers), "-b", f"127.0.0.1:{port}",
             "--timeout", "60", "--chdir", str(folder), "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=10) as response:
                if response.status == 200:
                    return process, url
        except (urllib.error.URLError, OSError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise SystemExit(f"{module} did not start:\n{log_path.read_text(encoding='utf-8')[-3000:]}")
        time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_demo(home: Path) -> Path:
    """The demo warehouse, as `cpip demo` builds it, in `home` (the checkout's catalogue and DfE files linked in)."""
    (home / "data").mkdir(parents=True)
    (home / "metrics.yml").symlink_to(ROOT / "metrics.yml")
    (home / "data" / "reference").symlink_to(ROOT / "data" / "reference")
    env = {**os.environ, "CPIP_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("CPIP_DB", None)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from cpip.cli import main; sys.exit(main(['demo']))"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"cpip demo failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return home / "data" / "warehouse.duckdb"


def page_addresses(db: Path) -> dict[str, str]:
    """Every page the issue names, at the demo's latest month, with a real service and team."""
    os.environ["CPIP_DB"] = str(db)
    from etl.serve import queries

    period = queries.periods(db=db)[-1]
    service = "Family Safeguarding"
    team = next(t for t in queries.units_at("team", db=db) if "FS" in t)
    q = quote
    return {
        "scorecard (authority)": "/",
        "scorecard (team)": f"/?period={period}&level=team&unit={q(team)}",
        "teams (service)": f"/teams?level=service&unit={q(service)}",
        "KPI": "/kpi/seen_5wd",
        "plans": "/plans",
        "icon matrix": "/?view=icons",
        "audits": "/audits",
        "child list": f"/kpi/seen_5wd/children?period={period}&level=team&unit={q(team)}",
        "due list": "/due",
        "glossary": "/glossary",
        "data": "/data",
    }


class Browser:
    """One Chromium; `visit` opens an address in a context and returns what the Performance API measured."""

    def __init__(self, playwright) -> None:
        self.chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.errors: list[str] = []

    def context(self):
        return self.chromium.new_context(viewport={"width": 1280, "height": 900})

    def visit(self, context, url: str) -> dict:
        if context.pages:
            page = context.pages[0]
        else:
            page = context.new_page()
            page.on("console", lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        response = page.goto(url, wait_until="networkidle", timeout=60_000)
        if response is None or response.status != 200:
            raise SystemExit(f"{url} answered {response and response.status}")
        # On a busy machine the browser can parse scripts for more than the 500 ms "networkidle" waits before
        # Dash asks for the page's content: wait until Dash has drawn the page, then for quiet again.
        page.wait_for_function(DRAWN_JS, timeout=60_000)
        page.wait_for_load_state("networkidle", timeout=60_000)
        return page.evaluate(MEASURE_JS)

    def close(self) -> None:
        self.chromium.close()


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=5, help="warm navigations per page (median; default 5)")
    parser.add_argument("--cold", type=int, default=3, help="fresh-context navigations per page (median; default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for each server (default 2)")
    parser.add_argument("--only", action="append", help="measure only this page (repeatable), beside the bare page")
    parser.add_argument("--before-root", type=Path, help="also serve this checkout's app and measure its pages")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cpip-pages-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        db = build_demo(folder / "home")
        addresses = page_addresses(db)
        if args.only:
            addresses = {k: v for k, v in addresses.items() if k in args.only}
        (folder / "bare_app.py").write_text(textwrap.dedent(BARE_APP), encoding="utf-8")
        env = {**os.environ, "CPIP_DB": str(db), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        for name in ("CPIP_INBOX_INTERVAL", "CPIP_ACCESS", "CPIP_REDIS_URL"):
            env.pop(name, None)
        app, app_url = serve("app:server", ROOT, env, args.workers, folder / "app.log")
        servers = [app]
        try:
            bare, bare_url = serve("bare_app:server", folder, env, args.workers, folder / "bare.log")
            servers.append(bare)
            if args.before_root:
                before_env = {**env, "PYTHONPATH": str(args.before_root.resolve())}
                before, before_url = serve(
                    "app:server", args.before_root, before_env, args.workers, folder / "before.log"
                )
                servers.append(before)
        except BaseException:
            for server in servers:
                stop(server)
            raise
        print(
            f"pages: the demo warehouse (built in {time.perf_counter() - start:.0f} s); gunicorn, {args.workers} "
            f"workers each; headless Chromium; warm = median of {args.warm}, cold = median of {args.cold} fresh "
            f"contexts; load average {os.getloadavg()[0]:.2f}"
        )
        targets = {"bare Dash page": bare_url + "/"}
        for k, v in addresses.items():
            targets[k] = app_url + v
            if args.before_root:
                targets[f"{k} (before)"] = before_url + v
        warm: dict[str, list[dict]] = {k: [] for k in targets}
        cold: dict[str, list[dict]] = {k: [] for k in targets}
        try:
            with sync_playwright() as playwright:
                browser = Browser(playwright)
                try:
                    contexts = {}
                    for name, url in targets.items():  # one context each, its cache filled by a first visit
                        contexts[name] = browser.context()
                        browser.visit(contexts[name], url)
                        browser.visit(contexts[name], url)
                    for _ in range(args.warm):  # round by round: every page, then again
                        for name, url in targets.items():
                            warm[name].append(browser.visit(contexts[name], url))
                    for context in contexts.values():
                        context.close()
                    for _ in range(args.cold):
                        for name, url in targets.items():
                            context = browser.context()
                            cold[name].append(browser.visit(context, url))
                            context.close()
                finally:
                    browser.close()
        finally:
            for server in servers:
                stop(server)
        for log_name in ("app.log", "before.log"):
            text = (folder / log_name).read_text(encoding="utf-8") if (folder / log_name).exists() else ""
            if "Traceback" in text:
                print(f"{log_name}:\n{text[-3000:]}")
                return 2

    bare_warm = med(warm["bare Dash page"], "total")
    bare_cold = med(cold["bare Dash page"], "total")
    print(
        f"\n{'page':32s} {'warm s':>7s} {'x bare':>6s} {'cold s':>7s} {'x bare':>6s} | warm: {'server ms':>9s} "
        f"{'callbacks':>9s} {'(their ms)':>10s} {'KB sent':>8s} {'browser ms':>10s} | cold KB"
    )
    worst_warm = worst_cold = 0.0
    for name in targets:
        w, c = med(warm[name], "total"), med(cold[name], "total")
        rw, rc = w / bare_warm, c / bare_cold
        if name != "bare Dash page" and not name.endswith("(before)"):
            worst_warm, worst_cold = max(worst_warm, rw), max(worst_cold, rc)
        print(
            f"{name:32s} {w / 1000:7.3f} {rw:6.2f} {c / 1000:7.3f} {rc:6.2f} | "
            f"{med(warm[name], 'server'):9.0f} {med(warm[name], 'callbacks'):9.0f} "
            f"{med(warm[name], 'callbackServer'):10.0f} {med(warm[name], 'bytes') / 1024:8.1f} "
            f"{med(warm[name], 'browser'):10.0f} | {med(cold[name], 'bytes') / 1024:7.0f}"
        )
    if browser.errors:
        print("browser console errors:", *sorted(set(browser.errors))[:10], sep="\n  ")
    ok_warm, ok_cold = worst_warm <= GOAL_WARM, worst_cold <= GOAL_COLD
    print(
        f"\nworst warm ratio {worst_warm:.2f} (goal {GOAL_WARM}x: {'met' if ok_warm else 'NOT met'}; "
        f"then {STRETCH_WARM}x: {'met' if worst_warm <= STRETCH_WARM else 'not yet'}); "
        f"worst cold ratio {worst_cold:.2f} (goal {GOAL_COLD}x: {'met' if ok_cold else 'NOT met'}); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return 0 if ok_warm and ok_cold and not browser.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
