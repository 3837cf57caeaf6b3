"""A team manager writes a note on a KPI page for their team and sees its marker
on the team's scorecard; an edit keeps the earlier version; a viewer is offered
no form.

The app runs on the demo warehouse with an access file and its own notes file
(CPIP_NOTES), so the notes written here touch no other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import running_app

pytestmark = pytest.mark.browser

ACCESS = """
default_role: viewer
users:
  j.smith: {role: team_manager, teams: [Coastal FS 1]}
"""
KPI = "/kpi/seen_5wd?period=2023-07&level=team&unit=Coastal%20FS%201"
SCORECARD = "/?period=2023-07&level=team&unit=Coastal%20FS%201"


@pytest.fixture(scope="module")
def notes_server(warehouse: Path, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("notes-server")
    (folder / "access.yml").write_text(ACCESS, encoding="utf-8")
    env = {"CPIP_ACCESS": str(folder / "access.yml"), "CPIP_NOTES": str(folder / "notes.sqlite")}
    with running_app(warehouse, folder / "server.log", env=env, ready_headers={"X-Remote-User": "j.smith"}) as url:
        yield url


def test_a_note_written_on_the_kpi_page_shows_on_the_scorecard(
    browser, notes_server, wait_for_dash, screenshot, signed_in_page
):
    context, page, errors = signed_in_page(browser, notes_server, "j.smith")
    try:
        page.goto(KPI)
        wait_for_dash(page)
        card = page.locator("#kpi-note-card")
        assert "No note for July 2023, Coastal FS 1, yet." in card.inner_text()
        page.fill("#note-text", "Two social workers on leave in July.\nAgency cover starts in August.")
        page.click("#note-save")
        page.wait_for_selector("#note-message:has-text('Saved.')")
        assert page.locator("#note-latest").inner_text() == (
            "Two social workers on leave in July.\nAgency cover starts in August."
        )
        assert page.locator("#note-byline").inner_text().startswith("j.smith, ")
        # An edit is a new version; the first stays readable.
        page.fill("#note-text", "Two social workers on leave in July.\nAgency cover started on 7 August.")
        page.click("#note-save")
        page.wait_for_selector("#note-message:has-text('Saved (version 2).')")
        page.click("#note-history summary")
        assert "Agency cover starts in August." in page.locator("#note-history").inner_text()
        screenshot(page, "notes-kpi-page")

        page.goto(SCORECARD)
        wait_for_dash(page)
        marker = page.locator("#sc-note-seen_5wd")
        assert marker.locator("summary").inner_text() == "Note Two social workers on leave in July."
        assert not marker.get_by_text("Agency cover started on 7 August.").is_visible()
        marker.locator("summary").click()  # the whole note is a click away
        assert marker.get_by_text("Agency cover started on 7 August.").is_visible()
        assert page.locator("#sc-row-iha_20wd [id^=sc-note-]").count() == 0  # no note, no marker
        # The area heading says how many of its plan's actions are overdue (the demo tracker).
        assert "2 overdue actions" in page.locator("#sc-table").inner_text()
        screenshot(page, "notes-scorecard")
        assert errors == []
    finally:
        context.close()


def test_a_viewer_is_offered_no_form(browser, notes_server, wait_for_dash, signed_in_page):
    context, page, errors = signed_in_page(browser, notes_server, "someone.else")
    try:
        page.goto(KPI)
        wait_for_dash(page)
        assert page.locator("#kpi-note-card h2").inner_text() == "Note for the Board, July 2023"
        assert not page.locator("#note-text").is_visible()
        assert not page.locator("#note-save").is_visible()
        assert errors == []
    finally:
        context.close()


def test_the_plans_page_filters_and_an_analyst_edits_an_action(page, wait_for_dash, axe, screenshot):
    # The demo server is single-user: the person at the keyboard is the analyst. Its notes file is the
    # session's; this edit adds an app version of SD-3, which no other test reads.
    page.goto("/plans?show=overdue")
    wait_for_dash(page)
    first = page.locator("#plans-area-1")
    assert "Strategy discussions and child protection investigations · 2 overdue" in first.inner_text()
    rows = first.locator("#plans-actions-1 tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == ["SD-6", "SD-4"]
    assert "Overdue" in rows.nth(1).inner_text()  # SD-4's tracker says on track; it is past its date
    assert axe(page) == []
    page.select_option("#plan-edit-pick", "SD-3")
    page.click("#plan-edit-open")  # the form fills at the button, never at each option passed
    page.wait_for_function("() => document.querySelector('#plan-edit-action').value.startsWith('Review strategy')")
    page.select_option("#plan-edit-status", "at risk")
    page.fill("#plan-edit-notes", "Audit capacity moved to the ICPC sample.")
    page.click("#plan-edit-save")
    page.wait_for_selector("#plan-edit-message:has-text('Saved SD-3 (version 2)')")
    page.goto("/plans?lead=Head%20of%20Practice%20Improvement")
    wait_for_dash(page)
    text = page.locator("#plans-area-1").inner_text()
    assert "Audit capacity moved to the ICPC sample." in text and "SD-3: 2 versions" in text
    screenshot(page, "notes-plans")
    assert page.console_errors == []
