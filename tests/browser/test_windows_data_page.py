"""Windows on the data page (docs/spec/windows.md, issue 20), in a real browser against the app served by
gunicorn on a warehouse of its own: before Load the page lists the authority's figures a workbook would
change, before and after; loaded, the workbook has one Undo, and that one Undo removes every list of it.

The warehouse holds the organisation and August's Annex A workbook (as of 31 Aug 2023), List 3 only:
R1 referred 1 Aug and again 10 Aug (a re-referral), R2 referred 15 Aug. Re-referrals in August: 1 of 3.
September's workbook (as of 29 Sep, every referral since 30 Mar) no longer holds R1's 10 Aug referral
(entered in error) and adds R3 on 5 Sep; its List 4 adds A1, started Mon 4 Sep and seen Tue 5 Sep (day 1:
met). After it: re-referrals in August 0 of 2, September 0 of 1; children seen in September 1 of 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect
from servers import running_app

from etl.ingest.load import load_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "data_page"
ARTIFACTS = ROOT / "test-artifacts"
USER = "k.jones"
TIMEOUT = 30_000  # ms: a check or a load is a background job polled every second
TEAM = "North A&I 1"
PERSON = ["a) Male", "a) WBRI", datetime(2012, 3, 4), 11]
HEADINGS = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age"]
LIST3 = ["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months"]
LIST3 += ["Allocated Team", "Allocated Worker"]
LIST4 = ["Continuous Assessment Start Date", "Child Seen During Continuous Assessment"]
LIST4 += ["Continuous Assessment Date of Authorisation", "Allocated Team", "Allocated Worker"]


def _workbook(path: Path, referrals: list[tuple[str, date]], assessments: list[tuple[str, date, date]]) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Front_Sheet"
    book.active.append(["Ofsted Annex A"])
    sheet = book.create_sheet("List 3")
    sheet.append([*HEADINGS, *LIST3])
    for child, day in referrals:
        sheet.append([child, *PERSON, day, "q) 6: Police", "b) No", 0, TEAM, "W"])
    if assessments:
        sheet = book.create_sheet("List 4")
        sheet.append([*HEADINGS, *LIST4])
        for child, start, seen in assessments:
            sheet.append([child, *PERSON, start, seen, None, TEAM, "W"])
    book.save(path)
    return path


@pytest.fixture(scope="module")
def windows_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("windows-page")
    db = tmp / "warehouse.duckdb"
    august = _workbook(
        tmp / "Annex_A_August.xlsx",
        [("R1", date(2023, 8, 1)), ("R1", date(2023, 8, 10)), ("R2", date(2023, 8, 15))],
        [],
    )
    reports = load_files([FIXTURES / "organisation.csv", august], as_of=date(2023, 8, 31), who="setup", db=db)
    assert [r.outcome for r in reports if r.outcome != "skipped"] == ["loaded", "loaded"]
    env = {"CPIP_UPLOAD_DIR": str(tmp / "uploads"), "CPIP_CACHE_DIR": str(tmp / "cache")}
    with running_app(db, tmp / "gunicorn.log", workers=2, env=env, ready_path="/data") as url:
        yield url, tmp


@pytest.fixture
def browser_page(browser, windows_server) -> Iterator:
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


def _scorecard_text(page, url: str, period: str) -> str:
    page.goto(url + f"/?period={period}&level=la")
    row = page.locator("#sc-row-rereferrals_12m")
    row.wait_for()
    return row.inner_text()


def test_the_check_lists_the_figures_a_workbook_would_change_and_one_undo_removes_it(
    browser_page, windows_server
) -> None:
    page, (url, tmp) = browser_page, windows_server
    assert "1 / 3" in _scorecard_text(page, url, "2023-08")
    september = _workbook(
        tmp / "Annex_A_September.xlsx",
        [("R1", date(2023, 8, 1)), ("R2", date(2023, 8, 15)), ("R3", date(2023, 9, 5))],
        [("A1", date(2023, 9, 4), date(2023, 9, 5))],
    )

    page.goto(url + "/data")
    page.locator("#data-upload").wait_for()
    expect(page.locator("#data-window-months")).to_have_value("6")
    page.locator("#data-as-of").fill("2023-09-29")
    page.set_input_files("#data-upload input[type=file]", str(september))
    page.locator("#data-status").get_by_text("1 file (3 lists) checked").wait_for()
    reports = page.locator("#data-reports").inner_text()
    assert "Holds every record from\n30 Mar 2023 to 29 Sep 2023" in reports
    assert "Would retire (not in this list)\n1" in reports
    # One table for the workbook: re-referrals in August 1 of 3 -> 0 of 2; September new; seen in September new.
    changes = page.locator(".data-changes")
    expect(changes).to_have_count(1)
    rows = [r.inner_text() for r in page.locator(".data-changes tbody tr").all()]
    assert rows == [
        "Re-referrals within 12 months\tAug 2023\t1 of 3 (33.3%)\t0 of 2 (0.0%)",
        "Re-referrals within 12 months\tSep 2023\tNo data\t0 of 1 (0.0%)",
        "Children seen within 5 working days\tSep 2023\tNo data\t1 of 1 (100.0%)",
    ]
    page.screenshot(path=str(ARTIFACTS / "windows-1-check.png"), full_page=True)
    assert "1 / 3" in _scorecard_text(page, url, "2023-08")  # the check changed nothing

    page.goto(url + "/data")
    page.locator("#data-as-of").fill("2023-09-29")
    page.set_input_files("#data-upload input[type=file]", str(september))
    page.locator("#data-status").get_by_text("1 file (3 lists) checked").wait_for()
    page.get_by_role("button", name="Load 1 file (2 lists)").click()
    page.locator("#data-load-alert").wait_for()
    assert "retired" in page.locator("#data-load-alert").inner_text()
    assert "0 / 2" in _scorecard_text(page, url, "2023-08")

    # The history: one Undo for the September workbook, though it is two loads (List 3 and List 4).
    page.goto(url + "/data")
    table = page.locator("#data-history-table")
    expect(table).to_contain_text("Annex_A_September.xlsx, sheet 'List 4'")
    undo = page.get_by_role("button", name="Undo load", exact=False)
    names = [b.get_attribute("aria-label") for b in undo.all()]
    assert sum("Annex_A_September.xlsx" in (n or "") for n in names) == 1
    page.get_by_role("button", name=next(n for n in names if "Annex_A_September.xlsx" in n)).click()
    question = page.locator("#data-undo-question")
    expect(question).to_contain_text("every list of it")
    page.get_by_role("button", name="Undo the load").click()
    page.locator("#data-undo-alert").wait_for()
    assert page.locator("#data-undo-alert").inner_text().count("undone") == 2
    page.screenshot(path=str(ARTIFACTS / "windows-2-undone.png"), full_page=True)
    assert "1 / 3" in _scorecard_text(page, url, "2023-08")
