"""What people write, across the two engines: an earlier release's SQLite notes brought into PostgreSQL once
(`cpip notes import-sqlite`), an export from one engine brought back into the other, and the access log
read and written the same way on both.

The previous release kept a PostgreSQL warehouse's notes in a SQLite file in CPIP_STATE_DIR, named after the
server and database (`127.0.0.1-<port>-<database>.pg.notes.sqlite`); its tables are written below with that
release's own statements, so the test does not lean on today's code to make them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from kpi_helpers import new_warehouse

from cpip import cli
from etl.people import notes, plans
from etl.privacy import access, access_log
from etl.store import authority, migrate, side, warehouse

# The notes file as the previous release made it (etl/people/notes.py before migration 0005).
PREVIOUS_SCHEMA = (
    "CREATE TABLE note_versions (version_id TEXT PRIMARY KEY, metric_id TEXT NOT NULL, period TEXT NOT NULL,"
    " level TEXT NOT NULL, org_unit TEXT NOT NULL, text TEXT NOT NULL, author TEXT NOT NULL, written_at TEXT NOT NULL)",
    "CREATE INDEX note_key ON note_versions (metric_id, period, level, org_unit)",
    "CREATE TABLE action_versions (version_id TEXT PRIMARY KEY, action_id TEXT NOT NULL, area TEXT NOT NULL,"
    " action TEXT NOT NULL, sponsor TEXT NOT NULL, lead TEXT NOT NULL, due_date TEXT, status TEXT NOT NULL,"
    " notes TEXT NOT NULL, metrics TEXT NOT NULL, author TEXT NOT NULL, written_at TEXT NOT NULL)",
    "CREATE INDEX action_key ON action_versions (action_id)",
    "CREATE TABLE event_versions (version_id TEXT PRIMARY KEY, event_id TEXT NOT NULL, event_date TEXT NOT NULL,"
    " label TEXT NOT NULL, metric_id TEXT NOT NULL, removed INTEGER NOT NULL, author TEXT NOT NULL,"
    " written_at TEXT NOT NULL)",
)
# Two versions of one note, one action, one event: four versions in all.
PREVIOUS_ROWS = (
    "INSERT INTO note_versions VALUES ('a1', 'seen_5wd', '2023-07', 'team', 'Team A', 'Two on leave.', 'j.smith',"
    " '2023-08-10T09:00:00.000000+00:00')",
    "INSERT INTO note_versions VALUES ('a2', 'seen_5wd', '2023-07', 'team', 'Team A', 'Two on leave.\nCover found.',"
    " 'a.khan', '2023-08-11T09:00:00.000000+00:00')",
    "INSERT INTO action_versions VALUES ('b1', 'APP-1', 'Sufficiency of placements', 'Recruit foster carers', '',"
    " '', '2023-12-31', 'on track', '', '', 'p', '2023-08-12T09:00:00.000000+00:00')",
    "INSERT INTO event_versions VALUES ('c1', 'e1', '2023-05-02', 'New duty rota', 'seen_5wd', 0, 'p',"
    " '2023-08-13T09:00:00.000000+00:00')",
)


@pytest.fixture(autouse=True)
def as_the_command_line(monkeypatch):
    monkeypatch.delenv("CPIP_NOTES", raising=False)
    monkeypatch.delenv("CPIP_ACCESS_LOG", raising=False)
    with access.viewing(None):
        yield


def previous_notes_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    for statement in (*PREVIOUS_SCHEMA, *PREVIOUS_ROWS):
        con.execute(statement)
    con.commit()
    con.close()
    return path


def what_people_see(db) -> tuple:
    """The notes (text, author, version of versions), actions and KPI events a page would show."""
    return (
        [(n.text, n.author, n.version, n.versions) for n in notes.current_notes(db=db)],
        [(a.action_id, a.action, a.status) for a in plans.actions(db=db)],
        [e.label for e in notes.events_for("seen_5wd", db=db) if e.metric_id],
    )


SEEN = (
    [("Two on leave.\nCover found.", "a.khan", 2, 2)],
    [("APP-1", "Recruit foster carers", "on track")],
    ["New duty rota"],
)


def test_postgresql_from_the_previous_release_holding_notes(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from etl.store import db

    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CPIP_DB", pg_url)
    # The previous release: the warehouse at revision 0003 with its organisation, the notes in SQLite beside it.
    with db.pool(pg_url).connection() as raw:
        con = db.PgConnection(raw)
        migrate.upgrade(con, "938", revision="0003")
        warehouse.fill_calendar(con)
    warehouse.ensure_warehouse(pg_url)  # this release's first start: 0005 makes the tables, empty
    new_warehouse(pg_url)
    old = previous_notes_file(notes.store_path(pg_url))
    assert old.name.endswith(".pg.notes.sqlite") and old.parent == tmp_path / "state"
    # Nothing is brought across until someone asks.
    assert what_people_see(pg_url) == ([], [], [])
    assert cli.main(["notes", "import-sqlite"]) == 0
    assert f"Imported from {old}: 4 versions added, 0 already held." in capsys.readouterr().out
    assert what_people_see(pg_url) == SEEN
    # Asked twice: nothing doubled.
    assert cli.main(["notes", "import-sqlite", str(old)]) == 0
    assert "0 versions added, 4 already held." in capsys.readouterr().out
    assert what_people_see(pg_url) == SEEN
    # Another authority's notes are its own: 846 has none.
    with authority.using("846"):
        assert notes.current_notes(db=pg_url) == []
    # A file that is not there is one line, exit 1.
    assert cli.main(["notes", "import-sqlite", str(tmp_path / "nope.sqlite")]) == 1
    assert "nope.sqlite: no such notes file" in capsys.readouterr().err
    db.close_pool(pg_url)


def test_duckdb_keeps_its_notes_beside_the_warehouse_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    path = new_warehouse(tmp_path)
    monkeypatch.setenv("CPIP_DB", str(path))
    previous_notes_file(tmp_path / "warehouse.duckdb.notes.sqlite")
    assert what_people_see(path) == SEEN  # read where the previous release wrote them
    assert cli.main(["notes", "import-sqlite"]) == 1
    assert "import-sqlite is for a PostgreSQL one" in capsys.readouterr().err


def write_some(db) -> None:
    notes.write_note("seen_5wd", "2023-07", "team", "Team A", "Two on leave.", author="j.smith", db=db)
    notes.write_note("seen_5wd", "2023-07", "team", "Team A", "Two on leave.\nCover found.", author="a.khan", db=db)
    plans.save_action(action_id=None, area="Sufficiency of placements", action="Recruit foster carers",
                      due_date="2023-12-31", status="on track", author="p", db=db)  # fmt: skip
    gone = notes.add_event("seen_5wd", "2023-06-01", "Typo", author="p", db=db)
    notes.add_event("seen_5wd", "2023-06-01", "Typo", author="p", event_id=gone, removed=True, db=db)
    notes.add_event("seen_5wd", "2023-05-02", "New duty rota", author="p", db=db)


def export_body(path: Path) -> dict:
    body = json.loads(path.read_text(encoding="utf-8"))
    body.pop("exported_at")
    return body


def test_an_export_from_one_engine_restores_into_the_other(
    tmp_path: Path, pg_warehouse: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    duck = new_warehouse(tmp_path)
    pg = new_warehouse(pg_warehouse)
    write_some(duck)
    from_duck, from_pg = tmp_path / "from-duckdb.json", tmp_path / "from-postgresql.json"
    monkeypatch.setenv("CPIP_DB", str(duck))
    assert cli.main(["notes", "export", str(from_duck)]) == 0
    # Two note versions, one action version, three event versions.
    assert "2 note versions, 1 action versions, 3 event versions" in capsys.readouterr().out
    monkeypatch.setenv("CPIP_DB", pg)
    assert cli.main(["load", str(from_duck)]) == 0
    assert "notes: loaded: 6 rows read: 6 added" in capsys.readouterr().out
    assert what_people_see(pg) == what_people_see(duck) == SEEN
    # Each version brought back says who brought it back (the command line's user); those saved here, nobody.
    held = side.store(pg, Path(), []).select(side.NOTE_VERSIONS)
    assert [(r["restored_by"], bool(r["restored_at"])) for r in held] == [(access.os_user(), True)] * 2
    held = side.store(duck, notes.store_path(duck), []).select(side.NOTE_VERSIONS)
    assert [r["restored_by"] for r in held] == [None, None]
    # Exported again from PostgreSQL: the same versions, word for word, in the same order.
    assert cli.main(["notes", "export", str(from_pg)]) == 0
    assert export_body(from_pg) == export_body(from_duck)
    # And back the other way: a note written on PostgreSQL reaches a new DuckDB warehouse.
    notes.write_note("iha_20wd", "2023-06", "la", None, "June.", author="dlt.chair", db=pg)
    assert cli.main(["notes", "export", str(from_pg)]) == 0
    (tmp_path / "fresh").mkdir()
    fresh = new_warehouse(tmp_path / "fresh")
    monkeypatch.setenv("CPIP_DB", str(fresh))
    capsys.readouterr()
    assert cli.main(["load", str(from_pg)]) == 0
    assert "notes: loaded: 7 rows read: 7 added" in capsys.readouterr().out
    assert [(n.metric_id, n.text) for n in notes.current_notes(db=fresh)] == [
        ("iha_20wd", "June."),
        ("seen_5wd", "Two on leave.\nCover found."),
    ]


def test_the_access_log_is_each_authoritys_own_newest_first(engine: str, new_target, tmp_path: Path) -> None:
    db = new_target(tmp_path)
    for who, children in (("a", 3), ("b", 0), ("c", 12)):
        access_log.record(who=who, role="board", list_name="/due", fmt="page", children=children, db=db)
    with authority.using("846"):
        access_log.record(who="d", role="viewer", list_name="/due.csv", fmt="csv", children=1, db=db)
    log = access_log.entries(db)
    assert list(log.columns) == ["entry_id", "viewed_at", "who", "role", "list", "format", "children"]
    assert list(zip(log["who"], log["children"], strict=True)) == [("c", 12), ("b", 0), ("a", 3)]
    assert list(access_log.entries(db, limit=1)["who"]) == ["c"]
    with authority.using("846"):
        assert list(access_log.entries(db)[["who", "format"]].itertuples(index=False, name=None)) == [("d", "csv")]


def test_an_access_log_entry_postgresql_refuses_is_a_sentence(pg_warehouse: str) -> None:
    import psycopg

    # An administrator's slip: the app's writer may no longer add to the log. The list must not be shown.
    with psycopg.connect(pg_warehouse, autocommit=True) as con:
        con.execute("REVOKE INSERT ON access_log FROM cpip_writer")
    with pytest.raises(access_log.AccessLogUnavailable) as refused:
        access_log.record(who="a", role="board", list_name="/due", fmt="page", children=3, db=pg_warehouse)
    assert str(refused.value).startswith("this child list cannot be shown just now: the access log")
    assert "permission denied for table access_log" in str(refused.value)
    assert access_log.entries(pg_warehouse).empty


def test_a_store_passes_over_a_version_it_holds_and_refuses_one_without_its_text(
    engine: str, new_target, tmp_path: Path
) -> None:
    store = side.store(new_target(tmp_path), tmp_path / "notes.sqlite", side.PEOPLE_TABLES)
    row = {"version_id": "v1", "metric_id": "seen_5wd", "period": "2023-07", "level": "la", "org_unit": "X",
           "text": "First.", "author": "a", "written_at": "2023-08-01T09:00:00.000000+00:00"}  # fmt: skip
    assert store.add(side.NOTE_VERSIONS, [row]) != [None]
    assert store.add(side.NOTE_VERSIONS, [{**row, "text": "Forged."}]) == [None]  # held: left as it was
    # A new version and one without its text, together: neither is kept (all or nothing), and no quiet skip.
    with pytest.raises(side.store_errors()):
        store.add(side.NOTE_VERSIONS, [{**row, "version_id": "v2"}, {**row, "version_id": "v3", "text": None}])
    assert [(r["version_id"], r["text"]) for r in store.select(side.NOTE_VERSIONS)] == [("v1", "First.")]
