"""Ofsted Annex A lists (docs/spec/annex-a.md): workbooks and single lists saved as CSV, loaded as they are.

The workbooks are written here with openpyxl, the way councils' case-management systems write them:
title rows, renamed sheets, coded values (`a) Yes`), Excel date cells and text dates, personal columns.
Every expected figure is worked out by hand in the comments. Bank holidays used: Early May 1 May 2023,
the coronation 8 May 2023 (Mondays).
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from kpi_helpers import AUTHORITY, add_records, mart, new_warehouse

from etl.ingest.load import load_files, load_log, undo_load
from etl.readers.read import ExtractFileError, recognise
from etl.store import warehouse

AS_OF = date(2023, 7, 31)
PERSONAL = ("Gender", "Ethnicity", "Date of Birth", "Age", "Allocated Worker")
PERSON = ("a) Male", "a) WBRI", datetime(2012, 3, 4), 11.4, "Ada\xa0Worker")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = new_warehouse(tmp_path)
    monkeypatch.setenv("CPIP_DB", str(path))
    return path


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with warehouse.reading(db) as con:
        return con.execute(sql, params or []).fetchall()


def load(db: Path, *paths: Path, as_of: date = AS_OF):
    return load_files(list(paths), as_of=as_of, who="tester", db=db)


def list3(*rows: tuple[str, object, str | None]) -> list[list[object]]:
    """List 3 (referrals): (child, date of referral, team) rows with the personal columns around them."""
    header = ["Child Unique ID", *PERSONAL[:4], "Date of Referral", "Referral Source", "Referral NFA?"]
    header += ["Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"]
    return [header] + [[c, *PERSON[:4], d, "q) 6: Police", "b) No", 0, t, PERSON[4]] for c, d, t in rows]


def list4(seen_values: list[object], *, title: bool = False) -> list[list[object]]:
    header = ["Child Unique ID", *PERSONAL[:4], "Does the Child have a Disability", "Continuous Assessment Start Date"]
    header += ["Child Seen During Continuous Assessment", "Continuous Assessment Date of Authorisation"]
    header += ["Was the child assessed as requiring LA children's social care support?", "Allocated Team"]
    header += ["Allocated Worker"]
    # Started Mon 3 Jul 2023; completed Fri 28 Jul (day 19: within 45).
    rows = [
        [f"A{i}", *PERSON[:4], "b) No", datetime(2023, 7, 3), seen, datetime(2023, 7, 28), "a) Yes", "Team A", "W"]
        for i, seen in enumerate(seen_values)
    ]
    return ([["List 4: Assessments"]] if title else []) + [header, *rows]


def list5(*rows: tuple[str, object, object, object, str]) -> list[list[object]]:
    header = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Does the Child have a Disability"]
    header += ["Strategy discussion initiating Section 47 Enquiry Start Date"]
    header += [
        "Was an Initial Child Protection Conference deemed unnecessary",
        "Date of Initial Child Protection Conference",
    ]
    header += ["Did the Initial Child Protection Conference Result in a Child Protection Plan"]
    header += ["Number of Section 47 Enquiries in the last 12 months", "Number of ICPCs in the last 12 months"]
    header += ["Allocated Team ", "Allocated Worker"]
    return [header] + [[c, *PERSON[:4], "b) No", s, n, i, "a) Yes", 1, 1, t, "W"] for c, s, n, i, t in rows]


LIST8_HEADER = [
    "Child Unique ID",
    "Sex",
    "Ethnicity",
    "Date of Birth",
    "Age of Child (Years)",
    "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N))",
    "Date Started to be Looked After",
    "Date of Last Health Assessment",
    "Date of Last Dental Check",
    "Number of Placements in the Last 12 months",
    "Date Ceased to be Looked After",
    "Placement postcode",
    "URN of Placement",
    "Number of Episodes the Child has been \u2018Missing\u2019 from their Placement in the last 12 months",
    "Allocated Team",
    "Allocated Worker",
]


def list8(*rows: tuple[str, object, object, object, object, str]) -> list[list[object]]:
    """(child, care start, last dental check, placements, care end, team)."""
    body = [
        [
            c,
            "b) Female",
            "a) WBRI",
            datetime(2010, 1, 1),
            13,
            "b) No",
            s,
            datetime(2023, 1, 2),
            d,
            p,
            e,
            "T28 2WB",
            "SC123456",
            0,
            t,
            "Eve Worker",
        ]
        for c, s, d, p, e, t in rows
    ]
    return [LIST8_HEADER, *body]


def list9(*rows: tuple[str, object, str]) -> list[list[object]]:
    header = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Allocated Team", "Allocated Worker"]
    header += ["Allocated Personal Advisor", "Eligibility Category", "Latest Pathway Plan Review Date", "LA in Touch"]
    return [header] + [
        [c, *PERSON[:4], t, "W", "Pat Adviser", "b) Former relevant child", r, "a) Yes"] for c, r, t in rows
    ]


# --- the KPI rules, on hand-made records ------------------------------------------------------------------------


def test_icpc_15wd_counts_conferences_in_their_month_across_the_may_2023_bank_holidays(tmp_path: Path) -> None:
    db = new_warehouse(tmp_path)
    # Strategy discussion Mon 24 Apr 2023 = day 0. 25-28 Apr: 4; 1 May holiday; 2-5 May: 8; 8 May coronation;
    # 9-12 May: 12; 15 May 13, 16 May 14, Wed 17 May 15 (met), Thu 18 May 16 (late). Without the two bank
    # holidays 17 May would be day 17 and fail.
    # Fri 28 Apr -> Tue 2 May: day 1 (1 May is a holiday), counted in May, the conference's month.
    # Wed 31 May -> 1-2 Jun: 2; 5-9 Jun: 7; 12-16 Jun: 12; 19, 20, Wed 21 Jun: 15 (met, exactly on the deadline).
    add_records(
        db,
        "s47_enquiries",
        [
            {
                "child_id": "c1",
                "team": "Team A",
                "strategy_discussion_date": date(2023, 4, 24),
                "icpc_date": date(2023, 5, 17),
            },
            {
                "child_id": "c2",
                "team": "Team A",
                "strategy_discussion_date": date(2023, 4, 24),
                "icpc_date": date(2023, 5, 18),
            },
            {
                "child_id": "c3",
                "team": "Team A",
                "strategy_discussion_date": date(2023, 4, 28),
                "icpc_date": date(2023, 5, 2),
            },
            {
                "child_id": "c4",
                "team": "Team A",
                "strategy_discussion_date": date(2023, 5, 31),
                "icpc_date": date(2023, 6, 21),
            },
            # No conference: not required, or not yet held. Neither is counted, however long ago.
            {
                "child_id": "c5",
                "team": "Team A",
                "strategy_discussion_date": date(2023, 4, 3),
                "icpc_not_required": True,
            },
            {"child_id": "c6", "team": "Team A", "strategy_discussion_date": date(2023, 4, 3)},
        ],
        as_of=AS_OF,
    )
    assert mart(db, "icpc_15wd", "team", "Team A") == {"2023-05": (2, 3), "2023-06": (1, 1)}
    assert mart(db, "icpc_15wd", "la", AUTHORITY) == {"2023-05": (2, 3), "2023-06": (1, 1)}


def cic(child: str, start: date, dental: date | None = None, placements: int | None = None, end: date | None = None):
    return {
        "child_id": child,
        "team": "Team C",
        "care_start_date": start,
        "care_end_date": end,
        "last_dental_check_date": dental,
        "placements_last_12m": placements,
    }


def test_dental_and_placements_count_the_children_in_care_on_the_snapshot_date(tmp_path: Path) -> None:
    db = new_warehouse(tmp_path)
    # S = 31 Jul 2023; S - 12 months = 31 Jul 2022.
    add_records(
        db,
        "children_in_care",
        [
            cic("d1", date(2022, 7, 31), date(2022, 7, 31), 3),  # in care exactly 12 months; check on the boundary: met
            cic("d2", date(2020, 1, 1), date(2022, 7, 30), 2),  # check a day too old: not met
            cic("d3", date(2022, 8, 1), None, 5),  # in care under 12 months: not in the dental cohort
            cic("d4", date(2020, 1, 1), date(2023, 7, 1), 4, end=date(2023, 7, 31)),  # ceased on S: not in care
            cic("d5", date(2020, 1, 1), date(2023, 8, 1), None, end=date(2023, 8, 1)),  # check after S: not met
            cic("d6", date(2020, 1, 1), None, 0),  # never checked: not met
            cic("d7", date(2023, 8, 2)),  # starts after S: not in care on S
        ],
        as_of=AS_OF,
    )
    # Dental cohort d1, d2, d5, d6: met d1 only. In care on S: d1, d2, d3, d5, d6; 3+ placements: d1, d3.
    assert mart(db, "dental_up_to_date", "team", "Team C") == {"2023-07": (1, 4)}
    assert mart(db, "placements_3plus", "team", "Team C") == {"2023-07": (2, 5)}


def test_pathway_plans_reviewed_within_six_calendar_months_of_the_snapshot(tmp_path: Path) -> None:
    db = new_warehouse(tmp_path)
    # S = 31 Jul 2023; S - 6 months = 31 Jan 2023 (DuckDB's calendar months).
    reviews = [date(2023, 1, 31), date(2023, 1, 30), date(2023, 7, 31), None, date(2023, 8, 1)]
    add_records(
        db,
        "care_leavers",
        [{"child_id": f"p{i}", "team": "Team C", "latest_pathway_plan_review": r} for i, r in enumerate(reviews)],
        as_of=AS_OF,
    )
    # Met: 31 Jan (on the boundary) and 31 Jul (on S); not: 30 Jan, none, after S.
    assert mart(db, "pathway_plans", "team", "Team C") == {"2023-07": (2, 5)}
    # A snapshot at a month end of a short month: S = 29 Feb 2024 looks back to 29 Aug 2023.
    add_records(
        db,
        "care_leavers",
        [
            {"child_id": "q1", "team": "Team C", "latest_pathway_plan_review": date(2023, 8, 29)},
            {"child_id": "q2", "team": "Team C", "latest_pathway_plan_review": date(2023, 8, 28)},
        ],
        as_of=date(2024, 2, 29),
    )
    assert mart(db, "pathway_plans", "team", "Team C")["2024-02"] == (1, 2)


def test_kpi_values_still_fill_months_with_no_records_and_records_win(tmp_path: Path) -> None:
    db = new_warehouse(tmp_path)
    add_records(
        db,
        "kpi_values",
        [
            {
                "period": date(2023, 6, 1),
                "metric_id": "pathway_plans",
                "team": "Team C",
                "numerator": 8,
                "denominator": 10,
            },
            {
                "period": date(2023, 7, 1),
                "metric_id": "pathway_plans",
                "team": "Team C",
                "numerator": 9,
                "denominator": 10,
            },
        ],
        as_of=AS_OF,
    )
    path = workbook(tmp_path / "a.xlsx", {"List 9": list9(("p1", datetime(2023, 7, 31), "Team C"))})
    [report] = load(db, path)
    assert mart(db, "pathway_plans", "team", "Team C") == {"2023-06": (8, 10), "2023-07": (1, 1)}
    # The load says which kpi_values row its records now supersede.
    [warning] = [f.reason for f in report.findings if "superseded" in f.reason]
    assert warning.startswith("1 kpi_values row for pathway_plans (2023-07 to 2023-07) is superseded")


# --- workbooks and lists ---------------------------------------------------------------------------------------


def test_a_workbook_loads_as_it_is_each_list_as_its_type_and_the_rest_skipped(db: Path, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "Annex_A_July.xlsx",
        {
            "Front_Sheet": [["Annex A"], ["Local authority", "Demo"]],
            "List 1": [
                ["Child Unique ID", "Gender", "Date of Contact", "Contact Source"],
                ["X1", "a) Male", AS_OF, "Police"],
            ],
            "List_3": list3(("R1", datetime(2023, 7, 3), "Team A"), ("R2", "04/07/2023", "team b")),
            "List 4 - Assessments": list4([datetime(2023, 7, 5)], title=True),
            "Section 47s": list5(("S1", datetime(2023, 4, 24), "b) No", datetime(2023, 5, 17), "Team A")),
            "List 8": list8(("K1", datetime(2020, 1, 1), datetime(2023, 1, 2), 1, None, "Team C")),
            "List 9": list9(("L1", datetime(2023, 3, 1), "Team C")),
        },
    )
    reports = load(db, path)
    summary = {r.file_name.split(", ")[1]: (r.outcome, r.extract_type) for r in reports}
    assert summary == {
        "sheet 'Front_Sheet'": ("skipped", None),
        "sheet 'List 1'": ("skipped", None),
        "sheet 'List_3'": ("loaded", "referrals"),
        "sheet 'List 4 - Assessments'": ("loaded", "assessments"),
        "sheet 'Section 47s'": ("loaded", "s47_enquiries"),
        "sheet 'List 8'": ("loaded", "children_in_care"),
        "sheet 'List 9'": ("loaded", "care_leavers"),
    }
    assert (
        reports[1].summary() == "Annex_A_July.xlsx, sheet 'List 1': skipped: Annex A List 1 (contacts): no KPI reads it"
    )
    assert all(r.ok for r in reports)
    # Text dates are day first; a team is stored as the organisation reference spells it.
    assert query(db, "SELECT child_id, referral_date, team FROM referrals ORDER BY 1") == [
        ("R1", date(2023, 7, 3), "Team A"),
        ("R2", date(2023, 7, 4), "Team B"),
    ]
    # The title row sits above the header: the first record is spreadsheet row 3.
    assert query(db, "SELECT child_id, child_seen_date FROM assessments") == [("A0", date(2023, 7, 5))]
    assert query(db, "SELECT icpc_not_required FROM s47_enquiries") == [(False,)]
    assert mart(db, "icpc_15wd", "team", "Team A") == {"2023-05": (1, 1)}
    assert mart(db, "seen_5wd", "team", "Team A") == {"2023-07": (1, 1)}
    assert "read as Annex A List 4 (assessments)" in reports[3].summary()


def test_list_8_is_children_in_care_and_never_feeds_initial_health_assessments(db: Path, tmp_path: Path) -> None:
    path = workbook(tmp_path / "a.xlsx", {"List 8": list8(("K1", datetime(2023, 7, 3), None, 1, None, "Team C"))})
    [report] = load(db, path)
    assert (report.outcome, report.extract_type) == ("loaded", "children_in_care")
    assert query(db, "SELECT count(*) FROM health_assessments") == [(0,)]
    assert mart(db, "iha_20wd", "la", AUTHORITY) == {}
    # The same list saved as CSV is recognised the same way.
    csv_path = tmp_path / "list8.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [LIST8_HEADER, ["K2", "", "", "", "", "", "03/07/2023", "", "", "1", "", "", "", "", "Team C", ""]]
        )
    [report] = load(db, csv_path)
    assert (report.outcome, report.extract_type) == ("loaded", "children_in_care")


def test_a_file_recognised_but_lacking_the_column_its_kpi_counts_with_is_refused(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ExtractFileError, match=r"closest type is health_assessments, which lacks iha_date"):
        recognise(["child_id", "team", "care_start_date", "Initial health assessment notes"])
    # List 2 (early help assessments) is skipped even when it names a team: it is not social care's assessments.
    path = workbook(
        tmp_path / "a.xlsx",
        {
            "List 2": [
                [
                    "Child Unique ID",
                    "Assessment start date",
                    "Assessment completion date",
                    "Organisation completing assessment",
                    "Allocated Team",
                ],
                ["E1", AS_OF, AS_OF, "School", "Team A"],
            ]
        },
    )
    [report] = load(db, path)
    assert report.outcome == "skipped"


def test_a_list_4_with_yes_no_in_the_seen_column_feeds_assessments_but_not_seen_5wd(db: Path, tmp_path: Path) -> None:
    path = workbook(tmp_path / "a.xlsx", {"List 4": list4(["a) Yes", "No", None])})
    [report] = load(db, path)
    assert report.outcome == "loaded"
    assert "child_seen_date: the column holds Yes/No, not dates" in report.summary()
    assert query(db, "SELECT child_id, child_seen_date, child_seen FROM assessments ORDER BY 1") == [
        ("A0", None, True),
        ("A1", None, False),
        ("A2", None, False),
    ]
    assert mart(db, "assessments_45wd", "team", "Team A") == {"2023-07": (3, 3)}
    assert mart(db, "seen_5wd", "team", "Team A") == {}


def test_header_variants_of_the_spec_all_match(db: Path, tmp_path: Path) -> None:
    # Curly quotes, a question without its `?`, a doubled bracket, trailing spaces, Sex for Gender, odd case.
    header = [
        "CHILD UNIQUE ID ",
        "Sex",
        "Date Started to be Looked After ",
        "Date of last dental check",
        "Number of Placements in the Last 12 Months",
        "Date Ceased to be Looked After",
        "allocated team",
        "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N))",
    ]
    recognised = recognise(header)
    assert recognised.extract.name == "children_in_care"
    assert recognised.annex is not None and recognised.annex.number == 8
    assert recognised.dropped == ["Sex", header[-1]]
    rows = [["List 8"], [], header, ["K1", "F", "01/01/2020", None, 2, None, "Team C", "No"]]
    [report] = load(db, workbook(tmp_path / "b.xlsx", {"Sheet1": rows}))
    assert report.outcome == "loaded"


def test_overlapping_monthly_lists_never_count_a_record_twice(db: Path, tmp_path: Path) -> None:
    may, june, july = (
        (datetime(2023, 5, 2), "Team A"),
        (datetime(2023, 6, 1), "Team A"),
        (datetime(2023, 7, 3), "Team A"),
    )
    june_list = workbook(tmp_path / "june.xlsx", {"List 3": list3(("R1", *may), ("R1", *june))})
    # July's list holds its six months again (a list is the whole truth for its window: docs/spec/windows.md).
    july_list = workbook(tmp_path / "july.xlsx", {"List 3": list3(("R1", *may), ("R1", *june), ("R2", *july))})
    load(db, june_list, as_of=date(2023, 6, 30))
    [report] = load(db, july_list)
    assert (report.added, report.unchanged) == (1, 2)
    assert query(db, "SELECT count(*) FROM referrals") == [(3,)]
    # R1's June referral is a re-referral (the May one is within 12 months), counted once.
    assert mart(db, "rereferrals_12m", "team", "Team A") == {"2023-05": (0, 1), "2023-06": (1, 1), "2023-07": (0, 1)}


def test_a_later_snapshot_in_the_month_replaces_the_earlier_and_other_months_stay(db: Path, tmp_path: Path) -> None:
    def snapshot(name: str, *children: str) -> Path:
        rows = [(c, datetime(2020, 1, 1), None, 3, None, "Team C") for c in children]
        return workbook(tmp_path / name, {"List 8": list8(*rows)})

    load(db, snapshot("june.xlsx", "K1"), as_of=date(2023, 6, 30))
    first = load(db, snapshot("mid.xlsx", "K1", "K2"), as_of=date(2023, 7, 14))[0]
    again = load(db, snapshot("mid.xlsx", "K1", "K2"), as_of=date(2023, 7, 14))[0]
    assert again.outcome == "no change"
    later = load(db, snapshot("end.xlsx", "K1", "K2", "K3"), as_of=AS_OF)[0]
    assert (later.outcome, later.added, later.replaced) == ("loaded", 1, 2)
    assert mart(db, "placements_3plus", "team", "Team C") == {"2023-06": (1, 1), "2023-07": (3, 3)}
    # An earlier snapshot of July loaded after the later one changes nothing.
    stale = load(db, snapshot("old.xlsx", "K9"), as_of=date(2023, 7, 1))[0]
    assert stale.outcome == "no change"
    assert mart(db, "placements_3plus", "team", "Team C")["2023-07"] == (3, 3)
    # Undo brings the mid-month snapshot back.
    undo_load(later.load_id, who="tester", db=db)
    assert mart(db, "placements_3plus", "team", "Team C") == {"2023-06": (1, 1), "2023-07": (2, 2)}
    assert first.outcome == "loaded"


def test_a_blank_allocated_team_counts_for_the_authority_as_unallocated(db: Path, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "a.xlsx",
        {"List 3": list3(("R1", datetime(2023, 7, 3), None), ("R2", datetime(2023, 7, 4), "Team A"))},
    )
    [report] = load(db, path)
    assert report.outcome == "loaded"
    [warning] = [f for f in report.findings if f.severity == "warning"]
    assert warning.describe(report.file_name) == (
        "a.xlsx, sheet 'List 3': line 2: team: warning: no allocated team: counted for the authority as Unallocated"
    )
    assert mart(db, "rereferrals_12m", "la", AUTHORITY) == {"2023-07": (0, 2)}
    assert mart(db, "rereferrals_12m", "team", "Unallocated") == {"2023-07": (0, 1)}


COLUMNS = "SELECT column_name FROM duckdb_columns() WHERE table_name = ?"
DATE_COLUMNS = COLUMNS + " AND data_type = 'DATE'"


def test_no_personal_column_is_stored_anywhere(db: Path, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "a.xlsx",
        {
            "List 3": list3(("R1", datetime(2023, 7, 3), "Team A")),
            "List 5": list5(("S1", datetime(2023, 7, 3), "b) No", None, "Team A")),
            "List 8": list8(("K1", datetime(2020, 1, 1), None, 1, None, "Team C")),
            "List 9": list9(("L1", datetime(2023, 3, 1), "Team C")),
        },
    )
    reports = load(db, path)
    assert [r.outcome for r in reports] == ["loaded"] * 4
    assert "Date of Birth" in reports[2].dropped_columns and "Placement postcode" in reports[2].dropped_columns
    secrets = ["Ada Worker", "Worker", "Eve", "Pat Adviser", "WBRI", "Male", "Female", "T28 2WB", "SC123456", "11.4"]
    with warehouse.reading(db) as con:
        # DfE's published reference tables hold public figures and council names ("Redcar and
        # Cleveland", "11.4%"), never a record from an extract: they are not searched.
        reference = {"published", "authorities", "neighbours"}
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall() if r[0] not in reference
        ]
        personal = {
            normalise for normalise in ("gender", "sex", "ethnicity", "date_of_birth", "age", "postcode", "urn")
        }
        for table in tables:
            columns = [r[0] for r in con.execute(COLUMNS, [table]).fetchall()]
            assert not personal & {c.lower() for c in columns}, table
            for column in columns:
                found = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE '
                    + " OR ".join(f'CAST("{column}" AS VARCHAR) ILIKE ?' for _ in secrets),
                    [f"%{s}%" for s in secrets],
                ).fetchall()[0][0]
                assert found == 0, (table, column)
        # Dates of birth (2012-03-04, 2010-01-01) are in no table but the calendar of every day.
        for table in tables:
            if table != "calendar":
                dates = [r[0] for r in con.execute(DATE_COLUMNS, [table]).fetchall()]
                for column in dates:
                    sql = (
                        f"SELECT count(*) FROM \"{table}\" WHERE \"{column}\" IN (DATE '2012-03-04', DATE '2010-01-01')"
                    )
                    assert con.execute(sql).fetchall()[0][0] == 0, (table, column)


def test_loading_a_workbook_twice_changes_nothing_and_undo_restores_the_state_before(db: Path, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "a.xlsx",
        {
            "List 3": list3(("R1", datetime(2023, 7, 3), "Team A")),
            "List 9": list9(("L1", datetime(2023, 3, 1), "Team C")),
        },
    )
    empty = query(db, "SELECT * FROM kpi_monthly ORDER BY ALL")
    first = load(db, path)
    # One undo takes the whole workbook: both its lists (docs/spec/windows.md).
    assert undo_load(first[0].load_id, who="tester", db=db).count("undone") == 2
    assert query(db, "SELECT count(*) FROM referrals UNION ALL SELECT count(*) FROM care_leavers") == [(0,), (0,)]
    assert query(db, "SELECT * FROM kpi_monthly ORDER BY ALL") == empty
    # Loaded again, then again: the second time changes nothing.
    load(db, path)
    before = query(db, "SELECT * FROM kpi_monthly ORDER BY ALL")
    second = load(db, path)
    assert [r.outcome for r in second] == ["no change", "no change"]
    assert query(db, "SELECT * FROM kpi_monthly ORDER BY ALL") == before
    # L1's plan was reviewed on 1 Mar 2023, within the 6 months up to 31 Jul 2023.
    assert mart(db, "pathway_plans", "la", AUTHORITY) == {"2023-07": (1, 1)}


def test_a_workbook_with_one_bad_list_loads_nothing_naming_sheet_and_line(db: Path, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "a.xlsx",
        {
            "List 3": list3(("R1", datetime(2023, 7, 3), "Team A"), ("R2", "31/02/2023", "Team A")),
            "List 9": list9(("L1", datetime(2023, 3, 1), "Team C")),
        },
    )
    bad, good = load(db, path)
    # A workbook is all or nothing (README): the good List 9 is refused with the bad List 3.
    assert bad.outcome == "refused" and good.outcome == "refused"
    assert query(db, "SELECT count(*) FROM care_leavers") == [(0,)]
    assert [f.describe(bad.file_name) for f in bad.findings] == [
        "a.xlsx, sheet 'List 3': line 3: referral_date: impossible date: no such day (dates are day first: 31/07/2023)"
        " (value '31/02/2023')"
    ]
    assert query(db, "SELECT count(*) FROM referrals") == [(0,)]
    log = load_log(db)
    assert log["file_name"].tolist() == ["organisation-1.csv", "a.xlsx, sheet 'List 3'", "a.xlsx, sheet 'List 9'"]


def test_a_single_list_saved_as_csv_with_its_title_row_loads(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "list5.csv"
    rows = list5(("S1", "24/04/2023", "b) No", "18/05/2023", "Team A"), ("S2", "03/07/2023", "a) Yes", "", "Team A"))
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows([["List 5: Section 47 Enquiries and ICPCs"], *rows])
    [report] = load(db, path)
    assert (report.outcome, report.extract_type, report.rows_read) == ("loaded", "s47_enquiries", 2)
    assert query(db, "SELECT child_id, icpc_not_required FROM s47_enquiries ORDER BY 1") == [
        ("S1", False),
        ("S2", True),
    ]
    # 24 Apr -> 18 May is day 16: late.
    assert mart(db, "icpc_15wd", "team", "Team A") == {"2023-05": (0, 1)}


def test_the_inbox_loads_a_workbook_list_by_list(db: Path, tmp_path: Path) -> None:
    from etl.ingest.inbox import process_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    workbook(inbox / "Annex_A.xlsx", {"List 9": list9(("L1", datetime(2023, 3, 1), "Team C"))})
    result = process_inbox(inbox, who="cron", as_of=AS_OF, db=db)
    [outcome] = result.outcomes
    assert outcome.outcome == "loaded" and result.ok
    assert "Annex_A.xlsx, sheet 'List 9': care_leavers: loaded" in outcome.summary
    assert mart(db, "pathway_plans", "la", AUTHORITY) == {"2023-07": (1, 1)}


def test_annex_a_allocated_worker_is_never_read_into_the_worker_column(db: Path, tmp_path: Path) -> None:
    # Our own CSV extracts may give `worker` for the due list; Annex A's "Allocated Worker" stays dropped.
    path = workbook(
        tmp_path / "w.xlsx",
        {
            "List 4": list4([datetime(2023, 7, 4)]),
            "List 5": list5(("S9", datetime(2023, 7, 3), "b) No", None, "Team A")),
        },
    )
    reports = load(db, path)
    assert [r.outcome for r in reports] == ["loaded", "loaded"]
    assert all("Allocated Worker" in r.dropped_columns for r in reports)
    with warehouse.reading(db) as con:
        assert con.execute("SELECT count(*) FROM assessments WHERE child_id = 'A0' AND worker IS NULL").fetchone() == (
            1,
        )
        assert con.execute("SELECT count(*) FROM s47_enquiries WHERE worker IS NOT NULL").fetchone() == (0,)
