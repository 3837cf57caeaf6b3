"""Many authorities in one service: each authority's records, loads, figures and notes are its own,
on both engines; on PostgreSQL row-level security keeps them apart in the database itself.

Authorities: 938 (metrics.yml's, "Demo County Council") and 846 (Brighton and Hove in DfE's list).
Both name a team "Team A", so nothing may tell their records apart by team.

Hand-worked figures (assessments_45wd, working days after the start up to the completion):
- 938, July 2023: C1 3 Jul -> 10 Jul = 5 (met); C2 3 Apr -> 31 Jul: April 17 (Good Friday 7th and
  Easter Monday 10th off), May 20 (1st, 8th, 29th off), June 22 = 59 by 30 June (not met): 1 of 2.
- 846, July 2023: K1 3 -> 10 Jul (5), K2 3 -> 11 Jul (6), K3 3 -> 12 Jul (7): 3 of 3.
  August 2023: K4 3 Jul -> 31 Aug = July 20, August 22 (Summer bank holiday 28th off) = 42 (met): 1 of 1.
"""

from __future__ import annotations

import csv
import json
import math
import threading
from pathlib import Path

import pytest

from cpip.cli import main
from etl.ingest.load import load_files, load_log, undo_load
from etl.serve import queries
from etl.serve.regional import regional, side_by_side
from etl.store import authority, warehouse

ORG = [["team", "service", "area"], ["Team A", "Service S", "North"]]
HEADER = ["child_id", "team", "assessment_start_date", "child_seen_date", "assessment_completed_date"]
RECORDS = {
    "938": [["C1", "Team A", "2023-07-03", "", "2023-07-10"], ["C2", "Team A", "2023-04-03", "", "2023-07-31"]],
    "846": [
        ["K1", "Team A", "2023-07-03", "", "2023-07-10"],
        ["K2", "Team A", "2023-07-03", "", "2023-07-11"],
        ["K3", "Team A", "2023-07-03", "", "2023-07-12"],
        ["K4", "Team A", "2023-07-03", "", "2023-08-31"],
    ],
}


def write(folder: Path, name: str, rows: list[list[str]]) -> Path:
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def load(db, code: str, *paths: Path, as_of: str = "2023-09-29"):
    return load_files(list(paths), as_of=as_of, who="test", db=db, authority=code)


@pytest.fixture
def db(tmp_path: Path, new_target):
    """Both authorities loaded, on both engines (conftest's `engine`)."""
    db = new_target(tmp_path)
    org = write(tmp_path, "organisation.csv", ORG)
    for code, rows in RECORDS.items():
        records = write(tmp_path, f"assessments-{code}.csv", [HEADER, *rows])
        assert [r.outcome for r in load(db, code, org, records)] == ["loaded", "loaded"]
    return db


def figure(db, code: str, period: str, level: str = "la", unit: str | None = None) -> tuple:
    with authority.using(code):
        frame = queries.scorecard(period, level, unit, db=db)
    row = frame[frame["metric_id"] == "assessments_45wd"].iloc[0]
    return (row["numerator"], row["denominator"])


def test_each_authority_sees_only_its_own_figures(db) -> None:
    assert figure(db, "938", "2023-07") == (1, 2)
    assert figure(db, "846", "2023-07") == (3, 3)
    assert figure(db, "846", "2023-08") == (1, 1)
    # The same team name, two councils: each team's figure is its own council's.
    assert figure(db, "938", "2023-07", "team", "Team A") == (1, 2)
    assert figure(db, "846", "2023-07", "team", "Team A") == (3, 3)
    # With no authority named, the work is metrics.yml's: nothing changes for a single council.
    frame = queries.scorecard("2023-07", "la", None, db=db)
    row = frame[frame["metric_id"] == "assessments_45wd"].iloc[0]
    assert (row["numerator"], row["denominator"]) == (1, 2)


def test_the_authority_row_is_named_after_its_authority(db) -> None:
    with authority.using("846"), warehouse.reading(db) as con:
        units = {u for (u,) in con.execute("SELECT DISTINCT org_unit FROM kpi_monthly WHERE level = 'la'").fetchall()}
    assert units == {"Brighton and Hove"}
    with warehouse.reading(db) as con:
        units = {u for (u,) in con.execute("SELECT DISTINCT org_unit FROM kpi_monthly WHERE level = 'la'").fetchall()}
    assert units == {"Demo County Council"}


def test_loads_are_numbered_and_undone_per_authority(db, tmp_path: Path) -> None:
    assert list(load_log(db=db, authority="938")["load_id"]) == [1, 2]
    assert list(load_log(db=db, authority="846")["load_id"]) == [1, 2]
    # Undoing 846's load 2 takes its assessments away and leaves 938's load 2 alone.
    assert undo_load(2, who="test", db=db, authority="846").startswith("load 2 (assessments-846.csv, assessments)")
    with authority.using("846"):
        frame = queries.scorecard("2023-07", "la", None, db=db)
    assert math.isnan(frame[frame["metric_id"] == "assessments_45wd"].iloc[0]["denominator"])
    assert figure(db, "938", "2023-07") == (1, 2)
    assert list(load_log(db=db, authority="938")["outcome"]) == ["loaded", "loaded"]


def test_the_regional_view_puts_the_authorities_side_by_side(db) -> None:
    frame = regional("assessments_45wd", ["938", "846"], db=db)
    got = {(r.la_code, r.period): (r.numerator, r.denominator, r.value) for r in frame.itertuples()}
    assert got[("938", "2023-07")] == (1, 2, 50.0)
    assert got[("846", "2023-07")] == (3, 3, 100.0)
    assert got[("846", "2023-08")] == (1, 1, 100.0)
    assert ("938", "2023-08") not in got  # no data: no row, never 0%
    table = side_by_side(frame, ["938", "846"]).set_index("period")
    assert list(table.columns) == ["Demo County Council", "Brighton and Hove"]
    assert table.loc["2023-07"].tolist() == [50.0, 100.0]
    assert math.isnan(table.loc["2023-08", "Demo County Council"])
    assert table.loc["2023-08", "Brighton and Hove"] == 100.0


def test_a_request_may_name_only_the_authorities_it_was_permitted(db) -> None:
    token = authority.permit(["938"])
    try:
        with pytest.raises(authority.NotPermitted, match="Brighton and Hove"):
            regional("assessments_45wd", ["938", "846"], db=db)
        assert not regional("assessments_45wd", ["938"], db=db).empty
    finally:
        authority.end_permit(token)


def test_the_command_line_takes_an_authority(
    db, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPIP_DB", str(db))
    out = tmp_path / "scorecard.csv"
    assert main(["scorecard", "--period", "2023-07", "--level", "la", "--authority", "846", "--out", str(out)]) == 0
    rows = {r["metric_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    figures = rows["assessments_45wd"]
    assert (float(figures["numerator"]), float(figures["denominator"])) == (3, 3)
    regional_csv = tmp_path / "regional.csv"
    assert (
        main(["regional", "--metric", "assessments_45wd", "--authorities", "938,846", "--out", str(regional_csv)]) == 0
    )
    rows = [(r["la_code"], r["period"], r["value"]) for r in csv.DictReader(regional_csv.open(encoding="utf-8"))]
    assert rows == [("938", "2023-07", "50.0"), ("846", "2023-07", "100.0"), ("846", "2023-08", "100.0")]
    with pytest.raises(SystemExit) as refused:
        main(["scorecard", "--period", "2023-07", "--level", "la", "--authority", "999"])
    assert refused.value.code == 2
    assert "999 is neither metrics.yml's authority nor in DfE's list" in capsys.readouterr().err


# --- PostgreSQL: row-level security, by direct query as the app's roles --------------------------------------------


@pytest.fixture
def pg(tmp_path: Path, pg_warehouse: str):
    org = write(tmp_path, "organisation.csv", ORG)
    for code, rows in RECORDS.items():
        records = write(tmp_path, f"assessments-{code}.csv", [HEADER, *rows])
        load(pg_warehouse, code, org, records)
    return pg_warehouse


def test_row_level_security_confines_the_app_role_whatever_it_asks(pg: str) -> None:
    import psycopg

    with psycopg.connect(pg) as con:
        con.execute("SET ROLE cpip_reader")
        # No authority set: not one row of any authority's table, though the query names none.
        assert con.execute("SELECT count(*) FROM assessments").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM kpi_monthly").fetchone() == (0,)
        con.execute("SELECT set_config('app.la_codes', '846', false)")
        # A query that "forgets" the authority still gets 846's rows only.
        assert con.execute("SELECT DISTINCT la_code FROM assessments").fetchall() == [("846",)]
        assert con.execute("SELECT count(*) FROM assessments WHERE la_code = '938'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM assessments").fetchone() == (4,)
        # Two authorities for a regional view: both, and no third.
        con.execute("SELECT set_config('app.la_codes', '938,846', false)")
        assert con.execute("SELECT la_code, count(*) FROM assessments GROUP BY 1 ORDER BY 1").fetchall() == [
            ("846", 4),
            ("938", 2),
        ]
        # The shared reference is everyone's.
        assert con.execute("SELECT count(*) FROM authorities").fetchone()[0] == 153
        # The reader may not write at all.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("DELETE FROM assessments")
    with psycopg.connect(pg) as con:
        con.execute("SET ROLE cpip_writer")
        con.execute("SELECT set_config('app.la_codes', '846', false)")
        # A writer for 846 cannot write a row for 938, nor change or delete one.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            con.execute(
                "INSERT INTO organisation (team, service, area, load_id, la_code) VALUES ('X', 'S', 'N', 9, '938')"
            )
    with psycopg.connect(pg) as con:
        con.execute("SET ROLE cpip_writer")
        con.execute("SELECT set_config('app.la_codes', '846', false)")
        assert con.execute("DELETE FROM assessments WHERE la_code = '938'").rowcount == 0
        assert con.execute("UPDATE assessments SET team = 'Moved' WHERE la_code = '938'").rowcount == 0
        # A row inserted without naming its authority is the transaction's.
        con.execute("INSERT INTO organisation (team, service, area, load_id) VALUES ('X', 'S', 'N', 9)")
        assert con.execute("SELECT la_code FROM organisation WHERE team = 'X'").fetchall() == [("846",)]
        con.rollback()


def test_what_people_write_is_each_authoritys_own_and_never_changed(pg: str) -> None:
    """Notes (and actions, events, the access log) under the same row-level security, append-only by grants:
    a writer for 846 cannot insert, update or delete 938's notes; nobody can update or delete any."""
    import psycopg

    from etl.people import notes
    from etl.privacy import access

    with access.viewing(None):
        for code, text in (("938", "Ours, 938."), ("846", "Ours, 846.")):
            with authority.using(code):
                notes.write_note("assessments_45wd", "2023-07", "team", "Team A", text, author="t", db=pg)
    people = ("note_versions", "action_versions", "event_versions", "access_log")
    with psycopg.connect(pg, autocommit=True) as con:
        con.execute("SET ROLE cpip_writer")
        con.execute("SELECT set_config('app.la_codes', '846', false)")
        assert con.execute("SELECT la_code, text FROM note_versions").fetchall() == [("846", "Ours, 846.")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            con.execute(
                "INSERT INTO note_versions (la_code, version_id, metric_id, period, level, org_unit, text, author,"
                " written_at) VALUES ('938', 'forged', 'assessments_45wd', '2023-07', 'la', 'X', 'x', 'x', 'x')"
            )
        for table in people:
            # Not 938's rows, and not its own either: the app's roles may only add and read.
            for statement in (f"UPDATE {table} SET la_code = '846' WHERE la_code = '938'", f"DELETE FROM {table}"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match=f"permission denied for table {table}"):
                    con.execute(statement)
        con.execute("SET ROLE cpip_reader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("INSERT INTO access_log (viewed_at, who, role, list, format, children) VALUES ('t', 'a', 'b',"
                        " '/x', 'page', 1)")  # fmt: skip
        con.execute("RESET ROLE")
        # The tables' owner (here the server's superuser, whom row-level security does not bind) is refused too.
        for statement in ("UPDATE note_versions SET text = 'changed'", "DELETE FROM note_versions",
                          "TRUNCATE note_versions"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="kept as written"):
                con.execute(statement)
    with access.viewing(None):
        for code, text in (("938", "Ours, 938."), ("846", "Ours, 846.")):
            with authority.using(code):
                assert [n.text for n in notes.current_notes(db=pg)] == [text]


def test_the_web_apps_connections_are_confined_by_the_role_and_the_request(pg: str) -> None:
    with authority.using("846"), warehouse.reading(pg) as con:
        assert con.execute("SELECT current_user").fetchone() == ("cpip_reader",)
        assert con.execute("SELECT DISTINCT la_code FROM loads").fetchall() == [("846",)]
    # The pooled connection carries nothing into the next transaction.
    with authority.using("938"), warehouse.reading(pg) as con:
        assert con.execute("SELECT DISTINCT la_code FROM loads").fetchall() == [("938",)]


def test_loads_and_reads_at_the_same_time_on_postgresql(pg: str, tmp_path: Path) -> None:
    """One thread loads three more extracts of 846 while four read scorecards of both authorities:
    not one failed read, and every read sees a whole load or none of it."""
    files = []
    for n in range(3):
        rows = [[f"N{n}-{i}", "Team A", "2023-07-03", "", "2023-07-10"] for i in range(200)]
        files.append(write(tmp_path, f"more-{n}.csv", [HEADER, *rows]))
    failures: list[BaseException] = []
    seen: set[tuple] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.add(figure(pg, "846", "2023-07"))
                assert figure(pg, "938", "2023-07") == (1, 2)
            except BaseException as exc:
                failures.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for path in files:
            assert [r.outcome for r in load(pg, "846", path)] == ["loaded"]
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert failures == []
    # Each load adds 200 met assessments in July: only whole loads were ever seen.
    assert seen <= {(3 + 200 * k, 3 + 200 * k) for k in range(4)}
    assert figure(pg, "846", "2023-07") == (603, 603)


# --- the web app: which authority a request is for, and who may choose which -------------------------------------

ACCESS = """
default_role: viewer
users:
  r.lead: {role: board, authorities: ["938", "846"]}
  b.viewer: {role: viewer, authorities: ["846"]}
  d.viewer: {role: viewer}
"""


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = tmp_path / "warehouse.duckdb"
    org = write(tmp_path, "organisation.csv", ORG)
    for code, rows in RECORDS.items():
        load(db, code, org, write(tmp_path, f"assessments-{code}.csv", [HEADER, *rows]))
    (tmp_path / "access.yml").write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("CPIP_DB", str(db))
    monkeypatch.setenv("CPIP_ACCESS", str(tmp_path / "access.yml"))
    monkeypatch.setenv("CPIP_ACCESS_LOG", str(tmp_path / "access-log.sqlite"))
    import app

    test_client = app.server.test_client()
    test_client.get("/", headers={"X-Remote-User": "r.lead"})  # Dash registers its page router on the first request
    return test_client


def as_user(user: str) -> dict:
    return {"X-Remote-User": user, "Accept": "text/html"}


def header_name(client, user: str) -> str:
    """The authority the header names (its `cpip-authority` span) in the layout `user` is served."""
    layout = json.loads(client.get("/_dash-layout", headers=as_user(user)).get_data(as_text=True))

    def find(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if props.get("className") == "cpip-authority":
                return props["children"]
            return next((f for f in map(find, [props.get("children")]) if f), None)
        if isinstance(node, list):
            return next((f for f in map(find, node) if f), None)
        return None

    return find(layout)


def test_a_user_works_on_the_authorities_the_access_file_gives_them(client) -> None:
    # r.lead may see both: the first listed until they choose; the line at the top offers the other.
    page = client.get("/", headers=as_user("r.lead")).get_data(as_text=True)
    assert "Showing Demo County Council" in page
    layout = json.dumps(json.loads(client.get("/_dash-layout", headers=as_user("r.lead")).get_data(as_text=True)))
    assert '"/authority/846?next=/"' in layout and '"Brighton and Hove"' in layout  # the header's switch
    assert header_name(client, "r.lead") == "Demo County Council"
    chosen = client.get("/authority/846?next=/teams", headers=as_user("r.lead"))
    assert (chosen.status_code, chosen.headers["Location"]) == (303, "/teams")
    assert "cpip_authority=846" in chosen.headers["Set-Cookie"]
    assert header_name(client, "r.lead") == "Brighton and Hove"
    # b.viewer sees 846 only, whatever the cookie says; d.viewer, metrics.yml's authority.
    assert header_name(client, "b.viewer") == "Brighton and Hove"
    assert header_name(client, "d.viewer") == "Demo County Council"
    client.delete_cookie("cpip_authority")
    refused = client.get("/authority/846", headers=as_user("d.viewer"))
    assert refused.status_code == 403
    assert "You have not been given access to Brighton and Hove" in refused.get_data(as_text=True)
    # Only ever back into the dashboard.
    assert client.get("/authority/938?next=//evil.example", headers=as_user("r.lead")).headers["Location"] == "/"


def test_the_regional_page_shows_the_authorities_the_user_may_see(client) -> None:
    from dash_tree import text_of

    from dashboard.pages import regional

    token = authority.permit(["938", "846"])
    try:
        page = text_of(regional.build("assessments_45wd"))
    finally:
        authority.end_permit(token)
    assert "Demo County Council" in page and "Brighton and Hove" in page
    # July 2023: 938 1 of 2 (50%), 846 3 of 3 (100%); August: 938 has no data.
    assert "50.0% (1 / 2)" in page and "100.0% (3 / 3)" in page and "No data" in page
    token = authority.permit(["846"])
    try:
        alone = text_of(regional.build("assessments_45wd"))
    finally:
        authority.end_permit(token)
    assert "Demo County Council" not in alone and "You may see one authority" in alone
