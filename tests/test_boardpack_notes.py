"""The board pack carries what the Board discusses: the note beside each KPI, every
Red KPI's note on its exception page (or "no commentary yet"), a page per Practice
Action Plan with its actions due or overdue, and the events on the trend chart.

The warehouse is test_boardpack's hand-made one (one Red KPI: assessments_45wd,
July 2023 70.0%), with an actions tracker loaded through the loader.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_boardpack import make_warehouse

from dashboard.export.boardpack import build_boardpack, collect
from dashboard.export.pdf import render_html
from etl.ingest.load import load_files
from etl.people import notes
from etl.privacy import access

AREA = "Assessments and plans for children in need and in need of protection"
TRACKER = (
    "action_id,area,action,sponsor,lead,due_date,status,metrics\n"
    f"AS-1,{AREA},Review assessment guidance,AD Safeguarding,Head of Service A&I,2023-06-30,on track,assessments_45wd\n"
    f"AS-2,{AREA},Bite-size training,AD Safeguarding,Head of Practice Improvement,2023-07-31,done,assessments_45wd\n"
    f"AS-3,{AREA},Neglect toolkit in assessments,AD Safeguarding,Head of Service FS,2023-12-31,not started,\n"
)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(autouse=True)
def as_the_command_line():
    """Run as the command line (no viewer), even when an earlier test imported the web app and its gate."""
    with access.viewing(None):
        yield


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wh-notes")
    path = make_warehouse(folder / "warehouse.duckdb")
    tracker = folder / "actions.csv"
    tracker.write_text(TRACKER, encoding="utf-8")
    (report,) = load_files([tracker], as_of=date(2023, 8, 31), who="t", db=path)
    assert report.outcome == "loaded"
    return path


def test_a_red_kpi_without_a_note_says_no_commentary_yet(db: Path) -> None:
    pack = collect("2023-07", "la", None, db=db, kind="none")
    assert [r.metric_id for r in pack.red_without_note] == ["assessments_45wd"]
    html = squash(render_html(pack))
    assert "Red KPIs with no commentary yet for July 2023: % assessments completed within 45 working days." in html
    assert 'class="missing-note">No commentary yet</td>' in html


def test_the_excel_pack_carries_the_notes(db: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    notes.write_note("seen_5wd", "2023-07", "la", None, "=Green, and staying so.", author="p.analyst", db=db)
    ws = load_workbook(build_boardpack("2023-07", level="la", out=tmp_path / "pack.xlsx", db=db))["Scorecard"]
    assert ws.cell(4, 20).value == "Note for the Board"  # after the published comparators
    by_id = {ws.cell(r, 3).value: ws.cell(r, 20).value for r in range(5, 26)}
    assert by_id["assessments_45wd"] == "No commentary yet"
    assert by_id["seen_5wd"].startswith("'=Green, and staying so. (p.analyst, ")  # text, never a formula
    assert by_id["rereferrals_12m"] is None


def test_the_pdf_carries_the_note_the_overdue_actions_and_the_events(db: Path, tmp_path: Path) -> None:
    notes.write_note(
        "assessments_45wd", "2023-07", "la", None, "Below target since the inspection.\nAgency cover from August.",
        author="p.analyst", db=db,
    )  # fmt: skip
    notes.add_event("assessments_45wd", "2023-06-12", "New duty rota", author="p.analyst", db=db)
    pdf = build_boardpack("2023-07", level="la", out=tmp_path / "pack.pdf", db=db)
    pages = [squash(p.extract_text()) for p in PdfReader(pdf).pages]
    text = " ".join(pages)
    assert "no commentary yet" not in text.lower()
    # Beside the KPI on the scorecard, and on its exception page.
    assert "Note Below target since the inspection. Agency cover from August. – p.analyst" in text
    (exception,) = [p for p in pages if "Exception:" in p]
    assert "Commentary Below target since the inspection. Agency cover from August. p.analyst" in exception
    # The events drawn on its trend (May to July 2023) are listed under it; those before it are not.
    assert "12 Jun 2023: New duty rota (this KPI)" in exception
    assert "ILACS inspection" not in exception
    # A page for the plan: overdue whatever the tracker says, done stays done, a later action is not listed.
    (plan,) = [p for p in pages if f"Practice Action Plan: {AREA}" in p]
    assert "3 actions, 1 overdue at the end of July 2023" in plan
    overdue = "AS-1 Review assessment guidance AD Safeguarding Head of Service A&I 30 Jun 2023 ⚠ Overdue"
    assert overdue + " (tracker says on track)" in plan
    assert "AS-2 Bite-size training" in plan and "Done" in plan
    assert "AS-3" not in plan
    assert "% assessments completed within 45 working days 70.0% 90.0% ● Red" in plan


def test_a_red_kpis_exception_page_says_what_is_being_done_judged_at_the_end_of_its_month(db: Path) -> None:
    # assessments_45wd is Red in July 2023. AS-1 (due 30 June, "on track") is overdue by 31 July;
    # AS-2 is done; AS-3 moves no KPI.
    pack = collect("2023-07", "la", None, db=db, kind="pdf")
    (page,) = pack.exceptions
    assert [(a.action_id, page.states[a.action_id]) for a in page.actions] == [("AS-1", "overdue"), ("AS-2", "done")]
    assert pack.red_without_action == []
    html = squash(render_html(pack))
    assert "What we are doing about it" in html and "Overdue judged at the end of July 2023." in html
    assert "No action in any plan" not in html
    # The source in words, not the table's name.
    assert "Source:</strong> Assessments extract (record level)" in html
    # June's pack judges at 30 June, though the data now reaches 31 August: AS-1 is due that day, not overdue.
    june = collect("2023-06", "la", None, db=db, kind="none")
    assert june.plans_judged_on == date(2023, 6, 30)
    (plan,) = june.plans
    assert [(a.action_id, plan.states[a.action_id]) for a in plan.actions] == [("AS-1", "on track")]


def test_a_red_kpi_with_no_action_in_any_plan_is_flagged_on_its_page_and_the_cover(tmp_path: Path) -> None:
    db = make_warehouse(tmp_path / "warehouse.duckdb")  # no tracker loaded: no plan has an action
    pack = collect("2023-07", "la", None, db=db, kind="pdf")
    assert [r.metric_id for r in pack.red_without_action] == ["assessments_45wd"]
    html = squash(render_html(pack))
    assert "Red KPIs with no action in any plan: % assessments completed within 45 working days." in html
    assert "<strong>No action in any plan</strong> is meant to move this KPI." in html
