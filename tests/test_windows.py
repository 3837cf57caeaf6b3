"""What a load is the whole truth for (docs/spec/windows.md, issue 20): lists that arrive late,
correct a key, drop a record entered in error, say less than the list before, or land on years of
figures counted upstream. Every file is written here; every figure is worked out by hand (2023's
working days from a wall calendar: Monday 28 August was the Summer bank holiday).

Working days used below (the start is day 0):
- from Mon 7 Aug: 8-11 Aug (4), 14-18 (9), 21-25 (14), 29-31 (17), 1 Sep (18), 4-8 (23), 11-15 (28),
  18-22 (33), 25-29 Sep (38);
- from Mon 14 Aug: 16 Aug (2), 15-18 (4), 21-25 (9), 29-31 (12), 1 Sep (13), 4-8 (18), 11-15 (23),
  18-22 (28), 25-29 (33), 2-6 Oct (38), 9-13 (43), Mon 16 Oct (44);
- from Mon 4 Sep: 5 Sep (1), 5-8 (4), 11-15 (9), 18-22 (14), 25-29 (19), 2-6 Oct (24), 9-13 (29),
  16-20 Oct (34);
- from Mon 2 Oct: 3-6 Oct (4), Mon 9 (5), Thu 12 Oct (8).
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from etl.ingest import validate
from etl.ingest.load import load_files, load_findings, preview_files, undo_load
from etl.store.warehouse import reading

AUTHORITY = "Demo County Council"
PERSONAL = ["Gender", "Ethnicity", "Date of Birth", "Age"]
PERSON = ["a) Male", "a) WBRI", datetime(2012, 3, 4), 11]


def write_csv(folder: Path, name: str, header: list[str], rows: list[list]) -> Path:
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(["" if v is None else v for v in row] for row in rows)
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


def d(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def list3(*rows: tuple[str, str, str]) -> list[list[object]]:
    """List 3 (referrals): (child, date of referral, team)."""
    header = ["Child Unique ID", *PERSONAL, "Date of Referral", "Referral Source", "Referral NFA?"]
    header += ["Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"]
    return [header] + [[c, *PERSON, d(r), "q) 6: Police", "b) No", 0, t, "W"] for c, r, t in rows]


def list4(*rows: tuple[str, str, object, str | None]) -> list[list[object]]:
    """List 4 (assessments): (child, start, seen date or Yes/No, completed), all Team A."""
    header = ["Child Unique ID", *PERSONAL, "Does the Child have a Disability", "Continuous Assessment Start Date"]
    header += ["Child Seen During Continuous Assessment", "Continuous Assessment Date of Authorisation"]
    header += ["Was the child assessed as requiring LA children's social care support?", "Allocated Team"]
    header += ["Allocated Worker"]
    return [header] + [
        [c, *PERSON, "b) No", d(s), _seen(seen), d(e), "a) Yes", "Team A", "W"] for c, s, seen, e in rows
    ]


def _seen(value: object) -> object:
    """A date written as a date; "a) Yes" as the text it is."""
    return d(value) if isinstance(value, str) and value[:1].isdigit() else value


def list5(*rows: tuple[str, str, str | None]) -> list[list[object]]:
    """List 5 (section 47 enquiries): (child, strategy discussion, conference date), all Team A."""
    header = ["Child Unique ID", *PERSONAL, "Does the Child have a Disability"]
    header += ["Strategy discussion initiating Section 47 Enquiry Start Date"]
    header += ["Was an Initial Child Protection Conference deemed unnecessary"]
    header += ["Date of Initial Child Protection Conference"]
    header += ["Did the Initial Child Protection Conference Result in a Child Protection Plan"]
    header += ["Number of Section 47 Enquiries in the last 12 months", "Number of ICPCs in the last 12 months"]
    header += ["Allocated Team", "Allocated Worker"]
    return [header] + [[c, *PERSON, "b) No", d(s), "b) No", d(i), "a) Yes", 1, 1, "Team A", "W"] for c, s, i in rows]


@pytest.fixture(autouse=True)
def command_line():
    """Child lists read as the command line does (no viewer), even when another test module has put the
    web app's gate up in this process."""
    from etl.privacy import access

    with access.viewing(None):
        yield


@pytest.fixture
def db(tmp_path: Path, new_target):
    """Each test on both engines (conftest's `engine`)."""
    target = new_target(tmp_path)
    org = write_csv(
        tmp_path,
        "organisation.csv",
        ["team", "service", "area"],
        [["Team A", "Service T", "North"], ["Team B", "Service T", "South"]],
    )
    assert load(target, org, "2023-04-01")[0].outcome == "loaded"
    return target


def load(db, path: Path, as_of: str, **options):
    return load_files([path], as_of=as_of, who="test", db=db, **options)


def figure(db, metric: str, period: str):
    """The authority's (numerator, denominator), or None for no data."""
    with reading(db) as con:
        rows = con.execute(
            "SELECT numerator, denominator FROM kpi_monthly WHERE metric_id = ? AND level = 'la'"
            " AND substr(CAST(period AS VARCHAR), 1, 7) = ?",
            [metric, period],
        ).fetchall()
    return rows[0] if rows else None


def figures(db) -> dict:
    """seen_5wd and assessments_45wd, August to October."""
    return {
        (metric, month): figure(db, metric, month)
        for metric in ("seen_5wd", "assessments_45wd")
        for month in ("2023-08", "2023-09", "2023-10")
    }


# --- three overlapping monthly workbooks --------------------------------------------------------------------------

# August's list (as of Thu 31 Aug; its window 1 Mar to 31 Aug): A1 started 7 Aug, seen 9 Aug (day 2: met);
# A2 started 14 Aug, not seen (day 12 at 31 Aug: not met).
AUGUST = [("A1", "2023-08-07", "2023-08-09", None), ("A2", "2023-08-14", None, None)]
# September's (as of Fri 29 Sep; 30 Mar to 29 Sep): A1 completed 29 Sep (day 38: met); A2 seen 16 Aug
# (day 2: met, recorded late); A3 started 4 Sep, seen 5 Sep (day 1: met).
SEPTEMBER = [
    ("A1", "2023-08-07", "2023-08-09", "2023-09-29"),
    ("A2", "2023-08-14", "2023-08-16", None),
    ("A3", "2023-09-04", "2023-09-05", None),
]
# October's (as of Tue 31 Oct; 1 May to 31 Oct): A2 completed 16 Oct (day 44: met), A3 completed 20 Oct
# (day 34: met); A4 started 2 Oct, seen Thu 12 Oct (day 8: not met).
OCTOBER = [
    ("A1", "2023-08-07", "2023-08-09", "2023-09-29"),
    ("A2", "2023-08-14", "2023-08-16", "2023-10-16"),
    ("A3", "2023-09-04", "2023-09-05", "2023-10-20"),
    ("A4", "2023-10-02", "2023-10-12", None),
]
AS_OF = {"august": "2023-08-31", "september": "2023-09-29", "october": "2023-10-31"}
# Only August: seen in August 1/2 (A1 met, A2 not).
AFTER_AUGUST = {
    ("seen_5wd", "2023-08"): (1, 2),
    ("seen_5wd", "2023-09"): None,
    ("seen_5wd", "2023-10"): None,
    ("assessments_45wd", "2023-08"): None,
    ("assessments_45wd", "2023-09"): None,
    ("assessments_45wd", "2023-10"): None,
}
# August and September: seen August 2/2 (A1, A2), September 1/1 (A3); completed in September 1/1 (A1).
AFTER_SEPTEMBER = AFTER_AUGUST | {
    ("seen_5wd", "2023-08"): (2, 2),
    ("seen_5wd", "2023-09"): (1, 1),
    ("assessments_45wd", "2023-09"): (1, 1),
}
# All three: October adds A4 (seen 0/1) and completes A2 and A3 (2/2 in October).
AFTER_OCTOBER = AFTER_SEPTEMBER | {("seen_5wd", "2023-10"): (0, 1), ("assessments_45wd", "2023-10"): (2, 2)}


@pytest.fixture
def months(tmp_path: Path) -> dict[str, Path]:
    return {
        name: workbook(tmp_path / f"Annex_A_{name}.xlsx", {"List 4": list4(*rows)})
        for name, rows in (("august", AUGUST), ("september", SEPTEMBER), ("october", OCTOBER))
    }


def test_monthly_workbooks_in_order_then_undone_one_by_one(db, months: dict[str, Path]) -> None:
    loaded = {}
    for name, expected in (("august", AFTER_AUGUST), ("september", AFTER_SEPTEMBER), ("october", AFTER_OCTOBER)):
        [report] = load(db, months[name], AS_OF[name])
        assert report.outcome == "loaded"
        assert figures(db) == expected
        loaded[name] = report
    assert loaded["october"].window_words() == "1 May 2023 to 31 Oct 2023"
    assert "taken as every assessment from 1 May 2023 to 31 Oct 2023" in loaded["october"].summary()
    undo_load(loaded["october"].load_id, who="test", db=db)
    assert figures(db) == AFTER_SEPTEMBER
    undo_load(loaded["september"].load_id, who="test", db=db)
    assert figures(db) == AFTER_AUGUST
    undo_load(loaded["august"].load_id, who="test", db=db)
    assert all(v is None for v in figures(db).values())


def test_an_older_workbook_loaded_late_changes_nothing_and_undo_works_it_out_again(db, months: dict[str, Path]) -> None:
    [august] = load(db, months["august"], AS_OF["august"])
    [october] = load(db, months["october"], AS_OF["october"])
    assert figures(db) == AFTER_OCTOBER
    [september] = load(db, months["september"], AS_OF["september"])
    # October (as of 31 Oct) speaks for A1-A3: September's versions of A2 and A3 (not yet completed)
    # are kept for history only; A1 is the same in both. Nothing changes.
    assert (september.added, september.replaced, september.unchanged, september.held) == (0, 0, 1, 2)
    assert "2 records kept for history only: a list as of 2023-10-31 already speaks for them" in september.summary()
    assert figures(db) == AFTER_OCTOBER
    # Undo October: September now decides (as of 29 Sep), its versions come back.
    undo_load(october.load_id, who="test", db=db)
    assert figures(db) == AFTER_SEPTEMBER
    undo_load(september.load_id, who="test", db=db)
    assert figures(db) == AFTER_AUGUST
    undo_load(august.load_id, who="test", db=db)
    assert all(v is None for v in figures(db).values())


# --- corrections and deletions ------------------------------------------------------------------------------------


def test_a_corrected_key_and_a_record_entered_in_error_are_retired(db, tmp_path: Path) -> None:
    # August (as of 31 Aug): A5 started Thu 10 Aug, seen Fri 11 Aug (day 1: met); A6 started Tue 15 Aug, not
    # seen (day 11 at 31 Aug: not met); A7 started 7 Aug, seen 8 Aug (day 1: met). Seen in August: 2/3.
    august = workbook(
        tmp_path / "aug.xlsx",
        {
            "List 4": list4(
                ("A5", "2023-08-10", "2023-08-11", None),
                ("A6", "2023-08-15", None, None),
                ("A7", "2023-08-07", "2023-08-08", None),
            ),
            # D1 referred 1 and 3 August: the second is a re-referral. August 1/2.
            "List 3": list3(("D1", "2023-08-01", "Team A"), ("D1", "2023-08-03", "Team A")),
        },
    )
    load(db, august, "2023-08-31")
    assert figure(db, "seen_5wd", "2023-08") == (2, 3)
    assert figure(db, "rereferrals_12m", "2023-08") == (1, 2)
    # September corrects A5's start to Wed 9 Aug (seen 11 Aug: day 2, met), no longer holds A6 (entered in
    # error) nor D1's referral of 3 August. Truth: seen in August 2/2 (A5, A7); re-referrals 0/1.
    september = workbook(
        tmp_path / "sep.xlsx",
        {
            "List 4": list4(("A5", "2023-08-09", "2023-08-11", None), ("A7", "2023-08-07", "2023-08-08", None)),
            "List 3": list3(("D1", "2023-08-01", "Team A")),
        },
    )
    reports = load(db, september, "2023-09-29")
    by_type = {r.extract_type: r for r in reports}
    assert figure(db, "seen_5wd", "2023-08") == (2, 2)
    assert figure(db, "rereferrals_12m", "2023-08") == (0, 1)
    assessments = by_type["assessments"]
    assert (assessments.added, assessments.unchanged, assessments.retired) == (1, 1, 2)
    assert (
        "2 records held from earlier loads are not in this list, which covers 30 Mar 2023 to 29 Sep 2023: retired"
        in assessments.summary()
    )
    retired = load_findings(assessments.load_id, db=db)
    assert sorted(retired.loc[retired["column_name"] == "child_id + assessment_start_date", "value"]) == [
        "A5 + 2023-08-10",
        "A6 + 2023-08-15",
    ]
    with reading(db) as con:
        assert con.execute("SELECT child_id FROM assessments ORDER BY 1, assessment_start_date").fetchall() == [
            ("A5",),
            ("A7",),
        ]
    # Undo of the whole workbook (either list's load offers the file) brings them all back.
    message = undo_load(by_type["referrals"].load_id, who="test", db=db)
    assert message.count("undone") == 2
    assert figure(db, "seen_5wd", "2023-08") == (2, 3)
    assert figure(db, "rereferrals_12m", "2023-08") == (1, 2)


def test_two_overlapping_windows_a_csv_with_a_window_and_an_annex_a_list(db, tmp_path: Path) -> None:
    header = ["child_id", "team", "referral_date"]
    # The CSV (as of 31 Jul) is every referral from 1 Apr to 31 Jul: R1 10 Apr, R2 10 May, R3 10 Jul.
    first = write_csv(
        tmp_path,
        "referrals.csv",
        header,
        [["R1", "Team A", "2023-04-10"], ["R2", "Team A", "2023-05-10"], ["R3", "Team A", "2023-07-10"]],
    )
    [csv_report] = load(db, first, "2023-07-31", window=(date(2023, 4, 1), date(2023, 7, 31)))
    assert csv_report.window_words() == "1 Apr 2023 to 31 Jul 2023"
    # The Annex A list (as of 31 Aug, window 1 Mar to 31 Aug) lacks R2: retired. R4 10 Aug is new.
    annex = workbook(
        tmp_path / "aug.xlsx",
        {
            "List 3": list3(
                ("R1", "2023-04-10", "Team A"), ("R3", "2023-07-10", "Team A"), ("R4", "2023-08-10", "Team A")
            )
        },
    )
    [annex_report] = load(db, annex, "2023-08-31")
    assert (annex_report.added, annex_report.unchanged, annex_report.retired) == (1, 2, 1)
    assert figure(db, "rereferrals_12m", "2023-05") is None  # R2 retired: May has no referral
    # A CSV as of 30 Jun that still holds R2, loaded late: the Annex A list (as of 31 Aug) speaks for R2.
    late = write_csv(tmp_path, "late.csv", header, [["R2", "Team A", "2023-05-10"]])
    [late_report] = load(db, late, "2023-06-30", window=(date(2023, 5, 1), date(2023, 5, 31)))
    assert late_report.held == 1
    assert figure(db, "rereferrals_12m", "2023-05") is None
    # Without a window a CSV adds and replaces by key only: R5 added, nothing retired.
    plain = write_csv(tmp_path, "plain.csv", header, [["R5", "Team A", "2023-08-20"]])
    [plain_report] = load(db, plain, "2023-09-01")
    assert (plain_report.added, plain_report.retired) == (1, 0)
    assert figure(db, "rereferrals_12m", "2023-08") == (0, 2)  # R4 and R5, neither a re-referral


# --- kpi_values beside records ------------------------------------------------------------------------------------


def test_a_first_annex_a_over_forty_months_of_kpi_values_keeps_their_history(db, tmp_path: Path) -> None:
    months = [
        f"{y}-{m:02d}" for y in range(2020, 2024) for m in range(1, 13) if "2020-04" <= f"{y}-{m:02d}" <= "2023-07"
    ]
    assert len(months) == 40
    rows = [[month, "icpc_15wd", AUTHORITY, 8, 10] for month in months]
    rows.append(["2022-06", "seen_5wd", AUTHORITY, 7, 9])
    given = write_csv(tmp_path, "kpi_values.csv", ["period", "metric_id", "team", "numerator", "denominator"], rows)
    assert load(db, given, "2023-07-31")[0].outcome == "loaded"
    # The first Annex A (as of 31 Jul: 1 Feb to 31 Jul 2023). List 5: an enquiry of January 2020 that
    # never had a conference, and one of Mon 3 Jul with its conference Fri 14 Jul (day 9: met).
    # List 4: one long assessment started Mon 6 Jun 2022, seen the next day (met), still open.
    path = workbook(
        tmp_path / "first.xlsx",
        {
            "List 5": list5(("S0", "2020-01-15", None), ("S1", "2023-07-03", "2023-07-14")),
            "List 4": list4(("A9", "2022-06-06", "2022-06-07", None)),
        },
    )
    checked = preview_files(path, as_of="2023-07-31", db=db)
    changes = {(c.metric_id, c.period): (c.before, c.after) for c in checked[0].changes}
    # The window's six months change (February to June: no conference; July 1/1), nothing before it.
    assert changes == {
        ("icpc_15wd", "2023-02"): ((8, 10), None),
        ("icpc_15wd", "2023-03"): ((8, 10), None),
        ("icpc_15wd", "2023-04"): ((8, 10), None),
        ("icpc_15wd", "2023-05"): ((8, 10), None),
        ("icpc_15wd", "2023-06"): ((8, 10), None),
        ("icpc_15wd", "2023-07"): ((8, 10), (1, 1)),
    }
    assert figure(db, "icpc_15wd", "2023-07") == (8, 10)  # the check changed nothing
    load(db, path, "2023-07-31")
    kept = [m for m in months if figure(db, "icpc_15wd", m) == (8, 10)]
    assert kept[0] == "2020-04" and kept[-1] == "2023-01" and len(kept) == 34
    assert figure(db, "icpc_15wd", "2023-07") == (1, 1)
    assert figure(db, "seen_5wd", "2022-06") == (7, 9)  # not the stray record's 1/1


def test_a_yes_no_list_4_covers_nothing_for_seen_5wd_and_keeps_dates_a_csv_gave(db, tmp_path: Path) -> None:
    given = write_csv(
        tmp_path,
        "kpi_values.csv",
        ["period", "metric_id", "team", "numerator", "denominator"],
        [["2023-06", "seen_5wd", AUTHORITY, 6, 8]],
    )
    load(db, given, "2023-07-31")
    # A CSV with dates (no window, as of Fri 14 Jul): A0 started Mon 3 Jul, seen Wed 5 Jul (day 2: met).
    dated = write_csv(
        tmp_path,
        "assessments.csv",
        ["child_id", "team", "assessment_start_date", "child_seen_date", "assessment_completed_date"],
        [["A0", "Team A", "2023-07-03", "2023-07-05", None]],
    )
    load(db, dated, "2023-07-14")
    assert figure(db, "seen_5wd", "2023-07") == (1, 1)
    # The Yes/No List 4 (as of 31 Jul, window 1 Feb to 31 Jul): A0 "Yes" keeps its date; A1 (started
    # Mon 5 Jun, "Yes") cannot be timed. June keeps its given 6/8, July stays 1/1.
    path = workbook(
        tmp_path / "yes_no.xlsx",
        {"List 4": list4(("A0", "2023-07-03", "a) Yes", None), ("A1", "2023-06-05", "a) Yes", None))},
    )
    [report] = load(db, path, "2023-07-31")
    assert report.kept_dates == 1
    assert report.uncounted == ["seen_5wd"]
    assert figure(db, "seen_5wd", "2023-06") == (6, 8)
    assert figure(db, "seen_5wd", "2023-07") == (1, 1)
    with reading(db) as con:
        assert con.execute("SELECT child_seen_date FROM assessments WHERE child_id = 'A0'").fetchall() == [
            (date(2023, 7, 5),)
        ]
    # A1's visit cannot be timed: it is in no figure, and never overdue on the due list either.
    from etl.privacy.children import due_list

    due = due_list(db=db).rows
    assert due[(due["child_id"] == "A1") & (due["metric_id"] == "seen_5wd")].empty


# --- undo ----------------------------------------------------------------------------------------------------------


def test_a_load_whose_records_a_no_change_load_also_held_can_be_undone(db, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "r.csv", ["child_id", "team", "referral_date"], [["R1", "Team A", "2023-07-03"]])
    [first] = load(db, path, "2023-07-31")
    [again] = load(db, path, "2023-07-31")
    assert again.outcome == "no change"
    message = undo_load(first.load_id, who="test", db=db)
    assert f"load {again.load_id} (the same records again, no change) undone with it" in message
    with reading(db) as con:
        assert con.execute("SELECT count(*) FROM referrals").fetchall() == [(0,)]
        assert con.execute("SELECT outcome FROM loads WHERE load_id = ?", [again.load_id]).fetchall() == [("undone",)]
    assert figure(db, "rereferrals_12m", "2023-07") is None


def test_the_same_list_again_re_dates_its_records_and_holds_back_the_versions_waiting(db, tmp_path: Path) -> None:
    # July's list: R1 (Team A) and R2. August's: R1 moved to Team B, R2 the same. The same August list again,
    # as of 30 September: every record stored unchanged, so it decides each one it holds (the newest load):
    # both re-dated to 30 Sep, R1's July version waits in referrals_replaced held back by it, and its own
    # `_seen` rows name the versions it held. Undone, all of that goes back to how August left it.
    header = ["child_id", "team", "referral_date"]
    july = write_csv(tmp_path, "july.csv", header, [["R1", "Team A", "2023-07-03"], ["R2", "Team A", "2023-07-10"]])
    august = write_csv(tmp_path, "aug.csv", header, [["R1", "Team B", "2023-07-03"], ["R2", "Team A", "2023-07-10"]])
    [first] = load(db, july, "2023-07-31")
    [second] = load(db, august, "2023-08-31")
    assert (second.added, second.replaced, second.unchanged) == (0, 1, 1)
    [again] = load(db, august, "2023-09-30")
    assert (again.outcome, again.added, again.replaced, again.unchanged, again.redated) == ("re-dated", 0, 0, 2, 2)
    assert (again.retired, again.held) == (0, 0)

    def state():
        with reading(db) as con:
            return (
                con.execute("SELECT child_id, team, load_id, as_of FROM referrals ORDER BY 1").fetchall(),
                con.execute(
                    "SELECT child_id, team, load_id, replaced_by FROM referrals_replaced ORDER BY 1"
                ).fetchall(),
                con.execute("SELECT child_id, load_id, version_load FROM referrals_seen ORDER BY 2, 1").fetchall(),
            )

    table, waiting, seen = state()
    sep, aug = date(2023, 9, 30), date(2023, 8, 31)
    assert table == [("R1", "Team B", second.load_id, sep), ("R2", "Team A", first.load_id, sep)]
    assert waiting == [("R1", "Team A", first.load_id, again.load_id)]
    assert seen == [("R2", second.load_id, first.load_id), ("R1", again.load_id, second.load_id),
                    ("R2", again.load_id, first.load_id)]  # fmt: skip
    # July's two referrals, each a child's first: none a re-referral, 0 of 2 (unchanged by the same list again).
    assert figure(db, "rereferrals_12m", "2023-07") == (0, 2)
    undo_load(again.load_id, who="test", db=db)
    table, waiting, seen = state()
    assert table == [("R1", "Team B", second.load_id, aug), ("R2", "Team A", first.load_id, aug)]
    assert waiting == [("R1", "Team A", first.load_id, second.load_id)]
    assert seen == [("R2", second.load_id, first.load_id)]


# --- duplicate keys at any size -----------------------------------------------------------------------------------


def test_duplicate_keys_are_refused_after_writing_whatever_the_engine_made_of_the_check(
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 150,000 assessments, each given twice (300,000 rows). The file's duplicate-key check is taken away,
    # as DuckDB 2.0.0's empty DISTINCT over a large temp table once did: the check after writing refuses it.
    monkeypatch.setattr(validate, "_duplicate_keys", lambda con, extract: None)
    path = tmp_path / "twice.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("child_id,team,assessment_start_date,child_seen_date,assessment_completed_date\n")
        for _ in range(2):
            handle.writelines(f"C{i},Team A,2023-07-03,2023-07-04,\n" for i in range(150_000))
    [report] = load(db, path, "2023-07-31")
    assert report.outcome == "refused"
    assert "150,000 rows repeat the record key (child_id + assessment_start_date)" in report.findings[0].reason
    with reading(db) as con:
        assert con.execute("SELECT count(*) FROM assessments").fetchall() == [(0,)]
        assert con.execute("SELECT outcome FROM loads WHERE load_id = ?", [report.load_id]).fetchall() == [("refused",)]


# --- caveats --------------------------------------------------------------------------------------------------------


def test_re_referral_months_that_look_back_before_the_referrals_loaded_say_possibly_undercounted(
    db, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from cpip.cli import main
    from etl.rules.kpis import caveats_at

    # Every referral from 1 Feb to 31 Jul 2023: R1 on 3 Jul, nobody referred before. July's look-back runs
    # from 1 Jul 2022, before anything loaded: 0 of 1 re-referrals may be too few.
    path = write_csv(tmp_path, "r.csv", ["child_id", "team", "referral_date"], [["R1", "Team A", "2023-07-03"]])
    load(db, path, "2023-07-31", window=(date(2023, 2, 1), date(2023, 7, 31)))
    assert figure(db, "rereferrals_12m", "2023-07") == (0, 1)
    words = "possibly undercounted: no referrals loaded before 1 Feb 2023"
    assert caveats_at("2023-07", db=db) == {"rereferrals_12m": words}
    monkeypatch.setenv("CPIP_DB", str(db))
    assert main(["scorecard", "--period", "2023-07", "--level", "la", "--format", "json"]) == 0
    rows = {r["metric_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["rereferrals_12m"]["caveat"] == words
    assert rows["seen_5wd"]["caveat"] == ""


def test_a_month_the_windows_cover_in_part_says_partly_covered(db, tmp_path: Path) -> None:
    from etl.rules.kpis import caveat_lines

    # A List 4 as of Sat 15 Jul 2023 holds every assessment from 16 Jan to 15 Jul 2023. A0 started Mon 3 Jul,
    # seen Wed 5 Jul (day 2: met): July 1/1, but only its first half is covered.
    path = workbook(tmp_path / "mid.xlsx", {"List 4": list4(("A0", "2023-07-03", "2023-07-05", None))})
    load(db, path, "2023-07-15")
    assert figure(db, "seen_5wd", "2023-07") == (1, 1)
    assert caveat_lines("2023-07", db=db) == [
        "Assessments within 45 working days: partly covered: the loaded lists cover 1-15 July.",
        "Children seen within 5 working days: partly covered: the loaded lists cover 1-15 July.",
    ]
    assert caveat_lines("2023-03", db=db) == []


# --- records with no team -------------------------------------------------------------------------------------------


def test_unallocated_is_a_team_wherever_teams_are_listed_and_the_teams_add_up(
    db, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cpip.cli import main
    from etl.serve import queries

    # R1 (no team) and R2 (Team A) referred in July, neither before: Unallocated 0 of 1, Team A 0 of 1,
    # Team B nothing; the authority 0 of 2.
    path = workbook(tmp_path / "a.xlsx", {"List 3": list3(("R1", "2023-07-03", None), ("R2", "2023-07-04", "Team A"))})
    load(db, path, "2023-07-31")
    assert queries.units_at("team", db=db) == ["Team A", "Team B", "Unallocated"]
    teams = queries.scorecard("2023-07", "team", db=db)
    rows = teams[teams["metric_id"] == "rereferrals_12m"].set_index("org_unit")
    assert rows.loc["Unallocated", "denominator"] == 1
    assert rows["denominator"].fillna(0).sum() == figure(db, "rereferrals_12m", "2023-07")[1] == 2
    monkeypatch.setenv("CPIP_DB", str(db))
    code = main(
        ["children", "--metric", "rereferrals_12m", "--period", "2023-07", "--level", "team", "--unit", "Unallocated"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "scorecard 0 of 1" in out and "this list: 0 met of 1 counted" in out and "R1" in out
