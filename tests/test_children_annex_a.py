"""Child lists and what falls due for the KPIs Annex A brought to record level: conferences
within 15 working days (List 5) and the snapshot KPIs of Lists 8 and 9. Every row worked out
by hand; the files go through the analysts' loader.

Working days from Monday 3 July 2023 (day 0): 4-7 Jul 1-4, 10-14 Jul 5-9, 17-21 Jul 10-14,
Mon 24 Jul 15, Tue 25 Jul 16. From Monday 14 August 2023: 15-18 Aug 1-4, 21-25 Aug 5-9,
Mon 28 Aug is the Summer bank holiday, 29-31 Aug 10-12, Fri 1 Sep 13, Mon 4 Sep 14, Tue 5 Sep 15.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from kpi_helpers import ORG

from etl.ingest.load import load_files
from etl.privacy import access, children
from etl.serve import queries
from etl.store.warehouse import reading


def _load(db: Path, folder: Path, name: str, header: list[str], rows: list[list], as_of: str) -> None:
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    (report,) = load_files([path], as_of=as_of, who="test", db=db)
    assert report.ok, report.summary()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("annex-a-lists")
    db = folder / "warehouse.duckdb"
    _load(db, folder, "organisation.csv", ["team", "service", "area"], [list(r) for r in ORG], "2023-04-01")
    # s1 conference on day 15: met. s2 on day 16: late. s3 none, deemed unnecessary: in no list.
    # s4 strategy discussion Mon 14 Aug, no conference yet; as of Thu 31 Aug it is day 12, deadline Tue 5 Sep.
    _load(
        db,
        folder,
        "s47.csv",
        ["child_id", "team", "strategy_discussion_date", "icpc_date", "icpc_not_required"],
        [
            ["s1", "Team A", "2023-07-03", "2023-07-24", "No"],
            ["s2", "Team A", "2023-07-03", "2023-07-25", "No"],
            ["s3", "Team B", "2023-07-03", "", "Yes"],
            ["s4", "Team B", "2023-08-14", "", ""],
        ],
        "2023-08-31",
    )
    # Children in care on S = 31 Jul 2023 (S - 12 months = 31 Jul 2022).
    # c1 in care since 2021, dental check 15 Jan 2023: dental met; 1 placement.
    # c2 in care since 31 Jul 2022 exactly (in the 12-month cohort), check 30 Jul 2022: not met; 3 placements.
    # c3 in care since 1 Mar 2023: not in the dental cohort; 4 placements.
    # c4 ceased 30 Jun 2023: not in care on S, in no list.
    _load(
        db,
        folder,
        "children_in_care.csv",
        [
            "child_id",
            "team",
            "care_start_date",
            "care_end_date",
            "last_dental_check_date",
            "placements_last_12m",
        ],
        [
            ["c1", "Team C", "2021-01-04", "", "2023-01-15", "1"],
            ["c2", "Team C", "2022-07-31", "", "2022-07-30", "3"],
            ["c3", "Team D", "2023-03-01", "", "", "4"],
            ["c4", "Team D", "2020-05-01", "2023-06-30", "2023-05-01", "2"],
        ],
        "2023-07-31",
    )
    # Care leavers on S = 31 Jul 2023 (S - 6 months = 31 Jan 2023): l1 reviewed 31 Jan, on the boundary: met;
    # l2 30 Jan: not met; l3 never: not met.
    _load(
        db,
        folder,
        "care_leavers.csv",
        ["child_id", "team", "latest_pathway_plan_review"],
        [["l1", "Team D", "2023-01-31"], ["l2", "Team D", "2023-01-30"], ["l3", "Team C", ""]],
        "2023-07-31",
    )
    return db


@pytest.fixture(autouse=True)
def command_line():
    """Read as the command line does: no viewer, no roles (even when another test module
    has put the web app's gate up in this process)."""
    with access.viewing(None):
        yield


def rows(found) -> list[tuple]:
    return [tuple(r) for r in found.rows[["child_id", "team", "deadline", "event_date", "outcome"]].itertuples(False)]


def test_conferences_within_15_working_days_are_listed_and_tie_to_the_figure(db: Path) -> None:
    found = children.child_list("icpc_15wd", "2023-07", "la", None, db=db)
    assert sorted(rows(found)) == [
        ("s1", "Team A", "2023-07-24", "2023-07-24", "met"),
        ("s2", "Team A", "2023-07-24", "2023-07-25", "late"),
    ]
    assert (found.numerator, found.denominator) == (1, 2)
    assert queries.pooled("icpc_15wd", ["2023-07"], "la", None, db=db) == {
        "numerator": 1,
        "denominator": 2,
        "value": 50.0,
    }


def test_the_snapshot_kpis_list_the_months_snapshot(db: Path) -> None:
    dental = children.child_list("dental_up_to_date", "2023-07", "la", None, db=db)
    assert sorted(rows(dental)) == [
        ("c1", "Team C", None, "2023-01-15", "met"),
        ("c2", "Team C", None, "2022-07-30", "not met"),
    ]
    placements = children.child_list("placements_3plus", "2023-07", "service", "Children We Care For", db=db)
    assert sorted((r[0], r[4]) for r in rows(placements)) == [("c1", "not met"), ("c2", "met"), ("c3", "met")]
    assert (placements.numerator, placements.denominator) == (2, 3)
    pathway = children.child_list("pathway_plans", "2023-07", "team", "Team D", db=db)
    assert sorted(rows(pathway)) == [
        ("l1", "Team D", None, "2023-01-31", "met"),
        ("l2", "Team D", None, "2023-01-30", "not met"),
    ]
    assert (pathway.numerator, pathway.denominator) == (1, 2)


def test_every_new_list_ties_to_the_mart_at_every_level(db: Path) -> None:
    cases = [("la", None), ("service", "Children We Care For"), ("area", "Central"), ("team", "Team A")]
    for metric_id in ("icpc_15wd", "dental_up_to_date", "placements_3plus", "pathway_plans"):
        for level, unit in cases:
            found = children.child_list(metric_id, "2023-07", level, unit, db=db)
            pooled = queries.pooled(metric_id, ["2023-07"], level, unit, db=db)
            assert (found.numerator, found.denominator) == (pooled["numerator"], pooled["denominator"])
            assert found.ties, (metric_id, level, unit)


def test_an_enquiry_awaiting_its_conference_falls_due(db: Path) -> None:
    found = children.due_list(team="Team B", days=5, on=None, db=db)
    icpc = found.rows[found.rows["metric_id"] == "icpc_15wd"]
    # s4: as of 31 Aug (day 12), deadline Tue 5 Sep (day 15) is within 5 working days; s3 was not required.
    assert [tuple(r) for r in icpc[["child_id", "start", "deadline", "outcome"]].itertuples(False)] == [
        ("s4", "2023-08-14", "2023-09-05", "due")
    ]
    later = children.due_list(team="Team B", days=5, on=date(2023, 9, 6), db=db)
    assert later.rows[later.rows["metric_id"] == "icpc_15wd"]["outcome"].tolist() == ["overdue"]
    with reading(db) as con:
        assert con.execute("SELECT count(*) FROM s47_enquiries").fetchall() == [(4,)]
