"""The read side (etl.serve.queries) and the `cpip scorecard` / `cpip audits` commands,
on one hand-made warehouse. Expected figures are worked out by hand in the comments.

Thresholds used (metrics.yml):
  icpc_15wd (higher is better): 2020/21 target 80, green 80, amber 70; 2023/24 target 85, green 85, amber 75.
  placed_20mi_out (lower is better): 2023/24 green 17, amber 22.
  homeless_16_17: a monitored count (no RAG).
"""

from __future__ import annotations

import csv
import math
from datetime import date

import pandas as pd
import pytest
from kpi_helpers import AUTHORITY, add_records, new_warehouse

from cpip.cli import main
from etl.catalogue.metrics import catalogue
from etl.serve import queries

N_METRICS = len(catalogue().metrics)


def _kv(period, metric_id, unit, numerator, denominator=None):
    return {
        "period": date.fromisoformat(period + "-01"),
        "metric_id": metric_id,
        "team": unit,
        "numerator": numerator,
        "denominator": denominator,
    }


def _audits(prefix, team, day, counts, *, audit_type="collaborative"):
    """Audit rows from {moderated grade or None: how many}. The auditor's own grade is
    always Inadequate, so a test sees at once if the unmoderated grade leaks in."""
    rows = []
    for grade, n in counts.items():
        for i in range(n):
            rows.append(
                {
                    "audit_id": f"{prefix}-{grade}-{i}",
                    "child_id": f"{prefix}-{grade}-{i}",
                    "team": team,
                    "audit_date": day,
                    "audit_type": audit_type,
                    "grade": "Inadequate",
                    "moderated_grade": grade,
                }
            )
    return rows


@pytest.fixture(scope="module")
def db(tmp_path_factory, module_target):
    """Both engines (conftest's `module_engine`): every query must answer the same on each."""
    db = new_warehouse(module_target(tmp_path_factory.mktemp("queries")))  # organisation as of 1 Apr 2023
    kpi_values = [
        # icpc_15wd, Team A: 82% in March and April 2023 (either side of the threshold change).
        _kv("2023-03", "icpc_15wd", "Team A", 82, 100),
        _kv("2023-04", "icpc_15wd", "Team A", 82, 100),
        _kv("2023-04", "icpc_15wd", "Team D", 60, 100),
        # May: exactly on the 2023/24 thresholds (85 green, 75 amber), and just under amber.
        _kv("2023-05", "icpc_15wd", "Team A", 85, 100),
        _kv("2023-05", "icpc_15wd", "Team B", 75, 100),
        _kv("2023-05", "icpc_15wd", "Team C", 74, 100),
        # June -> July: A 80 -> 90, B 90 -> 80, C 50 -> 50, D none.
        _kv("2023-06", "icpc_15wd", "Team A", 80, 100),
        _kv("2023-06", "icpc_15wd", "Team B", 90, 100),
        _kv("2023-06", "icpc_15wd", "Team C", 50, 100),
        _kv("2023-07", "icpc_15wd", "Team A", 90, 100),
        _kv("2023-07", "icpc_15wd", "Team B", 80, 100),
        _kv("2023-07", "icpc_15wd", "Team C", 50, 100),
        # placed_20mi_out (lower is better): June A 25, B 20; July A 20, B 25, C 17, D 22.
        _kv("2023-06", "placed_20mi_out", "Team A", 25, 100),
        _kv("2023-06", "placed_20mi_out", "Team B", 20, 100),
        _kv("2023-07", "placed_20mi_out", "Team A", 20, 100),
        _kv("2023-07", "placed_20mi_out", "Team B", 25, 100),
        _kv("2023-07", "placed_20mi_out", "Team C", 17, 100),
        _kv("2023-07", "placed_20mi_out", "Team D", 22, 100),
        # homeless_16_17 (count): June A 3, B 5; July A 5, B 3, C 4.
        _kv("2023-06", "homeless_16_17", "Team A", 3),
        _kv("2023-06", "homeless_16_17", "Team B", 5),
        _kv("2023-07", "homeless_16_17", "Team A", 5),
        _kv("2023-07", "homeless_16_17", "Team B", 3),
        _kv("2023-07", "homeless_16_17", "Team C", 4),
    ]
    add_records(db, "kpi_values", kpi_values, as_of=date(2023, 8, 5), rebuild=False)
    # The published Q1 2023/24 audit table (seed 003): 78 audits, 71 moderated,
    # 1 Outstanding, 24 Good, 43 Requires Improvement, 3 Inadequate, spread as
    #   April: 27 audits, 26 moderated (1 O in Team C, 6 G, 17 RI, 2 I)
    #   May:   27 audits, 25 moderated (10 G, 14 RI, 1 I)
    #   June:  24 audits, 20 moderated (8 G, 12 RI); the 4 unmoderated are management_oversight.
    # Plus one audit in March 2023 (Good) and one in January 2024 (RI), for quarter labels.
    audits = (
        _audits("apr-c", "Team C", date(2023, 4, 12), {"Outstanding": 1})
        + _audits("apr", "Team A", date(2023, 4, 12), {"Good": 6, "Requires Improvement": 17, "Inadequate": 2, None: 1})
        + _audits("may", "Team B", date(2023, 5, 10), {"Good": 10, "RI": 14, "Inadequate": 1, None: 2})
        + _audits("jun", "Team A", date(2023, 6, 14), {"Good": 8, "Requires Improvement": 12})
        + _audits("jun-mo", "Team A", date(2023, 6, 14), {None: 4}, audit_type="management_oversight")
        + _audits("mar", "Team B", date(2023, 3, 15), {"Good": 1})
        + _audits("jan", "Team B", date(2024, 1, 15), {"Requires Improvement": 1})
    )
    add_records(db, "case_audits", audits, as_of=date(2024, 2, 10))
    return db


def row(frame: pd.DataFrame, metric_id: str, org_unit: str) -> pd.Series:
    found = frame[(frame["metric_id"] == metric_id) & (frame["org_unit"] == org_unit)]
    assert len(found) == 1
    return found.iloc[0]


# --- scorecard -----------------------------------------------------------------------


def test_scorecard_has_every_metric_for_every_unit_of_the_level(db):
    frame = queries.scorecard("2023-07", "team", db=db)
    assert len(frame) == N_METRICS * 4
    assert list(frame["metric_id"].iloc[:4]) == [catalogue().metrics[0].metric_id] * 4
    assert list(frame["org_unit"].iloc[:4]) == ["Team A", "Team B", "Team C", "Team D"]
    assert list(dict.fromkeys(frame["metric_id"])) == catalogue().ids
    assert len(queries.scorecard("2023-07", "area", db=db)) == N_METRICS * 2
    la = queries.scorecard("2023-07", "la", db=db)
    assert list(la["org_unit"].unique()) == [AUTHORITY]
    assert list(la["metric_id"]) == catalogue().ids
    one = queries.scorecard("2023-07", "team", "Team B", db=db)
    assert list(one["org_unit"].unique()) == ["Team B"]


def test_scorecard_values_rag_and_direction_in_both_polarities(db):
    frame = queries.scorecard("2023-07", "team", db=db)
    # icpc_15wd, July 2023 (2023/24: green 85, amber 75), previous month June.
    expected = {
        "Team A": (90.0, "Green", 80.0, "improving"),
        "Team B": (80.0, "Amber", 90.0, "worsening"),
        "Team C": (50.0, "Red", 50.0, "no change"),
    }
    for team, (value, rag, previous, direction) in expected.items():
        r = row(frame, "icpc_15wd", team)
        assert (r["value"], r["rag"], r["previous_value"], r["direction"]) == (value, rag, previous, direction)
    # placed_20mi_out (lower is better, green 17, amber 22): down is improving.
    r = row(frame, "placed_20mi_out", "Team A")  # 25 -> 20: Amber (<= 22), improving
    assert (r["value"], r["rag"], r["direction"]) == (20.0, "Amber", "improving")
    r = row(frame, "placed_20mi_out", "Team B")  # 20 -> 25: Red, worsening
    assert (r["value"], r["rag"], r["direction"]) == (25.0, "Red", "worsening")
    r = row(frame, "placed_20mi_out", "Team C")  # 17, exactly green: Green; no June value: no direction
    assert (r["value"], r["rag"], r["direction"]) == (17.0, "Green", "")
    r = row(frame, "placed_20mi_out", "Team D")  # 22, exactly amber: Amber
    assert (r["value"], r["rag"]) == (22.0, "Amber")
    # homeless_16_17 (monitored count): no RAG; up / down.
    r = row(frame, "homeless_16_17", "Team A")
    assert (r["value"], r["numerator"], r["rag"], r["direction"], r["unit"]) == (5.0, 5.0, "", "up", "count")
    assert pd.isna(r["denominator"])
    assert row(frame, "homeless_16_17", "Team B")["direction"] == "down"


def test_no_data_is_no_value_and_no_data_rag_never_zero_or_red(db):
    frame = queries.scorecard("2023-07", "team", db=db)
    r = row(frame, "icpc_15wd", "Team D")  # Team D has no July ICPC figure
    assert pd.isna(r["value"]) and pd.isna(r["numerator"]) and pd.isna(r["denominator"])
    assert r["rag"] == "No data"
    assert r["direction"] == ""
    # A metric with no data anywhere: No data for every unit.
    assert set(frame.loc[frame["metric_id"] == "assessments_45wd", "rag"]) == {"No data"}
    # A monitored metric with no data carries no RAG at all.
    assert row(frame, "homeless_16_17", "Team D")["rag"] == ""


def test_scorecard_pools_teams_for_the_authority(db):
    la = queries.scorecard("2023-07", "la", db=db)
    # icpc July: (90 + 80 + 50) / 300 = 73.33% -> Red (below amber 75). June was also
    # (80 + 90 + 50) / 300: no change.
    r = row(la, "icpc_15wd", AUTHORITY)
    assert (r["numerator"], r["denominator"]) == (220.0, 300.0)
    assert r["value"] == pytest.approx(220 / 3)
    assert (r["rag"], r["direction"]) == ("Red", "no change")
    # placed_20mi_out: July 84/400 = 21% (Amber); June 45/200 = 22.5%: improving.
    r = row(la, "placed_20mi_out", AUTHORITY)
    assert (r["value"], r["previous_value"], r["rag"], r["direction"]) == (21.0, 22.5, "Amber", "improving")
    # homeless: 5 + 3 + 4 = 12 in July, 8 in June: up.
    r = row(la, "homeless_16_17", AUTHORITY)
    assert (r["value"], r["previous_value"], r["direction"]) == (12.0, 8.0, "up")


def test_thresholds_of_the_financial_year_in_force(db):
    # Team A scored 82% in both March and April 2023: Green against 2022/23's
    # thresholds (from 2020/21: green 80), Amber against 2023/24's (green 85, amber 75).
    march = row(queries.scorecard("2023-03", "team", "Team A", db=db), "icpc_15wd", "Team A")
    april = row(queries.scorecard("2023-04", "team", "Team A", db=db), "icpc_15wd", "Team A")
    assert (march["value"], march["target"], march["rag"]) == (82.0, 80.0, "Green")
    assert (april["value"], april["target"], april["rag"]) == (82.0, 85.0, "Amber")


def test_value_exactly_on_a_threshold_takes_the_better_colour(db):
    may = queries.scorecard("2023-05", "team", db=db)
    assert row(may, "icpc_15wd", "Team A")["rag"] == "Green"  # 85 = green
    assert row(may, "icpc_15wd", "Team B")["rag"] == "Amber"  # 75 = amber
    assert row(may, "icpc_15wd", "Team C")["rag"] == "Red"  # 74


def test_sparkline_has_12_months_with_gaps_as_none(db):
    r = row(queries.scorecard("2023-07", "team", db=db), "icpc_15wd", "Team A")
    # August 2022 ... July 2023: nothing until March 2023 (7 gaps), then 82, 82, 85, 80, 90.
    assert r["sparkline"] == [None] * 7 + [82.0, 82.0, 85.0, 80.0, 90.0]


def test_scorecard_carries_the_published_figures_of_the_period_s_year(db):
    la = queries.scorecard("2023-07", "la", db=db)
    # la_conviction_health_outcome_cla.csv, SDQ score received, 2024: England 77, South East 72, West Sussex 65.
    r = row(la, "sdq_completed", AUTHORITY)
    assert (r["benchmark_kpi"], r["benchmark_year"]) == ("cla12m_sdq_received_pct", 2024)
    assert (r["england"], r["region"], r["region_name"], r["published"]) == (77.0, 72.0, "South East", 65.0)
    assert pd.isna(row(la, "icpc_15wd", AUTHORITY)["england"])  # no published counterpart


def test_rag_for_and_direction_for():
    cat = catalogue()
    icpc, placed, homeless = cat.metric("icpc_15wd"), cat.metric("placed_20mi_out"), cat.metric("homeless_16_17")
    assert queries.rag_for(icpc, 80.0, "2023-03") == "Green"
    assert queries.rag_for(icpc, 80.0, "2023-04") == "Amber"
    assert queries.rag_for(icpc, None, "2023-04") == "No data"
    assert queries.rag_for(icpc, math.nan, "2023-04") == "No data"
    assert queries.rag_for(placed, 17.0, "2023-07") == "Green"
    assert queries.rag_for(placed, 22.01, "2023-07") == "Red"
    assert queries.rag_for(homeless, 12, "2023-07") == ""
    assert queries.direction_for(icpc, 85.0, 80.0) == "improving"
    assert queries.direction_for(placed, 85.0, 80.0) == "worsening"
    assert queries.direction_for(homeless, 85.0, 80.0) == "up"
    assert queries.direction_for(icpc, 80.0, 80.0) == "no change"
    assert queries.direction_for(icpc, 80.0, None) == ""


# --- series, breakdown, matrices, pooling -------------------------------------------


def test_series_runs_from_the_first_month_with_data_to_the_latest_month(db):
    frame = queries.series("icpc_15wd", "team", "Team A", db=db)
    # Team A's first figure is March 2023; the warehouse's latest month is January 2024
    # (an audit): 11 months, the last six (August-January) with no data.
    assert frame["period"].iloc[0] == "2023-03" and frame["period"].iloc[-1] == "2024-01"
    assert len(frame) == 11
    assert list(frame["value"].iloc[:5]) == [82.0, 82.0, 85.0, 80.0, 90.0]
    assert frame["value"].iloc[5:].isna().all()
    assert list(frame["rag"].iloc[:2]) == ["Green", "Amber"]  # March 2022/23, April 2023/24
    assert list(frame["target"].iloc[:2]) == [80.0, 85.0]
    assert (frame["rag"].iloc[5:] == "No data").all()
    assert queries.series("assessments_45wd", "la", None, db=db).empty


def test_breakdown_best_first_by_polarity_no_data_last(db):
    # icpc July by service: Assessment and Intervention (A, B) = 170/200 = 85% Green;
    # Children We Care For (C, D) = 50/100 = 50% Red.
    frame = queries.breakdown("icpc_15wd", "2023-07", "la", None, db=db)
    assert list(frame["org_unit"]) == ["Assessment and Intervention", "Children We Care For"]
    assert list(frame["value"]) == [85.0, 50.0]
    assert list(frame["rag"]) == ["Green", "Red"]
    assert set(frame["level"]) == {"service"}
    # Lower is better: Northern's teams A (20%) and C (17%): C first.
    frame = queries.breakdown("placed_20mi_out", "2023-07", "area", "Northern", db=db)
    assert list(frame["org_unit"]) == ["Team C", "Team A"]
    # Central's teams for icpc: B 80%, D no data (last).
    frame = queries.breakdown("icpc_15wd", "2023-07", "area", "Central", db=db)
    assert list(frame["org_unit"]) == ["Team B", "Team D"]
    assert frame["rag"].iloc[1] == "No data"
    assert queries.breakdown("icpc_15wd", "2023-07", "team", "Team A", db=db).empty


def test_team_matrix_and_team_grid(db):
    matrix = queries.team_matrix("icpc_15wd", "service", "Children We Care For", "2023-07", months=3, db=db)
    # Teams C and D by May-July 2023: C 74, 50, 50 (Red each); D nothing.
    assert list(matrix["team"]) == ["Team C"] * 3 + ["Team D"] * 3
    assert list(matrix["period"]) == ["2023-05", "2023-06", "2023-07"] * 2
    assert list(matrix["value"].iloc[:3]) == [74.0, 50.0, 50.0]
    assert list(matrix["rag"]) == ["Red"] * 3 + ["No data"] * 3
    grid = queries.team_grid("2023-07", "area", "Northern", db=db)
    assert len(grid) == 2 * N_METRICS
    assert list(grid.columns[:5]) == ["team", "metric_id", "short_name", "numerator", "denominator"]
    g = grid[(grid["team"] == "Team A") & (grid["metric_id"] == "icpc_15wd")].iloc[0]
    assert (g["value"], g["rag"]) == (90.0, "Green")


def test_pooled_sums_months_before_dividing(db):
    # Team A, Q1 2023/24 (April-June): (82 + 85 + 80) / 300 = 82.33%.
    q1 = queries.pooled("icpc_15wd", ["2023-04", "2023-05", "2023-06"], "team", "Team A", db=db)
    assert (q1["numerator"], q1["denominator"]) == (247.0, 300.0)
    assert q1["value"] == pytest.approx(247 / 3)
    # The authority, April: Team A 82/100 and Team D 60/100 -> 142/200 = 71%.
    assert queries.pooled("icpc_15wd", ["2023-04"], "la", None, db=db)["value"] == 71.0
    assert queries.pooled("homeless_16_17", ["2023-06", "2023-07"], "team", "Team A", db=db) == {
        "numerator": 8.0,
        "denominator": None,
        "value": 8.0,
    }
    assert queries.pooled("icpc_15wd", ["2022-01"], "team", "Team A", db=db)["value"] is None


# --- audits ---------------------------------------------------------------------------


def test_audit_grades_reproduce_the_published_q1_row(db):
    frame = queries.audit_grades("quarter", db=db)
    assert list(frame.columns) == queries.AUDIT_COLUMNS
    assert list(frame["period"]) == ["2022/23 Q4", "2023/24 Q1", "2023/24 Q4"]
    q1 = frame.iloc[1]
    counts = ("audits", "moderated", "outstanding", "good", "requires_improvement", "inadequate")
    assert tuple(q1[list(counts)]) == (78, 71, 1, 24, 43, 3)
    # Shares of the 71 moderated audits: 1/71 = 1.4%, 24/71 = 33.8%, 43/71 = 60.6%, 3/71 = 4.2%.
    pcts = ("outstanding_pct", "good_pct", "requires_improvement_pct", "inadequate_pct")
    assert [round(q1[c], 1) for c in pcts] == [1.4, 33.8, 60.6, 4.2]
    assert q1["good_pct"] == pytest.approx(2400 / 71)


def test_audit_grades_by_month_and_filtered(db):
    frame = queries.audit_grades("month", db=db)
    assert list(frame["period"]) == ["2023-03", "2023-04", "2023-05", "2023-06", "2024-01"]
    june = frame.iloc[3]
    # June: 24 audits, 20 moderated: 8 Good (40%), 12 RI (60%), none Inadequate (0%).
    assert (june["audits"], june["moderated"], june["good_pct"], june["inadequate_pct"]) == (24, 20, 40.0, 0.0)
    cwd = queries.audit_grades("month", service="Children We Care For", db=db)
    assert list(cwd["period"]) == ["2023-04"]
    assert (cwd.iloc[0]["outstanding"], cwd.iloc[0]["outstanding_pct"]) == (1, 100.0)
    assert len(queries.audit_grades("month", team="Team C", db=db)) == 1
    # The four management-oversight audits of June were not moderated: no percentages.
    mo = queries.audit_grades("month", audit_type="Management_Oversight", db=db)
    assert (mo.iloc[0]["audits"], mo.iloc[0]["moderated"]) == (4, 0)
    assert pd.isna(mo.iloc[0]["good_pct"])


# --- periods, units, freshness -------------------------------------------------------


def test_periods_units_and_freshness(db):
    assert queries.latest_period(db=db) == "2024-01"
    assert queries.periods(db=db) == ["2023-03", "2023-04", "2023-05", "2023-06", "2023-07", "2024-01"]
    assert queries.units_at("area", db=db) == ["Central", "Northern"]
    assert queries.units_at("la", db=db) == [AUTHORITY]
    assert list(queries.org_units(db=db).columns) == ["team", "service", "area"]
    fresh = queries.freshness(db=db).set_index(["kind", "name"])
    assert fresh.loc[("extract", "kpi_values"), "latest_period"] == "2023-07"
    assert fresh.loc[("extract", "kpi_values"), "as_of"] == date(2023, 8, 5)
    assert fresh.loc[("extract", "case_audits"), "as_of"] == date(2024, 2, 10)
    assert fresh.loc[("extract", "assessments"), "latest_period"] is None
    assert fresh.loc[("extract", "assessments"), "as_of"] is None
    assert fresh.loc[("metric", "icpc_15wd"), "latest_period"] == "2023-07"
    assert fresh.loc[("metric", "audits_good"), "latest_period"] == "2024-01"
    assert fresh.loc[("metric", "mo_audits_good"), "latest_period"] is None  # none moderated
    assert fresh.loc[("metric", "mo_audits_good"), "as_of"] == date(2024, 2, 10)


def test_bad_level_and_metric_are_plain_errors(db):
    with pytest.raises(ValueError, match="not a level"):
        queries.scorecard("2023-07", "region", db=db)
    with pytest.raises(ValueError, match="not a metric"):
        queries.series("nope", "la", None, db=db)


# --- the command line ---------------------------------------------------------------


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, {r["metric_id"] if "metric_id" in r else r["period"]: r for r in reader}


def test_cli_scorecard_csv(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPIP_DB", str(db))
    out = tmp_path / "scorecard.csv"
    assert main(["scorecard", "--period", "2023-07", "--level", "la", "--out", str(out)]) == 0
    header, rows = _read_csv(out)
    assert header[:14] == [
        "metric_id", "metric_name", "area", "period", "level", "org_unit", "numerator", "denominator", "value",
        "unit", "target", "rag", "previous_value", "direction",
    ]  # fmt: skip
    assert list(rows) == catalogue().ids  # every metric at la level
    icpc = rows["icpc_15wd"]  # 220/300 = 73.33% Red, as June: no change
    assert (icpc["period"], icpc["level"], icpc["org_unit"]) == ("2023-07", "la", AUTHORITY)
    assert (icpc["numerator"], icpc["denominator"], icpc["target"], icpc["rag"]) == ("220", "300", "85", "Red")
    assert float(icpc["value"]) == pytest.approx(73.333, abs=1e-3)
    assert icpc["direction"] == "no change"
    homeless = rows["homeless_16_17"]  # a monitored count: 12, no denominator, no RAG, up from 8
    assert (homeless["numerator"], homeless["denominator"], homeless["value"]) == ("12", "", "12")
    assert (homeless["rag"], homeless["direction"], homeless["unit"]) == ("", "up", "count")
    none = rows["assessments_45wd"]  # no data: empty value, "No data", never 0 or Red
    assert (none["value"], none["numerator"], none["rag"]) == ("", "", "No data")


def test_cli_scorecard_team_level_and_audits(db, tmp_path, monkeypatch):
    monkeypatch.setenv("CPIP_DB", str(db))
    out = tmp_path / "teams.csv"
    assert main(["scorecard", "--period", "2023-07", "--level", "team", "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 4 * N_METRICS
    out = tmp_path / "audits.csv"
    assert main(["audits", "--by", "quarter", "--out", str(out)]) == 0
    header, rows = _read_csv(out)
    assert header == queries.AUDIT_COLUMNS
    q1 = rows["2023/24 Q1"]
    assert (q1["audits"], q1["moderated"], q1["outstanding"], q1["good"]) == ("78", "71", "1", "24")
    assert round(float(q1["requires_improvement_pct"]), 1) == 60.6
