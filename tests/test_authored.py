"""One validation for everything people write (etl/people/authored.py): notes, actions, events and
the restore of a `cpip notes export` file meet the same rules, and a restore with one bad row
brings back nothing.

The warehouse holds one assessment, started 5 June and completed 10 July 2023, so the KPI data
covers 2023-06 and 2023-07: a note may be for 2023-06 up to 2024-07 (the data's months and the
12 after), an event may be dated from 2021-06 (24 months earlier) up to July 2024.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from kpi_helpers import add_records, new_warehouse

from etl.ingest.load import load_files
from etl.people import notes, plans
from etl.privacy import access

AREA = "Strategy discussions and child protection investigations"


@pytest.fixture(autouse=True)
def as_the_command_line():
    with access.viewing(None):
        yield


@pytest.fixture
def db(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("CPIP_NOTES", raising=False)
    monkeypatch.delenv("CPIP_DB", raising=False)
    db = new_warehouse(tmp_path)
    add_records(
        db,
        "assessments",
        [
            {
                "child_id": "C1",
                "team": "Team A",
                "assessment_start_date": date(2023, 6, 5),
                "assessment_completed_date": date(2023, 7, 10),
            }
        ],
        as_of=date(2023, 8, 4),
    )
    return db


def note(db, text: str = "Two workers on leave.", period: str = "2023-07", **kwargs):
    return notes.write_note("seen_5wd", period, "team", "Team A", text, author="j.smith", db=db, **kwargs)


# --- notes, events, actions written here ------------------------------------------------------------


def test_a_note_is_for_a_month_of_the_data_or_the_12_after(db) -> None:
    assert note(db, period="2023-06").period == "2023-06"
    assert note(db, period="2024-07").period == "2024-07"
    for period in ("2099-12", "2024-08", "2023-05", "0001-01"):
        with pytest.raises(ValueError, match=f"{period} is outside the months it may be for \\(2023-06 to 2024-07\\)"):
            note(db, period=period)


def test_an_event_dated_0001_01_01_is_refused(db) -> None:
    assert notes.add_event("seen_5wd", "2021-06-01", "New duty rota", author="a", db=db)
    for day in ("0001-01-01", "2021-05-31", "2024-08-01", "9999-12-31"):
        with pytest.raises(ValueError, match="is outside the months it may be for"):
            notes.add_event("seen_5wd", day, "Rota", author="a", db=db)
    assert [e.label for e in notes.events_for("seen_5wd", db=db) if e.metric_id] == ["New duty rota"]


def test_notes_and_actions_are_at_most_10000_characters_and_titles_300(db) -> None:
    assert len(note(db, "x" * 10_000).text) == 10_000
    with pytest.raises(ValueError, match="a note is at most 10,000 characters \\(10,001 given\\)"):
        note(db, "x" * 10_001)
    saved = plans.save_action(action_id=None, area=AREA, action="y" * 10_000, sponsor="s" * 300, author="a", db=db)
    assert len(saved.action) == 10_000
    with pytest.raises(ValueError, match="an action is at most 10,000 characters"):
        plans.save_action(action_id=None, area=AREA, action="y" * 10_001, author="a", db=db)
    with pytest.raises(ValueError, match="the sponsor is at most 300 characters"):
        plans.save_action(action_id=None, area=AREA, action="Train teams", sponsor="s" * 301, author="a", db=db)
    with pytest.raises(ValueError, match="an action's notes is at most 10,000 characters"):
        plans.save_action(action_id=None, area=AREA, action="Train", notes_text="n" * 10_001, author="a", db=db)
    with pytest.raises(ValueError, match="an event's label is at most 120 characters"):
        notes.add_event("seen_5wd", "2023-07-03", "l" * 121, author="a", db=db)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Bell\x07 here", "U+0007"),
        ("Null\x00 here", "U+0000"),
        ("Escape\x1b[31m", "U+001B"),
        ("C1\x85 control", "U+0085"),
        ("abc\u202edcba", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("isolate\u2066x\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ],
)
def test_control_and_reordering_characters_are_refused_everywhere(db, text: str, named: str) -> None:
    named = re.escape(named)
    with pytest.raises(ValueError, match=f"a note holds .*{named}"):
        note(db, text)
    with pytest.raises(ValueError, match=f"an action holds .*{named}"):
        plans.save_action(action_id=None, area=AREA, action=text, author="a", db=db)
    with pytest.raises(ValueError, match=f"an event's label holds .*{named}"):
        notes.add_event("seen_5wd", "2023-07-03", text, author="a", db=db)
    assert notes.current_notes(db=db) == []


def test_line_breaks_and_tabs_are_kept(db) -> None:
    # A Windows line break is kept as one line break.
    assert note(db, "First line\r\nsecond\tcolumn").text == "First line\nsecond\tcolumn"


# --- restore of an export -------------------------------------------------------------------------------

GOOD_NOTE = {
    "version_id": "a" * 32,
    "metric_id": "seen_5wd",
    "period": "2023-07",
    "level": "team",
    "org_unit": "Team A",
    "text": "Restored note.",
    "author": "old.author",
    "written_at": "2023-08-01T09:00:00.000000+00:00",
}
GOOD_ACTION = {
    "version_id": "b" * 32,
    "action_id": "APP-1",
    "area": AREA,
    "action": "Train teams",
    "sponsor": "AD",
    "lead": "HoS",
    "due_date": "2023-09-30",
    "status": "on track",
    "notes": "",
    "metrics": "seen_5wd",
    "author": "old.author",
    "written_at": "2023-08-01T09:00:00+00:00",
}
GOOD_EVENT = {
    "version_id": "c" * 32,
    "event_id": "ev1",
    "event_date": "2023-07-03",
    "label": "New rota",
    "metric_id": "seen_5wd",
    "removed": 0,
    "author": "old.author",
    "written_at": "2023-08-01T09:00:00+00:00",
}


def export_file(folder: Path, *, notes_: list | None = None, actions: list | None = None, events: list | None = None):
    path = folder / "notes-export.json"
    body = {
        "format": "cpip-notes-export",
        "version": 1,
        "notes": [GOOD_NOTE] if notes_ is None else notes_,
        "actions": [GOOD_ACTION] if actions is None else actions,
        "events": [GOOD_EVENT] if events is None else events,
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


BAD_ROWS = [
    ("notes", {"metric_id": "nope"}, "note 2: 'nope' is not a KPI"),
    ("notes", {"level": "nonsense"}, "note 2: level 'nonsense' is not one of la, area, service, team"),
    ("notes", {"org_unit": "Team Z"}, "note 2: 'Team Z' is not a team"),
    ("notes", {"level": "la", "org_unit": "Another Council"}, "note 2: the authority is named 'Another Council'"),
    ("notes", {"period": "2099-12"}, "note 2: the month 2099-12 is outside the months it may be for"),
    ("notes", {"period": "July"}, "note 2: 'July' is not a month like 2023-07"),
    ("notes", {"text": "z" * 10_001}, "note 2: a note is at most 10,000 characters"),
    ("notes", {"text": "bell\x07"}, "note 2: a note holds a control character"),
    ("notes", {"text": "\u202eevil"}, "note 2: a note holds a character that reorders"),
    ("notes", {"written_at": "not-a-date"}, "note 2: written_at 'not-a-date' is not a time"),
    (
        "notes",
        {"written_at": "9999-12-31T23:59:59+00:00"},
        "note 2: written_at 9999-12-31T23:59:59+00:00 is in the future",
    ),
    ("notes", {"author": ""}, "note 2: the author needs some text"),
    ("notes", {"version_id": "../x"}, "note 2: version_id '../x' is not a version's id"),
    ("actions", {"status": "sunk"}, "action 2: status 'sunk' is not one of"),
    ("actions", {"area": "Knitting"}, "action 2: 'Knitting' is not an improvement area"),
    ("actions", {"metrics": "seen_5wd;nope"}, "action 2: unknown KPI nope"),
    ("actions", {"due_date": "0001-01-01"}, "action 2: the due date 0001-01-01 is not within 20 years of today"),
    ("actions", {"sponsor": "s" * 301}, "action 2: the sponsor is at most 300 characters"),
    ("events", {"event_date": "0001-01-01"}, "event 2: the event's date 0001-01 is outside the months"),
    ("events", {"label": "x\x0by"}, "event 2: an event's label holds a control character"),
    ("events", {"removed": "yes"}, "event 2: removed is 'yes', not 0 or 1"),
]


@pytest.mark.parametrize(("kind", "change", "message"), BAD_ROWS, ids=[m.split(": ", 1)[1][:40] for *_, m in BAD_ROWS])
def test_a_restore_with_one_bad_row_brings_back_nothing_and_names_the_row(db, tmp_path, kind, change, message):
    good = {"notes": GOOD_NOTE, "actions": GOOD_ACTION, "events": GOOD_EVENT}[kind]
    second = {**good, "version_id": "d" * 32, **change}  # row 2 of its kind is the bad one
    path = export_file(tmp_path, **{("notes_" if kind == "notes" else kind): [good, second]})
    with pytest.raises(ValueError) as refused:
        notes.restore(path, db=db)
    assert message in str(refused.value)
    assert str(refused.value).endswith("nothing was restored")
    assert notes.current_notes(db=db) == [] and notes.action_rows(db=db) == []
    assert [e.label for e in notes.events_for("seen_5wd", db=db) if e.metric_id] == []  # metrics.yml's alone


def test_cpip_load_refuses_a_forged_export_as_one_finding(db, tmp_path) -> None:
    forged = {**GOOD_NOTE, "author": "Board chair", "written_at": "9999-01-01T00:00:00+00:00"}
    (report,) = load_files([export_file(tmp_path, notes_=[forged])], as_of="2023-08-05", who="t", db=db)
    assert report.outcome == "refused"
    assert "note 1: written_at 9999-01-01T00:00:00+00:00 is in the future; nothing was restored" in (
        report.findings[0].reason
    )
    assert notes.current_notes(db=db) == []


def test_a_restored_version_is_history_and_a_later_save_stays_current(db, tmp_path) -> None:
    assert notes.restore(export_file(tmp_path), db=db) == (3, 0)
    (restored,) = notes.note_history("seen_5wd", "2023-07", "team", "Team A", db=db)
    # It keeps the author and time it was written with (the time spelt as every save's is).
    assert (restored.author, restored.written_at, restored.text) == (
        "old.author",
        "2023-08-01T09:00:00.000000+00:00",
        "Restored note.",
    )
    # Marked as restored, by whom and when (the request's, not the file's).
    with sqlite3.connect(notes.store_path(db)) as con:
        marks = con.execute("SELECT restored_by, restored_at FROM note_versions").fetchall()
    assert len(marks) == 1 and marks[0][0] and marks[0][1] > "2026"
    # A save made here after the restore is the current version; restoring the file again changes nothing.
    note(db, "Written today.")
    assert notes.restore(export_file(tmp_path), db=db) == (0, 3)
    assert [n.text for n in notes.current_notes(db=db)] == ["Written today."]
