"""A rate on the KPI page, in a real Chromium: the caseload of a service whose two teams hold 30 cases over
2.0 FTE and 10 over 2.5 is 40 / 4.5 = 8.9 cases per FTE, shown "8.9" with no % sign (not 19.0, the sum of the
teams' caseloads, nor 9.5, their average), its counts "40 / 4.5", and the teams below it 15.0 and 4.0."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

import pytest
from kpi_helpers import new_warehouse
from servers import running_app

from etl.ingest.load import load_files

pytestmark = pytest.mark.browser

GIVEN = """\
period,metric_id,team,numerator,denominator
2023-07,caseload_per_sw,Team A,30,2.0
2023-07,caseload_per_sw,Team B,10,2.5
"""


@pytest.fixture(scope="module")
def rate_server(tmp_path_factory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("rate-page")
    db = new_warehouse(tmp)  # kpi_helpers.ORG: Teams A and B are Assessment and Intervention
    (tmp / "caseloads.csv").write_text(GIVEN, encoding="utf-8")
    reports = load_files([tmp / "caseloads.csv"], as_of=date(2023, 8, 4), who="test", db=db)
    assert [r.outcome for r in reports] == ["loaded"]
    with running_app(db, tmp / "server.log") as url:
        yield url


def test_the_kpi_page_shows_a_service_s_caseload_as_cases_over_fte(browser, rate_server, wait_for_dash):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=rate_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    try:
        page.goto(f"/kpi/caseload_per_sw?period=2023-07&level=service&unit={quote('Assessment and Intervention')}")
        wait_for_dash(page)
        page.wait_for_selector("#kpi-value")
        assert page.inner_text("#kpi-value") == "8.9"
        tiles = page.inner_text(".cpip-tiles")
        assert "40 / 4.5" in tiles and "Target\n15.0" in tiles and "%" not in tiles
        monthly = page.inner_text("#kpi-monthly")
        assert "8.9" in monthly and "4.5" in monthly and "%" not in monthly
        breakdown = page.inner_text("#kpi-breakdown-links")
        assert "Team A" in breakdown and "Team B" in breakdown
        assert "19.0" not in page.inner_text("#kpi-page") and "9.5" not in page.inner_text("#kpi-page")
        assert errors == []
    finally:
        context.close()
