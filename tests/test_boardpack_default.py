"""`cpip boardpack` without --period makes the pack of the latest complete month (issue 25)."""

from __future__ import annotations

from datetime import date

from kpi_helpers import add_records, new_warehouse

from cpip.cli import main
from etl.serve.queries import latest_complete_period


def _a(child: str, start: date, completed: date) -> dict:
    return {"child_id": child, "team": "Team A", "assessment_start_date": start, "child_seen_date": start,
            "assessment_completed_date": completed}  # fmt: skip


def test_the_latest_complete_month_is_the_last_one_ended_before_the_as_of_date(tmp_path, monkeypatch, capsys):
    db = new_warehouse(tmp_path)
    # Taken on 20 March 2024: February is whole, March only in part (its figure has a record).
    add_records(db, "assessments", [_a("x1", date(2024, 2, 5), date(2024, 2, 9)),
                                    _a("x2", date(2024, 3, 4), date(2024, 3, 8))], as_of=date(2024, 3, 20))  # fmt: skip
    assert latest_complete_period(db) == "2024-02"
    monkeypatch.setenv("CPIP_DB", str(db))
    assert main(["boardpack", "--out", str(tmp_path / "pack.xlsx")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Board pack for 2024-02, the latest complete month (--period YYYY-MM for another).")
    # A list taken on 2 April holds March whole.
    add_records(db, "assessments", [_a("x3", date(2024, 3, 11), date(2024, 3, 15))], as_of=date(2024, 4, 2))
    assert latest_complete_period(db) == "2024-03"


def test_with_nothing_loaded_the_command_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPIP_DB", str(new_warehouse(tmp_path)))
    assert main(["boardpack", "--out", str(tmp_path / "pack.pdf")]) == 1
    assert capsys.readouterr().err == "No data is loaded yet: load the extracts (cpip load) first.\n"
