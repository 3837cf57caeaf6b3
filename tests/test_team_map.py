"""Unknown teams mapped once, for good (issue 25): another name of a known team becomes a team alias
in the organisation reference, a new team is added with its service and area, and the list that
named them then loads, as does next month's with the same names."""

from __future__ import annotations

from datetime import date

import pytest
from kpi_helpers import new_warehouse

from etl.ingest.load import load_files
from etl.ingest.team_map import NewTeam, closest, map_teams, unknown_in
from etl.store.warehouse import reading

HEADER = "child_id,team,assessment_start_date,child_seen_date,assessment_completed_date\n"


def _assessments(path, rows: str):
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_an_unknown_team_mapped_to_a_known_one_loads_as_it_this_month_and_next(tmp_path, new_target):
    # Both engines: on PostgreSQL the files are checked in DuckDB, which is given the aliases too.
    db = new_warehouse(new_target(tmp_path / "wh"))  # Teams A to D
    july = _assessments(
        tmp_path / "july.csv",
        "c1,Locality 4 Duty Team,2023-07-03,2023-07-04,\nc2,Team E,2023-07-05,2023-07-06,\nc3,Team A,2023-07-05,,\n",
    )
    [refused] = load_files([july], as_of=date(2023, 7, 31), who="t", db=db)
    assert refused.outcome == "refused"
    findings = [{"column": f.column, "reason": f.reason} for f in refused.findings]
    assert unknown_in(findings) == ["Locality 4 Duty Team", "Team E"]
    assert closest("Team E", ["Team A", "Team B", "Team C", "Team D"])[0] in {"Team A", "Team B", "Team C", "Team D"}

    # Locality 4 Duty Team is Team A's other name; Team E is new, in Children We Care For, Central.
    reports = map_teams(
        {"Locality 4 Duty Team": "Team A"}, [NewTeam("Team E", "Children We Care For", "Central")], who="p.analyst",
        as_of=date(2023, 7, 31), db=db,
    )  # fmt: skip
    assert [(r.extract_type, r.outcome, r.added) for r in reports] == [
        ("organisation", "loaded", 1),
        ("team_aliases", "loaded", 1),
    ]
    [loaded] = load_files([july], as_of=date(2023, 7, 31), who="t", db=db)
    assert (loaded.outcome, loaded.added) == ("loaded", 3)
    # Next month's list names the team in capitals: it maps itself.
    august = _assessments(tmp_path / "august.csv", "c4,LOCALITY 4 DUTY TEAM,2023-08-01,2023-08-02,\n")
    [next_month] = load_files([august], as_of=date(2023, 8, 31), who="t", db=db)
    assert (next_month.outcome, next_month.added) == ("loaded", 1)
    with reading(db) as con:
        teams = dict(con.execute("SELECT child_id, team FROM assessments ORDER BY child_id").fetchall())
    assert teams == {"c1": "Team A", "c2": "Team E", "c3": "Team A", "c4": "Team A"}


def test_an_alias_must_name_a_known_team_and_may_not_be_a_team_itself(tmp_path):
    db = new_warehouse(tmp_path / "wh")
    with pytest.raises(ValueError, match="'team b' is already a team of the organisation reference"):
        map_teams({"team b": "Team A"}, who="p.analyst", db=db)
    [report] = map_teams({"Duty 9": "Team Q"}, who="p.analyst", db=db)
    assert report.outcome == "refused"
    assert "unknown team 'Team Q'" in report.findings[0].reason


def test_the_command_line_maps_from_pairs_and_from_the_filled_in_file(tmp_path, monkeypatch, capsys):
    from cpip.cli import main

    db = new_warehouse(tmp_path / "wh")
    monkeypatch.setenv("CPIP_DB", str(db))
    filled = tmp_path / "unknown.csv"
    filled.write_text("team,service,area,maps_to\nTeam E,Children We Care For,Central,\nNorth Duty,,,Team B\n")
    assert main(["teams", "--map", "Locality 4 Duty Team=Team A", "--map", str(filled)]) == 0
    out = capsys.readouterr().out
    assert "Team E added to the organisation reference (Children We Care For, Central)" in out
    assert "Locality 4 Duty Team now loads as Team A" in out and "North Duty now loads as Team B" in out
    with reading(db) as con:
        assert con.execute("SELECT alias, team FROM team_aliases ORDER BY alias").fetchall() == [
            ("Locality 4 Duty Team", "Team A"),
            ("North Duty", "Team B"),
        ]
