"""The analyst's whole flow in a real browser, on real files, against the real
app served by gunicorn with two workers (so the background check and load
may be polled from either worker):

upload a file with errors -> the report names the lines -> upload the
corrected file -> load -> the scorecard shows the new figure -> undo -> the
old figure is back. Plus the refusals a person meets: a file that is not a
CSV, a file over the size cap.

The server is this module's own, not conftest's `live_server`: that one
serves the shared demo warehouse to every browser test, and this flow writes
to its warehouse. It runs the app as production does (gunicorn, app:server)
on a warehouse of its own. Chromium comes from conftest's `browser`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from servers import running_app

from etl.ingest.load import load_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "data_page"
ARTIFACTS = ROOT / "test-artifacts"
USER = "k.jones"
TIMEOUT = 20_000  # ms: a check or a load is a background job polled every second


@pytest.fixture(scope="module")
def data_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn -w 2 serving app:server on a warehouse holding the organisation
    and the base KPI values (pathway plans, July 2023: 86 of 100)."""
    tmp = tmp_path_factory.mktemp("data-flow")
    db = tmp / "warehouse.duckdb"
    reports = load_files(
        [FIXTURES / "organisation.csv", FIXTURES / "kpi_values_base.csv"], as_of=date(2023, 8, 5), who="setup", db=db
    )
    assert [r.outcome for r in reports] == ["loaded", "loaded"]
    env = {"CPIP_UPLOAD_DIR": str(tmp / "uploads"), "CPIP_CACHE_DIR": str(tmp / "cache"), "CPIP_UPLOAD_MAX_MB": "1"}
    with running_app(db, tmp / "gunicorn.log", workers=2, env=env, ready_path="/data") as url:
        yield url


@pytest.fixture
def browser_page(browser, data_server: str) -> Iterator:
    """A page on this module's server (Chromium from conftest's `browser`),
    signed in as k.jones through the sign-on proxy's header, in a British
    browser; any console error or page error fails the test."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": 1280, "height": 1000},
        extra_http_headers={"X-Remote-User": USER},
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], f"console errors: {errors}"


def _scorecard_row(page, url: str) -> str:
    page.goto(url + "/?period=2023-07&level=la")
    row = page.locator("#sc-row-pathway_plans")
    row.wait_for()
    return row.inner_text()


def test_upload_correct_load_and_undo(browser_page, data_server: str, axe) -> None:
    page, url = browser_page, data_server

    before = _scorecard_row(page, url)
    assert "86.0%" in before and "86 / 100" in before

    page.goto(url + "/data")
    page.locator("#data-upload").wait_for()
    assert page.locator("#data-who").inner_text() == USER

    # 1. A file with errors: the report names the lines, and Load stays off.
    page.set_input_files("#data-upload input[type=file]", str(FIXTURES / "with_errors" / "pathway_plans_july.csv"))
    report = page.locator(".data-file-report")
    report.get_by_text("Has errors").wait_for()
    text = report.inner_text()
    assert "kpi_values" in text and "Jul 2023" in text
    assert "2 of 3 rows have errors" in text
    errors = page.locator("#data-errors-0 tbody tr")
    assert errors.count() == 2
    line3, line4 = errors.nth(0).inner_text(), errors.nth(1).inner_text()
    assert line3.startswith("3\tnumerator\t60\t")
    assert line4.startswith("4\tmetric_id\tpathway_plan\t") and "not in metrics.yml" in line4
    assert page.locator("#data-load").is_disabled()
    page.screenshot(path=str(ARTIFACTS / "data-1-errors.png"), full_page=True)
    assert axe(page) == []  # no WCAG 2.2 AA or best-practice problem (heading order) on the page with a report

    # 2. The corrected file (same name) replaces it: ready, one record added and one replaced.
    page.set_input_files("#data-upload input[type=file]", str(FIXTURES / "pathway_plans_july.csv"))
    report.get_by_text("Ready to load").wait_for()
    assert page.locator(".data-file-report").count() == 1
    facts = page.locator(".data-facts").inner_text()
    assert "Would add\n1" in facts and "Would replace\n1" in facts and "Rows with errors\n0" in facts
    page.screenshot(path=str(ARTIFACTS / "data-2-corrected.png"), full_page=True)

    # 3. Load.
    page.get_by_role("button", name="Load 1 file").click()
    page.locator("#data-load-alert").wait_for()
    assert "pathway_plans_july.csv: kpi_values: loaded" in page.locator("#data-load-alert").inner_text()
    history_row = page.locator("#data-history-table tbody tr").first
    expect(history_row).to_contain_text("pathway_plans_july.csv")  # the history redraws after the load
    history = history_row.inner_text()
    assert USER in history and "\tloaded\t" in history
    page.screenshot(path=str(ARTIFACTS / "data-3-loaded.png"), full_page=True)

    # 4. The scorecard shows the new figure, without a restart.
    after = _scorecard_row(page, url)
    assert "93.0%" in after and "93 / 100" in after
    page.screenshot(path=str(ARTIFACTS / "data-4-scorecard-new.png"), full_page=True)

    # 5. Undo, after the confirmation: the old figure is back.
    page.goto(url + "/data")
    page.locator("#data-history-table tbody tr").first.get_by_role("button", name="Undo").click()
    question = page.locator("#data-undo-question")
    question.wait_for()
    assert "pathway_plans_july.csv" in question.inner_text()
    assert "the 1 record it replaced will come back" in question.inner_text()
    page.locator(".modal.show").wait_for()
    assert page.get_by_role("dialog", name="Undo this load?").count() == 1  # the dialog is named by its title
    page.wait_for_timeout(400)  # the modal's fade-in, for a readable screenshot
    page.screenshot(path=str(ARTIFACTS / "data-5-undo-confirm.png"))
    page.get_by_role("button", name="Undo the load").click()
    page.locator("#data-undo-alert").wait_for()
    assert "undone" in page.locator("#data-undo-alert").inner_text()
    expect(page.locator("#data-history-table tbody tr").first).to_contain_text("undone")

    restored = _scorecard_row(page, url)
    assert "86.0%" in restored and "86 / 100" in restored
    page.screenshot(path=str(ARTIFACTS / "data-6-scorecard-restored.png"), full_page=True)


def test_files_that_cannot_be_loaded_are_refused_with_a_message(browser_page, data_server: str, tmp_path: Path) -> None:
    page, url = browser_page, data_server
    notes = tmp_path / "notes.txt"
    notes.write_text("not an extract\n", encoding="utf-8")
    big = tmp_path / "big.csv"  # over the 1 MB cap this server runs with
    big.write_text("period,metric_id,team,numerator,denominator\n" + "2023-07,x,y,1,2\n" * 80_000, encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)

    page.goto(url + "/data")
    page.locator("#data-upload").wait_for()
    page.set_input_files("#data-upload input[type=file]", [str(notes), str(big), str(binary)])
    page.locator("#data-status").get_by_text("3 files checked").wait_for()
    cards = page.locator(".data-file-report")
    expect(cards).to_have_count(3)  # drawn just after the status line
    text = page.locator("#data-reports").inner_text()
    assert "notes.txt" in text and "it is not a CSV file" in text
    assert "big.csv" in text and "over the 1.0 MB limit for one file" in text
    assert "binary.csv" in text and "it is not text" in text
    assert "Traceback" not in page.content()
    assert page.locator("#data-load").is_disabled()
    page.screenshot(path=str(ARTIFACTS / "data-7-refused.png"), full_page=True)
    page.get_by_role("button", name="Cancel").click()
    page.locator("#data-status").get_by_text("nothing was stored").wait_for()
    expect(page.locator(".data-file-report")).to_have_count(0)  # the reports redraw just after


def test_an_annex_a_workbook_is_checked_list_by_list_and_loaded(browser_page, data_server: str, tmp_path: Path) -> None:
    import openpyxl

    page, url = browser_page, data_server
    book = openpyxl.Workbook()
    book.active.title = "Front_Sheet"
    book.active.append(["Ofsted Annex A"])
    leavers = book.create_sheet("List 9")
    leavers.append(
        ["Child Unique ID", "Gender", "Allocated Team", "Allocated Worker", "Latest Pathway Plan Review Date"]
    )
    leavers.append(["L1", "a) Male", "Central Leaving Care 1", "A Worker", date(2023, 7, 3)])
    leavers.append(["L2", "b) Female", "Central Leaving Care 1", "A Worker", date(2022, 7, 3)])
    contacts = book.create_sheet("List 1")
    contacts.append(["Child Unique ID", "Date of Contact", "Contact Source"])
    contacts.append(["X1", date(2023, 7, 3), "Police"])
    path = tmp_path / "Annex_A_July.xlsx"
    book.save(path)

    page.goto(url + "/data")
    page.locator("#data-upload").wait_for()
    page.locator("#data-as-of").fill("2023-07-31")
    page.set_input_files("#data-upload input[type=file]", str(path))
    page.locator("#data-status").get_by_text("1 file (3 lists) checked").wait_for()
    cards = page.locator(".data-file-report")
    expect(cards).to_have_count(3)
    text = page.locator("#data-reports").inner_text()
    assert "Annex_A_July.xlsx, sheet 'List 9'" in text and "Ready to load" in text
    assert "Annex A List 9 (care leavers)" in text and "Gender, Allocated Worker" in text
    assert "Annex A List 1 (contacts): no KPI reads it" in text and "Skipped" in text
    page.screenshot(path=str(ARTIFACTS / "data-8-workbook.png"), full_page=True)
    page.get_by_role("button", name="Load 1 file").click()
    page.locator("#data-load-alert").wait_for()
    assert "sheet 'List 9': care_leavers: loaded" in page.locator("#data-load-alert").inner_text()
