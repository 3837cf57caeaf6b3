"""One rule per KPI: the scorecard's figure (kpi_monthly), the child list and the due list
are all selections from the one record-level query of each source (etl/rules/kpis/<source>.sql),
so they agree by construction. These tests stay as the guard, on hand-made records (worked by
hand in the comments), on an Annex A workbook whose List 4 says only Yes/No in its seen column,
and on the demo.

Working days from Mon 3 Jul 2023 (day 0): 4-7 Jul 1-4, Mon 10 Jul 5, ... 31 Jul 20, 1-4 Aug 24,
7-11 Aug 29, 14-18 Aug 34, 21-25 Aug 39, (Mon 28 Aug Summer bank holiday) 29-31 Aug 42, Fri 1 Sep
43, Mon 4 Sep 44, Tue 5 Sep 45. From Wed 26 Jul: 27 Jul 1, 28 Jul 2, 31 Jul 3, 1 Aug 4, Wed 2 Aug 5.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from kpi_helpers import AUTHORITY, add_records, mart, new_warehouse

from etl.catalogue.metrics import CatalogueError, catalogue, load_catalogue
from etl.ingest.load import load_files
from etl.privacy import access, children
from etl.rules import kpis
from etl.store.warehouse import reading, writer


@pytest.fixture(autouse=True)
def command_line():
    """Read as the command line does: no viewer, no roles (even when another test module has put
    the web app's gate up in this process)."""
    with access.viewing(None):
        yield


def _a(child, team, start, seen=None, completed=None, flag=None):
    return {
        "child_id": child,
        "team": team,
        "assessment_start_date": start,
        "child_seen_date": seen,
        "assessment_completed_date": completed,
        "child_seen": flag,
    }


def rows(found) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in r) for r in found.rows.itertuples(index=False)]


def test_a_yes_no_seen_flag_is_in_no_figure_list_or_due_list(tmp_path, new_target):
    # Team A, all started Mon 3 Jul 2023, none completed, as of Mon 31 Jul (day 20):
    #   d1 seen Wed 5 Jul (day 2): met. d2 not seen: day 20 > 5, overdue (counted, not met).
    #   y1 says only "Yes", y2 only "No" (Annex A's seen column without dates): cannot be timed.
    # Team B: d3 started Wed 26 Jul, not seen: 31 Jul is day 3, not yet due (deadline Wed 2 Aug).
    # seen_5wd for July: 1 met of 2 counted (d1, d2), at the team, the service and the authority.
    db = new_warehouse(new_target(tmp_path))
    add_records(
        db,
        "assessments",
        [
            _a("d1", "Team A", date(2023, 7, 3), seen=date(2023, 7, 5)),
            _a("d2", "Team A", date(2023, 7, 3)),
            _a("y1", "Team A", date(2023, 7, 3), flag=True),
            _a("y2", "Team A", date(2023, 7, 3), flag=False),
            _a("d3", "Team B", date(2023, 7, 26)),
        ],
        as_of=date(2023, 7, 31),
    )
    assert mart(db, "seen_5wd", "team", "Team A") == {"2023-07": (1, 2)}
    assert mart(db, "seen_5wd", "team", "Team B") == {}  # only not yet due: no figure
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {"2023-07": (1, 2)}

    found = children.child_list("seen_5wd", "2023-07", "la", db=db)
    assert [(r[0], r[6]) for r in rows(found)] == [("d1", "met"), ("d2", "overdue"), ("d3", "not yet due")]
    assert (found.numerator, found.denominator, found.met, found.counted) == (1, 2, 1, 2) and found.ties

    # Now is the latest as-of date, 31 Jul; 5 working days on is Mon 7 Aug. d2's deadline was
    # Mon 10 Jul (day 5): overdue; d3's is Wed 2 Aug: due. y1 and y2 are not listed for seen_5wd.
    # The 45-day deadlines (5 Sep for Team A, 28 Sep for d3) are further off.
    # Due first (d3, 2 days left), then the overdue (d2, 21 days since 10 Jul).
    due = children.due_list(days=5, db=db)
    listed = due.rows.drop(columns="worker").itertuples(index=False)
    assert [tuple(None if pd.isna(v) else v for v in r) for r in listed] == [
        ("seen_5wd", "d3", "Team B", "2023-07-26", "2023-08-02", 2, None, "due"),
        ("seen_5wd", "d2", "Team A", "2023-07-03", "2023-07-10", None, 21, "overdue"),
    ]
    # 30 working days on is Tue 12 Sep (1-4 Aug 4, ... 29 Aug-1 Sep 23, 4-8 Sep 28, 11 Sep 29,
    # 12 Sep 30): Team A's four assessments fall due by 5 Sep for assessments_45wd, y1 and y2 among
    # them: a Yes/No seen flag leaves a record out of seen_5wd only, not out of the other KPI.
    later = children.due_list(days=30, db=db)
    assert sorted(later.rows[later.rows["metric_id"] == "assessments_45wd"]["child_id"]) == ["d1", "d2", "y1", "y2"]
    assert set(later.rows[later.rows["metric_id"] == "assessments_45wd"]["deadline"]) == {"2023-09-05"}
    assert sorted(later.rows[later.rows["metric_id"] == "seen_5wd"]["child_id"]) == ["d2", "d3"]
    assert_the_lists_agree_with_the_figures(db, ["2023-07"])


# --- the guard: every record-level KPI, level, unit and month -------------------------------


def record_metrics():
    return [m for m in catalogue().metrics if children.is_record_level(m)]


def _units(con) -> list[tuple[str, str | None]]:
    org = con.execute("SELECT team, service, area FROM organisation").fetchall()
    return [
        ("la", None),
        *(("area", a) for a in sorted({a for _t, _s, a in org})),
        *(("service", s) for s in sorted({s for _t, s, _a in org})),
        *(("team", t) for t in sorted({t for t, _s, _a in org})),
    ]


def assert_the_lists_agree_with_the_figures(db, periods: list[str], *, every_unit: bool = True) -> None:
    """For every record-level KPI, level and unit: (1) every month's child-list rows (the list's own
    selection: the KPI's rows of that month and the unit's teams) give kpi_monthly's numerator
    (met) and denominator (counted; rows, for a count); (2) child_list itself, for each of
    `periods`, prints the scorecard's figure and ties to it (for every unit, or the first of each
    level: the demo's 39 units x 14 KPIs would be 546 lists, and (1) covers them all); (3) the due
    list holds no record the KPI's rows leave out (every due row is one of the KPI's records, open,
    judged on its now)."""
    with reading(db) as con:
        units = _units(con)
        mart_rows = con.execute(
            "SELECT metric_id, substr(CAST(period AS VARCHAR), 1, 7), level, org_unit, numerator, denominator"
            " FROM kpi_monthly"
        ).fetchall()
        teams_of = {
            (level, unit): {
                t for (t,) in con.execute(f"SELECT team FROM organisation WHERE {level} = ?", [unit]).fetchall()
            }
            for level, unit in units
            if level != "la"
        }
        for metric in record_metrics():
            records = children.records_sql(metric.source)
            listed = con.execute(
                f"SELECT substr(CAST(period AS VARCHAR), 1, 7) AS month, team, outcome FROM ({records}) AS r"
                " WHERE metric_id = $metric AND period IS NOT NULL",
                {"metric": metric.metric_id, **kpis.record_params(records)},
            ).df()
            figures = {
                (p, lv, u): (n, d)
                for m, p, lv, u, n, d in mart_rows
                if m == metric.metric_id and not (metric.unit == "count" and n == 0)
            }
            # A month outside the extract's cover may have its figure given upstream (kpi_values):
            # no records behind it, and the child list says so rather than tie (children._given_upstream).
            given = set(children._given_upstream(con, metric, sorted({p for p, _lv, _u in figures})))
            figures = {key: value for key, value in figures.items() if key[0] not in given}
            tallied = {}
            for level, unit in units:
                mine = listed if level == "la" else listed[listed["team"].isin(teams_of[(level, unit)])]
                for month, group in mine.groupby("month"):
                    if metric.unit == "count":
                        tallied[(month, level, unit or AUTHORITY)] = (len(group), None)
                        continue
                    counted = int(group["outcome"].isin(children.COUNTED).sum())
                    if counted:  # only "not yet due": no figure
                        met = int((group["outcome"] == "met").sum())
                        tallied[(month, level, unit or AUTHORITY)] = (met, counted)
            assert tallied == figures, metric.metric_id
    if not every_unit:
        units = [next(u for u in units if u[0] == level) for level in ("la", "area", "service", "team")]
    for metric in record_metrics():
        for level, unit in units:
            for period in periods:
                found = children.child_list(metric.metric_id, period, level, unit, db=db)
                if found.numerator is not None and not found.given_upstream:
                    assert found.ties, (metric.metric_id, period, level, unit)
    assert_the_due_list_is_within_the_figures(db)


def assert_the_due_list_is_within_the_figures(db) -> None:
    for on in (None, date(2023, 7, 31)):
        due = children.due_list(days=260, on=on, db=db)
        with reading(db) as con:
            for metric_id, group in due.rows.groupby("metric_id"):
                metric = catalogue().metric(metric_id)
                assert metric.timed, metric_id
                records = children.records_sql(metric.source)
                judged = con.execute(
                    f"SELECT child_id, team, start FROM ({records}) AS r"
                    " WHERE metric_id = $metric AND outcome IN ('overdue', 'not yet due')",
                    {"metric": metric_id, **kpis.record_params(records, due.now[metric.source])},
                ).fetchall()
                assert set(zip(group["child_id"], group["team"], group["start"], strict=True)) <= set(judged)


# --- an Annex A workbook whose List 4 says only Yes/No ------------------------------------

LIST4 = [
    "Child Unique ID",
    "Continuous Assessment Start Date",
    "Child Seen During Continuous Assessment",
    "Continuous Assessment Date of Authorisation",
    "Allocated Team",
]


def test_an_annex_a_list_4_with_yes_no_agrees_everywhere(tmp_path: Path) -> None:
    # List 4, started Mon 3 Jul 2023: A0 "a) Yes", completed Fri 28 Jul (day 19: met for
    # assessments_45wd, in July); A1 "b) No" and A2 "a) Yes", open (due by Tue 5 Sep). Loaded as of
    # 31 Jul. Beside it, dated records for Team B: b1 started 3 Jul seen Wed 12 Jul (day 7, late).
    db = new_warehouse(tmp_path)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "List 4"
    sheet.append(["List 4: Assessments"])
    sheet.append(LIST4)
    sheet.append(["A0", datetime(2023, 7, 3), "a) Yes", datetime(2023, 7, 28), "Team A"])
    sheet.append(["A1", datetime(2023, 7, 3), "b) No", None, "Team A"])
    sheet.append(["A2", datetime(2023, 7, 3), "a) Yes", None, "Team A"])
    book.save(tmp_path / "annex_a.xlsx")
    (report,) = load_files([tmp_path / "annex_a.xlsx"], as_of=date(2023, 7, 31), who="test", db=db)
    assert report.ok, report.summary()
    add_records(
        db, "assessments", [_a("b1", "Team B", date(2023, 7, 3), seen=date(2023, 7, 12))], as_of=date(2023, 7, 31)
    )

    assert mart(db, "assessments_45wd", "team", "Team A") == {"2023-07": (1, 1)}
    assert mart(db, "seen_5wd", "team", "Team A") == {}
    assert mart(db, "seen_5wd", "la", AUTHORITY) == {"2023-07": (0, 1)}  # b1 only
    assert children.child_list("seen_5wd", "2023-07", "team", "Team A", db=db).rows.empty
    due = children.due_list(days=30, db=db)
    assert sorted(map(tuple, due.rows[["metric_id", "child_id"]].to_numpy().tolist())) == [
        ("assessments_45wd", "A1"),
        ("assessments_45wd", "A2"),
        ("assessments_45wd", "b1"),  # open too, same deadline; seen late, so not due for seen_5wd
    ]
    assert_the_lists_agree_with_the_figures(db, ["2023-07"])


# --- the demo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from etl.demo.extracts import load_demo

    folder = tmp_path_factory.mktemp("demo-one-rule")
    db = folder / "warehouse.duckdb"
    with redirect_stdout(io.StringIO()):
        assert load_demo(if_empty=True, who="test", db=db, folder=folder / "demo") == 0
    return db


def test_the_demo_lists_agree_with_the_scorecard_everywhere(demo: Path) -> None:
    assert_the_lists_agree_with_the_figures(demo, ["2023/24 Q2", "2022/23"], every_unit=False)


# --- the clocks and counted dates are metrics.yml's ------------------------------------------


def _catalogue_with(tmp_path: Path, metric_id: str, **fields) -> Path:
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "metrics.yml").read_text(encoding="utf-8"))
    next(m for m in raw["metrics"] if m["metric_id"] == metric_id).update(fields)
    path = tmp_path / "metrics.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_a_clock_is_read_from_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Started Mon 3 Jul 2023, seen Tue 11 Jul: day 6 (4-7 Jul 1-4, 10 Jul 5, 11 Jul 6). Late against
    # metrics.yml's 5 working days; met against a catalogue that says 6, in the figure, the list and
    # the deadline alike (Tue 11 Jul, the 6th working day).
    db = new_warehouse(tmp_path)
    add_records(
        db, "assessments", [_a("s1", "Team A", date(2023, 7, 3), seen=date(2023, 7, 11))], as_of=date(2023, 7, 31)
    )
    assert rows(children.child_list("seen_5wd", "2023-07", "la", db=db))[0][3:] == (
        "2023-07-10",
        "2023-07-11",
        6,
        "late",
    )
    monkeypatch.setenv("CPIP_METRICS", str(_catalogue_with(tmp_path, "seen_5wd", clock={"working_days": 6})))
    with writer(db) as con:
        kpis.rebuild(con)
    found = children.child_list("seen_5wd", "2023-07", "la", db=db)
    assert rows(found)[0][3:] == ("2023-07-11", "2023-07-11", 6, "met")
    assert (found.numerator, found.denominator) == (1, 1)


def test_a_clock_or_counted_date_that_cannot_be_read_is_refused_by_name(tmp_path: Path) -> None:
    both = _catalogue_with(tmp_path, "seen_5wd", clock={"working_days": 5, "hours": 72})
    with pytest.raises(CatalogueError, match=r"metric seen_5wd, field clock: give either working_days or hours"):
        load_catalogue(both)
    wrong = _catalogue_with(tmp_path, "iha_20wd", counted_on="iha_dat")
    with pytest.raises(CatalogueError, match=r"metric iha_20wd.*'iha_dat' is not a column of health_assessments"):
        load_catalogue(wrong)
    # A timed rule whose clock is gone: the SQL that reads it says which metric and field.
    gone = load_catalogue(_catalogue_with(tmp_path, "iha_20wd", clock=None))
    with pytest.raises(ValueError, match=r"metric iha_20wd needs 'working_days'"):
        kpis.record_sql("health_assessments", gone)
