"""The CIN census in (docs/spec/returns.md): hand-made census files, one behaviour each, on both engines.

Working days counted by hand from a wall calendar; bank holidays: the Queen's funeral Mon 19 Sep 2022,
Early May Mon 1 May 2023, the coronation Mon 8 May 2023, Spring Mon 29 May 2023.
"""

from __future__ import annotations

from datetime import date

import pytest
from cin_census_files import Episode, write_census
from kpi_helpers import AUTHORITY, add_records, mart, new_warehouse

from etl.ingest.load import load_files, undo_load
from etl.store.warehouse import reading

Y2023 = date(2023, 3, 31)  # the census year 2022/23
Y2024 = date(2024, 3, 31)  # 2023/24
AS_OF = date(2024, 4, 30)


@pytest.fixture
def db(tmp_path, new_target):
    return new_warehouse(new_target(tmp_path))


def load(db, *paths, as_of=AS_OF):
    reports = load_files(list(paths), as_of=as_of, who="test", db=db)
    return reports


def loaded(reports):
    assert all(r.ok for r in reports), "\n".join(r.summary() for r in reports)
    return {r.extract_type: r for r in reports}


def rows(db, sql, params=None):
    with reading(db) as con:
        return con.execute(sql, params or []).fetchall()


def test_icpc_on_working_day_15_across_the_19_september_2022_bank_holiday(db, tmp_path):
    # S47 start Thu 1 Sep 2022 is day 0: Fri 2 (1), 5-9 (2-6), 12-16 (7-11), Mon 19 is the funeral,
    # 20-23 (12-15), Mon 26 (16). An ICPC on Fri 23 Sep is day 15 (met); on Mon 26 Sep, day 16 (late).
    children = {
        "A1": [Episode(date(2022, 8, 30), s47=[(date(2022, 9, 1), date(2022, 9, 23), "false")])],
        "A2": [Episode(date(2022, 8, 30), s47=[(date(2022, 9, 1), date(2022, 9, 26), "0")])],
    }
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2023, children)))
    # Counted in the month of the conference; no team in the census: Unallocated.
    assert mart(db, "icpc_15wd", "team", "Unallocated") == {"2022-09": (1, 2)}
    assert mart(db, "icpc_15wd", "la", AUTHORITY) == {"2022-09": (1, 2)}


def test_assessment_authorised_on_working_day_45_across_the_may_2023_bank_holidays(db, tmp_path):
    # Start Thu 20 Apr 2023 is day 0: Fri 21 (1), 24-28 (2-6), Mon 1 May holiday, 2-5 (7-10), Mon 8 May
    # holiday, 9-12 (11-14), 15-19 (15-19), 22-26 (20-24), Mon 29 May holiday, 30 May-2 Jun (25-28),
    # 5-9 (29-33), 12-16 (34-38), 19-23 (39-43), Mon 26 (44), Tue 27 (45), Wed 28 (46).
    children = {
        "B1": [Episode(date(2023, 4, 18), assessments=[(date(2023, 4, 20), date(2023, 6, 27))])],
        "B2": [Episode(date(2023, 4, 18), assessments=[(date(2023, 4, 20), date(2023, 6, 28))])],
    }
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, children)))
    assert mart(db, "assessments_45wd", "la", AUTHORITY) == {"2023-06": (1, 2)}
    # The census has no date the child was seen: children seen within 5 working days gets nothing from it.
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {}


def test_a_rereferral_12_months_after_a_referral_only_in_last_years_census(db, tmp_path):
    # C1's earlier referral (15 Jul 2022) closed in 2022/23, so only last year's census holds it; its
    # referral of 15 Jul 2023 is exactly 12 months later: a re-referral once both years are loaded.
    # C2's earlier referral (14 Jul 2022) is 12 months and a day before 15 Jul 2023: not a re-referral.
    last_year = {
        "C1": [Episode(date(2022, 7, 15), closure=date(2022, 9, 1))],
        "C2": [Episode(date(2022, 7, 14), closure=date(2022, 9, 1))],
    }
    this_year = {"C1": [Episode(date(2023, 7, 15))], "C2": [Episode(date(2023, 7, 15))]}
    loaded(load(db, write_census(tmp_path, "cin_2024.xml", Y2024, this_year)))
    assert mart(db, "rereferrals_12m", "la", AUTHORITY) == {"2023-07": (0, 2)}  # no look-back yet
    loaded(load(db, write_census(tmp_path, "cin_2023.xml", Y2023, last_year)))
    # A census loaded beside another year's changes nothing of that year: 2023/24 still holds both.
    assert mart(db, "rereferrals_12m", "la", AUTHORITY) == {"2022-07": (0, 2), "2023-07": (1, 2)}
    # Last year's census, loaded on 30 April 2024, is as of the end of its year: what it could know.
    dated = rows(db, "SELECT DISTINCT as_of FROM loads WHERE file_name LIKE 'cin_2023.xml%'")
    assert dated == [(date(2023, 3, 31),)]


def test_a_plan_with_one_previous_plan_is_a_second_or_subsequent_plan(db, tmp_path):
    # Plans starting in May 2023: D1's has one previous plan (subsequent), D2's none (a first plan).
    children = {
        "D1": [Episode(date(2023, 4, 3), plans=[(date(2023, 5, 2), None, 1)])],
        "D2": [Episode(date(2023, 4, 3), plans=[(date(2023, 5, 3), date(2023, 11, 1), 0)])],
    }
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, children)))
    assert mart(db, "repeat_cp_plans", "la", AUTHORITY) == {"2023-05": (1, 2)}


def test_booleans_true_false_1_0_in_any_case(db, tmp_path):
    # ICPCnotRequired: `true` and `1` (any case) mean no conference was needed: in no icpc_15wd row.
    # `false` and `0` with no conference, started Mon 2 Oct 2023: more than 15 working days before the
    # as-of date, so overdue (counted in no month, on the due list).
    start = date(2023, 10, 2)
    children = {
        f"E{i}": [Episode(date(2023, 10, 2), s47=[(start, None, word)])]
        for i, word in enumerate(("TRUE", "1", "False", "0"))
    }
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, children)))
    flags = rows(db, "SELECT child_id, icpc_not_required FROM s47_enquiries ORDER BY child_id")
    assert flags == [("E0", True), ("E1", True), ("E2", False), ("E3", False)]


def test_element_order_and_stray_text_are_tolerated(db, tmp_path):
    # The plan's elements in reverse order, ReferralNFA before the modules, and stray text in
    # ChildIdentifiers (as the national validator's own samples have it): read, and the stray text reported.
    path = write_census(
        tmp_path, "cin.xml", Y2024, {"F1": [Episode(date(2023, 5, 1), plans=[(date(2023, 5, 9), None, 2)])]}
    )
    text = path.read_text(encoding="utf-8")
    text = text.replace("<UPNunknown>UN1</UPNunknown>", "<UPNunknown>UN1</UPNunknown>PersonBirthDate")
    plan = text[text.index("<ChildProtectionPlans>") : text.index("</ChildProtectionPlans>")]
    lines = plan.splitlines()
    text = text.replace(plan, "\n".join([lines[0], *reversed(lines[1:])]) + "\n        ")
    path.write_text(text, encoding="utf-8")
    reports = loaded(load(db, path))
    assert rows(db, "SELECT child_id, cpp_start_date, previous_plans FROM cp_plans") == [("F1", date(2023, 5, 9), 2)]
    assert any("stray text" in f.reason for f in reports["referrals"].findings)


def test_a_census_with_errors_loads_nothing_and_lists_every_error_with_child_module_and_field(db, tmp_path):
    # G1's plan ends before it starts (rule 8925); G2's assessment was authorised before it started
    # (8608); G3's referral date has a two-digit year. The good records of the same census load neither.
    children = {
        "G1": [Episode(date(2023, 5, 1), plans=[(date(2023, 6, 1), date(2023, 5, 1), 0)])],
        "G2": [Episode(date(2023, 5, 1), assessments=[(date(2023, 6, 1), date(2023, 5, 31))])],
        "G3": [Episode(date(2023, 5, 5))],
        "G4": [Episode(date(2023, 5, 2), assessments=[(date(2023, 5, 3), date(2023, 5, 10))])],
    }
    path = write_census(tmp_path, "cin.xml", Y2024, children)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(">2023-05-05</CINreferralDate>", ">05/05/23</CINreferralDate>"), encoding="utf-8")
    reports = load(db, path)
    assert [r.outcome for r in reports] == ["refused"] * 4
    errors = [f.reason for r in reports for f in r.findings if f.severity == "error"]
    assert any("CIN rule 8925" in e and "child 'G1'" in e and "ChildProtectionPlans.CPPendDate" in e for e in errors)
    assert any(
        "CIN rule 8608" in e and "child 'G2'" in e and "Assessments.AssessmentAuthorisationDate" in e for e in errors
    )
    assert any("not a date written yyyy-mm-dd" in e and "CINdetails.CINreferralDate" in e for e in errors)
    assert sum("a return loads whole or not at all" in e for e in errors) >= 1
    assert rows(db, "SELECT count(*) FROM assessments") == [(0,)]
    assert rows(db, "SELECT count(*) FROM referrals") == [(0,)]


def test_an_amended_census_replaces_its_year_and_undo_brings_the_first_back(db, tmp_path):
    # The first census holds H1 (May 2023) and H2 (June 2023); the amended one corrects H1's date to
    # 2 May and drops H2 (entered in error). Its year's referrals become exactly the amended census's.
    first = {"H1": [Episode(date(2023, 5, 1))], "H2": [Episode(date(2023, 6, 1))]}
    amended = {"H1": [Episode(date(2023, 5, 2))]}
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, first)))
    # A referral from last year, which the amended census does not hold, is outside its year: it stays.
    add_records(db, "referrals", [{"child_id": "H9", "team": "Team A", "referral_date": date(2023, 3, 1)}], as_of=Y2023)
    reports = loaded(load(db, write_census(tmp_path, "cin_amended.xml", Y2024, amended)))
    assert reports["referrals"].retired == 2  # H1 on 1 May and H2: not in the census of their year
    held = rows(db, "SELECT child_id, referral_date FROM referrals ORDER BY referral_date")
    assert held == [("H9", date(2023, 3, 1)), ("H1", date(2023, 5, 2))]
    assert mart(db, "rereferrals_12m", "la", AUTHORITY) == {"2023-03": (0, 1), "2023-05": (0, 1)}
    undo_load(reports["referrals"].load_id, who="test", db=db)
    held = rows(db, "SELECT child_id, referral_date FROM referrals ORDER BY referral_date")
    assert held == [("H9", date(2023, 3, 1)), ("H1", date(2023, 5, 1)), ("H2", date(2023, 6, 1))]


def test_undoing_one_list_of_a_census_undoes_the_whole_return(db, tmp_path):
    # One child, referred 1 May 2023 with an assessment started 2 May: the census's referrals and assessments
    # lists are two loads of one batch. Undoing the referrals' load takes the assessment too, and the log
    # says both loads were undone: a return comes out as it went in, whole.
    census = {"U1": [Episode(date(2023, 5, 1), assessments=[(date(2023, 5, 2), None)])]}
    reports = loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, census)))
    assert rows(db, "SELECT child_id FROM assessments") == [("U1",)]
    undo_load(reports["referrals"].load_id, who="test", db=db)
    assert rows(db, "SELECT child_id FROM referrals") == []
    assert rows(db, "SELECT child_id FROM assessments") == []
    undone = rows(db, "SELECT extract_type FROM loads WHERE outcome = 'undone' ORDER BY extract_type")
    assert ("assessments",) in undone and ("referrals",) in undone


def test_a_census_over_an_extract_keeps_the_team_and_seen_date_it_does_not_carry(db, tmp_path):
    # The assessments extract gave J1's assessment Team B and a seen date; the census holds the same
    # assessment (same child and start) and adds J2's, which no extract has: Unallocated.
    add_records(
        db,
        "assessments",
        [
            {
                "child_id": "J1",
                "team": "Team B",
                "assessment_start_date": date(2023, 5, 2),
                "child_seen_date": date(2023, 5, 4),
                "assessment_completed_date": date(2023, 6, 1),
            }
        ],
        as_of=date(2023, 6, 30),
    )
    children = {
        "J1": [Episode(date(2023, 5, 1), assessments=[(date(2023, 5, 2), date(2023, 6, 1))])],
        "J2": [Episode(date(2023, 5, 1), assessments=[(date(2023, 5, 2), date(2023, 6, 1))])],
    }
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, children)))
    assert mart(db, "assessments_45wd", "team", "Team B") == {"2023-06": (1, 1)}
    assert mart(db, "assessments_45wd", "team", "Unallocated") == {"2023-06": (1, 1)}
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {"2023-05": (1, 1)}  # J1's seen date kept; J2 not timed


def test_a_census_attributes_records_to_teams_by_the_allocation_history(db, tmp_path):
    # K1 is allocated to Team A from 1 Apr 2023; its referral of 3 Jul 2023 counts for Team A.
    add_records(db, "child_teams", [{"child_id": "K1", "team": "Team A", "from_date": date(2023, 4, 1)}], as_of=AS_OF)
    loaded(load(db, write_census(tmp_path, "cin.xml", Y2024, {"K1": [Episode(date(2023, 7, 3))]})))
    assert mart(db, "rereferrals_12m", "team", "Team A") == {"2023-07": (0, 1)}


@pytest.mark.parametrize(
    "prolog",
    [
        # Billion laughs: entities that expand to gigabytes if ever resolved.
        '<?xml version="1.0"?>\n<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>\n',
        # An external entity: a file on this machine, or a URL.
        '<?xml version="1.0"?>\n<!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
    ],
)
def test_xml_that_declares_entities_is_refused_unread(db, tmp_path, prolog):
    path = tmp_path / "bomb.xml"
    path.write_text(
        prolog + "<Message><Children><Child><ChildIdentifiers><LAchildID>&d;</LAchildID>"
        "</ChildIdentifiers></Child></Children></Message>\n",
        encoding="utf-8",
    )
    [report] = load(db, path)
    assert report.outcome == "refused"
    assert "declares a document type or entities" in report.findings[0].reason
    assert rows(db, "SELECT count(*) FROM referrals") == [(0,)]


def test_a_census_in_the_inbox_loads_and_a_broken_one_is_rejected(db, tmp_path):
    from etl.ingest.inbox import process_inbox

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_census(inbox, "cin_2023-24.xml", Y2024, {"L1": [Episode(date(2023, 7, 3))]})
    (inbox / "cin_broken.xml").write_text("<Message><Children><Child>", encoding="utf-8")
    result = process_inbox(inbox, who="test", as_of=AS_OF, db=db)
    outcomes = {o.file_name: o.outcome for o in result.outcomes}
    assert outcomes["cin_2023-24.xml"] == "loaded"
    assert outcomes["cin_broken.xml"] == "refused"
    assert rows(db, "SELECT child_id FROM referrals") == [("L1",)]


def test_a_census_previewed_commits_nothing(db, tmp_path):
    from etl.ingest.load import preview_files

    path = write_census(
        tmp_path, "cin.xml", Y2024, {"M1": [Episode(date(2023, 7, 3), plans=[(date(2023, 7, 5), None, 1)])]}
    )
    reports = preview_files(path, as_of=AS_OF, db=db)
    assert [(r.extract_type, r.outcome, r.added) for r in reports] == [
        ("referrals", "preview", 1),
        ("assessments", "preview", 0),
        ("s47_enquiries", "preview", 0),
        ("cp_plans", "preview", 1),
    ]
    assert rows(db, "SELECT count(*) FROM referrals") == [(0,)]
