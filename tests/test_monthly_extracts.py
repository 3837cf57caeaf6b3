"""Figures that stay right as month after month of overlapping extracts arrives (issue 14).

Every file is written here and loaded through the analysts' loader; every expected
figure is worked out by hand from a wall calendar (the working is in the comments).
Working days of 2023 used below: Monday 3 July is day 0 for July starts; the July
weekdays after it are 4-7 Jul (4), 10-14 (9), 17-21 (14), 24-28 (19), 31 Jul (20);
August 1-4 (24), 7-11 (29), 14-18 (34), 21-25 (39), 28 Aug is the Summer bank
holiday, 29 Aug (40), 30 (41), 31 (42), 1 Sep (43), 4 Sep (44), 5 Sep (45), 6 Sep (46).
From Monday 2 October: 3-6 Oct (4), Mon 9 Oct (5), 10-13 (9), 16-20 (14), 25 Oct (17).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dash_tree import text_of

from cpip.cli import main
from dashboard.components import tables
from etl.ingest.load import load_files, undo_load
from etl.serve import queries
from etl.store.warehouse import reading

AUTHORITY = "Demo County Council"
ORG = [
    ("Team A", "Service T", "North"),
    ("Team B", "Service T", "South"),
    ("Team C", "Service S", "North"),
]


def write(folder: Path, name: str, header: list[str], rows: list[list]) -> Path:
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def load(db: Path, path: Path, as_of: str, **options):
    (report,) = load_files([path], as_of=as_of, who="test", db=db, **options)
    return report


def _with_org(db, tmp_path: Path):
    org = write(tmp_path, "organisation.csv", ["team", "service", "area"], [list(r) for r in ORG])
    assert load(db, org, "2023-04-01").outcome == "loaded"
    return db


@pytest.fixture
def db(tmp_path: Path, new_target):
    """Each test on both engines (conftest's `engine`): the loader's rules are the same SQL on each."""
    return _with_org(new_target(tmp_path), tmp_path)


@pytest.fixture
def duck_db(tmp_path: Path) -> Path:
    return _with_org(tmp_path / "warehouse.duckdb", tmp_path)


def figure(db: Path, metric: str, period: str, level: str = "la", unit: str = AUTHORITY):
    """(numerator, denominator) in the mart, or None for no data."""
    with reading(db) as con:
        rows = con.execute(
            "SELECT numerator, denominator FROM kpi_monthly WHERE metric_id = ? AND level = ? AND org_unit = ?"
            " AND substr(CAST(period AS VARCHAR), 1, 7) = ?",
            [metric, level, unit, period],
        ).fetchall()
    return rows[0] if rows else None


def scorecard_row(db: Path, metric: str, period: str, level: str = "la", unit: str | None = None) -> dict:
    frame = queries.scorecard(period, level, unit, db=db)
    return frame[frame["metric_id"] == metric].iloc[0].to_dict()


ASSESSMENT_HEADER = ["child_id", "team", "assessment_start_date", "child_seen_date", "assessment_completed_date"]


# --- an open record is judged at the latest as-of date of any load that contained it ----------------------------


def test_an_open_assessment_becomes_overdue_when_a_later_extract_still_holds_it(db: Path, tmp_path: Path) -> None:
    # N1 started Monday 2 October 2023, child not seen. As of Monday 9 October that is
    # day 5: not yet due. As of Friday 20 October it is day 14: not met. N3 started the
    # same day and was seen Friday 6 October (day 4): met. October: 1/2 = 50%, Red
    # (seen_5wd 2023/24: green 80, amber 70).
    first = write(tmp_path, "first.csv", ASSESSMENT_HEADER, [["N1", "Team A", "2023-10-02", None, None]])
    second = write(
        tmp_path,
        "second.csv",
        ASSESSMENT_HEADER,
        [["N1", "Team A", "2023-10-02", None, None], ["N3", "Team A", "2023-10-02", "2023-10-06", None]],
    )
    assert load(db, first, "2023-10-09").outcome == "loaded"
    assert figure(db, "seen_5wd", "2023-10") is None

    report = load(db, second, "2023-10-20")
    assert (report.added, report.unchanged, report.redated) == (1, 1, 1)
    assert "1 unchanged (1 re-dated to the as-of date)" in report.summary()
    assert figure(db, "seen_5wd", "2023-10") == (1, 2)
    row = scorecard_row(db, "seen_5wd", "2023-10")
    assert (row["value"], row["rag"]) == (50.0, "Small numbers")  # 1 of 2: below min_denominator 5, not rated

    # Undo gives N1 its earlier date back: not yet due again, and N3 is gone.
    undo_load(report.load_id, who="test", db=db)
    assert figure(db, "seen_5wd", "2023-10") is None
    with reading(db) as con:
        assert con.execute("SELECT child_id, as_of FROM assessments").fetchall() == [("N1", date(2023, 10, 9))]


def test_reloading_the_same_file_with_a_later_as_of_date_re_dates_its_records(db: Path, tmp_path: Path) -> None:
    first = write(tmp_path, "first.csv", ASSESSMENT_HEADER, [["N1", "Team A", "2023-10-02", None, None]])
    load(db, first, "2023-10-09")
    again = load(db, first, "2023-10-20")
    assert again.outcome == "re-dated"
    assert (again.added, again.replaced, again.unchanged, again.redated) == (0, 0, 1, 1)
    assert figure(db, "seen_5wd", "2023-10") == (0, 1)
    undo_load(again.load_id, who="test", db=db)
    assert figure(db, "seen_5wd", "2023-10") is None
    again = load(db, first, "2023-10-20")
    assert again.outcome == "re-dated"
    # The same file with the same date again: nothing to re-date.
    assert load(db, first, "2023-10-20").outcome == "no change"
    # An earlier as-of date never makes a record younger.
    assert load(db, first, "2023-10-03").outcome == "no change"
    assert figure(db, "seen_5wd", "2023-10") == (0, 1)
    # That unchanged load of 20 October holds N1 too, so undoing the first re-dating leaves it overdue.
    undo_load(again.load_id, who="test", db=db)
    assert figure(db, "seen_5wd", "2023-10") == (0, 1)


# Three monthly extracts of one timed KPI each: O stays open, L is closed late (in the
# third), T on time (in the second), M first appears in the second and is on time.
# The third extract holds every record again, as Annex A's overlapping lists do.
SEQUENCES = {
    "seen_5wd": dict(
        header=ASSESSMENT_HEADER,
        period="2023-10",
        extracts=[
            # As of Mon 9 Oct: O, L, T unseen at day 5: not yet due, no figure.
            (
                "2023-10-09",
                [
                    ["O", "Team A", "2023-10-02", None, None],
                    ["L", "Team A", "2023-10-02", None, None],
                    ["T", "Team A", "2023-10-02", None, None],
                ],
            ),
            # As of Fri 20 Oct (day 14): T seen Thu 5 Oct (day 3) and M (from Mon 9 Oct) seen Tue 10 Oct
            # (day 1) are met; O and L unseen are overdue: 2/4.
            (
                "2023-10-20",
                [
                    ["O", "Team A", "2023-10-02", None, None],
                    ["L", "Team A", "2023-10-02", None, None],
                    ["T", "Team A", "2023-10-02", "2023-10-05", None],
                    ["M", "Team B", "2023-10-09", "2023-10-10", None],
                ],
            ),
            # As of Fri 10 Nov: L seen Wed 25 Oct (day 17): late. Still 2/4.
            (
                "2023-11-10",
                [
                    ["O", "Team A", "2023-10-02", None, None],
                    ["L", "Team A", "2023-10-02", "2023-10-25", None],
                    ["T", "Team A", "2023-10-02", "2023-10-05", None],
                    ["M", "Team B", "2023-10-09", "2023-10-10", None],
                ],
            ),
        ],
        expected=[None, (2, 4), (2, 4)],
    ),
    "assessments_45wd": dict(
        header=ASSESSMENT_HEADER,
        period=("2023-08", "2023-09"),
        extracts=[
            # As of 31 Jul: all open; a completion-anchored KPI counts none.
            (
                "2023-07-31",
                [
                    ["O", "Team A", "2023-07-03", "2023-07-04", None],
                    ["L", "Team A", "2023-07-03", "2023-07-04", None],
                    ["T", "Team A", "2023-07-03", "2023-07-04", None],
                ],
            ),
            # As of 31 Aug: T completed Fri 25 Aug (day 39) met; M started Tue 1 Aug, completed Thu 31 Aug
            # (day 21) met: August 2/2.
            (
                "2023-08-31",
                [
                    ["O", "Team A", "2023-07-03", "2023-07-04", None],
                    ["L", "Team A", "2023-07-03", "2023-07-04", None],
                    ["T", "Team A", "2023-07-03", "2023-07-04", "2023-08-25"],
                    ["M", "Team B", "2023-08-01", "2023-08-02", "2023-08-31"],
                ],
            ),
            # As of 30 Sep: L completed Wed 6 Sep, day 46 across the Summer bank holiday: late, September 0/1.
            (
                "2023-09-30",
                [
                    ["O", "Team A", "2023-07-03", "2023-07-04", None],
                    ["L", "Team A", "2023-07-03", "2023-07-04", "2023-09-06"],
                    ["T", "Team A", "2023-07-03", "2023-07-04", "2023-08-25"],
                    ["M", "Team B", "2023-08-01", "2023-08-02", "2023-08-31"],
                ],
            ),
        ],
        expected=[(None, None), ((2, 2), None), ((2, 2), (0, 1))],
    ),
    "icpc_15wd": dict(
        header=["child_id", "team", "strategy_discussion_date", "icpc_date", "icpc_not_required"],
        period="2023-07",
        table="s47_enquiries",
        extracts=[
            # As of Fri 14 Jul: strategy discussions Mon 3 Jul, no conference yet: nothing is counted.
            (
                "2023-07-14",
                [
                    ["O", "Team A", "2023-07-03", None, None],
                    ["L", "Team A", "2023-07-03", None, None],
                    ["T", "Team A", "2023-07-03", None, None],
                ],
            ),
            # As of 31 Jul: T's conference Mon 24 Jul is day 15, on the deadline: met; M's discussion Mon
            # 10 Jul, conference Fri 14 Jul (day 4): met. July 2/2 (O and L still have none).
            (
                "2023-07-31",
                [
                    ["O", "Team A", "2023-07-03", None, None],
                    ["L", "Team A", "2023-07-03", None, None],
                    ["T", "Team A", "2023-07-03", "2023-07-24", None],
                    ["M", "Team B", "2023-07-10", "2023-07-14", None],
                ],
            ),
            # As of 31 Aug: L's conference Tue 25 Jul (day 16) is recorded: late, in July: 2/3.
            (
                "2023-08-31",
                [
                    ["O", "Team A", "2023-07-03", None, None],
                    ["L", "Team A", "2023-07-03", "2023-07-25", None],
                    ["T", "Team A", "2023-07-03", "2023-07-24", None],
                    ["M", "Team B", "2023-07-10", "2023-07-14", None],
                ],
            ),
        ],
        expected=[None, (2, 2), (2, 3)],
    ),
    "iha_20wd": dict(
        header=["child_id", "team", "care_start_date", "iha_date"],
        period="2023-07",
        extracts=[
            # As of Fri 28 Jul (day 19 from Mon 3 Jul): no IHA yet is not yet due.
            (
                "2023-07-28",
                [
                    ["O", "Team A", "2023-07-03", None],
                    ["L", "Team A", "2023-07-03", None],
                    ["T", "Team A", "2023-07-03", None],
                ],
            ),
            # As of Thu 3 Aug (day 23): T done Mon 31 Jul (day 20, on the deadline) met; M from Mon 10 Jul done
            # Fri 14 Jul (day 4) met; O and L overdue: 2/4.
            (
                "2023-08-03",
                [
                    ["O", "Team A", "2023-07-03", None],
                    ["L", "Team A", "2023-07-03", None],
                    ["T", "Team A", "2023-07-03", "2023-07-31"],
                    ["M", "Team B", "2023-07-10", "2023-07-14"],
                ],
            ),
            # As of 31 Aug: L done Tue 1 Aug (day 21): late. Still 2/4.
            (
                "2023-08-31",
                [
                    ["O", "Team A", "2023-07-03", None],
                    ["L", "Team A", "2023-07-03", "2023-08-01"],
                    ["T", "Team A", "2023-07-03", "2023-07-31"],
                    ["M", "Team B", "2023-07-10", "2023-07-14"],
                ],
            ),
        ],
        expected=[None, (2, 4), (2, 4)],
    ),
    "rhi_72h": dict(
        header=["child_id", "team", "episode_id", "missing_start", "returned_at", "rhi_completed_at"],
        period="2023-07",
        extracts=[
            # Returned Mon 10 Jul 20:00; deadline Thu 13 Jul 20:00. As of 12 Jul: not yet due.
            (
                "2023-07-12",
                [
                    ["c1", "Team A", "e-O", "2023-07-10 08:00", "2023-07-10 20:00", None],
                    ["c2", "Team A", "e-L", "2023-07-10 08:00", "2023-07-10 20:00", None],
                    ["c3", "Team A", "e-T", "2023-07-10 08:00", "2023-07-10 20:00", None],
                ],
            ),
            # As of 20 Jul: T's RHI at exactly 72 hours is met; M's at 24 hours met; O and L overdue: 2/4.
            (
                "2023-07-20",
                [
                    ["c1", "Team A", "e-O", "2023-07-10 08:00", "2023-07-10 20:00", None],
                    ["c2", "Team A", "e-L", "2023-07-10 08:00", "2023-07-10 20:00", None],
                    ["c3", "Team A", "e-T", "2023-07-10 08:00", "2023-07-10 20:00", "2023-07-13 20:00"],
                    ["c4", "Team B", "e-M", "2023-07-11 10:00", "2023-07-11 12:00", "2023-07-12 12:00"],
                ],
            ),
            # As of 31 Jul: L's RHI on 14 Jul 09:00 is 85 hours after the return: late. Still 2/4.
            (
                "2023-07-31",
                [
                    ["c1", "Team A", "e-O", "2023-07-10 08:00", "2023-07-10 20:00", None],
                    ["c2", "Team A", "e-L", "2023-07-10 08:00", "2023-07-10 20:00", "2023-07-14 09:00"],
                    ["c3", "Team A", "e-T", "2023-07-10 08:00", "2023-07-10 20:00", "2023-07-13 20:00"],
                    ["c4", "Team B", "e-M", "2023-07-11 10:00", "2023-07-11 12:00", "2023-07-12 12:00"],
                ],
            ),
        ],
        expected=[None, (2, 4), (2, 4)],
    ),
}


def _figures(db: Path, metric: str, period) -> object:
    if isinstance(period, tuple):
        return tuple(figure(db, metric, p) for p in period)
    return figure(db, metric, period)


@pytest.mark.parametrize("metric", sorted(SEQUENCES))
def test_three_overlapping_monthly_extracts_and_undo_of_the_middle_one(db: Path, tmp_path: Path, metric: str) -> None:
    spec = SEQUENCES[metric]
    loads = []
    for n, ((as_of, rows), expected) in enumerate(zip(spec["extracts"], spec["expected"], strict=True), start=1):
        report = load(db, write(tmp_path, f"{metric}_{n}.csv", spec["header"], rows), as_of)
        assert report.ok, report.summary()
        loads.append(report.load_id)
        assert _figures(db, metric, spec["period"]) == expected, f"after extract {n}"
    # Undo the middle load: as if it had never come. M, which it brought first, stays (the third
    # extract holds it too), O is judged at the third extract's date: the figures do not move.
    undo_load(loads[1], who="test", db=db)
    assert _figures(db, metric, spec["period"]) == spec["expected"][2]
    # Undo the third as well: back to the first extract alone, with its own as-of date.
    undo_load(loads[2], who="test", db=db)
    assert _figures(db, metric, spec["period"]) == spec["expected"][0]
    first_as_of = date.fromisoformat(spec["extracts"][0][0])
    table = spec.get("table") or {"rhi_72h": "missing_episodes", "iha_20wd": "health_assessments"}.get(
        metric, "assessments"
    )
    with reading(db) as con:
        assert con.execute(f"SELECT DISTINCT as_of FROM {table}").fetchall() == [(first_as_of,)]
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(3,)]


def test_monthly_overlapping_extracts_give_the_figures_of_one_load(tmp_path: Path) -> None:
    """The demo's record extracts taken month by month (each holding the last four months'
    records and every open one, with events after its as-of date not yet happened), then
    the full extract: every KPI figure equals loading the full extract once."""
    from etl.demo.extracts import AS_OF, write_demo

    demo = tmp_path / "demo"
    demo.mkdir()
    files = {p.name: p for p in write_demo(demo)}
    once, monthly = tmp_path / "once.duckdb", tmp_path / "monthly.duckdb"
    for db in (once, monthly):
        assert load(db, files["organisation.csv"], "2020-04-01").ok
    specs = {
        "assessments.csv": ("assessment_start_date", ["child_seen_date", "assessment_completed_date"]),
        "health_assessments.csv": ("care_start_date", ["iha_date"]),
        "missing_episodes.csv": ("missing_start", ["returned_at", "rhi_completed_at"]),
    }
    for name, (anchor, events) in specs.items():
        full = pd.read_csv(files[name], dtype=str, keep_default_na=False)
        assert load(once, files[name], AS_OF.isoformat()).ok
        for month_end in pd.date_range("2023-06-30", "2024-03-31", freq="ME"):
            taken = month_end.date()
            frame = full[pd.to_datetime(full[anchor]).dt.date <= taken].copy()
            for column in events:
                happened = pd.to_datetime(frame[column].replace("", None)).dt.date
                frame.loc[happened.isna() | (happened > taken), column] = ""
            recent = pd.to_datetime(frame[anchor]).dt.date > (month_end - pd.DateOffset(months=4)).date()
            still_open = frame[events[-1]] == ""
            path = tmp_path / f"{taken:%Y-%m}-{name}"
            frame[recent | still_open].to_csv(path, index=False)
            assert load(monthly, path, taken.isoformat()).ok
        assert load(monthly, files[name], AS_OF.isoformat()).ok
    sql = "SELECT * FROM kpi_monthly ORDER BY ALL"
    with reading(once) as a, reading(monthly) as b:
        assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
        assert a.execute("SELECT count(*) FROM kpi_monthly").fetchall()[0][0] > 1000


# --- kpi_values: one rule whatever the metric's source ------------------------------------------------------------

KV_HEADER = ["period", "metric_id", "team", "numerator", "denominator"]


def test_kpi_values_fill_months_records_do_not_cover_and_records_win_where_they_do(db: Path, tmp_path: Path) -> None:
    values = write(
        tmp_path,
        "kv.csv",
        KV_HEADER,
        [["2023-07", "seen_5wd", "Team A", 7, 10], ["2023-05", "seen_5wd", "Team A", 3, 4]],
    )
    report = load(db, values, "2023-08-04")
    assert (report.outcome, report.added) == ("loaded", 2)
    assert figure(db, "seen_5wd", "2023-07", "team", "Team A") == (7, 10)
    assert scorecard_row(db, "seen_5wd", "2023-07", "team", "Team A")["value"] == 70.0

    # Assessment records from 3 July, taken 31 July, cover July (not May): in July the records win.
    # A1 started Mon 3 Jul, seen Tue 4 Jul (day 1): 1/1.
    records = write(tmp_path, "a.csv", ASSESSMENT_HEADER, [["A1", "Team A", "2023-07-03", "2023-07-04", None]])
    report = load(db, records, "2023-07-31")
    assert report.ok
    superseded = [f.reason for f in report.findings if "superseded" in f.reason]
    assert superseded == [
        "1 kpi_values row for seen_5wd (2023-07 to 2023-07) is superseded: these assessments records cover its"
        " month, so the figures are counted from them (seen_5wd 2023-07 Team A)"
    ]
    assert figure(db, "seen_5wd", "2023-07", "team", "Team A") == (1, 1)
    assert figure(db, "seen_5wd", "2023-05", "team", "Team A") == (3, 4)

    # A new kpi_values row for a covered month loads, kept, and is reported as superseded on its line.
    later = write(tmp_path, "kv2.csv", KV_HEADER, [["2023-07", "seen_5wd", "Team B", 1, 2]])
    report = load(db, later, "2023-08-04")
    assert report.outcome == "loaded"
    assert [(f.line, f.column) for f in report.findings if f.severity == "warning"] == [(2, "period")]
    assert report.findings[0].reason.startswith("superseded: the assessments records cover 2023-07")
    assert figure(db, "seen_5wd", "2023-07", "team", "Team B") is None
    assert figure(db, "seen_5wd", "2023-07") == (1, 1)


def test_a_kpi_values_row_for_an_unknown_metric_is_still_refused(db: Path, tmp_path: Path) -> None:
    report = load(db, write(tmp_path, "kv.csv", KV_HEADER, [["2023-07", "seen_5days", "Team A", 7, 10]]), "2023-08-04")
    assert report.outcome == "refused"
    assert report.findings[0].reason == "unknown metric 'seen_5days': not in metrics.yml"


# --- roll-ups of given rows ------------------------------------------------------------------------------------------


def test_a_service_row_reaches_the_authority_and_an_area_pools_its_teams(db: Path, tmp_path: Path) -> None:
    # icpc_15wd, July 2023: Team A 8/10 and Team B 6/10 (both in Service T), Service S 30/40.
    # Service T pools its teams: 14/20. The authority pools its services: 30/40 + 14/20 = 44/60.
    # North holds Team A and Service S's Team C: it pools its teams' own rows (8/10) and says
    # that Service S's row cannot be split across areas. August: only Service T, 5/10.
    rows = [
        ["2023-07", "icpc_15wd", "Team A", 8, 10],
        ["2023-07", "icpc_15wd", "Team B", 6, 10],
        ["2023-07", "icpc_15wd", "Service S", 30, 40],
        ["2023-08", "icpc_15wd", "Service T", 5, 10],
    ]
    assert load(db, write(tmp_path, "kv.csv", KV_HEADER, rows), "2023-09-04").ok
    assert figure(db, "icpc_15wd", "2023-07", "service", "Service S") == (30, 40)
    assert figure(db, "icpc_15wd", "2023-07", "service", "Service T") == (14, 20)
    assert figure(db, "icpc_15wd", "2023-07") == (44, 60)
    assert figure(db, "icpc_15wd", "2023-07", "area", "North") == (8, 10)
    assert figure(db, "icpc_15wd", "2023-07", "area", "South") == (6, 10)
    assert figure(db, "icpc_15wd", "2023-08") == (5, 10)
    north = scorecard_row(db, "icpc_15wd", "2023-07", "area", "North")
    assert north["note"] == (
        "pools its teams' own figures: the figure given for Service S covers the whole service"
        " and cannot be split across areas"
    )
    assert pd.isna(scorecard_row(db, "icpc_15wd", "2023-07", "area", "South")["note"])
    # The area's scorecard says so beside the KPI.
    shown = text_of(tables.scorecard_row(north, period="2023-07", level="area", unit="North"))
    assert "This figure pools its teams' own figures: the figure given for Service S covers" in shown


# --- counts are 0 where an extract covers the month ----------------------------------------------------------------


def test_a_month_with_no_missing_episodes_is_0_where_the_extract_covers_it(db: Path, tmp_path: Path) -> None:
    header = ["child_id", "team", "episode_id", "missing_start", "returned_at", "rhi_completed_at"]
    rows = [["c1", "Team A", "e1", "2023-07-10 08:00", "2023-07-10 20:00", "2023-07-11 10:00"]]
    assert load(db, write(tmp_path, "m.csv", header, rows), "2023-09-30").ok
    # Covered: July (the earliest record) to September (the as-of date's month).
    assert figure(db, "missing_episodes", "2023-07") == (1, None)
    assert figure(db, "missing_episodes", "2023-08") == (0, None)
    assert figure(db, "missing_episodes", "2023-09", "team", "Team C") == (0, None)
    assert figure(db, "missing_episodes", "2023-06") is None
    august = scorecard_row(db, "missing_episodes", "2023-08")
    assert (august["value"], august["rag"]) == (0, "Green")
    assert scorecard_row(db, "missing_episodes", "2023-06")["rag"] == "No data"


# --- thresholds compare exactly ------------------------------------------------------------------------------------


def test_a_value_on_a_threshold_takes_the_better_colour_whatever_the_arithmetic(db: Path, tmp_path: Path) -> None:
    # placed_20mi_out is lower-is-better with amber at 22 in 2023/24; 100 * 2.2 / 10 in floating point
    # is 22.000000000000004. On the threshold: Amber, and it prints as 22.0.
    rows = [["2023-07", "placed_20mi_out", AUTHORITY, 2.2, 10]]
    assert load(db, write(tmp_path, "kv.csv", KV_HEADER, rows), "2023-08-04").ok
    row = scorecard_row(db, "placed_20mi_out", "2023-07")
    assert row["rag"] == "Amber"
    table = queries.scorecard_table("2023-07", "la", db=db)
    assert table.set_index("metric_id").loc["placed_20mi_out", "value"] == 22.0
    assert str(table.set_index("metric_id").loc["placed_20mi_out", "value"]) == "22.0"
    assert queries.rag_array([100 * 2.2 / 10], [17], [22], ["lower_is_better"])[0] == "Amber"
    assert queries.rag_array([100 * 0.7 / 1], [70.0], [60], ["higher_is_better"])[0] == "Green"


# --- filters match as the loader matches -----------------------------------------------------------------------------


def test_audit_filters_match_names_as_the_loader_does_and_unknown_names_are_errors(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["audit_id", "child_id", "team", "audit_date", "audit_type", "grade", "moderated_grade"]
    rows = [
        ["X1", "c1", "team a", "2023-07-03", "Management Oversight", "Good", "Good"],
        ["X2", "c2", "Team B", "2023-07-04", "assessment", "Good", ""],
    ]
    assert load(db, write(tmp_path, "audits.csv", header, rows), "2023-07-31").ok
    monkeypatch.setenv("CPIP_DB", str(db))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("audits", "--by", "month", "--audit-type", "Management Oversight")
    assert code == 0
    assert out.splitlines()[1].startswith("2023-07,1,1,0,1,")
    code, out, _ = run("audits", "--by", "month", "--team", "team  a")
    assert (code, out.splitlines()[1].split(",")[:3]) == (0, ["2023-07", "1", "1"])
    code, out, _ = run("audits", "--by", "month", "--service", "service_t")
    assert (code, out.splitlines()[1].split(",")[:3]) == (0, ["2023-07", "2", "1"])

    code, out, err = run("audits", "--by", "month", "--audit-type", "Managment Oversight")
    assert (code, out) == (1, "")
    assert err.strip() == (
        "cpip audits: 'Managment Oversight' is not an audit type"
        " (known: assessment, management_oversight, leaving_care_planning)"
    )
    code, out, err = run("audits", "--by", "month", "--team", "Team Z")
    assert (code, out) == (1, "")
    assert err.strip() == "cpip audits: 'Team Z' is not a team (known: Team A, Team B, Team C)"


def test_query_filters_name_the_known_values(db: Path) -> None:
    assert queries.resolve_unit("service", "SERVICE_T", db=db) == "Service T"
    with pytest.raises(queries.UnknownName, match=r"'Eastern' is not an area \(known: North, South\)"):
        queries.series("seen_5wd", "area", "Eastern", db=db)
    with pytest.raises(queries.UnknownName, match=r"'region' is not a level \(one of la, area, service, team\)"):
        queries.scorecard("2023-07", "region", db=db)
    with pytest.raises(queries.UnknownName, match=r"'seen_5days' is not a metric in metrics.yml \(known: icpc_15wd"):
        queries.series("seen_5days", "la", None, db=db)
    # Metric ids and units match as names do: the series of Team A, however typed.
    assert queries.series("Seen_5WD", "team", "team a", db=db).empty


# --- the small things ------------------------------------------------------------------------------------------------


def test_a_line_break_inside_a_child_id_is_an_error_on_that_line(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "child_id,team,assessment_start_date,child_seen_date,assessment_completed_date\n"
        'A1,Team A,2023-07-03,,\n"A\n2",Team A,2023-07-03,,\n',
        encoding="utf-8",
    )
    report = load(db, path, "2023-07-31")
    assert report.outcome == "refused"
    assert [(f.line, f.column, f.reason) for f in report.findings if f.severity == "error"] == [
        (3, "child_id", "contains a line break or other control character")
    ]


def test_messages_say_1_row_and_a_refusal_names_the_type_it_recognised(db: Path, tmp_path: Path) -> None:
    one = write(tmp_path, "one.csv", ["child_id", "team", "referral_date"], [["R1", "Team A", "2023-07-03"]])
    report = load(db, one, "2023-07-31")
    assert "1 row read: 1 added" in report.summary()
    both = write(
        tmp_path, "both.csv", ["Child ID", "Team", "Referral Date", "Date of Referral"], [["R1", "Team A", "", ""]]
    )
    report = load(db, both, "2023-07-31")
    assert report.summary() == "both.csv: referrals: refused, nothing loaded (load 3)"
    assert report.findings[0].reason == (
        "line 1: columns 'Referral Date' and 'Date of Referral' both give referral_date: keep one"
    )


# --- a warehouse written by the previous release ---------------------------------------------------------------------


def test_a_warehouse_of_the_previous_schema_is_upgraded_when_it_is_first_read(duck_db: Path, tmp_path: Path) -> None:
    import duckdb

    db = duck_db
    from etl.catalogue.contract import EXTRACT_TYPES
    from etl.store.warehouse import HEAD

    records = write(tmp_path, "a.csv", ASSESSMENT_HEADER, [["N1", "Team A", "2023-10-02", None, None]])
    assert load(db, records, "2023-10-20").ok
    # Take the warehouse back to schema version 1: no record as-of dates, no mart note, no re-dated count.
    con = duckdb.connect(str(db))
    for extract in EXTRACT_TYPES.values():
        if extract.record_level:
            for table in (extract.table, f"{extract.table}_replaced"):
                con.execute(f'ALTER TABLE "{table}" DROP COLUMN as_of')
    con.execute("ALTER TABLE kpi_monthly DROP COLUMN note")
    con.execute("ALTER TABLE loads DROP COLUMN rows_redated")
    # ... and before migrations and authorities: no Alembic version, no la_code, no schema key.
    for (table,) in con.execute("SELECT table_name FROM duckdb_columns() WHERE column_name = 'la_code'").fetchall():
        if table in ("authorities", "neighbours"):  # DfE's own codes, not ours
            continue
        con.execute(f'ALTER TABLE "{table}" DROP COLUMN la_code')
    con.execute("DROP TABLE alembic_version")
    con.execute("DELETE FROM settings WHERE key = 'schema'")
    con.execute("UPDATE settings SET value = '1' WHERE key = 'schema_version'")
    con.close()
    fresh = queries.freshness(db=db)
    assert fresh.set_index("name").loc["assessments", "as_of"] == date(2023, 10, 20)
    with reading(db) as con:
        assert con.execute("SELECT child_id, as_of FROM assessments").fetchall() == [("N1", date(2023, 10, 20))]
        assert con.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchall() == [("4",)]
        # Every revision in etl/store/migrations/versions/ applied, up to the newest.
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert con.execute("SELECT DISTINCT la_code FROM assessments").fetchall() == [("938",)]
        assert con.execute("SELECT count(*) FROM authorities").fetchone()[0] == 153  # and the published figures
    assert scorecard_row(db, "seen_5wd", "2023-10")["numerator"] == 0
