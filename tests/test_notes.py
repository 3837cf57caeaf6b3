"""Notes on KPIs, Practice Action Plan actions and chart events: versions kept,
nothing lost by loads, failed loads or undo, overdue worked out, who may write,
the command line, and an export that `cpip load` brings back.

Each test runs on both engines (conftest's `engine`): beside DuckDB the notes are
a SQLite file, on PostgreSQL tables in the warehouse's database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from kpi_helpers import AUTHORITY, new_warehouse

from cpip import cli
from etl.ingest.load import load_files, undo_load
from etl.people import notes, plans
from etl.privacy import access

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data_page"
AS_OF = date(2023, 8, 5)
ACTIONS_CSV = (
    "action_id,area,action,sponsor,lead,due_date,status,metrics\n"
    "SD-1,Strategy discussions and child protection investigations,Review guidance,AD Safeguarding,"
    "Head of Service MASH,31/07/2023,on track,icpc_15wd\n"
    "SD-2,strategy discussions and child protection investigations,Train teams,AD Safeguarding,"
    "Head of Safeguarding and Head of Practice Improvement,2023-08-31,at risk,icpc_15wd;seen_5wd\n"
    "SD-3,Strategy discussions and child protection investigations,Audit conferences,AD Safeguarding,"
    "Head of Safeguarding,2023-07-01,done,\n"
)


@pytest.fixture(autouse=True)
def as_the_command_line():
    """Run as the command line (no viewer), even when an earlier test imported the web app and its gate."""
    with access.viewing(None):
        yield


@pytest.fixture
def db(tmp_path: Path, monkeypatch, new_target) -> Path | str:
    monkeypatch.delenv("CPIP_NOTES", raising=False)
    monkeypatch.delenv("CPIP_DB", raising=False)
    target = new_target(tmp_path)
    return new_warehouse(target if isinstance(target, str) else tmp_path)


@pytest.fixture
def other_db(tmp_path: Path, engine: str, request) -> Path | str:
    """A second warehouse on the test's engine (the organisation loaded), to bring an export back into."""
    if engine == "duckdb":
        (tmp_path / "other").mkdir()
        return new_warehouse(tmp_path / "other")
    from urllib.parse import urlsplit

    from pg_server import create_database, drop_database

    from etl.store import db as engines

    server = request.getfixturevalue("pg_server")
    url = create_database(server.url, template=request.getfixturevalue("pg_template"))
    request.addfinalizer(lambda: (engines.close_pool(url), drop_database(server.url, urlsplit(url).path[1:])))
    return new_warehouse(url)


def _actions_file(folder: Path, text: str = ACTIONS_CSV) -> Path:
    path = folder / "tracker.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_editing_a_note_keeps_every_earlier_version_readable(db):
    first = notes.write_note("seen_5wd", "2023-07", "team", "team a", "Two workers on leave.", author="j.smith", db=db)
    assert (first.org_unit, first.version, first.versions) == ("Team A", 1, 1)  # spelt as the reference spells it
    second = notes.write_note(
        "seen_5wd", "2023-07", "team", "Team A", "Two workers on leave.\nCover from August.", author="a.khan", db=db
    )
    assert (second.version, second.versions, second.first_line) == (2, 2, "Two workers on leave.")
    history = notes.note_history("seen_5wd", "2023-07", "team", "Team A", db=db)
    assert [(n.text, n.author, n.version) for n in history] == [
        ("Two workers on leave.", "j.smith", 1),
        ("Two workers on leave.\nCover from August.", "a.khan", 2),
    ]
    (current,) = notes.current_notes("2023-07", db=db)
    assert current.text.endswith("Cover from August.") and current.versions == 2
    assert notes.notes_by_metric("2023-07", "la", None, db=db) == {}  # the authority has no note of its own


def test_a_note_names_a_real_kpi_month_and_unit(db):
    with pytest.raises(ValueError, match="'nope' is not a KPI"):
        notes.write_note("nope", "2023-07", "la", None, "x", author="a", db=db)
    with pytest.raises(ValueError, match="'Team Z' is not a team"):
        notes.write_note("seen_5wd", "2023-07", "team", "Team Z", "x", author="a", db=db)
    with pytest.raises(ValueError, match="needs some text"):
        notes.write_note("seen_5wd", "2023-07", "la", None, "   ", author="a", db=db)


def test_notes_and_actions_survive_load_undo_and_a_failed_load(db, tmp_path):
    notes.write_note("seen_5wd", "2023-07", "la", None, "Below target after the inspection.", author="p", db=db)
    plans.save_action(action_id=None, area="Sufficiency of placements", action="Recruit foster carers",
                      due_date="2023-12-31", status="on track", author="p", db=db)  # fmt: skip
    notes.add_event("seen_5wd", "2023-05-02", "New duty rota", author="p", db=db)
    (loaded,) = load_files([FIXTURES / "kpi_values_base.csv"], as_of=AS_OF, who="t", db=db)
    assert loaded.outcome == "loaded"
    undo_load(loaded.load_id, who="t", db=db)
    (refused,) = load_files([FIXTURES / "with_errors" / "pathway_plans_july.csv"], as_of=AS_OF, who="t", db=db)
    assert refused.outcome == "refused"
    assert notes.current_notes(db=db)[0].text == "Below target after the inspection."
    assert [a.action for a in plans.actions(db=db)] == ["Recruit foster carers"]
    assert "New duty rota" in [e.label for e in notes.events_for("seen_5wd", db=db)]


def test_the_tracker_loads_as_an_extract_and_an_action_past_its_date_is_overdue(db, tmp_path):
    (report,) = load_files([_actions_file(tmp_path)], as_of=AS_OF, who="t", db=db)
    assert (report.extract_type, report.outcome, report.added) == ("actions", "loaded", 3)
    on = plans.judged_on(db)
    assert on == date.today()  # no KPI extract loaded yet: judged today
    late = date(2023, 8, 5)
    by_id = {a.action_id: a for a in plans.actions(db=db)}
    # Past its date and not done: overdue, whatever the tracker says; done stays done.
    assert {i: a.state(late) for i, a in by_id.items()} == {"SD-1": "overdue", "SD-2": "at risk", "SD-3": "done"}
    assert by_id["SD-2"].area == "Strategy discussions and child protection investigations"  # matched as the loader
    assert by_id["SD-2"].leads == ["Head of Safeguarding", "Head of Practice Improvement"]
    assert plans.overdue_by_area(on=late, db=db) == {"Strategy discussions and child protection investigations": 1}
    assert [a.action_id for a in plans.actions_for_metric("seen_5wd", db=db)] == ["SD-2"]
    _on, sections = plans.plan_sections(on=late, overdue_only=True, db=db)
    assert [(s.area, [a.action_id for a in s.actions]) for s in sections if s.actions] == [
        ("Strategy discussions and child protection investigations", ["SD-1"])
    ]
    _on, sections = plans.plan_sections(on=late, lead="practice improvement", due_in="2023-08", db=db)
    assert [a.action_id for s in sections for a in s.actions] == ["SD-2"]


def test_a_tracker_with_mistakes_is_refused_line_by_line(db, tmp_path):
    bad = ACTIONS_CSV.replace("on track", "nearly").replace("icpc_15wd;seen_5wd", "icpc_15wd;nope")
    bad = bad.replace("SD-3,Strategy discussions and child protection investigations", "SD-3,Knitting")
    (report,) = load_files([_actions_file(tmp_path, bad)], as_of=AS_OF, who="t", db=db)
    assert report.outcome == "refused"
    lines = {(f.line, f.column, f.reason) for f in report.findings}
    assert (2, "status", "not a status: use not started, on track, at risk or done") in lines
    assert any(line == 3 and column == "metrics" and "nope" in reason for line, column, reason in lines)
    assert any(line == 4 and column == "area" and "Knitting" in reason for line, column, reason in lines)


def test_an_action_edited_in_the_app_keeps_its_history_and_outlives_undo(db, tmp_path):
    (report,) = load_files([_actions_file(tmp_path)], as_of=AS_OF, who="t", db=db)
    edited = plans.save_action(
        action_id="SD-1", area="Strategy discussions and child protection investigations", action="Review guidance",
        lead="Head of Service MASH", due_date="2023-07-31", status="done", notes_text="Signed off at DLT",
        metrics="icpc_15wd", author="board.1", db=db,
    )  # fmt: skip
    assert (edited.status, edited.source, edited.versions) == ("done", "app", 2)
    history = plans.action_history("SD-1", db=db)
    assert [(a.source, a.status) for a in history] == [("tracker", "on track"), ("app", "done")]
    undo_load(report.load_id, who="t", db=db)
    (kept,) = plans.actions(db=db)  # the tracker's rows are undone; the app's version is not
    assert (kept.action_id, kept.status, kept.notes) == ("SD-1", "done", "Signed off at DLT")
    with pytest.raises(ValueError, match="overdue is worked out"):
        plans.save_action(action_id="SD-1", area=kept.area, action="x", status="overdue", author="a", db=db)


def test_who_may_write_is_the_policys_decision():
    org = [("Team A", "Assessment and Intervention", "Northern"), ("Team C", "Children We Care For", "Northern")]
    tm = access.Viewer("j.smith", access.Role.TEAM_MANAGER, teams=("Team C",))
    hos = access.Viewer("a.khan", access.Role.HEAD_OF_SERVICE, services=("Assessment and Intervention",))
    board = access.Viewer("dlt.chair", access.Role.BOARD)
    viewer = access.Viewer("v", access.Role.VIEWER)
    may = access.may_write_note
    assert may(tm, "team", "Team C", org) and not may(tm, "team", "Team A", org) and not may(tm, "la", AUTHORITY, org)
    assert may(hos, "service", "Assessment and Intervention", org) and may(hos, "team", "Team A", org)
    assert not may(hos, "team", "Team C", org) and not may(hos, "area", "Northern", org)
    assert may(board, "la", AUTHORITY, org) and may(None, "team", "Team A", org)
    assert not may(viewer, "la", AUTHORITY, org)
    with pytest.raises(access.AccessDenied, match="you may write notes for Team C only, and Team A is outside it"):
        access.check_note(tm, "team", "Team A", org)
    with pytest.raises(access.AccessDenied, match="editing the Practice Action Plans"):
        access.check_plans(tm)


def test_write_note_asks_the_policy(db):
    tm = access.Viewer("j.smith", access.Role.TEAM_MANAGER, teams=("Team C",))
    with access.viewing(tm):
        notes.write_note("seen_5wd", "2023-07", "team", "Team C", "Ours.", author="j.smith", db=db)
        with pytest.raises(access.AccessDenied):
            notes.write_note("seen_5wd", "2023-07", "team", "Team A", "Not ours.", author="j.smith", db=db)
        with pytest.raises(access.AccessDenied):
            notes.add_event("seen_5wd", "2023-05-02", "x", author="j.smith", db=db)
    assert [n.org_unit for n in notes.current_notes(db=db)] == ["Team C"]


def test_events_come_from_metrics_yml_and_the_app(db):
    notes.add_event("seen_5wd", "2023-05-02", "New duty rota", author="p", db=db)
    gone = notes.add_event("seen_5wd", "2023-06-01", "Typo", author="p", db=db)
    notes.add_event("seen_5wd", "2023-06-01", "Typo", author="p", event_id=gone, removed=True, db=db)
    found = [(e.event_date.isoformat(), e.label, e.scope_words) for e in notes.events_for("seen_5wd", db=db)]
    assert found == [
        ("2022-10-03", "Case-management system change", "authority-wide"),
        ("2023-03-06", "ILACS inspection", "authority-wide"),
        ("2023-05-02", "New duty rota", "this KPI"),
    ]
    assert [e.label for e in notes.events_for("iha_20wd", db=db)] == ["Case-management system change",
                                                                       "ILACS inspection"]  # fmt: skip


def test_the_command_line_writes_lists_exports_and_loads_back(db, other_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPIP_DB", str(db))
    assert cli.main(["comment", "--metric", "seen_5wd", "--period", "2023-07", "--text", "First."]) == 0
    assert cli.main(["comment", "--metric", "seen_5wd", "--period", "2023-07", "--text", "=Second, edited."]) == 0
    assert cli.main(["comment", "--metric", "iha_20wd", "--period", "2023-06", "--level", "team", "--unit",
                     "Team C", "--text", "June."]) == 0  # fmt: skip
    assert "version 2" in capsys.readouterr().out
    assert cli.main(["comments", "--period", "2023-07", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "period,metric_id,level,org_unit,text,author,written_at,version,versions"
    assert lines[1].startswith("2023-07,seen_5wd,la,Demo County Council,'=Second, edited.") or lines[1].startswith(
        '2023-07,seen_5wd,la,Demo County Council,"\'=Second, edited."'
    )  # a note that looks like a formula arrives as text
    assert len(lines) == 2
    capsys.readouterr()
    export = tmp_path / "notes.json"
    assert cli.main(["notes", "export", str(export)]) == 0
    assert json.loads(export.read_text(encoding="utf-8"))["format"] == "cpip-notes-export"
    # Brought back into a warehouse that has none of them (the notes of a lost server, say).
    monkeypatch.setenv("CPIP_DB", str(other_db))
    assert notes.current_notes(db=other_db) == []
    assert cli.main(["load", str(export)]) == 0
    assert "notes: loaded: 3 rows read: 3 added" in capsys.readouterr().out
    assert cli.main(["load", str(export)]) == 0
    assert "no change" in capsys.readouterr().out  # brought back twice: nothing doubled
    assert [(n.metric_id, n.versions) for n in notes.current_notes(db=other_db)] == [("iha_20wd", 1), ("seen_5wd", 2)]


def test_a_broken_export_is_one_line(db, tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text('{"format": "cpip-notes-export", "notes": [{"text": "x"}]}', encoding="utf-8")
    (report,) = load_files([bad], as_of=AS_OF, who="t", db=db)
    assert report.outcome == "refused"
    assert "note 1 has no version_id" in report.findings[0].reason
