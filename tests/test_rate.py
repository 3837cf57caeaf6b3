"""The third unit, `rate` (metrics.yml): value = numerator / denominator, not x 100, shown with one decimal and
no % sign; its counts as "numerator / denominator" with the denominator (FTE) to one decimal. Every figure by
hand: 40 cases over 4.5 FTE is 8.888..., shown "8.9"; 167 over 10 is "16.7" and its counts "167 / 10.0".

The warehouse side (pooling teams into a service, both engines, the pack) is tests/test_workforce.py.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_metrics import _metric, _write

from dashboard.components.format import format_denominator, format_fraction, format_target, format_value
from etl.catalogue.metrics import CatalogueError, catalogue, load_catalogue, value_of
from etl.ingest.report import FigureChange


def test_value_of_each_unit():
    assert value_of("percent", 375, 425) == 100.0 * 375 / 425  # 88.2%
    assert value_of("rate", 40, 4.5) == 40 / 4.5  # 8.9 cases per FTE, not x 100
    assert value_of("rate", 30, 2.0) == 15.0
    assert value_of("count", 283, None) == 283.0
    # No denominator, or 0 of it: no value ("No data"), never 0.
    for denominator in (0, 0.0, None, math.nan):
        assert value_of("rate", 12, denominator) is None
        assert value_of("percent", 12, denominator) is None
    assert value_of("rate", None, 4.5) is None and value_of("count", math.nan, None) is None
    assert catalogue().metric("caseload_per_sw").value_of(167, 10) == 16.7


def test_a_rate_is_given_as_kpi_values_and_drawn_on_an_xmr_chart(tmp_path):
    def from_records(raw):
        _metric(raw, "seen_5wd").update(unit="rate")

    with pytest.raises(CatalogueError, match=r"metric seen_5wd.*a rate is given as kpi_values"):
        load_catalogue(_write(tmp_path, from_records))

    def p_chart(raw):
        _metric(raw, "caseload_per_sw").update(spc_chart="p")

    with pytest.raises(CatalogueError, match=r"metric caseload_per_sw.*spc_chart: a p-chart is for a percentage"):
        load_catalogue(_write(tmp_path, p_chart))

    def unknown(raw):
        _metric(raw, "caseload_per_sw").update(unit="ratio")

    with pytest.raises(CatalogueError, match=r"metric caseload_per_sw, field unit"):
        load_catalogue(_write(tmp_path, unknown))


def test_a_rate_s_thresholds_are_not_held_to_0_to_100(tmp_path):
    def high(raw):
        _metric(raw, "caseload_per_sw")["thresholds"]["2023/24"] = {"target": 150, "green": 150, "amber": 180}

    metric = load_catalogue(_write(tmp_path, high)).metric("caseload_per_sw")
    assert metric.thresholds_for("2023-07").amber == 180


def test_a_rate_is_shown_with_one_decimal_and_no_percent_sign():
    assert format_value(40 / 4.5, "rate") == "8.9"
    assert format_value(15, "rate") == "15.0"  # one decimal always: 15 cases per FTE
    assert format_value(1234.56, "rate") == "1,234.6"
    assert format_value(None, "rate") == format_value(math.nan, "rate") == "No data"
    assert format_target(15, "rate") == "15.0" and format_target(None, "rate") == "–"
    assert format_fraction(167, 10, "rate") == "167 / 10.0"  # cases / FTE
    assert format_fraction(40, 4.5, "rate") == "40 / 4.5"
    assert format_fraction(12, 0, "rate") == format_fraction(12, None, "rate") == ""  # no FTE: nothing to show
    assert format_denominator(2.5, "rate") == "2.5" and format_denominator(None, "rate") == "–"
    # The other units as before.
    assert (format_value(88.2, "percent"), format_value(283, "count")) == ("88.2%", "283")
    assert (format_fraction(375, 425, "percent"), format_fraction(283, None, "count")) == ("375 / 425", "283")
    assert format_denominator(425, "percent") == "425"


def test_the_load_report_and_the_data_page_say_what_a_load_changes_in_a_rate():
    from dashboard.components.data_report import _figure_text

    change = FigureChange("caseload_per_sw", "2023-07", (40, 4.5), (167, 10))
    assert change.words("rate") == "caseload_per_sw 2023-07: 40/4.5 (8.9) -> 167/10.0 (16.7)"
    assert FigureChange("caseload_per_sw", "2023-08", None, (12, 0)).words("rate") == (
        "caseload_per_sw 2023-08: No data -> No data"
    )
    assert FigureChange("seen_5wd", "2023-07", (375, 425), None).words("percent") == (
        "seen_5wd 2023-07: 375/425 (88.2%) -> No data"
    )
    assert _figure_text([40, 4.5], "rate") == "40 / 4.5 (8.9)"
    assert _figure_text([12, 0], "rate") == "No data"
    assert _figure_text([375, 425], "percent") == "375 of 425 (88.2%)"


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["org_unit", "value", "numerator", "denominator", "rag"])


def test_charts_and_tables_label_a_rate_with_its_cases_over_fte():
    from dashboard.components.figures import breakdown_figure, heatmap_figure, trend_figure
    from dashboard.components.tables import monthly_table

    metric = catalogue().metric("caseload_per_sw")
    bars = breakdown_figure(
        _frame([("Team A", 15.0, 30, 2.0, "Green"), ("Team B", 4.0, 10, 2.5, "Green")]), metric, period="2023-07"
    )
    assert sorted(bars.data[0].text) == ["15.0 (30 / 2.0) · Green", "4.0 (10 / 2.5) · Green"]
    assert "%" not in str(bars.layout.xaxis.title.text) and bars.layout.xaxis.tickvals is None
    assert bars.layout.annotations[0].text == "Target 15.0"
    series = pd.DataFrame(
        {"period": ["2023-07", "2023-08"], "value": [40 / 4.5, None], "numerator": [40, 12],
         "denominator": [4.5, 0], "rag": ["Green", "No data"], "target": [15, 15]}
    )  # fmt: skip
    trend = trend_figure(series, metric)
    hovers = [h for t in trend.data for h in (t.hovertext or t.customdata or []) if isinstance(h, str)]
    assert any(h.startswith("8.9 (40 / 4.5)") for h in hovers), hovers
    assert not any("%" in h for h in hovers)
    heat = heatmap_figure(series.assign(team="Team A"), metric)
    cells = [c for t in heat.data for row in t.text for c in row if c]
    assert cells == ["8.9<br>Green"] and heat.data[0].colorbar.ticksuffix == ""
    table = str(monthly_table(series, "rate", caption="Caseload"))
    assert "'8.9'" in table and "'4.5'" in table and "'15.0'" in table and "%" not in table
