"""The KPI rules of docs/spec/kpis.md on hand-made records.

Every expected figure is worked out by hand from a wall calendar (the working is
in the comments); none is copied from the code under test. Bank holidays used:
Early May 1 May 2023, the coronation 8 May 2023, Spring 29 May 2023, Summer
28 August 2023 (all Mondays).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from kpi_helpers import AUTHORITY, add_records, mart, new_warehouse

from etl.rules import kpis
from etl.store.warehouse import reading, writer


@pytest.fixture
def db(tmp_path, new_target):
    """Every rule on both engines (conftest's `engine`): the same SQL must give the same answers."""
    return new_warehouse(new_target(tmp_path))


def assessment(child, team, start, seen=None, completed=None):
    return {
        "child_id": child,
        "team": team,
        "assessment_start_date": start,
        "child_seen_date": seen,
        "assessment_completed_date": completed,
    }


# --- assessments within 45 working days ------------------------------------------


def test_45_working_days_across_the_may_2023_bank_holidays(db):
    # Start Mon 17 Apr 2023 (day 0). Working days after it:
    #   18-21 Apr: 4 (4); 24-28 Apr: 5 (9); 1 May bank holiday, 2-5 May: 4 (13);
    #   8 May coronation, 9-12 May: 4 (17); 15-19 May: 5 (22); 22-26 May: 5 (27);
    #   29 May bank holiday, 30 May-2 Jun: 4 (31); 5-9 Jun: 5 (36); 12-16 Jun: 5 (41);
    #   19 Jun 42, 20 Jun 43, 21 Jun 44, Thu 22 Jun 45, Fri 23 Jun 46.
    # Completed 19 Jun (42) and 22 Jun (45) are met; 23 Jun (46) is not. (Counting
    # weekdays only, ignoring the three holidays, 22 Jun would be day 48 and fail.)
    add_records(
        db,
        "assessments",
        [
            assessment("c1", "Team A", date(2023, 4, 17), completed=date(2023, 6, 19)),
            assessment("c2", "Team A", date(2023, 4, 17), completed=date(2023, 6, 22)),
            assessment("c3", "Team A", date(2023, 4, 17), completed=date(2023, 6, 23)),
            # Still open: not counted by a completion-anchored KPI, however late.
            assessment("c4", "Team A", date(2023, 4, 17)),
        ],
        as_of=date(2023, 7, 31),
    )
    assert mart(db, "assessments_45wd", "team", "Team A") == {"2023-06": (2, 3)}


def test_assessment_counted_in_the_month_it_was_completed(db):
    # Start Thu 1 Jun 2023. June has 22 weekdays and no bank holiday: 21 after the
    # 1st; July has 21 weekdays: 31 Jul is day 42, Tue 1 Aug is day 43; both met.
    # The anchor is the completion date: 31 July counts in July, 1 August in August.
    add_records(
        db,
        "assessments",
        [
            assessment("c1", "Team A", date(2023, 6, 1), completed=date(2023, 7, 31)),
            assessment("c2", "Team A", date(2023, 6, 1), completed=date(2023, 8, 1)),
        ],
        as_of=date(2023, 8, 31),
    )
    assert mart(db, "assessments_45wd", "team", "Team A") == {"2023-07": (1, 1), "2023-08": (1, 1)}


# --- children seen within 5 working days -----------------------------------------


def test_seen_within_5_working_days_at_day_5_and_day_6(db):
    # Start Wed 3 May 2023: Thu 4 = 1, Fri 5 = 2, Mon 8 May is the coronation holiday,
    # Tue 9 = 3, Wed 10 = 4, Thu 11 = 5, Fri 12 = 6. Seen on the 11th: met; the 12th: not.
    add_records(
        db,
        "assessments",
        [
            assessment("c1", "Team A", date(2023, 5, 3), seen=date(2023, 5, 11)),
            assessment("c2", "Team A", date(2023, 5, 3), seen=date(2023, 5, 12)),
        ],
        as_of=date(2023, 7, 31),
    )
    assert mart(db, "seen_5wd", "team", "Team A") == {"2023-05": (1, 2)}


def test_not_seen_yet_is_left_out_until_the_deadline_has_passed_by_the_as_of_date(db):
    # Start Wed 26 Jul 2023: Thu 27 = 1, Fri 28 = 2, Mon 31 = 3, Tue 1 Aug = 4,
    # Wed 2 Aug = 5, Thu 3 Aug = 6. Not seen:
    #   Team A's extract is as of 2 Aug (day 5): a visit that day would still be in
    #   time, so not yet due and left out (no July row: nothing counted);
    #   Team B's extract is as of 3 Aug (day 6): the deadline has passed, not met (0/1).
    add_records(db, "assessments", [assessment("c1", "Team A", date(2023, 7, 26))], as_of=date(2023, 8, 2))
    add_records(db, "assessments", [assessment("c2", "Team B", date(2023, 7, 26))], as_of=date(2023, 8, 3))
    assert mart(db, "seen_5wd", "team", "Team A") == {}
    assert mart(db, "seen_5wd", "team", "Team B") == {"2023-07": (0, 1)}
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {"2023-07": (0, 1)}


# --- initial health assessments within 20 working days ---------------------------


def test_iha_20_working_days_across_the_august_2023_bank_holiday(db):
    # Care starts Mon 14 Aug 2023: 15-18 Aug = 4, 21-25 Aug = 5 (9), Mon 28 Aug bank
    # holiday, 29 Aug-1 Sep = 4 (13), 4-8 Sep = 5 (18), Mon 11 Sep = 19, Tue 12 Sep = 20,
    # Wed 13 Sep = 21. IHA on the 12th: met; on the 13th: not met.
    rows = [
        {"child_id": "c1", "team": "Team C", "care_start_date": date(2023, 8, 14), "iha_date": date(2023, 9, 12)},
        {"child_id": "c2", "team": "Team C", "care_start_date": date(2023, 8, 14), "iha_date": date(2023, 9, 13)},
    ]
    add_records(db, "health_assessments", rows, as_of=date(2023, 9, 30))
    assert mart(db, "iha_20wd", "team", "Team C") == {"2023-08": (1, 2)}


def test_iha_not_done_is_not_yet_due_on_day_20_and_late_on_day_21(db):
    # Same start (Mon 14 Aug 2023): Tue 12 Sep is day 20, Wed 13 Sep day 21.
    # As of 12 Sep the IHA can still be done in time: left out. As of 13 Sep: not met.
    add_records(
        db,
        "health_assessments",
        [{"child_id": "c1", "team": "Team C", "care_start_date": date(2023, 8, 14)}],
        as_of=date(2023, 9, 12),
    )
    assert mart(db, "iha_20wd", "team", "Team C") == {}
    add_records(
        db,
        "health_assessments",
        [{"child_id": "c2", "team": "Team D", "care_start_date": date(2023, 8, 14)}],
        as_of=date(2023, 9, 13),
    )
    assert mart(db, "iha_20wd", "team", "Team D") == {"2023-08": (0, 1)}


# --- return home interviews within 72 hours and missing episodes -----------------


def episode(episode_id, team, missing, returned=None, rhi=None):
    return {
        "child_id": f"child-{episode_id}",
        "team": team,
        "episode_id": episode_id,
        "missing_start": missing,
        "returned_at": returned,
        "rhi_completed_at": rhi,
    }


def test_rhi_exactly_72_hours_is_met_and_72_hours_and_a_minute_is_not(db):
    # Returned Mon 10 Jul 2023 09:00; 72 hours later is Thu 13 Jul 09:00.
    # RHI at 09:00: met; at 09:01: not met. Returned Fri 24 Mar 2023 10:00, RHI Mon
    # 27 Mar 10:00: the clocks went forward on the 26th, so only 71 hours passed, but
    # the rule compares wall-clock times: 72 hours, met. March: 1/1; July: 1/2.
    add_records(
        db,
        "missing_episodes",
        [
            episode("e1", "Team A", datetime(2023, 7, 9, 20), datetime(2023, 7, 10, 9), datetime(2023, 7, 13, 9)),
            episode("e2", "Team A", datetime(2023, 7, 9, 20), datetime(2023, 7, 10, 9), datetime(2023, 7, 13, 9, 1)),
            episode("e3", "Team A", datetime(2023, 3, 23, 22), datetime(2023, 3, 24, 10), datetime(2023, 3, 27, 10)),
        ],
        as_of=date(2023, 7, 31),
    )
    assert mart(db, "rhi_72h", "team", "Team A") == {"2023-03": (1, 1), "2023-07": (1, 2)}


def test_rhi_not_done_is_left_out_until_72_hours_have_passed_by_the_as_of_date(db):
    # Returned Sun 30 Jul 2023 12:00: the 72 hours run out Wed 2 Aug 12:00.
    # Team A's extract as of 1 Aug: not yet due, left out. Team B's as of 3 Aug: the
    # deadline passed before that day began: not met (0/1). Still missing (no return):
    # not in rhi_72h at all, but counted as a missing episode.
    add_records(
        db,
        "missing_episodes",
        [episode("e1", "Team A", datetime(2023, 7, 29, 18), datetime(2023, 7, 30, 12))],
        as_of=date(2023, 8, 1),
    )
    add_records(
        db,
        "missing_episodes",
        [
            episode("e2", "Team B", datetime(2023, 7, 29, 18), datetime(2023, 7, 30, 12)),
            episode("e3", "Team B", datetime(2023, 7, 30, 18)),
        ],
        as_of=date(2023, 8, 3),
    )
    assert mart(db, "rhi_72h", "team", "Team A") == {}
    assert mart(db, "rhi_72h", "team", "Team B") == {"2023-07": (0, 1)}
    # The extracts, taken up to 3 August, cover July and August: August's count is 0, not "no data".
    assert mart(db, "missing_episodes", "team", "Team B") == {"2023-07": (2, None), "2023-08": (0, None)}


def test_missing_episodes_counted_in_the_month_the_child_went_missing(db):
    # Missing 31 Jul 23:00, back 1 Aug 01:00, RHI 2 Aug: the episode counts in July
    # (missing_start) and its RHI in August (returned_at). Two more in August.
    add_records(
        db,
        "missing_episodes",
        [
            episode("e1", "Team A", datetime(2023, 7, 31, 23), datetime(2023, 8, 1, 1), datetime(2023, 8, 2, 10)),
            episode("e2", "Team A", datetime(2023, 8, 5, 23)),
            episode("e3", "Team C", datetime(2023, 8, 6, 23)),
        ],
        as_of=date(2023, 8, 31),
    )
    assert mart(db, "missing_episodes", "team", "Team A") == {"2023-07": (1, None), "2023-08": (1, None)}
    # Counts roll up like numerators: Northern = Team A + Team C; the authority all.
    assert mart(db, "missing_episodes", "area", "Northern") == {"2023-07": (1, None), "2023-08": (2, None)}
    assert mart(db, "rhi_72h", "team", "Team A") == {"2023-08": (1, 1)}


# --- re-referrals within 12 months ------------------------------------------------


def test_rereferral_at_exactly_12_months_counts_and_a_day_more_does_not(db):
    # c1: 15 Jul 2022 then 15 Jul 2023: 15 Jul 2023 - 12 months = 15 Jul 2022, on or
    #     after it: a re-referral.
    # c2: 14 Jul 2022 then 15 Jul 2023: 12 months and a day: not.
    # c3: 28 Feb 2023 then 29 Feb 2024: 29 Feb 2024 - 12 months = 28 Feb 2023: a re-referral.
    # c4: 27 Feb 2023 then 29 Feb 2024: a day too early: not.
    # The earlier referrals come from an older load: the child's whole loaded history counts.
    add_records(
        db,
        "referrals",
        [
            {"child_id": "c1", "team": "Team A", "referral_date": date(2022, 7, 15)},
            {"child_id": "c2", "team": "Team A", "referral_date": date(2022, 7, 14)},
            {"child_id": "c3", "team": "Team A", "referral_date": date(2023, 2, 28)},
            {"child_id": "c4", "team": "Team A", "referral_date": date(2023, 2, 27)},
        ],
        as_of=date(2023, 3, 31),
    )
    add_records(
        db,
        "referrals",
        [
            {"child_id": "c1", "team": "Team A", "referral_date": date(2023, 7, 15)},
            {"child_id": "c2", "team": "Team B", "referral_date": date(2023, 7, 15)},
            {"child_id": "c3", "team": "Team A", "referral_date": date(2024, 2, 29)},
            {"child_id": "c4", "team": "Team A", "referral_date": date(2024, 2, 29)},
        ],
        as_of=date(2024, 3, 31),
    )
    # First referrals count in the denominator only: Jul 2022 0/2, Feb 2023 0/2.
    assert mart(db, "rereferrals_12m", "team", "Team A") == {
        "2022-07": (0, 2),
        "2023-02": (0, 2),
        "2023-07": (1, 1),
        "2024-02": (1, 2),
    }
    assert mart(db, "rereferrals_12m", "team", "Team B") == {"2023-07": (0, 1)}
    assert mart(db, "rereferrals_12m", "la", AUTHORITY)["2023-07"] == (1, 2)


# --- pooling and roll-up ----------------------------------------------------------


def test_service_pools_numerators_and_denominators_never_averages(db):
    # Team A: 1 of 1 met (100%); Team B: 1 of 3 met (33.3%). Both are in Assessment and
    # Intervention: the service is 2/4 = 50%, not the 66.7% mean of the two percentages.
    # Start Mon 3 Jul 2023; completed Fri 7 Jul (day 4, met) or Mon 2 Oct (far later, not met).
    met, late = date(2023, 7, 7), date(2023, 10, 2)
    add_records(
        db,
        "assessments",
        [
            assessment("a1", "Team A", date(2023, 7, 3), seen=met, completed=met),
            assessment("b1", "Team B", date(2023, 7, 3), seen=met, completed=met),
            assessment("b2", "Team B", date(2023, 7, 3), seen=late, completed=late),
            assessment("b3", "Team B", date(2023, 7, 3), seen=late, completed=late),
        ],
        as_of=date(2023, 10, 31),
    )
    assert mart(db, "seen_5wd", "team", "Team A") == {"2023-07": (1, 1)}
    assert mart(db, "seen_5wd", "team", "Team B") == {"2023-07": (1, 3)}
    assert mart(db, "seen_5wd", "service", "Assessment and Intervention") == {"2023-07": (2, 4)}
    # Areas cut across services: Northern holds Team A, Central Team B.
    assert mart(db, "seen_5wd", "area", "Northern") == {"2023-07": (1, 1)}
    assert mart(db, "seen_5wd", "area", "Central") == {"2023-07": (1, 3)}
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {"2023-07": (2, 4)}


def kpi_value(period, metric_id, unit, numerator, denominator=None):
    return {"period": period, "metric_id": metric_id, "team": unit, "numerator": numerator, "denominator": denominator}


def test_kpi_values_roll_up_from_teams_and_a_direct_row_overrides_its_unit(db):
    # July 2023, pathway_plans: Team A 3/4, Team B 1/4, Team C 5/10.
    #   Assessment and Intervention (A, B) = 4/8; Children We Care For (C) = 5/10;
    #   Central (B) = 1/4; the authority = 9/18.
    # A row given for Northern (A and C would give 8/14) says 9/10: it replaces the
    # roll-up for Northern only; the authority still sums the teams.
    # homeless_16_17 is a count: numerators add up, no denominator.
    july = date(2023, 7, 1)
    add_records(
        db,
        "kpi_values",
        [
            kpi_value(july, "pathway_plans", "Team A", 3, 4),
            kpi_value(july, "pathway_plans", "Team B", 1, 4),
            kpi_value(july, "pathway_plans", "Team C", 5, 10),
            kpi_value(july, "pathway_plans", "Northern", 9, 10),
            kpi_value(july, "homeless_16_17", "Team A", 2),
            kpi_value(july, "homeless_16_17", "Team D", 3),
            # A direct row for the authority overrides its roll-up (2 + 3 = 5) too.
            kpi_value(july, "homeless_16_17", AUTHORITY, 19),
            # A metric counted from records: with no assessment records loaded, the row fills the month.
            kpi_value(july, "assessments_45wd", "Team A", 1, 1),
        ],
        as_of=date(2023, 8, 5),
    )
    assert mart(db, "pathway_plans", "service", "Assessment and Intervention") == {"2023-07": (4, 8)}
    assert mart(db, "pathway_plans", "service", "Children We Care For") == {"2023-07": (5, 10)}
    assert mart(db, "pathway_plans", "area", "Central") == {"2023-07": (1, 4)}
    assert mart(db, "pathway_plans", "area", "Northern") == {"2023-07": (9, 10)}
    assert mart(db, "pathway_plans", "la", AUTHORITY) == {"2023-07": (9, 18)}
    assert mart(db, "homeless_16_17", "area", "Central") == {"2023-07": (3, None)}
    assert mart(db, "homeless_16_17", "la", AUTHORITY) == {"2023-07": (19, None)}
    assert mart(db, "assessments_45wd", "team", "Team A") == {"2023-07": (1, 1)}


# --- audits -------------------------------------------------------------------------


def audit(audit_id, team, day, audit_type, grade, moderated=None):
    return {
        "audit_id": audit_id,
        "child_id": f"child-{audit_id}",
        "team": team,
        "audit_date": day,
        "audit_type": audit_type,
        "grade": grade,
        "moderated_grade": moderated,
    }


def test_audit_metrics_count_moderated_audits_by_moderated_grade(db):
    # Team A, July 2023:
    #   1 management_oversight Inadequate -> moderated Good        (good or better)
    #   2 management_oversight Good -> moderated Requires Improvement (not)
    #   3 management_oversight Good, not moderated                  (left out)
    #   4 assessment Good -> Outstanding                           (good or better)
    #   5 leaving_care_planning RI -> RI                           (not)
    # mo_audits_good 1/2, assessment_audits_good 1/1, lc_audits_good 0/1,
    # audits_good (every type, moderated only) 2/4.
    d = date(2023, 7, 12)
    add_records(
        db,
        "case_audits",
        [
            audit("1", "Team A", d, "management_oversight", "Inadequate", "Good"),
            audit("2", "Team A", d, "management_oversight", "Good", "Requires Improvement"),
            audit("3", "Team A", d, "management_oversight", "Good"),
            audit("4", "Team A", d, "assessment", "Good", "Outstanding"),
            audit("5", "Team A", d, "leaving_care_planning", "Requires Improvement", "Requires Improvement"),
        ],
        as_of=date(2023, 7, 31),
    )
    assert mart(db, "mo_audits_good", "team", "Team A") == {"2023-07": (1, 2)}
    assert mart(db, "assessment_audits_good", "team", "Team A") == {"2023-07": (1, 1)}
    assert mart(db, "lc_audits_good", "team", "Team A") == {"2023-07": (0, 1)}
    assert mart(db, "audits_good", "team", "Team A") == {"2023-07": (2, 4)}


# --- rebuild --------------------------------------------------------------------------


def test_rebuild_of_one_source_leaves_the_other_metrics_alone(db):
    # One assessment (seen day 4, completed day 4: 1/1 for both assessment KPIs) and
    # one pathway_plans value. Emptying the assessments table and rebuilding only
    # the assessments source removes the assessment rows and keeps the kpi_values one.
    day = date(2023, 7, 7)
    add_records(db, "assessments", [assessment("a1", "Team A", date(2023, 7, 3), day, day)], as_of=date(2023, 7, 31))
    add_records(
        db, "kpi_values", [kpi_value(date(2023, 7, 1), "pathway_plans", "Team A", 3, 4)], as_of=date(2023, 8, 1)
    )
    assert mart(db, "assessments_45wd", "team", "Team A") == {"2023-07": (1, 1)}
    with writer(db) as con:
        con.execute("DELETE FROM assessments")
        kpis.rebuild(con, sources=["assessments"])
    assert mart(db, "assessments_45wd", "team", "Team A") == {}
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {}
    assert mart(db, "pathway_plans", "team", "Team A") == {"2023-07": (3, 4)}
    with reading(db) as con:
        levels = con.execute("SELECT DISTINCT level FROM kpi_monthly ORDER BY level").fetchall()
    assert levels == [("area",), ("la",), ("service",), ("team",)]


def test_rebuild_refuses_an_unknown_source(db):
    with pytest.raises(ValueError, match="unknown KPI source"), writer(db) as con:
        kpis.rebuild(con, sources=["assesments"])
