"""The Making Data Count chart and icons (dashboard/components/spc_figure.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from dashboard.components.spc_figure import ICON_DIR, icon_data_uri, icon_svg, icon_text, spc_figure
from etl.rules.spc import ASSURANCE_ICON_KINDS, VARIATION_ICON_KINDS, spc

PERIODS = [f"2023-{m:02d}" for m in range(1, 13)] + ["2024-01", "2024-02"]
# 9, 11 alternating with 30 at position 6 and -10 at the end. Sum 140 over 14: mean 10.
# Moving ranges 2 x 10, 19, 21, 21: 81 / 13 = 6.23; screening (>= 20.36) drops both 21s:
# mrbar (20 + 19) / 11 = 3.545, limits 10 +/- 9.43 = 0.57 .. 19.43, two sigma 3.71 .. 16.29.
# So: 30 is special cause high (improving), -10 low (concerning), the rest common cause.
VALUES = [9, 11, 9, 11, 9, 11, 30, 9, 11, 9, 11, 9, 11, -10]


def traces_by_name(fig) -> dict:
    return {t.name: t for t in fig.data}


def test_points_one_trace_per_class_with_words_colours_and_shapes() -> None:
    r = spc(VALUES, polarity="higher_is_better", periods=PERIODS, target=12)
    fig = spc_figure(r, title="Re-referrals", unit="count", polarity="higher_is_better")
    point_traces = [t for t in fig.data if t.mode == "markers"]
    assert [t.name for t in point_traces] == [
        "Common cause",
        "Special cause – improving",
        "Special cause – concerning",
    ]
    common, improving, concerning = point_traces
    assert common.marker.color == "#A6A6A6"
    assert improving.marker.color == "#00B0F0"
    assert concerning.marker.color == "#E46C0A"
    # Shape as well as colour, so the classes survive black-and-white printing.
    assert len({common.marker.symbol, improving.marker.symbol, concerning.marker.symbol}) == 3
    assert list(improving.x) == [date(2023, 7, 1)] and list(improving.y) == [30]
    assert list(concerning.x) == [date(2024, 2, 1)] and list(concerning.y) == [-10]
    assert len(common.x) == 12
    assert "Special because: beyond a process limit" in improving.text[0]


def test_mean_limits_and_target_lines() -> None:
    r = spc(VALUES, polarity="higher_is_better", periods=PERIODS, target=12)
    fig = spc_figure(r, title="Re-referrals", unit="count", polarity="higher_is_better")
    t = traces_by_name(fig)
    assert set(t) >= {"Mean", "Process limits", "Two-sigma lines", "Target (12)"}
    assert t["Mean"].y[0] == pytest.approx(10)
    assert t["Process limits"].y[0] == pytest.approx(10 + 2.66 * 39 / 11)
    assert t["Process limits"].line.dash == "dash"
    assert t["Lower process limit"].y[0] == pytest.approx(10 - 2.66 * 39 / 11)
    assert t["Target (12)"].line.color == "#C00000" and t["Target (12)"].line.dash == "dash"
    assert list(t["Target (12)"].y) == [12, 12]
    assert t["Two-sigma lines"].visible == "legendonly"
    # The latest point (-10) is concerning and low; target 12 lies inside 0.57 .. 19.43.
    subtitle = fig.layout.title.subtitle.text
    assert "concerning: lower values" in subtitle and "hit and miss" in subtitle
    assert len(fig.layout.images) == 2


def test_monitored_points_are_purple_and_neutral() -> None:
    r = spc(VALUES, polarity="monitored", periods=PERIODS)
    fig = spc_figure(r, title="Homeless 16/17", unit="count", polarity="monitored")
    neutral = traces_by_name(fig)["Special cause – neither improving nor concerning"]
    assert neutral.marker.color == "#490092"
    assert list(neutral.y) == [30, -10]
    assert "Monitored" in fig.layout.title.subtitle.text


def test_rebase_breaks_the_lines_with_a_marked_line_and_note() -> None:
    r = spc(VALUES, polarity="higher_is_better", periods=PERIODS, rebase=["2023-07"])
    fig = spc_figure(r, title="t", unit="percent", rebase_reasons={"2023-07": "New front door"})
    mean = traces_by_name(fig)["Mean"]
    # 6 points in segment 0, a break, 8 in segment 1.
    assert list(mean.x).index(None) == 6 and len(mean.x) == 15
    assert len(fig.layout.shapes) == 1
    assert fig.layout.shapes[0].type == "line"
    assert any("New front door" in a.text for a in fig.layout.annotations)
    assert fig.layout.yaxis.ticksuffix == "%"
    # Fewer than 12 points since the rebase: the reason replaces the icons.
    assert fig.layout.title.subtitle.text == "No SPC icons: needs at least 12 points since the last rebase; has 8"
    assert len(fig.layout.images) == 0


def test_empty_series_says_so() -> None:
    fig = spc_figure(spc([None, None], polarity="higher_is_better"), title="t", unit="count")
    assert [a.text for a in fig.layout.annotations] == ["No data for this series"]


def test_icons_are_svg_with_a_text_alternative() -> None:
    for kind in (*VARIATION_ICON_KINDS, *ASSURANCE_ICON_KINDS):
        svg = icon_svg(kind)
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("role") == "img" and root.get("aria-label") == icon_text(kind)
        assert root.find("{http://www.w3.org/2000/svg}title").text == icon_text(kind)
        # The stored copies for the board pack are the same drawing.
        assert (ICON_DIR / f"{kind}.svg").read_text(encoding="utf-8") == svg + "\n"
        assert icon_data_uri(kind).startswith("data:image/svg+xml")
    assert "H" in icon_svg("improvement_high") and ">L<" in icon_svg("concern_low")
    assert ">P<" in icon_svg("pass") and ">F<" in icon_svg("fail") and ">?<" in icon_svg("hit_and_miss")
    assert icon_text("improvement_high") == "Special cause variation – improving: higher values"
    assert icon_text("") == "" and icon_svg("") == ""
    with pytest.raises(ValueError):
        icon_text("improving")
