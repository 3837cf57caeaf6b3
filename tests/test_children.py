"""Child lists and the due list on hand-made records, every row worked out by hand.

The organisation is kpi_helpers.ORG: Teams A and B in Assessment and
Intervention, C and D in Children We Care For. Bank holidays that matter:
Early May 1 May 2023, the coronation Mon 8 May 2023, Spring 29 May 2023.

Assessments (working days after the start; the start is day 0):
  a1 Team A, start Wed 3 May 2023: 4 May 1, 5 May 2, (8 May holiday) 9-12 May 3-6 ...
     seen Thu 11 May = day 5: seen_5wd met (deadline 11 May). Completed Fri 7 Jul:
     15-19 May 7-11, 22-26 May 12-16, (29 May) 30 May-2 Jun 17-20, 5-9 Jun 21-25,
     12-16 Jun 26-30, 19-23 Jun 31-35, 26-30 Jun 36-40, 3-7 Jul 41-45: day 45, met.
  a2 Team A, start Wed 3 May: seen Fri 12 May = day 6, late; completed Mon 10 Jul = day 46, late.
  a3 Team B, start Wed 26 Jul: 27 Jul 1, 28 Jul 2, 31 Jul 3, 1 Aug 4, Wed 2 Aug 5 (the
     deadline), Thu 3 Aug 6. Not seen; its load is as of 2 Aug: not yet due (day 5).
  a4 Team C, same start, not seen; its load is as of 3 Aug: day 6, overdue.
  a5 Team A, start Mon 31 Jul (a month end): 1-4 Aug 1-4, Mon 7 Aug 5: seen 7 Aug, met, in July.
  a6 Team D, start Mon 5 Jun, seen Tue 6 Jun (day 1, met, June); open: 45 working days
     end Mon 7 Aug (6-9 Jun 4, then 5 a week to 28 Jul = 39, 31 Jul 40 ... 4 Aug 44, 7 Aug 45).
Initial health assessments (care starts Mon 14 Aug 2023; 12 Sep is day 20, 13 Sep day 21), as of 12 Sep:
  h1 Team C IHA 12 Sep met; h2 Team C IHA 13 Sep late; h3 Team D none: not yet due.
Missing episodes, as of Fri 4 Aug 2023 (72 hours, wall clock):
  m1 Team A returned Mon 31 Jul 10:00, RHI Thu 3 Aug 10:00: exactly 72 hours, met.
  m2 Team A returned 31 Jul 23:00, RHI 3 Aug 23:01: late.
  m3 Team B returned Tue 1 Aug 12:00, no RHI: deadline 4 Aug 12:00 is not before 4 Aug began: not yet due.
  m4 Team B returned 31 Jul 09:00, no RHI: deadline 3 Aug 09:00, before 4 Aug: overdue.
  m5 Team C went missing 2 Aug, not returned: counted among August's episodes, no RHI yet.
Referrals: k1 Team A 15 Jul 2022 then 15 Jul 2023 (12 months before is 15 Jul 2022: a
  re-referral, "met"); k2 Team B 14 Jul 2022 then 15 Jul 2023 (one day outside: "not met").
Case audits, July 2023: au1 Team A assessment moderated Good (met); au2 Team A management
  oversight moderated RI, Requires Improvement (not met); au3 Team B not moderated (not counted).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from kpi_helpers import AUTHORITY, add_records, new_warehouse

from etl.catalogue.metrics import catalogue
from etl.privacy import access, access_log, children
from etl.rules import kpis
from etl.serve import queries
from etl.store.warehouse import reading


def _a(child, team, start, seen=None, completed=None):
    return {
        "child_id": child,
        "team": team,
        "assessment_start_date": start,
        "child_seen_date": seen,
        "assessment_completed_date": completed,
    }


def _m(episode, child, team, missing, returned=None, rhi=None):
    return {
        "episode_id": episode,
        "child_id": child,
        "team": team,
        "missing_start": missing,
        "returned_at": returned,
        "rhi_completed_at": rhi,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory, module_target):
    """Both engines (conftest's `module_engine`): the child lists' SQL must give the same lists on each."""
    path = new_warehouse(module_target(tmp_path_factory.mktemp("children")))
    add_records(
        path,
        "assessments",
        [
            _a("a1", "Team A", date(2023, 5, 3), date(2023, 5, 11), date(2023, 7, 7)),
            _a("a2", "Team A", date(2023, 5, 3), date(2023, 5, 12), date(2023, 7, 10)),
            {**_a("a3", "Team B", date(2023, 7, 26)), "worker": "Worker 12"},
            _a("a5", "Team A", date(2023, 7, 31), date(2023, 8, 7)),
            _a("a6", "Team D", date(2023, 6, 5), date(2023, 6, 6)),
        ],
        as_of=date(2023, 8, 2),
        rebuild=False,
    )
    add_records(path, "assessments", [_a("a4", "Team C", date(2023, 7, 26))], as_of=date(2023, 8, 3), rebuild=False)
    add_records(
        path,
        "health_assessments",
        [
            {"child_id": "h1", "team": "Team C", "care_start_date": date(2023, 8, 14), "iha_date": date(2023, 9, 12)},
            {"child_id": "h2", "team": "Team C", "care_start_date": date(2023, 8, 14), "iha_date": date(2023, 9, 13)},
            {"child_id": "h3", "team": "Team D", "care_start_date": date(2023, 8, 14)},
        ],
        as_of=date(2023, 9, 12),
        rebuild=False,
    )
    add_records(
        path,
        "missing_episodes",
        [
            _m("e1", "m1", "Team A", datetime(2023, 7, 28, 20), datetime(2023, 7, 31, 10), datetime(2023, 8, 3, 10)),
            _m("e2", "m2", "Team A", datetime(2023, 7, 30, 8), datetime(2023, 7, 31, 23), datetime(2023, 8, 3, 23, 1)),
            _m("e3", "m3", "Team B", datetime(2023, 8, 1, 9), datetime(2023, 8, 1, 12)),
            {**_m("e4", "m4", "Team B", datetime(2023, 7, 30, 8), datetime(2023, 7, 31, 9)), "worker": "SW0412"},
            _m("e5", "m5", "Team C", datetime(2023, 8, 2, 10)),
        ],
        as_of=date(2023, 8, 4),
        rebuild=False,
    )
    add_records(
        path,
        "referrals",
        [
            {"child_id": "k1", "team": "Team A", "referral_date": date(2022, 7, 15)},
            {"child_id": "k1", "team": "Team A", "referral_date": date(2023, 7, 15)},
            {"child_id": "k2", "team": "Team B", "referral_date": date(2022, 7, 14)},
            {"child_id": "k2", "team": "Team B", "referral_date": date(2023, 7, 15)},
        ],
        as_of=date(2023, 8, 4),
        rebuild=False,
    )
    audit = ("audit_id", "child_id", "team", "audit_date", "audit_type", "grade", "moderated_grade")
    add_records(
        path,
        "case_audits",
        [
            dict(zip(audit, ("au1", "k3", "Team A", date(2023, 7, 3), "assessment", "RI", "Good"), strict=True)),
            dict(
                zip(
                    audit,
                    ("au2", "k4", "Team A", date(2023, 7, 4), "management_oversight", "Good", "Requires Improvement"),
                    strict=True,
                )
            ),
            dict(zip(audit, ("au3", "k5", "Team B", date(2023, 7, 5), "assessment", "Good", None), strict=True)),
        ],
        as_of=date(2023, 8, 4),
    )
    return path


@pytest.fixture(autouse=True)
def command_line():
    """These tests read as the command line does: no viewer, no roles (even when
    another test module has put the web app's gate up in this process)."""
    with access.viewing(None):
        yield


def rows(found) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in r) for r in found.rows.itertuples(index=False)]


def test_seen_within_5_days_row_by_row(db):
    july = children.child_list("seen_5wd", "2023-07", "la", db=db)
    assert rows(july) == [
        ("a3", "Team B", "2023-07-26", "2023-08-02", None, 5, "not yet due"),
        ("a4", "Team C", "2023-07-26", "2023-08-02", None, 6, "overdue"),
        ("a5", "Team A", "2023-07-31", "2023-08-07", "2023-08-07", 5, "met"),
    ]
    assert (july.numerator, july.denominator) == (1, 2)
    assert (july.met, july.counted, july.not_yet_due) == (1, 2, 1)
    may = children.child_list("seen_5wd", "2023-05", "team", "Team A", db=db)
    assert rows(may) == [
        ("a1", "Team A", "2023-05-03", "2023-05-11", "2023-05-11", 5, "met"),
        ("a2", "Team A", "2023-05-03", "2023-05-11", "2023-05-12", 6, "late"),
    ]


def test_assessments_within_45_days_row_by_row(db):
    found = children.child_list("assessments_45wd", "2023-07", "service", "Assessment and Intervention", db=db)
    assert rows(found) == [
        ("a1", "Team A", "2023-05-03", "2023-07-07", "2023-07-07", 45, "met"),
        ("a2", "Team A", "2023-05-03", "2023-07-07", "2023-07-10", 46, "late"),
    ]
    assert (found.numerator, found.denominator) == (1, 2)


def test_iha_rhi_counts_referrals_and_audits_row_by_row(db):
    iha = children.child_list("iha_20wd", "2023-08", "la", db=db)
    assert rows(iha) == [
        ("h1", "Team C", "2023-08-14", "2023-09-12", "2023-09-12", 20, "met"),
        ("h2", "Team C", "2023-08-14", "2023-09-12", "2023-09-13", 21, "late"),
        ("h3", "Team D", "2023-08-14", "2023-09-12", None, 20, "not yet due"),
    ]
    rhi = children.child_list("rhi_72h", "2023-07", "la", db=db)
    assert rows(rhi) == [
        ("m4", "Team B", "2023-07-31 09:00", "2023-08-03 09:00", None, None, "overdue"),
        ("m1", "Team A", "2023-07-31 10:00", "2023-08-03 10:00", "2023-08-03 10:00", None, "met"),
        ("m2", "Team A", "2023-07-31 23:00", "2023-08-03 23:00", "2023-08-03 23:01", None, "late"),
    ]
    assert children.child_list("rhi_72h", "2023-08", "team", "Team B", db=db).rows["outcome"].tolist() == [
        "not yet due"
    ]
    # A count: no deadline, no outcome.
    episodes = children.child_list("missing_episodes", "2023/24 Q2", "la", db=db)
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in rows(episodes)] == [
        ("m1", "Team A", "2023-07-28 20:00", None, None),
        ("m2", "Team A", "2023-07-30 08:00", None, None),
        ("m4", "Team B", "2023-07-30 08:00", None, None),
        ("m3", "Team B", "2023-08-01 09:00", None, None),
        ("m5", "Team C", "2023-08-02 10:00", None, None),
    ]
    assert episodes.numerator == 5 and episodes.denominator is None
    referrals = children.child_list("rereferrals_12m", "2023-07", "la", db=db)
    assert rows(referrals) == [
        ("k1", "Team A", "2023-07-15", None, "2023-07-15".replace("2023", "2022"), None, "met"),
        ("k2", "Team B", "2023-07-15", None, None, None, "not met"),
    ]
    audits = children.child_list("audits_good", "2023-07", "team", "Team A", db=db)
    assert [(r[0], r[2], r[6]) for r in rows(audits)] == [("k3", "2023-07-03", "met"), ("k4", "2023-07-04", "not met")]


def test_the_records_add_up_to_the_mart_for_every_kpi_unit_and_month(db):
    """Counted from the record-level SQL, rolled up through the organisation
    reference as the mart is: met = the numerator, counted = the denominator
    (rows, for a count), for every record-level KPI, level, unit and month."""
    metrics = [m for m in catalogue().metrics if children.is_record_level(m)]
    assert {m.metric_id for m in metrics} >= {"seen_5wd", "assessments_45wd", "iha_20wd", "rhi_72h",
                                              "missing_episodes", "rereferrals_12m", "audits_good"}  # fmt: skip
    with reading(db) as con:
        for metric in metrics:
            records = children.records_sql(metric.source)
            tally = con.execute(
                f"""
                WITH r AS (SELECT * FROM ({records}) x
                           WHERE metric_id = $metric AND period IS NOT NULL),
                units AS (
                    SELECT r.*, 'team' AS level, r.team AS org_unit FROM r
                    UNION ALL SELECT r.*, 'service', o.service FROM r JOIN organisation o USING (team)
                    UNION ALL SELECT r.*, 'area', o.area FROM r JOIN organisation o USING (team)
                    UNION ALL SELECT r.*, 'la', CAST($authority AS VARCHAR) FROM r
                )
                SELECT substr(CAST(period AS VARCHAR), 1, 7) AS month, level, org_unit,
                       count(*) FILTER (WHERE outcome = 'met') AS met,
                       count(*) FILTER (WHERE outcome IN ('met', 'late', 'overdue', 'not met')) AS counted,
                       count(*) AS listed
                FROM units GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """,
                {"metric": metric.metric_id, "authority": AUTHORITY, **kpis.record_params(records)},
            ).fetchall()
            mart = con.execute(
                "SELECT substr(CAST(period AS VARCHAR), 1, 7), level, org_unit, numerator, denominator FROM kpi_monthly"
                " WHERE metric_id = ? ORDER BY 1, 2, 3",
                [metric.metric_id],
            ).fetchall()
            if metric.unit == "count":
                expected = [(p, lv, u, listed, None) for p, lv, u, _m, _c, listed in tally]
                # A covered month with no record is a count of 0 in the mart, and an empty list.
                mart = [row for row in mart if row[3] != 0]
            else:  # a unit-month with nothing counted yet (only "not yet due") has no figure
                expected = [(p, lv, u, met, counted) for p, lv, u, met, counted, _l in tally if counted]
            assert mart == expected, metric.metric_id


def test_each_list_prints_the_scorecards_figure(db):
    """child_list's rows tie to the mart's figure, pooled over a quarter or a year
    (the test above covers every unit and month; this one, the list function itself)."""
    cases = [
        ("la", AUTHORITY, "2023/24"),
        ("team", "Team A", "2023-07"),
        ("service", "Assessment and Intervention", "2023/24 Q2"),
        ("area", "Central", "2022/23"),
    ]
    for metric in [m for m in catalogue().metrics if children.is_record_level(m)]:
        for level, unit, period in cases:
            found = children.child_list(metric.metric_id, period, level, unit, db=db)
            pooled = queries.pooled(metric.metric_id, children.period_months(period), level, unit, db=db)
            assert (found.numerator, found.denominator) == (pooled["numerator"], pooled["denominator"])
            assert found.ties, (metric.metric_id, period, level, unit)


def test_quarter_and_year_periods():
    assert children.period_months("2023/24 Q2") == ["2023-07", "2023-08", "2023-09"]
    assert children.period_months("2023/24")[0] == "2023-04" and children.period_months("2023/24")[-1] == "2024-03"
    with pytest.raises(ValueError, match="not a month"):
        children.period_months("July")


def test_a_kpi_counted_upstream_has_no_list(db):
    with pytest.raises(ValueError, match="counted upstream"):
        children.child_list("mo_up_to_date", "2023-07", "la", db=db)


# --- what falls due ------------------------------------------------------------------


def due_rows(found) -> list[tuple]:
    """Each row as a tuple, the days as plain numbers (None where blank); the worker is its own test's."""
    rows = found.rows.drop(columns="worker")
    return [tuple(None if pd.isna(v) else v for v in r) for r in rows.itertuples(index=False)]


def test_due_list_on_a_fixed_date(db):
    # On Wed 2 Aug 2023, next 5 working days (to Wed 9 Aug): a3 and a4 must be seen
    # today (day 5); m4's interview by 3 Aug 09:00, m3's by 4 Aug 12:00; a6's
    # assessment by Mon 7 Aug. Nothing is overdue yet. h3's IHA (12 Sep) is too far off.
    # Days left are calendar days to the deadline's date: 0 (today), 1, 2 and 5.
    found = children.due_list(days=5, on=date(2023, 8, 2), db=db)
    assert due_rows(found) == [
        ("seen_5wd", "a3", "Team B", "2023-07-26", "2023-08-02", 0, None, "due"),
        ("seen_5wd", "a4", "Team C", "2023-07-26", "2023-08-02", 0, None, "due"),
        ("rhi_72h", "m4", "Team B", "2023-07-31 09:00", "2023-08-03 09:00", 1, None, "due"),
        ("rhi_72h", "m3", "Team B", "2023-08-01 12:00", "2023-08-04 12:00", 2, None, "due"),
        ("assessments_45wd", "a6", "Team D", "2023-06-05", "2023-08-07", 5, None, "due"),
    ]
    # Two days later, Fri 4 Aug: the visits are late (day 7) and m4's deadline has
    # passed; m3's is today, still due. Today only (days=0): what is due today first, then
    # the overdue, most recent first: m4 (3 Aug, 1 day ago) before the visits (2 Aug, 2 days).
    later = children.due_list(days=0, on=date(2023, 8, 4), db=db)
    assert due_rows(later) == [
        ("rhi_72h", "m3", "Team B", "2023-08-01 12:00", "2023-08-04 12:00", 0, None, "due"),
        ("rhi_72h", "m4", "Team B", "2023-07-31 09:00", "2023-08-03 09:00", None, 1, "overdue"),
        ("seen_5wd", "a3", "Team B", "2023-07-26", "2023-08-02", None, 2, "overdue"),
        ("seen_5wd", "a4", "Team C", "2023-07-26", "2023-08-02", None, 2, "overdue"),
    ]
    assert (later.due, later.overdue, later.older) == (1, 3, 0)
    team_c = children.due_list(team="Team C", days=5, on=date(2023, 8, 2), db=db)
    assert [r[1] for r in due_rows(team_c)] == ["a4"]


def test_due_list_now_is_each_extracts_latest_as_of(db):
    # Assessments were last loaded as of Thu 3 Aug (day 6 of a3 and a4: overdue);
    # missing episodes as of Fri 4 Aug (m4 overdue, m3 due that day).
    found = children.due_list(team="Team B", days=1, db=db)
    assert found.now["assessments"] == date(2023, 8, 3) and found.now["missing_episodes"] == date(2023, 8, 4)
    # Due first (m3, today), then overdue most recent first: m4 (3 Aug) before a3 (2 Aug).
    assert [(r[1], r[-1]) for r in due_rows(found)] == [("m3", "due"), ("m4", "overdue"), ("a3", "overdue")]


def test_overdue_long_ago_is_counted_not_listed_and_a_service_has_its_due_list(db):
    # On Fri 1 Dec 2023 Team D has two overdue records: h3's initial health assessment (deadline
    # 12 Sep, 80 days ago) and a6's assessment (deadline 7 Aug, 116 days ago). With the default
    # cut-off of 3 months (back to 1 Sep) a6 is folded into a count; with none (0) both are listed.
    found = children.due_list(team="Team D", days=5, on=date(2023, 12, 1), db=db)
    assert [(r[1], r[6]) for r in due_rows(found)] == [("h3", 80)]
    assert (found.overdue, found.older, found.older_children, found.cutoff) == (1, 1, 1, 3)
    every = children.due_list(team="Team D", days=5, on=date(2023, 12, 1), cutoff=0, db=db)
    assert [(r[1], r[6]) for r in due_rows(every)] == [("h3", 80), ("a6", 116)] and every.older == 0
    # A service: Children We Care For is Teams C and D. On 2 Aug, a4 (Team C) is seen today and
    # a6 (Team D) is due on 7 Aug; Team B's a3 is another service's.
    service = children.due_list(level="service", unit="Children We Care For", days=5, on=date(2023, 8, 2), db=db)
    assert [(r[1], r[2], r[5]) for r in due_rows(service)] == [("a4", "Team C", 0), ("a6", "Team D", 5)]
    assert service.scope == "the service Children We Care For"
    # A head of service of the other service is refused it.
    head = access.Viewer("a.khan", access.Role.HEAD_OF_SERVICE, services=("Assessment and Intervention",))
    with access.viewing(head), pytest.raises(access.AccessDenied, match="service Children We Care For"):
        children.due_list(level="service", unit="Children We Care For", db=db)


def test_the_due_list_names_the_allocated_worker_where_the_extract_gives_one(db, capsys):
    # a3 (an assessment) and m4 (a missing episode) were loaded with their workers; the rest without.
    found = children.due_list(team="Team B", days=5, on=date(2023, 8, 2), db=db)
    assert list(found.rows.columns) == [
        "metric_id", "child_id", "team", "worker", "start", "deadline", "days_left", "days_overdue", "outcome",
    ]  # fmt: skip
    workers = {(r.metric_id, r.child_id): (None if pd.isna(r.worker) else r.worker) for r in found.rows.itertuples()}
    assert workers == {("seen_5wd", "a3"): "Worker 12", ("rhi_72h", "m4"): "SW0412", ("rhi_72h", "m3"): None}
    # `cpip due` prints it too.
    from cpip.cli import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CPIP_DB", str(db))
        patch.delenv("CPIP_ACCESS_LOG", raising=False)
        assert main(["due", "--team", "Team B", "--days", "5", "--on", "2023-08-02", "--format", "csv"]) == 0
    assert "rhi_72h,m4,Team B,SW0412,2023-07-31 09:00,2023-08-03 09:00,1,,due" in capsys.readouterr().out.splitlines()
    # Only the due list carries it: a child list is the figure's records, with no worker.
    assert "worker" not in children.child_list("seen_5wd", "2023-07", "team", "Team B", db=db).rows.columns


# --- every list is recorded ----------------------------------------------------------


def test_every_list_is_recorded_with_who_and_how_many(db):
    before = len(access_log.entries(db))
    children.child_list("seen_5wd", "2023-07", "team", "Team A", db=db, fmt="csv")
    children.due_list(team="Team B", days=5, on=date(2023, 8, 2), db=db, fmt="page")
    log = access_log.entries(db)
    assert len(log) == before + 2
    newest, previous = log.iloc[0], log.iloc[1]
    assert newest["list"] == "/due?team=Team%20B&days=5&on=2023-08-02" and newest["children"] == 3
    assert newest["format"] == "page" and newest["role"] == "command line"
    assert previous["list"] == "/kpi/seen_5wd/children.csv?period=2023-07&level=team&unit=Team%20A"
    assert previous["children"] == 1


def test_a_viewer_sees_only_their_teams_and_a_refusal_is_not_recorded(db):
    manager = access.Viewer("j.smith", access.Role.TEAM_MANAGER, teams=("Team C",))
    head = access.Viewer("a.khan", access.Role.HEAD_OF_SERVICE, services=("Assessment and Intervention",))
    viewer = access.Viewer("someone", access.Role.VIEWER)
    before = len(access_log.entries(db))
    with access.viewing(manager):
        assert [r[1] for r in due_rows(children.due_list(days=5, on=date(2023, 8, 2), db=db))] == ["a4"]
        with pytest.raises(access.AccessDenied, match="Team C only"):
            children.child_list("seen_5wd", "2023-07", "team", "Team A", db=db)
        with pytest.raises(access.AccessDenied):
            children.child_list("seen_5wd", "2023-07", "la", db=db)
    with access.viewing(head):
        found = children.child_list("seen_5wd", "2023-07", "service", "Assessment and Intervention", db=db)
        assert sorted(found.rows["child_id"]) == ["a3", "a5"]
        # Northern spans both services: not all of it is theirs.
        with pytest.raises(access.AccessDenied, match="area Northern"):
            children.child_list("seen_5wd", "2023-07", "area", "Northern", db=db)
    with access.viewing(viewer), pytest.raises(access.AccessDenied, match="child-level lists"):
        children.due_list(db=db)
    assert len(access_log.entries(db)) == before + 2  # the two lists shown, not the four refused


def test_a_month_given_upstream_is_said_so_not_listed(tmp_path):
    # Assessments cover May to August 2023 (the record's month to its as-of month); a
    # kpi_values figure for January 2023 fills a month the extract does not cover.
    db = new_warehouse(tmp_path)
    add_records(db, "assessments", [_a("x1", "Team A", date(2023, 5, 3), date(2023, 5, 4))], as_of=date(2023, 8, 2))
    given = {"period": date(2023, 1, 1), "metric_id": "seen_5wd", "team": "Team A", "numerator": 8, "denominator": 10}
    add_records(db, "kpi_values", [given], as_of=date(2023, 8, 2))
    found = children.child_list("seen_5wd", "2022/23 Q4", "team", "Team A", db=db)
    assert (found.numerator, found.denominator, len(found.rows)) == (8, 10, 0)
    assert found.given_upstream == ["2023-01"] and not found.ties
    covered = children.child_list("seen_5wd", "2023-05", "team", "Team A", db=db)
    assert covered.given_upstream == [] and covered.ties and covered.met == 1


def test_the_command_line_prints_lists_and_the_access_log(db, monkeypatch, capsys):
    from cpip.cli import main

    monkeypatch.setenv("CPIP_DB", str(db))
    monkeypatch.delenv("CPIP_ACCESS_LOG", raising=False)
    assert main(["children", "--metric", "seen_5wd", "--period", "2023-05", "--level", "team", "--unit", "Team A",
                 "--format", "csv"]) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        "child_id,team,start,deadline,event_date,working_days,outcome",
        "a1,Team A,2023-05-03,2023-05-11,2023-05-11,5,met",
        "a2,Team A,2023-05-03,2023-05-11,2023-05-12,6,late",
    ]
    assert main(["children", "--metric", "seen_5wd", "--period", "2023-07", "--level", "la"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "Children seen within 5 working days, Demo County Council, 2023-07: scorecard 1 of 2",
        "this list: 1 met of 2 counted, 1 not yet due",
    ]
    assert main(["due", "--team", "Team C", "--days", "5", "--on", "2023-08-02", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "metric_id,child_id,team,worker,start,deadline,days_left,days_overdue,outcome",
        "seen_5wd,a4,Team C,,2023-07-26,2023-08-02,0,,due",  # no worker given for a4
    ]
    assert main(["access-log"]) == 0
    log = capsys.readouterr().out.splitlines()
    assert log[0] == "entry_id,viewed_at,who,role,list,format,children"
    assert log[1].endswith(",command line,/due?team=Team%20C&days=5&on=2023-08-02,cli,1")
    assert main(["children", "--metric", "mo_up_to_date", "--period", "2023-07", "--level", "la"]) == 1
    assert "counted upstream" in capsys.readouterr().err
