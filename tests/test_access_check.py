"""The access file's teams and services checked against the organisation reference (issue 25):
a mistyped team no longer leaves its user facing refusals with nobody told."""

from __future__ import annotations

import logging
from datetime import date

from kpi_helpers import new_warehouse

from etl.ingest.load import load_files
from etl.privacy import access

ORG = [("Coastal FS 1", "Family Safeguarding", "Coastal"), ("North A&I 1", "Assessment and Intervention", "Northern")]


def _file(users: dict) -> access.AccessFile:
    return access.AccessFile.model_validate({"default_role": "viewer", "users": users})


def test_a_mistyped_team_is_named_with_the_closest_known_team():
    file = _file(
        {
            "j.smith": {"role": "team_manager", "teams": ["Coastal FS 9"]},
            "a.khan": {"role": "head_of_service", "services": ["family safeguarding"]},  # case aside: known
            "dlt.chair": {"role": "board"},
        }
    )
    assert access.unknown_scope(file, ORG) == [
        "The access file gives j.smith the team 'Coastal FS 9', which the organisation reference does not name "
        "(closest: Coastal FS 1): j.smith sees only refusals until the access file or the reference is corrected."
    ]


def test_an_unknown_service_with_nothing_close_is_named_alone():
    file = _file({"a.khan": {"role": "head_of_service", "services": ["Early Help"]}})
    [sentence] = access.unknown_scope(file, ORG)
    assert sentence.startswith("The access file gives a.khan the service 'Early Help', which the organisation")
    assert "closest" not in sentence


def test_single_user_mode_has_nothing_to_check():
    assert access.unknown_scope(None, ORG) == []


def test_loading_an_organisation_says_which_access_names_it_lacks(tmp_path, monkeypatch, caplog):
    # The reference is loaded with Coastal FS 1 only; the access file gives j.smith "Coastal FS 9".
    path = tmp_path / "access.yml"
    path.write_text("default_role: viewer\nusers:\n  j.smith: {role: team_manager, teams: [Coastal FS 9]}\n")
    monkeypatch.setenv("CPIP_ACCESS", str(path))
    db = new_warehouse(tmp_path / "wh", org=[])
    org = tmp_path / "organisation.csv"
    org.write_text("team,service,area\nCoastal FS 1,Family Safeguarding,Coastal\n")
    with caplog.at_level(logging.WARNING, logger="cpip.access"):
        [report] = load_files([org], as_of=date(2024, 4, 5), who="tester", db=db)
    assert report.outcome == "loaded"
    assert "j.smith the team 'Coastal FS 9'" in report.summary() and "(closest: Coastal FS 1)" in report.summary()
    assert any("Coastal FS 9" in r.getMessage() for r in caplog.records)
    # Corrected in the reference (the team added): the next load says nothing.
    org.write_text(
        "team,service,area\nCoastal FS 1,Family Safeguarding,Coastal\nCoastal FS 9,Family Safeguarding,Coastal\n"
    )
    [again] = load_files([org], as_of=date(2024, 4, 6), who="tester", db=db)
    assert again.outcome == "loaded" and "access file" not in again.summary()
