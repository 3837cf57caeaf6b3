"""The Making Data Count icon matrix: the same icons as each unit's scorecard, the
counts above it, safe HTML; and why a point is special, in the SPC chart's words."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from kpi_helpers import add_records, new_warehouse

from dashboard.components.comparators import england_by_period
from dashboard.components.matrix import counts_text, icon_matrix_html
from dashboard.components.spc_figure import spc_figure, special_cause_rows
from etl.catalogue.metrics import catalogue
from etl.rules import spc
from etl.serve import queries

ROOT = Path(__file__).resolve().parent.parent

# Team A (Assessment and Intervention), mo_up_to_date, Oct 2022 - Nov 2023, out of 100:
# 50 52 50 52 50 52 50 then 56 58 56 58 56 58 56. The last 7 are above the mean (a shift):
# special cause improving (higher is better); the 2023/24 target 95 is above the upper limit
# (about 60): consistently failing. Team B: the same 14 months at 98 and 99 in turn: mean
# 98.5, moving range 1, limits 98.5 +/- 2.66: common cause, and the target 95 is below the
# lower limit 95.84: consistently passing.
A = [50, 52, 50, 52, 50, 52, 50, 56, 58, 56, 58, 56, 58, 56]
B = [98, 99] * 7
MONTHS = [date(2022 + (9 + i) // 12, (9 + i) % 12 + 1, 1) for i in range(14)]


@pytest.fixture
def db(tmp_path):
    db = new_warehouse(tmp_path)
    rows = [
        {"period": m, "metric_id": "mo_up_to_date", "team": team, "numerator": v, "denominator": 100}
        for team, values in (("Team A", A), ("Team B", B))
        for m, v in zip(MONTHS, values, strict=True)
    ]
    add_records(db, "kpi_values", rows, as_of=date(2023, 12, 5))
    return db


def _cell(frame, metric_id, unit):
    found = frame[(frame["metric_id"] == metric_id) & (frame["org_unit"] == unit)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_matrix_of_a_service_is_every_kpi_by_its_teams(db):
    frame = queries.icon_matrix("2023-11", "service", "Assessment and Intervention", db=db)
    assert len(frame) == len(catalogue().metrics) * 2
    assert list(frame["org_unit"][:2]) == ["Team A", "Team B"] and set(frame["level"]) == {"team"}
    a, b = _cell(frame, "mo_up_to_date", "Team A"), _cell(frame, "mo_up_to_date", "Team B")
    assert (a["variation"], a["variation_icon"], a["assurance"], a["assurance_icon"]) == (
        "special cause improving", "improvement_high", "consistently failing", "fail",
    )  # fmt: skip
    assert (b["variation"], b["assurance"]) == ("common cause", "consistently passing")
    assert _cell(frame, "rhi_72h", "Team A")["spc_note"] == "no data"


def test_the_authority_s_matrix_is_its_services(db):
    frame = queries.icon_matrix("2023-11", "la", db=db)
    assert list(dict.fromkeys(frame["org_unit"])) == ["Assessment and Intervention", "Children We Care For"]
    assert set(frame["level"]) == {"service"}
    with pytest.raises(queries.UnknownName, match="a team has no units below it"):
        queries.icon_matrix("2023-11", "team", "Team A", db=db)


def test_the_counts_above_the_matrix(db):
    frame = queries.icon_matrix("2023-11", "service", "Assessment and Intervention", db=db)
    counts = queries.matrix_counts(frame)
    assert counts["special cause improving"] == (1, 1) and counts["consistently failing"] == (1, 1)
    assert counts_text(counts, "team") == (
        "0 KPIs special cause concerning; 1 KPI consistently failing (in 1 team); "
        "1 KPI special cause improving (in 1 team); 1 KPI consistently passing (in 1 team)."
    )
    assert counts_text({"special cause concerning": (3, 5), "consistently failing": (2, 9)}, "team") == (
        "3 KPIs special cause concerning (in 5 teams); 2 KPIs consistently failing (in 9 teams)."
    )


def _scorecard_builder():
    spec = importlib.util.spec_from_file_location("scorecard_bench", ROOT / "benchmarks" / "scorecard_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_matrix_s_icons_equal_each_team_s_scorecard(tmp_path, monkeypatch):
    # The benchmark's deterministic warehouse, small: 12 teams, 60 months of every metric.
    bench = _scorecard_builder()
    monkeypatch.setattr(bench, "TEAMS", 12)
    db = tmp_path / "warehouse.duckdb"
    bench.build(db)
    period = queries.periods(db=db)[-1]
    columns = ["variation", "variation_icon", "assurance", "assurance_icon", "spc_note"]
    for service in queries.units_at("service", db=db)[:2]:
        frame = queries.icon_matrix(period, "service", service, db=db)
        for team in dict.fromkeys(frame["org_unit"]):
            card = queries.scorecard(period, "team", team, db=db).set_index("metric_id")[columns]
            cells = frame[frame["org_unit"] == team].set_index("metric_id")[columns]
            assert cells.equals(card), team
    services = queries.icon_matrix(period, "la", db=db).set_index(["org_unit", "metric_id"])[columns]
    every = queries.scorecard(period, "service", db=db).set_index(["org_unit", "metric_id"])[columns]
    assert services.sort_index().equals(every.sort_index())
    assert (services["variation"] != "").any()  # the comparison is not of empty cells


def test_the_matrix_html_escapes_every_name_and_links_each_cell_to_the_spc_chart(db):
    frame = queries.icon_matrix("2023-11", "service", "Assessment and Intervention", db=db)
    frame = frame.replace({"Team B": "<script>alert(1)</script> & {Co}"})
    html = icon_matrix_html(frame, period="2023-11", unit="A&I <b>", table_id="tm-matrix")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#123;Co&#125;" in html
    assert "A&amp;I &lt;b&gt;" in html
    assert 'href="/kpi/mo_up_to_date?period=2023-11&amp;level=team&amp;unit=Team%20A#kpi-spc-card"' in html
    assert '<img src="/assets/spc-icons/improvement_high.svg"' in html and "Improving (high) · Failing" in html


# --- why a point is special -------------------------------------------------------------------


def test_each_special_point_says_which_rule_it_met():
    # A's 14 months as an XmR chart: the first 7 are below the mean and the last 7 above it,
    # two runs of 7 on one side: every month is special, the first 7 concerning, the rest improving.
    periods = [f"{m.year}-{m.month:02d}" for m in MONTHS]
    result = spc.spc(A, polarity="higher_is_better", periods=periods)
    rows = special_cause_rows(result)
    assert [r["period"] for r in rows] == periods
    assert all(r["rules"][0] == "7 or more in a row on one side of the mean" for r in rows)
    # 58 is beyond two sigma (mean 53.9 + 2/3 x 2.66 x 2.31 = 58.0): months 9, 11 and 13 also meet 2 of 3.
    assert [r["period"] for r in rows if "2 of 3 close to a limit, on one side" in r["rules"]] == [
        periods[8], periods[10], periods[12],
    ]  # fmt: skip
    assert {r["class"] for r in rows[:7]} == {"Special cause – concerning"}
    assert {r["class"] for r in rows[7:]} == {"Special cause – improving"}
    beyond = spc.spc([10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 30], polarity="lower_is_better")
    assert special_cause_rows(beyond)[-1]["rules"] == ["beyond a process limit"]
    figure = spc_figure(result, title="t", unit="percent")
    hovers = [t for trace in figure.data if trace.text is not None for t in trace.text]
    assert any("Special because: 7 or more in a row on one side of the mean" in h for h in hovers)


def test_the_spc_chart_draws_england_of_each_year_beside_the_target():
    periods = ["2023-02", "2023-03", "2023-04", "2023-05"]
    line = england_by_period(periods, {2023: 80.0, 2024: 82.0})
    assert line == [80.0, 80.0, 82.0, 82.0]  # April 2023 starts 2023/24, the year to March 2024
    assert england_by_period(["2026-05"], {2024: 82.0, 2025: 83.0}) == [83.0]  # the latest before
    assert england_by_period(["2019-05"], {2024: 82.0}) == [None]
    result = spc.spc([70, 71, 72, 73], polarity="higher_is_better", periods=periods, target=85)
    figure = spc_figure(result, title="t", unit="percent", references={"England (published, each year)": line})
    england = next(t for t in figure.data if t.name == "England (published, each year)")
    assert list(england.y) == line and england.line.shape == "hv"
    assert np.isfinite(result.target)
