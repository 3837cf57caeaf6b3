"""Fixtures for the browser tests: a real app on the demo data, driven by the
system's headless Chromium through Playwright. Reuse them for any page's tests
(the data page, the board pack links) by putting the test module in this
folder and marking it `@pytest.mark.browser`.

Session-scoped (built once per run):

- `warehouse` -> Path: a warehouse in a temporary folder filled with the demo
  data by `etl.demo.extracts.load_demo(if_empty=False, who="test", db=path)`. Pass it as
  `db=warehouse` to `etl.serve.queries` functions to work out what a page should show.
- `live_server` -> str: the base URL (`http://127.0.0.1:<free port>`) of the app
  (`app.py`'s `app`) running in a subprocess with `CPIP_DB=warehouse`. Its log
  is `live_server_log` (a Path); the fixture fails the run at the end if the
  server logged a traceback.
- `browser`: Playwright's Chromium, launched from /usr/bin/chromium (never
  `playwright install`) with the flags in CHROMIUM_ARGS.

Per test:

- `page`: a fresh 1280 x 900 page whose relative URLs go to `live_server`
  (`page.goto("/teams")`). Every console error and uncaught page error is
  collected in `page.console_errors` (a list of strings); the test fails at
  teardown if there are any; `assert page.console_errors == []` checks sooner.

Helper fixtures, each a function:

- `axe` -> callable(page) -> list of violations of any impact (minor included),
  from axe-core (tests/browser/vendor/axe.min.js, npm package axe-core,
  injected into the page) run with every WCAG 2.0/2.1/2.2 A and AA rule and
  axe's `best-practice` rules (landmarks, heading order, ...).
- `screenshot` -> callable(page, name) -> Path: saves a full-page PNG under
  test-artifacts/ (gitignored) for a person to look at.
- `wait_for_dash` -> callable(page): waits until Dash has no callback or page
  render in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import running_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
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
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """The demo data in a fresh warehouse (about 4 s)."""
    from etl.demo.extracts import load_demo

    path = tmp_path_factory.mktemp("browser") / "warehouse.duckdb"
    status = load_demo(if_empty=False, who="test", db=path)
    assert status == 0, "the demo data did not load"
    return path


@pytest.fixture(scope="session")
def live_server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server") / "server.log"


@pytest.fixture(scope="session")
def live_server(warehouse: Path, live_server_log: Path) -> Iterator[str]:
    """The app on a free port, in its own process, reading the demo warehouse."""
    with running_app(warehouse, live_server_log) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server: str):
    """A fresh page (1280 x 900, the laptop the brief names) that records every
    console error and page error; any of them fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server, accept_downloads=True)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    new_page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    new_page.console_errors = errors
    yield new_page
    context.close()
    assert errors == [], f"browser console errors: {errors}"


@pytest.fixture
def signed_in_page() -> Callable:
    """`signed_in_page(browser, base_url, user)` -> (context, page, errors): a page on a server of the test's
    own whose every request carries the sign-on header for `user`; `errors` collects console and page errors
    (the test asserts it empty and closes the context)."""

    def make(browser, base_url: str, user: str):
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, base_url=base_url, extra_http_headers={"X-Remote-User": user}
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
        return context, page, errors

    return make


@pytest.fixture
def wait_for_dash() -> Callable:
    def wait(page, timeout: float = 15_000) -> None:
        page.wait_for_load_state("networkidle", timeout=timeout)
        # Dash marks the document while a callback is running.
        page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=timeout)

    return wait


@pytest.fixture
def axe() -> Callable:
    source = AXE_JS.read_text(encoding="utf-8")

    def run(page) -> list[dict]:
        page.evaluate(source)  # not a <script> tag: the pages' Content-Security-Policy allows no inline script
        result = page.evaluate(
            "async (tags) => await axe.run(document,"
            " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            AXE_TAGS,
        )
        # Every impact counts: a "minor" one (an empty header cell) is still a failure a person meets.
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
        ]

    return run


@pytest.fixture
def screenshot() -> Callable:
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
