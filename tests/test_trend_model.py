"""The trend chart's model, shared by the page's chart and the board pack's: targets and the value axis."""

from __future__ import annotations

import pandas as pd

from dashboard.components.figures import trend_figure
from dashboard.components.trend_model import trend_model
from dashboard.export.svg import trend_svg
from etl.catalogue.metrics import Thresholds, catalogue


def _percent(**thresholds):
    base = catalogue().metric("assessments_45wd")  # a percentage, higher is better
    return base.model_copy(update={"thresholds": {y: Thresholds(**t) for y, t in thresholds.items()}})


def test_the_axis_holds_values_targets_and_thresholds_with_room_to_spare():
    metric = _percent(**{"2023/24": {"target": 85, "green": 85, "amber": 75}})
    model = trend_model(metric, ["2023-06", "2023-07"], [80.0, 90.0])
    # Known: 80, 90, target 85, green 85, amber 75 -> 75..90; 12% of 15 is 1.8, less than 2 points: 73..92.
    assert model.targets == [85, 85]
    assert (model.y_low, model.y_high) == (73.0, 92.0)


def test_a_percentage_axis_stops_at_100_and_0_and_counts_at_0():
    metric = _percent(**{"2023/24": {"target": 95, "green": 95, "amber": 90}})
    # 90..100, pad 2: 88..102, cut at 100.
    assert (trend_model(metric, ["2023-07"], [100.0]).y_high) == 100.0
    count = catalogue().metric("assessments_45wd").model_copy(update={"unit": "count", "thresholds": {}})
    model = trend_model(count, ["2023-06", "2023-07"], [0, 5, None, float("nan")])
    # Known 0..5 (no data left out), 12% of 5 is 0.6, less than 1: -1..6, cut at 0.
    assert (model.y_low, model.y_high) == (0.0, 6.0)
    assert model.targets == [None, None]


def test_a_benchmark_far_off_widens_the_axis():
    metric = _percent(**{"2023/24": {"target": 85, "green": 85, "amber": 75}})
    # England at 50 joins value 80, target and green 85, amber 75: 50..85, 12% of 35 is 4.2: 45.8..89.2.
    model = trend_model(metric, ["2023-07"], [80.0], also=[50.0, None])
    assert (round(model.y_low, 6), round(model.y_high, 6)) == (45.8, 89.2)


def test_the_page_and_the_pack_draw_the_same_axis():
    metric = _percent(**{"2023/24": {"target": 85, "green": 85, "amber": 75}})
    frame = pd.DataFrame({"period": ["2023-06", "2023-07"], "value": [80.0, 90.0], "rag": ["Amber", "Green"]})
    figure = trend_figure(frame, metric)
    assert list(figure.layout.yaxis.range) == [73.0, 92.0]
    # The pack's SVG labels its ticks across the same 73..92: 75 and 90 are drawn, 70 and 95 are not.
    svg = trend_svg(frame, metric, "2023-07").decode()
    assert ">75%<" in svg and ">90%<" in svg
    assert ">70%<" not in svg and ">95%<" not in svg
