"""The user-facing half of statistical process control: `etl.serve.queries.spc_series`
on a hand-made warehouse, the scorecard's SPC cell, and the KPI page's SPC card.
Every expected number is worked out by hand below."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dash_tree import by_id, find_all, text_of
from kpi_helpers import add_records, new_warehouse

from dashboard.components.spc_figure import reason_words
from dashboard.components.tables import spc_cell
from etl.serve import queries

ROOT = Path(__file__).resolve().parent.parent

# mo_up_to_date (percent, higher is better, XmR chart, no rebase) for Team A, October 2022 to
# November 2023, out of 100 each month: 50, 52, 50, 52, 50, 52, 50, then 56, 58, 56, 58, 56, 58, 56.
# Mean 754 / 14 = 53.857. Moving ranges: twelve of 2 and one of 6 (50 -> 56): 30 / 13 = 2.3077
# (6 is below the screening line 3.267 x 2.3077 = 7.54, so it stays).
# Limits 53.857 +/- 2.66 x 2.3077 = 47.719 .. 59.995. No point is outside them.
# The first 7 months are all below the mean (a shift, higher is better: concerning); the last 7 all
# above it (a shift: improving). Two-sigma line 53.857 + 2/3 x 6.138 = 57.949: the 58s are beyond it.
# Latest point improving and high; the 2023/24 target 95 is above the upper limit: consistently failing.
VALUES = [50, 52, 50, 52, 50, 52, 50, 56, 58, 56, 58, 56, 58, 56]
MONTHS = [date(2022 + (9 + i) // 12, (9 + i) % 12 + 1, 1) for i in range(14)]
MEAN = 754 / 14
MR_BAR = 30 / 13


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spc_ui")
    path = new_warehouse(folder)
    rows = [
        {"period": m, "metric_id": "mo_up_to_date", "team": "Team A", "numerator": v, "denominator": 100}
        for m, v in zip(MONTHS, VALUES, strict=True)
    ]
    add_records(path, "kpi_values", rows, as_of=date(2023, 12, 5))
    return path


# ---------------------------------------------------------------- spc_series


def test_spc_series_flags_both_shifts_and_computes_the_limits(db):
    assert MONTHS[0] == date(2022, 10, 1) and MONTHS[-1] == date(2023, 11, 1)
    r = queries.spc_series("mo_up_to_date", "team", "Team A", db=db)
    assert r.chart == "xmr" and r.polarity == "higher_is_better" and r.target == 95
    assert r.period[0] == "2022-10" and r.period[-1] == "2023-11" and len(r) == 14
    assert list(r.value) == VALUES
    assert r.mean[0] == pytest.approx(53.857, abs=1e-3)
    assert r.upper[0] == pytest.approx(MEAN + 2.66 * MR_BAR) == pytest.approx(59.995, abs=1e-3)
    assert r.lower[0] == pytest.approx(MEAN - 2.66 * MR_BAR) == pytest.approx(47.719, abs=1e-3)
    assert r.point_class[:7] == ("special cause concerning",) * 7
    assert r.point_class[7:] == ("special cause improving",) * 7
    assert list(np.flatnonzero(r.shift)) == list(range(14))
    assert not r.outside_limits.any()
    # the 58s (positions 8, 10, 12) lie beyond the two-sigma line 57.949, two in every three above the mean
    assert list(np.flatnonzero(r.two_in_three)) == [8, 10, 12]
    assert (r.variation, r.variation_side, r.assurance) == ("special cause improving", "high", "consistently failing")


def test_spc_series_up_to_a_month_has_too_few_points_for_icons(db):
    # October 2022 to May 2023: 8 points, fewer than the 12 icons need.
    r = queries.spc_series("mo_up_to_date", "team", "Team A", period="2023-05", db=db)
    assert len(r) == 8 and r.period[-1] == "2023-05"
    assert (r.variation, r.assurance) == ("", "")
    assert r.reason == "needs at least 12 points; has 8"
    assert reason_words(r.reason) == "Too few points (8 of 12)"
    # the same judgement as the scorecard's for that month
    frame = queries.scorecard("2023-05", "team", "Team A", db=db)
    row = frame[frame["metric_id"] == "mo_up_to_date"].iloc[0]
    assert (row["variation_icon"], row["assurance_icon"], row["spc_note"]) == ("", "", r.reason)


def test_p_chart_takes_each_months_denominator_and_the_rebase():
    # assessments_45wd: a p-chart, rebased from April 2023. April to July 2023: 80/100, 90/100,
    # 85/100, 20/25. Pooled p = 275 / 325 = 84.615%. Limits at n = 100: 84.615 +/- 3 x 3.6080
    # = 73.791 .. 95.439; at n = 25: +/- 3 x 7.2160 = 62.967 .. 106.26, clipped to 100.
    frame = pd.DataFrame(
        {
            "period": ["2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07"],
            "numerator": [70.0, 72.0, 74.0, 80.0, 90.0, 85.0, 20.0],
            "denominator": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 25.0],
        }
    )
    frame["value"] = 100 * frame["numerator"] / frame["denominator"]
    r = queries.spc_of_series("assessments_45wd", frame)
    assert r.chart == "p" and r.target == 90  # the 2023/24 target
    assert r.rebase_positions == (3,)
    assert list(r.segment) == [0, 0, 0, 1, 1, 1, 1]
    assert r.mean[3] == pytest.approx(100 * 275 / 325)
    assert r.upper[3] == pytest.approx(95.439, abs=1e-3) and r.lower[3] == pytest.approx(73.791, abs=1e-3)
    assert r.upper[6] == 100 and r.lower[6] == pytest.approx(62.967, abs=1e-3)
    assert r.reason == "needs at least 12 points since the last rebase; has 4"
    assert reason_words(r.reason) == "Too few points since the rebase (4 of 12)"


def test_a_count_is_always_an_xmr_chart():
    frame = pd.DataFrame(
        {"period": ["2023-06", "2023-07"], "numerator": [250.0, 283.0], "denominator": [np.nan, np.nan]}
    ).assign(value=lambda f: f["numerator"])
    r = queries.spc_of_series("missing_episodes", frame)
    assert r.chart == "xmr" and r.polarity == "lower_is_better" and r.target == 250


# ---------------------------------------------------------------- scorecard cell


def _imgs(component) -> list:
    return find_all(component, lambda c: type(c).__name__ == "Img")


def test_spc_cell_shows_both_icons_with_their_words():
    row = {
        "variation": "special cause improving",
        "variation_icon": "improvement_high",
        "assurance": "consistently failing",
        "assurance_icon": "fail",
        "spc_note": "",
    }
    cell = spc_cell(row)
    imgs = _imgs(cell)
    assert [i.alt for i in imgs] == [
        "Special cause variation – improving: higher values",
        "Assurance: the process will consistently fail the target",
    ]
    assert all(i.src.startswith("data:image/svg+xml") for i in imgs)
    # the words printed under the icons on paper
    assert text_of(cell).strip() == "Improving (high) · Failing"
    assert cell.className == "cpip-spc"


def test_spc_cell_monitored_has_only_the_variation_icon():
    row = {"variation": "common cause", "variation_icon": "common_cause", "assurance": "", "assurance_icon": ""}
    assert [i.alt for i in _imgs(spc_cell(row))] == ["Common cause variation: no significant change"]


def test_spc_cell_gives_the_reason_when_there_are_no_icons(db):
    frame = queries.scorecard("2023-05", "team", "Team A", db=db)
    row = frame[frame["metric_id"] == "mo_up_to_date"].iloc[0].to_dict()
    cell = spc_cell(row)
    assert _imgs(cell) == []
    assert text_of(cell) == "Too few points (8 of 12)"
    # a KPI with no data at all: a dash, and the reason for a screen reader
    empty = frame[frame["metric_id"] == "icpc_15wd"].iloc[0].to_dict()
    assert text_of(spc_cell(empty)) == "–  No SPC icons: no data"


# ---------------------------------------------------------------- KPI page


@pytest.fixture
def kpi_page(db, monkeypatch):
    monkeypatch.setenv("CPIP_DB", str(db))
    monkeypatch.syspath_prepend(str(ROOT))
    import app  # noqa: F401  (creating the app registers the pages)
    from dashboard.pages import kpi

    return kpi


def test_kpi_page_has_the_spc_chart_with_its_legend_in_words_and_the_icons(kpi_page):
    content = kpi_page.build("mo_up_to_date", "2023-11", "team", "Team A")
    graph = by_id(content, "kpi-spc")
    assert graph is not None
    fig = graph.figure
    # the chart's title is the card's heading, in HTML (inside the chart a narrow screen cut it off)
    assert not fig.layout.title.text
    assert text_of(by_id(content, "kpi-spc-card")).startswith("Statistical process control, Team A, to Nov 2023")
    # the <figure> around the chart names it for a screen reader, and its data is a table
    (figure,) = find_all(
        by_id(content, "kpi-spc-card"), lambda c: type(c).__name__ == "Figure" and hasattr(c, "aria-label")
    )
    assert getattr(figure, "aria-label") == "Management oversight up to date: statistical process control chart, Team A"
    assert by_id(content, "kpi-spc-table") is not None
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [
        "Mean",
        "Process limits",
        "Two-sigma lines",
        "Target (95.0%)",
        "Special cause – improving",
        "Special cause – concerning",
    ]
    points = {t.name: t for t in fig.data if t.mode == "markers"}
    assert len(points["Special cause – improving"].x) == 7 and len(points["Special cause – concerning"].x) == 7
    icons = by_id(content, "kpi-spc-icons")
    assert [i.alt for i in _imgs(icons)] == [
        "Special cause variation – improving: higher values",
        "Assurance: the process will consistently fail the target",
    ]
    assert " ".join(text_of(icons).split()) == "Improving (high) Failing"
    note = text_of(by_id(content, "kpi-spc-note"))
    assert note.startswith("Each point is a month. Points in blue (diamonds) are special cause improving")
    assert "The red dashed line is the target (95.0%)" in note


def test_kpi_page_says_why_there_are_no_icons(kpi_page):
    content = kpi_page.build("mo_up_to_date", "2023-05", "team", "Team A")
    icons = by_id(content, "kpi-spc-icons")
    assert _imgs(icons) == []
    assert text_of(icons) == "No variation or assurance icons: too few points (8 of 12)."
    # the chart stops at the month on screen
    assert text_of(by_id(content, "kpi-spc-kind")) == "XmR chart (individual values), Oct 2022 to May 2023"
    fig = by_id(content, "kpi-spc").figure
    assert str(fig.data[0].x[0]).startswith("2022-10")
