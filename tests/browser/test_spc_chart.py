"""The Making Data Count view in a real Chromium, on the demo data: the SPC chart
on a KPI page (legend in words, the rebase, the icons or the reason there are
none), the icons beside the RAG on the scorecard, no console errors, axe-core
clean, and screenshots in test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest

from dashboard.components.spc_figure import icon_text
from etl.catalogue.metrics import catalogue
from etl.serve import queries

pytestmark = pytest.mark.browser


def test_kpi_page_shows_the_spc_chart_with_its_rebase_and_the_reason_for_no_icons(
    page, warehouse, wait_for_dash, axe, screenshot
):
    page.goto("/kpi/assessments_45wd?period=2023-07&level=la")
    wait_for_dash(page)
    page.wait_for_selector("#kpi-spc .main-svg")
    legend = page.locator("#kpi-spc .legendtext").all_text_contents()
    # the demo series has common-cause months and both kinds of special cause before the rebase
    assert {"Mean", "Process limits", "Target (90.0%)", "Common cause"} <= set(legend)
    assert any(word.startswith("Special cause") for word in legend)
    # metrics.yml rebases assessments_45wd in April 2023: the chart says so, with the reason
    chart_text = " ".join(page.locator("#kpi-spc text").all_text_contents())
    assert "Limits recalculated: ILACS inspection, March 2023" in chart_text
    # April to July 2023 is 4 points since the rebase: no icons, and the page says why
    assert page.locator("#kpi-spc-icons img").count() == 0
    assert page.inner_text("#kpi-spc-icons") == (
        "No variation or assurance icons: too few points since the rebase (4 of 12)."
    )
    note = page.inner_text("#kpi-spc-note")
    assert "Points in blue (diamonds) are special cause improving" in note
    assert "recalculated from April 2023 (ILACS inspection, March 2023)" in note
    screenshot(page, "spc-kpi")
    assert axe(page) == []
    assert page.console_errors == []


def test_kpi_page_icons_carry_their_words(page, warehouse, wait_for_dash, axe, screenshot):
    # rhi_72h for the authority in July 2023: the demo series ends in a run of improving months,
    # and its 80% target lies above the upper process limit.
    authority = catalogue().authority.name
    result = queries.spc_series("rhi_72h", "la", authority, period="2023-07", db=warehouse)
    assert (result.variation, result.variation_side, result.assurance) == (
        "special cause improving",
        "high",
        "consistently failing",
    )
    page.goto("/kpi/rhi_72h?period=2023-07&level=la")
    wait_for_dash(page)
    page.wait_for_selector("#kpi-spc .main-svg")
    icons = page.locator("#kpi-spc-icons img")
    assert icons.count() == 2
    assert [icons.nth(i).get_attribute("alt") for i in range(2)] == [
        "Special cause variation – improving: higher values",
        "Assurance: the process will consistently fail the target",
    ]
    assert all(icons.nth(i).is_visible() for i in range(2))
    assert page.inner_text("#kpi-spc-icons").split("\n") == ["Improving (high)", "Failing"]
    screenshot(page, "spc-kpi-icons")
    assert axe(page) == []
    assert page.console_errors == []


def test_scorecard_shows_the_icons_beside_the_rag(page, warehouse, wait_for_dash, axe, screenshot):
    page.goto("/?period=2023-07&level=la")
    wait_for_dash(page)
    page.wait_for_selector("#sc-table")
    frame = queries.scorecard("2023-07", "la", db=warehouse)
    for row in frame.to_dict("records"):
        cell = page.locator(f"#sc-row-{row['metric_id']} td.cpip-spc")
        alts = [img.get_attribute("alt") for img in cell.locator("img").all()]
        expected = [icon_text(k) for k in (row["variation_icon"], row["assurance_icon"]) if k]
        assert alts == expected, row["metric_id"]
    # the rebased KPI has too few points since April 2023, and says so in words
    assert page.inner_text("#sc-row-assessments_45wd td.cpip-spc") == "Too few points since the rebase (4 of 12)"
    screenshot(page, "spc-scorecard")
    assert axe(page) == []
    # on paper the icons keep their short words
    page.emulate_media(media="print")
    assert page.inner_text("#sc-row-rhi_72h td.cpip-spc") == "Improving (high) · Failing"
    assert page.console_errors == []
