"""The SSDA903 return in (docs/spec/returns.md): read as CSV tables, XML or a zip, one return one load, the
KPIs it feeds by their rules, its checks. Hand-made children, each written to hit one rule; the answers are
worked in the comments. KPI and loader tests run on both engines."""

from __future__ import annotations

from datetime import date

import pytest
from kpi_helpers import AUTHORITY, add_records, mart, new_warehouse
from ssda903_files import write_csvs, write_xml, write_zip

from etl.formats import ssda903
from etl.ingest.load import load_files, load_log, undo_load
from etl.store.warehouse import reading

AS_OF = date(2025, 5, 1)
YEAR = "2024/25"  # 1 April 2024 to 31 March 2025


@pytest.fixture
def db(tmp_path, new_target):
    return new_warehouse(new_target(tmp_path))


def ep(child, decom, rne, place, dec=None, rec=None, ls="C2"):
    return {"CHILD": child, "DECOM": decom, "RNE": rne, "LS": ls, "PLACE": place, "DEC": dec or "", "REC": rec or ""}


def chain(child, *steps, end=None, ls="C2"):
    """Episodes from (DECOM, RNE, PLACE[, LS]) steps, each ending X1 on the next's start; the last open, or
    ending on `end` = (DEC, REC)."""
    out = []
    for index, step in enumerate(steps):
        decom, rne, place, *rest = step
        following = steps[index + 1][0] if index + 1 < len(steps) else None
        dec, rec = (following, "X1") if following else (end or (None, None))
        out.append(ep(child, decom, rne, place, dec, rec, ls=rest[0] if rest else ls))
    return out


def header(child, dob="01/01/2012"):
    return {"CHILD": child, "DOB": dob}


# The return every test starts from (2024/25, taken 1 May 2025). S = 31 March 2025; S - 12 months = 31 March 2024.
EPISODES = [
    # c1 comes into care on 1 April 2024 and moves twice: 3 placements in the year -> met.
    *chain("c1", ("01/04/2024", "S", "U4"), ("01/06/2024", "P", "U5"), ("01/09/2024", "P", "K2")),
    # c2: in care since 2023 (the placement held at the start: 1), a hospital stay (T1: not a placement) and the
    # return to the same placement (not a new one), then a move on 1 Dec 2024: 2 -> not met.
    *chain(
        "c2", ("01/01/2023", "S", "U4"), ("01/07/2024", "P", "T1"), ("10/07/2024", "P", "U4"), ("01/12/2024", "P", "U5")
    ),
    # c3 and c4: looked after under a series of short breaks (V3, V4) on S: outside every count.
    *chain("c3", ("01/06/2024", "S", "U4", "V3")),
    *chain("c4", ("01/06/2023", "S", "U4", "V4")),
    # c5: in care since 1 Jan 2024 (held at the start: 1), a change of legal status only (L: not a placement),
    # a move on 1 Aug 2024 (2) and a move on S itself, the last day of the window (3) -> met.
    *chain(
        "c5",
        ("01/01/2024", "S", "U4", "C1"),
        ("01/05/2024", "L", "U4", "C2"),
        ("01/08/2024", "P", "U5"),
        ("31/03/2025", "P", "K2"),
    ),
    # c6: a placement starting on S - 12 months exactly is the one held at the start (counted once), then two
    # moves: 3 -> met.
    *chain(
        "c6", ("01/05/2022", "S", "U4"), ("31/03/2024", "P", "U5"), ("01/06/2024", "P", "U6"), ("01/09/2024", "P", "K2")
    ),
    # c7: temporary placements T3 and T4 and the returns after them: only the placement held at the start -> 1.
    *chain(
        "c7",
        ("01/02/2023", "S", "U4"),
        ("01/07/2024", "T", "T3"),
        ("15/07/2024", "T", "U4"),
        ("01/10/2024", "T", "T4"),
        ("05/10/2024", "T", "U4"),
    ),
    # c8 left care on 1 Dec 2024 (adopted): not looked after on S.
    *chain("c8", ("01/05/2024", "S", "U4"), end=("01/12/2024", "E11")),
]
OC2 = [
    # Looked after continuously for 12 months at 31 March: c1 (came in on 1 April itself), c2, c5, c6, c7.
    # c1 aged 4 (no SDQ due), c2 aged 5, c5 aged 16, c6 aged 17 at 31 March 2025.
    {"CHILD": "c1", "DOB": "01/06/2020", "TEETH_CHECK": "1", "HEALTH_ASSESSMENT": "1", "IMMUNISATIONS": "1"},
    {"CHILD": "c2", "DOB": "01/12/2019", "TEETH_CHECK": "1", "HEALTH_ASSESSMENT": "0", "SDQ_SCORE": "14"},
    {"CHILD": "c5", "DOB": "01/06/2008", "TEETH_CHECK": "0", "HEALTH_ASSESSMENT": "1", "SDQ_SCORE": "20"},
    {"CHILD": "c6", "DOB": "01/06/2007", "TEETH_CHECK": "1", "HEALTH_ASSESSMENT": "1", "SDQ_SCORE": "10"},
    # c8 left care in the year: its OC2 row is a query (903 rule 190) and counts nowhere. c7 has none (rule 191).
    {"CHILD": "c8", "DOB": "01/06/2015", "TEETH_CHECK": "1", "HEALTH_ASSESSMENT": "1"},
]
OC3 = [
    # Birthdays in the year: l1 19 (1 Jun 2024), l2 21 (1 Feb 2025), l3 19 (1 Jan 2025), l4 17, l5 21 (1 May 2024).
    {"CHILD": "l1", "DOB": "01/06/2005", "IN_TOUCH": "YES", "ACTIV": "F2", "ACCOM": "U1"},  # suitable
    {"CHILD": "l2", "DOB": "01/02/2004", "IN_TOUCH": "YES", "ACTIV": "G4", "ACCOM": "B2"},  # not suitable
    {"CHILD": "l3", "DOB": "01/01/2006", "IN_TOUCH": "NO", "ACTIV": "0", "ACCOM": "0"},  # no information
    {"CHILD": "l4", "DOB": "01/05/2007", "IN_TOUCH": "YES", "ACTIV": "F2", "ACCOM": "U1"},  # 17: not in 19 to 21
    {"CHILD": "l5", "DOB": "01/05/2003", "IN_TOUCH": "YES", "ACTIV": "F1", "ACCOM": "Z1"},  # suitable
]
MISSING = [
    {"CHILD": "c1", "DOB": "01/06/2020", "MISSING": "M", "MIS_START": "10/06/2024", "MIS_END": "11/06/2024"},
    {"CHILD": "c1", "DOB": "01/06/2020", "MISSING": "A", "MIS_START": "12/06/2024", "MIS_END": "12/06/2024"},
    {"CHILD": "c2", "DOB": "01/12/2019", "MISSING": "m", "MIS_START": "20/06/2024", "MIS_END": ""},
    {"CHILD": "c5", "DOB": "01/06/2008", "MISSING": "M", "MIS_START": "01/07/2024", "MIS_END": "02/07/2024"},
]
CHILDREN = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "l1", "l2", "l3", "l4", "l5"]


# One date of birth a child, as the return's tables must agree on it (903 rules INT13 to INT15).
BORN = {row["CHILD"]: row["DOB"] for row in (*OC2, *OC3)}


def the_return(**changes):
    tables = {
        "Header": [header(c, BORN.get(c, "01/01/2012")) for c in CHILDREN],
        "Episodes": list(EPISODES),
        "OC2": list(OC2),
        "OC3": list(OC3),
        "Missing": list(MISSING),
    }
    tables.update(changes)
    return tables


def load(db, paths, *, as_of=AS_OF, year=YEAR):
    reports = load_files(paths, as_of=as_of, who="test", db=db, collection_year=year)
    assert len(reports) == 1, [r.summary() for r in reports]
    return reports[0]


def test_the_return_loads_as_one_load_and_counts_by_each_rule(db, tmp_path):
    report = load(db, write_csvs(tmp_path / "903", the_return()))
    assert report.outcome == "loaded", report.summary()
    log = load_log(db)
    assert list(log["extract_type"]) == ["organisation", "ssda903"]  # one load in the log for five tables
    # 31 March 2025: looked after c1, c2, c5, c6, c7 (c3, c4 short breaks, c8 left); met c1, c5, c6.
    # 31 August 2024 (S - 12 months = 31 Aug 2023): c1 2 (S, P); c2 1; c5 2 (S, P on 1 Aug); c6 3 (held since
    # 2022, P 31 Mar, P 1 Jun); c7 1; c8 1: met c6 only, of 6.
    placements = mart(db, "placements_3plus", "la", AUTHORITY)
    assert placements["2025-03"] == (3, 5)
    assert placements["2024-08"] == (1, 6)
    assert "2025-04" not in placements and "2024-03" not in placements  # the return's year only
    # OC2 cohort c1, c2, c5, c6, c7 (no OC2 row: not done). Dental: c1, c2, c6 -> 3 of 5. Health assessments:
    # c1, c5, c6 -> 3 of 5. SDQ, ages 5 to 16 at 31 March: c2 (5) and c5 (16), both scored -> 2 of 2.
    assert mart(db, "dental_up_to_date", "la", AUTHORITY) == {"2025-03": (3, 5)}
    assert mart(db, "cla_health_assessments", "la", AUTHORITY) == {"2025-03": (3, 5)}
    assert mart(db, "sdq_completed", "la", AUTHORITY) == {"2025-03": (2, 2)}
    # Care leavers 19 to 21 with accommodation recorded: l1, l2, l3, l5; suitable l1 (U1), l5 (Z1) -> 2 of 4.
    assert mart(db, "care_leavers_accommodation", "la", AUTHORITY) == {"2025-03": (2, 4)}
    # Missing (M only, by the month it began): June c1 and c2 (lower-case m read as M), July c5; the away (A)
    # episode is not one.
    missing = mart(db, "missing_episodes", "la", AUTHORITY)
    assert (missing["2024-06"], missing["2024-07"]) == ((2, None), (1, None))
    # The 903 has no return home interviews: rhi_72h judges none of its episodes.
    assert mart(db, "rhi_72h", "la", AUTHORITY) == {}
    # Every record is Unallocated: no team in a return.
    assert mart(db, "placements_3plus", "team", "Unallocated")["2025-03"] == (3, 5)
    reasons = " | ".join(f.reason for f in report.findings)
    assert "child c8: 903 rule 190" in reasons and "child c7: 903 rule 191" in reasons


def test_personal_fields_never_reach_the_warehouse(db, tmp_path):
    load(db, write_csvs(tmp_path / "903", the_return()))
    with reading(db) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_name IN"
            " ('care_episodes', 'health_outcomes', 'care_leaver_outcomes', 'missing_episodes')"
        ).fetchall()
        ages = dict(con.execute("SELECT child_id, age_at_31_march FROM health_outcomes").fetchall())
    names = {c.lower() for _, c in columns}
    assert not names & {"dob", "sex", "ethnic", "upn", "home_post", "pl_post", "urn", "mc_dob"}
    assert ages == {"c1": 4, "c2": 5, "c5": 16, "c6": 17, "c8": 9}  # ages at 31 March 2025, not dates of birth


def test_csv_xml_and_zip_forms_of_one_return_give_identical_figures(tmp_path, new_target):
    tables = the_return()
    forms = {
        "csv": write_csvs(tmp_path / "csv", tables),
        "xml": [write_xml(tmp_path / "return.xml", tables)],
        "zip": [write_zip(tmp_path / "return.zip", tables)],
    }
    figures = {}
    db = new_warehouse(new_target(tmp_path / "warehouse"))
    for form, paths in forms.items():
        report = load(db, paths)
        assert report.outcome == "loaded", report.summary()
        with reading(db) as con:
            figures[form] = (
                con.execute(
                    "SELECT metric_id, period, level, org_unit, numerator, denominator FROM kpi_monthly"
                    " ORDER BY 1, 2, 3, 4"
                ).fetchall(),
                con.execute(
                    "SELECT child_id, decom, rne, legal_status, place, dec, rec FROM care_episodes ORDER BY 1, 2"
                ).fetchall(),
            )
        undo_load(report.load_id, who="test", db=db)  # the next form loads into the same warehouse afresh
    assert figures["csv"] == figures["xml"] == figures["zip"]
    assert len(figures["csv"][1]) == len(EPISODES)


def test_undo_takes_the_whole_return_out(db, tmp_path):
    report = load(db, write_csvs(tmp_path / "903", the_return()))
    text = undo_load(report.load_id, who="test", db=db)
    assert "undone" in text
    assert mart(db, "placements_3plus", "la", AUTHORITY) == {}
    assert mart(db, "missing_episodes", "la", AUTHORITY) == {}
    with reading(db) as con:
        held = [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ssda903.TYPES]
    assert held == [0, 0, 0, 0]


def test_a_later_return_for_the_year_replaces_it_and_retires_what_it_no_longer_holds(db, tmp_path):
    first = load(db, write_csvs(tmp_path / "a", the_return()), as_of=date(2025, 4, 15))
    # The corrected return drops c8's episode (entered in error) and c5's move on 31 March.
    episodes = [e for e in EPISODES if e["CHILD"] != "c8" and e["DECOM"] != "31/03/2025"]
    episodes = [dict(e, DEC="", REC="") if (e["CHILD"], e["DECOM"]) == ("c5", "01/08/2024") else e for e in episodes]
    second = load(
        db,
        write_csvs(tmp_path / "b", the_return(Episodes=episodes, OC2=[r for r in OC2 if r["CHILD"] != "c8"])),
        as_of=date(2025, 5, 15),
    )
    assert second.outcome == "loaded", second.summary()
    assert second.retired == 3  # c8's episode, c5's 31 March episode and c8's OC2 row
    # 31 March 2025: c5 now has 2 placements: met c1 and c6 of 5.
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2025-03"] == (2, 5)
    undo_load(second.load_id, who="test", db=db)
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2025-03"] == (3, 5)
    with pytest.raises(ValueError, match="already undone"):
        undo_load(second.load_id, who="test", db=db)
    assert first.load_id < second.load_id


def test_teams_come_from_the_allocation_history(db, tmp_path):
    # c1 is allocated to Team C from 1 Jan 2025: its 31 March 2025 placement row counts for Team C; the
    # others stay Unallocated (2 of 4).
    add_records(
        db,
        "child_teams",
        [{"child_id": "c1", "team": "Team C", "from_date": date(2025, 1, 1)}],
        as_of=AS_OF,
        rebuild=False,
    )
    load(db, write_csvs(tmp_path / "903", the_return()))
    assert mart(db, "placements_3plus", "team", "Team C")["2025-03"] == (1, 1)
    assert mart(db, "placements_3plus", "team", "Unallocated")["2025-03"] == (2, 4)
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2025-03"] == (3, 5)
    # Before 1 Jan 2025 c1 had no team: August's rows are all Unallocated.
    assert "2024-08" not in mart(db, "placements_3plus", "team", "Team C")


def test_list_8_and_the_return_share_a_month_by_the_newer_as_of_date(db, tmp_path):
    # List 8 for March 2025, taken 31 March 2025: 2 children, 1 with 3+ placements by the council's own count.
    add_records(
        db,
        "children_in_care",
        [
            {"child_id": "x1", "team": "Team C", "care_start_date": date(2020, 1, 1), "placements_last_12m": 4},
            {"child_id": "x2", "team": "Team C", "care_start_date": date(2020, 1, 1), "placements_last_12m": 1},
        ],
        as_of=date(2025, 3, 31),
    )
    assert mart(db, "placements_3plus", "la", AUTHORITY) == {"2025-03": (1, 2)}
    # The return, taken 1 May 2025, is newer: it speaks for March 2025 (3 of 5, as above).
    report = load(db, write_csvs(tmp_path / "903", the_return()))
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2025-03"] == (3, 5)
    # Undone, List 8 speaks again.
    undo_load(report.load_id, who="test", db=db)
    assert mart(db, "placements_3plus", "la", AUTHORITY) == {"2025-03": (1, 2)}


def test_list_8_and_oc2_share_march_for_dental_checks_only(db, tmp_path):
    # List 8 of 31 March 2025: x1 in care since 2020, last dental check 1 Jan 2025 -> 1 of 1. Annual health
    # assessments for March 2025 given upstream (kpi_values): 5 of 10 for Team C.
    add_records(
        db,
        "children_in_care",
        [
            {
                "child_id": "x1",
                "team": "Team C",
                "care_start_date": date(2020, 1, 1),
                "last_dental_check_date": date(2025, 1, 1),
            }
        ],
        as_of=date(2025, 3, 31),
    )
    add_records(
        db,
        "kpi_values",
        [
            {
                "period": date(2025, 3, 1),
                "metric_id": "cla_health_assessments",
                "team": "Team C",
                "numerator": 5,
                "denominator": 10,
            }
        ],
        as_of=date(2025, 3, 31),
    )
    assert mart(db, "dental_up_to_date", "la", AUTHORITY) == {"2025-03": (1, 1)}
    assert mart(db, "cla_health_assessments", "la", AUTHORITY) == {"2025-03": (5, 10)}
    # The return (taken 1 May 2025) speaks for March: dental 3 of 5 from OC2, List 8's row gives way; annual health
    # assessments 3 of 5 from OC2, the figure given upstream gives way too (the records cover the month).
    load(db, write_csvs(tmp_path / "903", the_return()))
    assert mart(db, "dental_up_to_date", "la", AUTHORITY) == {"2025-03": (3, 5)}
    assert mart(db, "cla_health_assessments", "la", AUTHORITY) == {"2025-03": (3, 5)}
    # A List 8 of another month stays List 8's: the return has no dental figure for February.
    add_records(
        db,
        "children_in_care",
        [
            {
                "child_id": "x1",
                "team": "Team C",
                "care_start_date": date(2020, 1, 1),
                "last_dental_check_date": date(2024, 1, 1),
            }
        ],
        as_of=date(2025, 2, 28),
    )
    assert mart(db, "dental_up_to_date", "la", AUTHORITY) == {"2025-02": (0, 1), "2025-03": (3, 5)}


# ----- what is refused, and why --------------------------------------------------------------------------------


def reasons_of(report):
    return " | ".join(f.reason for f in report.findings)


def test_a_child_in_a_table_but_not_in_header_refuses_the_return(db, tmp_path):
    tables = the_return(Header=[header(c, BORN.get(c, "01/01/2012")) for c in CHILDREN if c != "c2"])
    report = load(db, write_csvs(tmp_path / "903", tables))
    assert report.outcome == "refused"
    reasons = reasons_of(report)
    assert "child c2: 903 rule INT03: the child is in Episodes but not in Header" in reasons
    assert "903 rule INT05" in reasons and "903 rule INT04" in reasons
    assert list(load_log(db)["outcome"])[-1] == "refused"
    assert mart(db, "placements_3plus", "la", AUTHORITY) == {}  # all or nothing


def test_broken_and_overlapping_episode_chains_are_errors(db, tmp_path):
    episodes = [
        *chain("c1", ("01/04/2024", "S", "U4")),  # open...
        ep("c1", "01/06/2024", "P", "U5"),  # ...when another starts: rule 142
        ep("c2", "01/01/2024", "S", "U4", "01/07/2024", "X1"),  # X1 but nothing starts on 1 July: rule 388
        ep("c5", "01/01/2024", "S", "U4", "01/08/2024", "X1"),
        ep("c5", "01/07/2024", "P", "U5"),  # starts before the previous ends: an overlap (rule 142)
    ]
    report = load(db, write_csvs(tmp_path / "903", the_return(Episodes=episodes, OC2=[])))
    assert report.outcome == "refused"
    reasons = reasons_of(report)
    assert "child c1: 903 rule 142: a new episode starts while the episode from 01/04/2024 has not ended" in reasons
    assert "child c2: 903 rule 388" in reasons
    assert "child c5: 903 rule 142: the episode overlaps the one from 01/01/2024" in reasons


@pytest.mark.parametrize(
    ("year", "place", "refused"),
    [
        ("2023/24", "K3", True),
        ("2024/25", "K3", False),
        ("2023/24", "H5", False),
        ("2024/25", "H5", True),
        ("2024/25", "Z1", False),
        ("2025/26", "Z1", True),
        ("2025/26", "Z12", False),
    ],
)
def test_placement_codes_are_the_collection_years(tmp_path, year, place, refused):
    first = ssda903.Year.parse(year).first
    tables = {
        "Header": [header("c1")],
        "Episodes": [ep("c1", f"01/05/{first}", "S", place)],
    }
    db = new_warehouse(tmp_path)
    report = load(db, write_csvs(tmp_path / "903", tables), as_of=date(first + 1, 5, 1), year=year)
    assert (report.outcome == "refused") is refused, report.summary()
    if refused:
        assert f"903 rule 146: not a PLACE code of the {year} return" in reasons_of(report)


def test_code_lists_by_year_apply_each_diff():
    codes = ssda903.codes
    assert {"H5", "P2"} <= codes(ssda903.Year(2023))["PLACE"] and "K3" not in codes(ssda903.Year(2023))["PLACE"]
    assert "K3" in codes(ssda903.Year(2024))["PLACE"] and "H5" not in codes(ssda903.Year(2024))["PLACE"]
    assert {"Z11", "Z14"} <= codes(ssda903.Year(2025))["PLACE"] and "Z1" not in codes(ssda903.Year(2025))["PLACE"]


def test_two_digit_years_and_impossible_dates_are_errors(tmp_path):
    episodes = [ep("c1", "01/05/24", "S", "U4"), ep("c2", "31/02/2024", "S", "U4")]
    db = new_warehouse(tmp_path)
    report = load(db, write_csvs(tmp_path / "903", {"Header": [header("c1"), header("c2")], "Episodes": episodes}))
    assert report.outcome == "refused"
    values = {(f.column, f.value) for f in report.findings if f.severity == "error"}
    assert ("decom", "01/05/24") in values and ("decom", "31/02/2024") in values


def test_a_return_without_header_or_episodes_is_refused_naming_what_is_missing(tmp_path):
    db = new_warehouse(tmp_path)
    tables = the_return()
    paths = write_csvs(tmp_path / "903", {"Episodes": tables["Episodes"], "OC2": tables["OC2"]})
    report = load(db, paths)
    assert report.outcome == "refused"
    assert "an SSDA903 return needs its Header table" in reasons_of(report)


def test_the_collection_year_defaults_to_the_as_of_dates(tmp_path):
    # Taken 15 Oct 2024 without --collection-year: the 2024/25 return; month ends April to September 2024.
    db = new_warehouse(tmp_path)
    tables = {"Header": [header("c1")], "Episodes": chain("c1", ("01/04/2024", "S", "U4"))}
    reports = load_files(write_csvs(tmp_path / "903", tables), as_of=date(2024, 10, 15), who="test", db=db)
    assert reports[0].outcome == "loaded", reports[0].summary()
    assert "read as the SSDA903 return for 2024/25" in reports[0].summary()
    assert sorted(mart(db, "placements_3plus", "la", AUTHORITY)) == [f"2024-{m:02d}" for m in range(4, 10)]


def test_an_inbox_pass_loads_a_returns_tables_dropped_together_as_one_return(tmp_path):
    from etl.ingest.inbox import process_inbox

    db = new_warehouse(tmp_path)
    inbox = tmp_path / "inbox"
    write_csvs(inbox, the_return())
    # No --collection-year in an inbox: the as-of date's year (31 March 2025: 2024/25).
    result = process_inbox(inbox, who="test", as_of=date(2025, 3, 31), db=db)
    assert [o.outcome for o in result.outcomes] == ["loaded"] * 5  # five files, one return
    assert list(load_log(db)["extract_type"]) == ["organisation", "ssda903"]
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2024-08"] == (1, 6)


def test_a_child_missing_twice_in_a_day_has_two_episodes(tmp_path):
    db = new_warehouse(tmp_path)
    twice = [dict(MISSING[0]), dict(MISSING[0], MIS_END="")]
    report = load(db, write_csvs(tmp_path / "903", the_return(Missing=twice)))
    assert report.outcome == "loaded", report.summary()
    assert mart(db, "missing_episodes", "la", AUTHORITY)["2024-06"] == (2, None)


def test_last_years_return_gives_the_12_month_look_back(db, tmp_path):
    # c9 came into care on 1 Oct 2023 and moved on 1 Jan and 15 Mar 2024. The 2024/25 return holds only the
    # placement open on 1 April 2024 (15 Mar 2024); the 2023/24 return holds all three.
    moves = chain("c9", ("01/10/2023", "S", "U4"), ("01/01/2024", "P", "U5"), ("15/03/2024", "P", "U6"))
    this_year = {"Header": [header("c9")], "Episodes": [moves[-1]]}
    last_year = {"Header": [header("c9")], "Episodes": moves}
    load(db, write_csvs(tmp_path / "2024-25", this_year))
    # 31 Aug 2024 from this year's alone: in care since 15 Mar 2024 as far as it says: 1 placement -> not met.
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2024-08"] == (0, 1)
    report = load(db, write_csvs(tmp_path / "2023-24", last_year), as_of=date(2024, 5, 1), year="2023/24")
    assert report.outcome == "loaded", report.summary()
    # With last year's: 3 placements in (31 Aug 2023, 31 Aug 2024] -> met; and 2023/24's own month ends appear
    # (31 March 2024: 3 placements since 1 Oct 2023 -> met).
    placements = mart(db, "placements_3plus", "la", AUTHORITY)
    assert placements["2024-08"] == (1, 1)
    assert placements["2024-03"] == (1, 1) and placements["2023-10"] == (0, 1)


def test_a_census_and_a_903_given_together_load_each_as_its_return(db, tmp_path):
    from cin_census_files import Episode, write_census

    from etl.ingest.load import preview_group

    # One census child B1 (a referral on 18 April 2024 with one assessment) and the 903's five tables.
    census = write_census(
        tmp_path,
        "cin.xml",
        date(2025, 3, 31),
        {"B1": [Episode(date(2024, 4, 18), assessments=[(date(2024, 4, 20), date(2024, 6, 27))])]},
    )
    given = [census, *write_csvs(tmp_path / "903", the_return())]
    previews = preview_group(given, as_of=AS_OF, db=db, collection_year=YEAR)
    # The census previewed list by list (its four modules), the 903 as one return; nothing committed.
    assert [p.extract_type for p in previews] == ["referrals", "assessments", "s47_enquiries", "cp_plans", "ssda903"]
    assert list(load_log(db)["extract_type"]) == ["organisation"]
    reports = load_files(given, as_of=AS_OF, who="test", db=db, collection_year=YEAR)
    assert [r.outcome for r in reports] == ["loaded", "loaded", "no change", "no change", "loaded"]
    assert list(load_log(db)["extract_type"]) == [
        "organisation",
        "referrals",
        "assessments",
        "s47_enquiries",
        "cp_plans",
        "ssda903",
    ]
    # The 903's figures as when it is loaded alone (test_the_return_loads_as_one_load_and_counts_by_each_rule).
    assert mart(db, "placements_3plus", "la", AUTHORITY)["2025-03"] == (3, 5)
