"""Where we stand and what is changing, in a real Chromium on the demo data: the icon
matrix of a service's teams (counts, icons and words, a cell opens that team's SPC
chart), the scorecard's icon-matrix view, and the KPI page's comparators and
comparison chart (West Sussex's published figures, which the demo borrows and says
so). What a person sees, no console errors, axe-core clean, screenshots for a person."""

from __future__ import annotations

import pytest

from dashboard.components.matrix import counts_text
from etl.serve import queries

pytestmark = pytest.mark.browser


def test_teams_page_icon_matrix_opens_a_team_s_spc_chart(page, warehouse, wait_for_dash, axe, screenshot):
    page.goto("/teams?period=2023-07&level=service&unit=Family%20Safeguarding")
    wait_for_dash(page)
    page.wait_for_selector("#tm-matrix")
    frame = queries.icon_matrix("2023-07", "service", "Family Safeguarding", db=warehouse)
    assert page.inner_text("#tm-matrix-counts") == counts_text(queries.matrix_counts(frame), "team")
    teams = list(dict.fromkeys(frame["org_unit"]))
    heads = page.locator("#tm-matrix thead th").all_inner_texts()
    assert heads == ["KPI", *teams]
    kpis = page.locator("#tm-matrix tbody th").all_inner_texts()
    assert kpis[0] == "ICPCs within 15 working days" and len(kpis) == len(frame["metric_id"].unique())
    # Each cell says its icons in words, and draws them.
    first = frame[(frame["metric_id"] == "rhi_72h") & (frame["org_unit"] == teams[0])].iloc[0]
    row = page.locator("#tm-matrix tbody tr", has_text="Return home interviews within 72 hours")
    cell = row.locator("td").nth(0)
    assert cell.get_attribute("data-variation") == first["variation"]
    icons = cell.locator("img")
    assert icons.count() == sum(1 for k in (first["variation_icon"], first["assurance_icon"]) if k)
    assert all(icons.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(icons.count()))
    screenshot(page, "teams-icon-matrix")
    assert axe(page) == []
    # Choosing the cell opens that team's SPC chart for the same month.
    cell.locator("a").click()
    page.wait_for_url("**/kpi/rhi_72h?**")
    wait_for_dash(page)
    page.wait_for_selector("#kpi-spc .main-svg")
    assert page.inner_text("#page-subtitle").startswith(f"{teams[0]} · July 2023")
    assert page.console_errors == []


def test_scorecard_icon_matrix_view_of_the_services(page, warehouse, wait_for_dash, screenshot):
    page.goto("/?period=2023-07")
    wait_for_dash(page)
    page.select_option("#sc-view", "icons")
    page.wait_for_selector("#sc-matrix")
    assert "view=icons" in page.url
    frame = queries.icon_matrix("2023-07", "la", db=warehouse)
    heads = page.locator("#sc-matrix thead th").all_inner_texts()
    assert heads[1:] == list(dict.fromkeys(frame["org_unit"]))
    concerning = frame[frame["variation"] == "special cause concerning"]
    assert page.locator('#sc-matrix td[data-variation="special cause concerning"]').count() == len(concerning)
    screenshot(page, "scorecard-icon-matrix")
    assert page.console_errors == []


def test_kpi_page_comparators_and_comparison_chart(page, warehouse, wait_for_dash, axe, screenshot):
    page.goto("/kpi/dental_up_to_date?period=2023-07&level=la")
    wait_for_dash(page)
    page.wait_for_selector("#kpi-comparison .main-svg")
    card = page.locator("#kpi-comparator-card")
    assert "Where we stand among all councils, 2023/24" in card.inner_text()
    # tests/test_comparators.py works these out by hand from the shipped files.
    assert page.inner_text("#kpi-cmp-published") == "76.0%"
    assert page.inner_text("#kpi-cmp-england") == "79.0%"
    assert page.inner_text("#kpi-cmp-region") == "77.0%"
    assert page.inner_text("#kpi-cmp-sn") == "76.0%"
    assert page.inner_text("#kpi-cmp-band") == "C (rank 101 of 151)"
    legend = page.locator("#kpi-comparison .legendtext").all_text_contents()
    assert legend == ["Statistical neighbours (each)", "West Sussex (DfE code 938)", "England"]
    ticks = page.locator("#kpi-comparison .xtick text").all_text_contents()
    assert ticks == ["2020/21", "2021/22", "2022/23", "2023/24", "2024/25"]
    assert "not Demo County Council's own: this is demonstration data" in page.inner_text("#kpi-comparator-note")
    # The chart's data as a table: every neighbour by name.
    page.click("#kpi-comparison-data summary")
    table = page.inner_text("#kpi-comparison-table")
    for name in ("West Sussex", "Gloucestershire (neighbour)", "Devon (neighbour)", "England"):
        assert name in table
    # The trend and SPC charts carry England's figure of each year.
    for graph in ("#kpi-trend", "#kpi-spc"):
        assert "England (published, each year)" in page.locator(f"{graph} .legendtext").all_text_contents()
    screenshot(page, "kpi-comparators")
    assert axe(page) == []
    assert page.console_errors == []


def test_kpi_page_says_why_each_special_point_is_special(page, warehouse, wait_for_dash):
    page.goto("/kpi/rhi_72h?period=2023-07&level=la")
    wait_for_dash(page)
    page.wait_for_selector("#kpi-spc .main-svg")
    result = queries.spc_series("rhi_72h", "la", None, period="2023-07", db=warehouse)
    special = [i for i, rules in enumerate(result.rules) if rules]
    assert special, "the demo series should have special-cause months"
    box = page.locator("#kpi-spc-rules-box")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    rows = page.locator("#kpi-spc-rules tbody tr")
    assert rows.count() == len(special)
    assert (
        page.locator("#kpi-spc-rules").inner_text().count("in a row")
        + page.locator("#kpi-spc-rules").inner_text().count("limit")
        >= 1
    )
    assert page.console_errors == []
