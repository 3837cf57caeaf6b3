"""Records with no team (a statutory return's) take the team the allocation history (`child_teams`) gives
their child on the record's counted date, else count for the authority as Unallocated
(docs/spec/returns.md, "Teams"). Both engines; hand-made records, answers worked in the comments."""

from __future__ import annotations

from datetime import date

import pytest
from kpi_helpers import AUTHORITY, add_records, mart, new_warehouse

from etl.ingest.load import load_files


@pytest.fixture
def db(tmp_path, new_target):
    return new_warehouse(new_target(tmp_path))


def referral(child, day, team="Unallocated"):
    return {"child_id": child, "team": team, "referral_date": day}


def test_a_return_record_counts_for_the_team_allocated_on_its_counted_date(db):
    # c1 is allocated to Team A to 30 Jun 2023, to Team B from 1 Jul 2023 (open).
    # Referrals (counted on the referral date): 30 Jun 2023 -> Team A; 1 Jul 2023 -> Team B
    # (a re-referral: the earlier one is a day before). c2 has no allocation: Unallocated.
    # c3 names Team C itself: it keeps it, whatever the history says.
    add_records(
        db,
        "child_teams",
        [
            {"child_id": "c1", "team": "Team A", "from_date": date(2023, 1, 1), "to_date": date(2023, 6, 30)},
            {"child_id": "c1", "team": "Team B", "from_date": date(2023, 7, 1)},
            {"child_id": "c3", "team": "Team A", "from_date": date(2023, 1, 1)},
        ],
        as_of=date(2023, 7, 31),
        rebuild=False,
    )
    add_records(
        db,
        "referrals",
        [
            referral("c1", date(2023, 6, 30)),
            referral("c1", date(2023, 7, 1)),
            referral("c2", date(2023, 7, 3)),
            referral("c3", date(2023, 7, 4), team="Team C"),
        ],
        as_of=date(2023, 7, 31),
    )
    assert mart(db, "rereferrals_12m", "team", "Team A") == {"2023-06": (0, 1)}
    assert mart(db, "rereferrals_12m", "team", "Team B") == {"2023-07": (1, 1)}
    assert mart(db, "rereferrals_12m", "team", "Team C") == {"2023-07": (0, 1)}
    assert mart(db, "rereferrals_12m", "team", "Unallocated") == {"2023-07": (0, 1)}
    # The teams add up to the authority: July 1 of 3.
    assert mart(db, "rereferrals_12m", "la", AUTHORITY) == {"2023-06": (0, 1), "2023-07": (1, 3)}


def test_an_allocation_history_loaded_later_moves_the_figures(db, tmp_path):
    add_records(db, "referrals", [referral("c1", date(2023, 7, 3))], as_of=date(2023, 7, 31))
    assert mart(db, "rereferrals_12m", "team", "Unallocated") == {"2023-07": (0, 1)}
    history = tmp_path / "allocations.csv"
    history.write_text("child_id,team,from_date,to_date\nc1,Team D,2023-07-01,\n", encoding="utf-8")
    [report] = load_files([history], as_of=date(2023, 7, 31), who="test", db=db)
    assert report.outcome == "loaded", report.summary()
    assert mart(db, "rereferrals_12m", "team", "Team D") == {"2023-07": (0, 1)}
    assert mart(db, "rereferrals_12m", "team", "Unallocated") == {}


def test_an_allocation_to_a_team_the_organisation_lacks_is_refused(db, tmp_path):
    history = tmp_path / "allocations.csv"
    history.write_text("child_id,team,from_date,to_date\nc1,Team Z,2023-07-01,2023-06-01\n", encoding="utf-8")
    [report] = load_files([history], as_of=date(2023, 7, 31), who="test", db=db)
    assert report.outcome == "refused"
    reasons = " | ".join(f.reason for f in report.findings)
    assert "unknown team 'Team Z'" in reasons
    assert "allocation ends before it starts" in reasons
