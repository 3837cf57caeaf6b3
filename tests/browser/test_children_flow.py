"""A head of service, signed in through the sign-on header, opens the children
behind a figure from the scorecard and is refused another service's list.

The app runs on the demo warehouse with an access file (a.khan: head of
service, Family Safeguarding); the browser sends the header the council's
sign-on proxy would set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import running_app

from dashboard.components.format import format_fraction, format_value
from etl.privacy import children
from etl.privacy.access import Role, Viewer, viewing
from etl.serve import queries

pytestmark = pytest.mark.browser

ACCESS = """
default_role: viewer
users:
  a.khan: {role: head_of_service, services: [Family Safeguarding]}
  j.smith: {role: team_manager, teams: [Coastal FS 1]}
"""
SERVICE = "Family Safeguarding"


@pytest.fixture(scope="module")
def access_server(warehouse: Path, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("access-server")
    (folder / "access.yml").write_text(ACCESS, encoding="utf-8")
    env = {"CPIP_ACCESS": str(folder / "access.yml"), "CPIP_ACCESS_LOG": str(folder / "access-log.sqlite")}
    with running_app(warehouse, folder / "server.log", env=env, ready_headers={"X-Remote-User": "a.khan"}) as url:
        yield url


def _signed_in(browser, access_server, user: str):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=access_server, extra_http_headers={"X-Remote-User": user}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.console_errors = errors
    return context, page


@pytest.fixture
def head_of_service(browser, access_server):
    context, page = _signed_in(browser, access_server, "a.khan")
    yield page
    context.close()
    assert page.console_errors == [], f"browser console errors: {page.console_errors}"


@pytest.fixture
def team_manager(browser, access_server):
    context, page = _signed_in(browser, access_server, "j.smith")
    yield page
    context.close()
    assert page.console_errors == [], f"browser console errors: {page.console_errors}"


def test_head_of_service_opens_a_child_list_from_the_scorecard(
    head_of_service, warehouse, wait_for_dash, screenshot, axe
):
    page = head_of_service
    period = queries.latest_period(warehouse)
    row = queries.scorecard(period, "service", SERVICE, db=warehouse).set_index("metric_id").loc["seen_5wd"]
    with viewing(Viewer("test", Role.BOARD)):
        expected = children.child_list("seen_5wd", period, "service", SERVICE, db=warehouse)

    page.goto(f"/?period={period}&level=service&unit=Family%20Safeguarding")
    wait_for_dash(page)
    assert page.inner_text("#cpip-who") == "Signed in as a.khan, head of service (Family Safeguarding)"
    link = page.locator("#sc-children-seen_5wd")
    assert link.inner_text() == "Children behind this figure"
    screenshot(page, "children-scorecard-head-of-service")

    link.click()
    page.wait_for_url("**/kpi/seen_5wd/children?**")
    wait_for_dash(page)
    page.wait_for_selector("#children-grid .ag-row")
    figure = format_fraction(row["numerator"], row["denominator"], "percent")
    assert page.inner_text("#children-figure") == (
        f"Scorecard figure: {format_value(row['value'], 'percent')} ({figure})."
    )
    counts = page.inner_text("#children-counts")
    assert counts.startswith(f"This list: {int(row['numerator']):,} met of {int(row['denominator']):,} counted")
    # The grid holds every record; its pager counts them.
    assert f"of {len(expected.rows):,}" in page.inner_text("#children-grid .ag-paging-row-summary-panel")
    first = expected.rows.iloc[0]
    assert page.locator("#children-grid .ag-row[row-index='0'] [col-id='child_id']").inner_text() == first["child_id"]
    screenshot(page, "children-list-head-of-service")
    assert axe(page) == []
    assert page.locator("#children-csv").get_attribute("href").startswith("/kpi/seen_5wd/children.csv?period=")
    assert page.console_errors == []


def test_head_of_service_is_refused_another_services_list(head_of_service, warehouse, screenshot):
    page = head_of_service
    period = queries.latest_period(warehouse)
    response = page.goto(f"/kpi/seen_5wd/children?period={period}&level=service&unit=Children%20We%20Care%20For")
    assert response.status == 403
    assert page.inner_text("h1") == "Not allowed"
    assert page.inner_text("#cpip-refusal") == (
        "You are signed in as a.khan, head of service (Family Safeguarding): you may see the child lists of "
        "Family Safeguarding only, and the service Children We Care For is outside them."
    )
    assert page.locator("text=C0").count() == 0  # no child ID anywhere on the page
    screenshot(page, "children-refused-head-of-service")
    # The browser reports the refused document itself; nothing else may go wrong.
    assert all("403" in e for e in page.console_errors), page.console_errors
    page.console_errors.clear()


def test_team_manager_opens_what_falls_due_from_their_teams_scorecard(
    team_manager, warehouse, wait_for_dash, screenshot, axe
):
    page = team_manager
    period = queries.latest_period(warehouse)
    with viewing(Viewer("test", Role.BOARD)):
        expected = children.due_list(team="Coastal FS 1", days=5, db=warehouse)
    overdue = int((expected.rows["outcome"] == "overdue").sum())

    page.goto(f"/?period={period}&level=team&unit=Coastal%20FS%201")
    wait_for_dash(page)
    page.locator("#sc-due").click()
    page.wait_for_url("**/due?team=Coastal%20FS%201&days=5")
    wait_for_dash(page)
    older = f" ({expected.older:,} more overdue for longer)" if expected.older else ""
    assert page.inner_text("#due-counts") == (
        f"{len(expected.rows) - overdue:,} due in the next 5 working days; {overdue:,} overdue in the last 3 months"
        + older
        + "."
    )
    if len(expected.rows):
        page.wait_for_selector("#due-grid .ag-row")
        first = expected.rows.iloc[0]
        assert page.locator("#due-grid .ag-row[row-index='0'] [col-id='child_id']").inner_text() == first["child_id"]
    screenshot(page, "due-team-manager")
    assert axe(page) == []
