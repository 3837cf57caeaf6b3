"""An analyst meets the first wall of every real Annex A, the council's own team names, and
maps them on the data page (issue 25): a workbook laid out as the public Annex A sample is (written
here, in the sample's own team names) names three teams the organisation reference lacks. The first,
"Multi Agency Safeguarding Hub", is added as a new team; the others are mapped to North A&I 1. The
workbook is checked again and loads, every list of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from servers import running_app

from etl.ingest.load import load_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ORGANISATION = ROOT / "tests" / "fixtures" / "data_page" / "organisation.csv"
TIMEOUT = 30_000  # ms: a check or a load is a background job polled every second


UNKNOWN = ("Multi Agency Safeguarding Hub", "Locality 4 Duty Team", "Locality 2 Unit 1")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lists 3 and 4 as Annex A lays them out, each child in a team of the sample's own names."""
    list3 = [
        [
            "Child Unique ID",
            "Gender",
            "Ethnicity",
            "Date of Birth",
            "Age",
            "Date of Referral",
            "Referral Source",
            "Referral NFA?",
            "Number of Referrals in Last 12 Months",
            "Allocated Team",
            "Allocated Worker",
        ]
    ]
    list3 += [[f"R{i}", "", "", "", "", datetime(2024, 1, 8 + i), "q) 6: Police", "b) No", 0, team, ""]
              for i, team in enumerate(UNKNOWN)]  # fmt: skip
    list4 = [["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Does the Child have a Disability",
              "Continuous Assessment Start Date", "Child Seen During Continuous Assessment",
              "Continuous Assessment Date of Authorisation",
              "Was the child assessed as requiring LA children's social care support?", "Allocated Team",
              "Allocated Worker"]]  # fmt: skip
    list4 += [[f"A{i}", "", "", "", "", "b) No", datetime(2024, 1, 8 + i), datetime(2024, 1, 10 + i), None,
               None, team, ""] for i, team in enumerate(UNKNOWN)]  # fmt: skip
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in (("List 3", list3), ("List 4", list4)):
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path = tmp_path_factory.mktemp("annex-a") / "Annex_A_2024_Jan.xlsx"
    book.save(path)
    return path


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("map-teams")
    db = tmp / "warehouse.duckdb"
    base = ORGANISATION.parent / "kpi_values_base.csv"  # some figures, as a warehouse in use has
    reports = load_files([ORGANISATION, base], as_of=date(2024, 1, 31), who="setup", db=db)
    assert [r.outcome for r in reports] == ["loaded", "loaded"]
    env = {"CPIP_UPLOAD_DIR": str(tmp / "uploads"), "CPIP_CACHE_DIR": str(tmp / "cache")}
    with running_app(db, tmp / "gunicorn.log", workers=2, env=env, ready_path="/data") as url:
        yield url


def test_an_analyst_maps_the_sample_workbooks_unknown_teams_and_it_loads(
    browser, map_server, axe, workbook: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, extra_http_headers={"X-Remote-User": "p"})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(map_server + "/data")
    page.locator("#data-upload").wait_for()
    page.locator("#data-as-of").fill("2024-01-31")
    page.set_input_files("#data-upload input[type=file]", str(workbook))

    page.locator("#data-map-intro").wait_for()
    legends = page.locator("#data-map-form legend").all_inner_texts()
    # Each unknown name once, however many lists name it (both lists name all three).
    assert legends == list(UNKNOWN)
    assert page.inner_text("#data-map-intro").startswith(f"{len(legends)} teams the files name are not in the")
    assert legends[:3] == ["Multi Agency Safeguarding Hub", "Locality 4 Duty Team", "Locality 2 Unit 1"]
    # The mapping section adds no accessibility problem (the check's report has its own, left to its owners).
    assert [v for v in axe(page) if "data-map" in str(v)] == []
    selects = page.locator("#data-map-form select")
    selects.nth(0).select_option("__new__")
    page.locator("#data-map-row-0 input").nth(0).fill("Assessment and Intervention")
    page.locator("#data-map-row-0 input").nth(1).fill("Northern")
    for i in range(1, len(legends)):
        selects.nth(i).select_option("North A&I 1")
    page.locator("#data-map-save").click()
    saved = page.locator("#data-map-alert")
    saved.wait_for()
    assert saved.inner_text().startswith(
        "Saved: Multi Agency Safeguarding Hub added (Assessment and Intervention, Northern); "
        "Locality 4 Duty Team is North A&I 1;"
    )

    # Checked again (the page opened afresh: the same file again is no change to the upload box): no
    # unknown team is left, and the workbook loads.
    page.goto(map_server + "/data")
    page.locator("#data-upload").wait_for()
    page.locator("#data-as-of").fill("2024-01-31")
    page.set_input_files("#data-upload input[type=file]", str(workbook))
    page.locator("#data-map-none").wait_for()
    load = page.locator("#data-load")
    page.wait_for_function("() => !document.querySelector('#data-load').disabled")
    load.click()
    alert = page.locator("#data-load-alert")
    alert.wait_for()
    text = alert.inner_text()
    for sheet, kind in (("List 3", "referrals"), ("List 4", "assessments")):
        assert f"sheet '{sheet}': {kind}: loaded" in text
    context.close()
    assert errors == [], f"console errors: {errors}"
