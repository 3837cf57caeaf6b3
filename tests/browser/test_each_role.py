"""What each person comes for, first (issue 25), as each role, on a small hand-made warehouse.

Coastal FS 1 (Family Safeguarding) has four open assessments, judged on the extract's as-of
date, Friday 5 April 2024 (the children's visits are due 5 working days after the start):

    C1  started Tue 2 Apr 2024, not yet seen: visit due Tue 9 Apr, 4 days left
    C2  started Wed 20 Mar 2024, not seen:    visit was due Wed 27 Mar, 9 days overdue
    C6  started Wed 13 Mar 2024, not seen:    visit was due Wed 20 Mar, 16 days overdue
    C3  started Mon 2 Oct 2023, seen next day, never completed: the assessment was due
        Mon 4 Dec 2023 (45 working days), 123 days overdue: older than the 3-month cut-off

C1's allocated worker is "Worker 7", C2's "SW0413"; the others' extract rows name none.

Coastal FS 2's C5 is another team's. March 2024's figure for the children seen in time is
0 of 2 (C2 and C6): below the 5 a rating needs, so "Small numbers", not Red. One action
(AS-1, due 31 March, on track) is meant to move the visits KPI; none the 45-day one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from servers import running_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kpi_helpers import AUTHORITY, add_records, new_warehouse

pytestmark = pytest.mark.browser

ORG = [
    ("Coastal FS 1", "Family Safeguarding", "Coastal"),
    ("Coastal FS 2", "Family Safeguarding", "Coastal"),
    ("North A&I 1", "Assessment and Intervention", "Northern"),
]
ACCESS = """
default_role: viewer
users:
  j.smith: {role: team_manager, teams: [Coastal FS 1]}
  a.khan: {role: head_of_service, services: [Family Safeguarding]}
  dlt.chair: {role: board}
  p.analyst: {role: analyst}
  x.typo: {role: team_manager, teams: [Coastal FS 9]}
"""
AREA = "Assessments and plans for children in need and in need of protection"


def _a(child: str, team: str, start: date, seen: date | None = None) -> dict:
    return {"child_id": child, "team": team, "assessment_start_date": start, "child_seen_date": seen}


@pytest.fixture(scope="module")
def role_server(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("roles")
    db = new_warehouse(folder, ORG)
    add_records(
        db,
        "assessments",
        [
            {**_a("C1", "Coastal FS 1", date(2024, 4, 2)), "worker": "Worker 7"},
            {**_a("C2", "Coastal FS 1", date(2024, 3, 20)), "worker": "SW0413"},
            _a("C3", "Coastal FS 1", date(2023, 10, 2), date(2023, 10, 3)),
            _a("C5", "Coastal FS 2", date(2024, 4, 3)),
            _a("C6", "Coastal FS 1", date(2024, 3, 13)),
        ],
        as_of=date(2024, 4, 5),
    )
    action = {"action_id": "AS-1", "area": AREA, "action": "Daily huddle on unseen children",
              "lead": "Team manager, Coastal FS 1", "due_date": date(2024, 3, 31), "status": "on track",
              "metrics": "seen_5wd"}  # fmt: skip
    add_records(db, "actions", [action], as_of=date(2024, 4, 5))
    (folder / "access.yml").write_text(ACCESS, encoding="utf-8")
    env = {"CPIP_ACCESS": str(folder / "access.yml"), "CPIP_ACCESS_LOG": str(folder / "access-log.sqlite")}
    with running_app(db, folder / "server.log", env=env, ready_headers={"X-Remote-User": "p.analyst"}) as url:
        yield url


@pytest.fixture
def as_user(browser, role_server, signed_in_page):
    opened = []

    def open_as(user: str):
        context, page, errors = signed_in_page(browser, role_server, user)
        opened.append((context, errors))
        return page

    yield open_as
    for context, errors in opened:
        context.close()
        assert errors == [], f"browser console errors: {errors}"


@pytest.mark.parametrize(
    ("user", "lands_on", "menu"),
    [
        (
            "j.smith",
            "Coastal FS 1 · March 2024 · Team",
            ["Scorecard", "Teams", "Audits", "Action plans", "What falls due"],
        ),
        (
            "a.khan",
            "Family Safeguarding · March 2024 · Service",
            ["Scorecard", "Teams", "Audits", "Action plans", "What falls due"],
        ),
        ("dlt.chair", f"{AUTHORITY} · March 2024", ["Scorecard", "Teams", "Audits", "Action plans", "What falls due"]),
        (
            "p.analyst",
            f"{AUTHORITY} · March 2024",
            ["Scorecard", "Teams", "Audits", "Action plans", "What falls due", "Data"],
        ),
        (
            "someone.else",
            f"{AUTHORITY} · March 2024",
            ["Scorecard", "Teams", "Audits", "Action plans"],
        ),  # the default: viewer
    ],
)
def test_each_role_lands_on_its_own_scorecard_with_a_menu_of_what_it_may_open(
    as_user, wait_for_dash, user, lands_on, menu
):
    page = as_user(user)
    page.goto("/")
    wait_for_dash(page)
    assert page.inner_text("#page-subtitle") == lands_on
    assert [t.strip() for t in page.locator(".cpip-nav .cpip-nav-link").all_inner_texts()] == menu


def test_a_team_manager_works_from_what_falls_due(as_user, wait_for_dash, screenshot, axe):
    page = as_user("j.smith")
    page.goto("/")
    wait_for_dash(page)
    page.locator("#sc-due").click()
    page.wait_for_url("**/due?team=Coastal%20FS%201&days=5")
    wait_for_dash(page)
    assert page.inner_text("#due-counts") == (
        "1 due in the next 5 working days; 2 overdue in the last 3 months (1 more overdue for longer)."
    )
    page.wait_for_selector("#due-grid .ag-row")

    def cell(row: int, column: str) -> str:
        return page.locator(f"#due-grid .ag-row[row-index='{row}'] [col-id='{column}']").inner_text()

    # Due soonest first, then overdue most recent first; the KPI's whole name.
    assert [cell(i, "child_id") for i in range(3)] == ["C1", "C2", "C6"]
    assert (cell(0, "days_left"), cell(1, "days_overdue"), cell(2, "days_overdue")) == ("4", "9", "16")
    assert cell(0, "metric_id") == "Children seen within 5 working days"
    # Whose each one is: the allocated worker where the extract gives one (C6's gives none).
    assert page.locator("#due-grid .ag-header-cell[col-id='worker']").inner_text() == "Worker"
    assert [cell(i, "worker") for i in range(3)] == ["Worker 7", "SW0413", ""]
    # Whole on screen: wrapped, never cut off at the column's edge.
    name = page.locator("#due-grid .ag-row[row-index='0'] [col-id='metric_id']")
    assert name.evaluate("cell => cell.scrollWidth <= cell.clientWidth")
    assert page.locator("#due-grid .ag-center-cols-container .ag-row").count() == 3
    assert "1 record (1 child) overdue for more than 3 months is not listed here." in page.inner_text("#due-older")
    screenshot(page, "due-worklist-team-manager")
    assert axe(page) == []
    # The link lists every overdue record: C3's assessment, 123 days overdue, comes last.
    page.locator("#due-older-link").click()
    page.wait_for_url("**/due?team=Coastal%20FS%201&days=5&cutoff=0")
    wait_for_dash(page)
    page.wait_for_selector("#due-grid .ag-row[row-index='3']")
    assert (cell(3, "child_id"), cell(3, "days_overdue")) == ("C3", "123")
    assert page.inner_text("#due-counts") == "1 due in the next 5 working days; 3 overdue."


def test_a_head_of_service_has_the_services_due_list_from_the_menu(as_user, wait_for_dash):
    page = as_user("a.khan")
    page.goto("/")
    wait_for_dash(page)
    page.locator(".cpip-nav-link", has_text="What falls due").click()
    page.wait_for_url("**/due")
    wait_for_dash(page)
    # Coastal FS 2's C5 (started Wed 3 Apr, visit due Wed 10 Apr) joins the service's list.
    assert page.inner_text("#page-subtitle") == "the service Family Safeguarding · next 5 working days"
    assert page.inner_text("#due-counts").startswith("2 due in the next 5 working days; 2 overdue")


def test_small_numbers_show_the_figure_without_a_colour(as_user, wait_for_dash):
    page = as_user("j.smith")
    page.goto("/")
    wait_for_dash(page)
    row = page.inner_text("#sc-row-seen_5wd")
    assert "0.0%" in row and "Small numbers" in row
    assert page.inner_text("#sc-small-seen_5wd").startswith("Small numbers: 2 counted, fewer than the 5")
    assert page.inner_text("#sc-count-red") == "0"


def test_the_kpi_page_says_what_is_being_done_or_that_nothing_is(as_user, wait_for_dash):
    page = as_user("dlt.chair")
    page.goto("/kpi/seen_5wd")
    wait_for_dash(page)
    actions = page.inner_text("#kpi-actions")
    assert "AS-1" in actions and "Daily huddle on unseen children" in actions and "Overdue" in actions
    page.goto("/kpi/assessments_45wd")
    wait_for_dash(page)
    assert page.inner_text("#kpi-actions") == "No action in any plan is meant to move this KPI."


def test_the_analyst_is_told_of_a_mistyped_team_in_the_access_file(as_user, wait_for_dash):
    page = as_user("p.analyst")
    page.goto("/data")
    wait_for_dash(page)
    warning = page.inner_text("#data-org-access-warning")
    assert "x.typo the team 'Coastal FS 9', which the organisation reference does not name (closest: " in warning
