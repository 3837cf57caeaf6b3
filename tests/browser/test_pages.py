"""Every page in a real headless Chromium, on the demo data: it loads with no
console errors, each control changes what a person reads (checked against the
warehouse through etl.serve.queries), the scorecard -> KPI -> teams -> team
scorecard click-through works, axe-core finds no serious or critical
violations, and screenshots land in test-artifacts/."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from dashboard.components.format import format_fraction, format_value, long_month_label, month_label
from etl.catalogue.metrics import catalogue
from etl.serve import queries

pytestmark = pytest.mark.browser


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def first_with_data(frame, *, rated: bool = True):
    """The first KPI (catalogue order) with a value, as a record."""
    rows = frame[frame["value"].notna() & ((frame["rag"] != "") if rated else True)]
    assert not rows.empty, "the demo data has no KPI with a value here"
    return rows.iloc[0].to_dict()


def choose(page, wait_for_dash, selector: str, value: str) -> None:
    """Pick an option the way a person would, then wait for the page to settle."""
    page.select_option(selector, value)
    page.wait_for_function(
        "([sel, v]) => document.querySelector(sel) && document.querySelector(sel).value === v",
        arg=[selector, value],
    )
    wait_for_dash(page)


# ---------------------------------------------------------------- scorecard


def test_scorecard_loads_with_the_latest_month_and_its_numbers(page, warehouse, wait_for_dash, axe, screenshot):
    page.goto("/")
    wait_for_dash(page)
    latest = queries.latest_period(db=warehouse)
    authority = catalogue().authority.name
    assert page.inner_text("#page-subtitle") == f"{authority} · {long_month_label(latest)}"
    frame = queries.scorecard(latest, "la", authority, db=warehouse)
    row = first_with_data(frame)
    shown = page.inner_text(f"#sc-row-{row['metric_id']}")
    assert format_value(row["value"], row["unit"]) in shown
    assert format_fraction(row["numerator"], row["denominator"], row["unit"]) in shown
    assert row["rag"] in shown
    for word in ("Red", "Amber", "Green", "No data"):
        expected = int((frame["rag"] == word).sum())
        assert page.inner_text(f"#sc-count-{word.lower().replace(' ', '-')}") == str(expected)
    # every improvement area heads its group, in the catalogue's order
    areas = page.locator("th.cpip-area h2").all_inner_texts()  # the heading; a count of overdue actions may follow
    assert [a.split(". ", 1)[1] for a in areas] == [a for a in catalogue().areas if (frame["area"] == a).any()]
    pdf = page.get_attribute("#sc-boardpack-pdf", "href")
    assert pdf == f"/boardpack.pdf?period={latest}&level=la&unit={authority.replace(' ', '%20')}"
    screenshot(page, "scorecard")
    assert axe(page) == []
    assert page.console_errors == []


def test_scorecard_controls_change_the_view_and_the_url(page, warehouse, wait_for_dash, screenshot):
    page.goto("/")
    wait_for_dash(page)
    latest = queries.latest_period(db=warehouse)

    choose(page, wait_for_dash, "#sc-level", "service")
    services = queries.units_at("service", db=warehouse)
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=services[0])
    assert params(page.url) == {"period": latest, "level": "service"}
    # keyboard focus stays on the control that was used
    assert page.evaluate("document.activeElement.id") == "sc-level"

    target = services[-1]
    choose(page, wait_for_dash, "#sc-unit", target)
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=target)
    assert params(page.url) == {"period": latest, "level": "service", "unit": target}
    frame = queries.scorecard(latest, "service", target, db=warehouse)
    row = first_with_data(frame)
    assert format_value(row["value"], row["unit"]) in page.inner_text(f"#sc-row-{row['metric_id']}")

    earlier = queries.periods(db=warehouse)[-13]
    choose(page, wait_for_dash, "#sc-period", earlier)
    page.wait_for_function(
        "m => document.querySelector('#page-subtitle').innerText.includes(m)", arg=long_month_label(earlier)
    )
    assert params(page.url) == {"period": earlier, "level": "service", "unit": target}
    frame = queries.scorecard(earlier, "service", target, db=warehouse)
    row = first_with_data(frame)
    assert format_value(row["value"], row["unit"]) in page.inner_text(f"#sc-row-{row['metric_id']}")
    screenshot(page, "scorecard-service")

    # Back returns to the previous view
    page.go_back()
    page.wait_for_function(
        "m => document.querySelector('#page-subtitle').innerText.includes(m)", arg=long_month_label(latest)
    )
    assert page.input_value("#sc-period") == latest
    assert page.console_errors == []


def test_a_pasted_url_sets_the_controls(page, warehouse, wait_for_dash):
    team = queries.units_at("team", db=warehouse)[3]
    period = queries.periods(db=warehouse)[-7]
    page.goto(f"/?period={period}&level=team&unit={team.replace(' ', '%20').replace('&', '%26')}")
    wait_for_dash(page)
    assert page.input_value("#sc-period") == period
    assert page.input_value("#sc-level") == "team"
    assert page.input_value("#sc-unit") == team
    assert page.inner_text("#page-subtitle") == f"{team} · {long_month_label(period)} · Team"
    row = first_with_data(queries.scorecard(period, "team", team, db=warehouse))
    assert format_value(row["value"], row["unit"]) in page.inner_text(f"#sc-row-{row['metric_id']}")
    assert page.console_errors == []


def test_click_through_scorecard_kpi_teams_team_scorecard(page, warehouse, wait_for_dash, screenshot):
    latest = queries.latest_period(db=warehouse)
    authority = catalogue().authority.name
    page.goto("/")
    wait_for_dash(page)
    row = first_with_data(queries.scorecard(latest, "la", authority, db=warehouse))
    page.click(f"#sc-link-{row['metric_id']}")
    page.wait_for_url(re.compile(rf"/kpi/{row['metric_id']}\?"))
    wait_for_dash(page)
    assert params(page.url) == {"period": latest, "level": "la", "unit": authority}
    page.wait_for_selector("#kpi-value")
    assert page.inner_text("#kpi-value") == format_value(row["value"], row["unit"])

    page.click("nav >> text=Teams")
    page.wait_for_url(re.compile(r"/teams"))
    wait_for_dash(page)
    page.wait_for_selector("#tm-grid")
    service = queries.units_at("service", db=warehouse)[0]
    team = queries.team_grid(latest, "service", service, db=warehouse)["team"].iloc[0]
    page.click(f"#tm-grid >> text={team}")
    page.wait_for_url(re.compile(r"level=team"))
    wait_for_dash(page)
    assert params(page.url) == {"period": latest, "level": "team", "unit": team}
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=team)
    assert page.input_value("#sc-unit") == team
    screenshot(page, "team-scorecard")
    assert page.console_errors == []


# ---------------------------------------------------------------- KPI page


def test_kpi_page_trend_breakdown_table_and_csv(page, warehouse, wait_for_dash, axe, screenshot):
    latest = queries.latest_period(db=warehouse)
    authority = catalogue().authority.name
    row = first_with_data(queries.scorecard(latest, "la", authority, db=warehouse))
    metric = catalogue().metric(row["metric_id"])
    page.goto(f"/kpi/{metric.metric_id}?period={latest}&level=la")
    wait_for_dash(page)
    page.wait_for_selector("#kpi-trend .main-svg")
    assert page.inner_text("#kpi-value") == format_value(row["value"], metric.unit)
    assert metric.owner in page.inner_text("#kpi-definition")
    # the breakdown bars carry each service's value and RAG word
    below = queries.breakdown(metric.metric_id, latest, "la", authority, db=warehouse)
    labels = page.locator("#kpi-breakdown .bartext").all_text_contents()
    best = below.iloc[0]
    assert any(label.startswith(format_value(best["value"], metric.unit)) for label in labels)
    # the monthly table, newest first
    first_cells = page.locator(".cpip-monthly tbody tr").first.inner_text()
    assert first_cells.startswith(month_label(latest))
    screenshot(page, "kpi")
    assert axe(page) == []

    with page.expect_download() as download:
        page.click("#kpi-download-btn")
    text = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert text[0] == "metric_id,level,org_unit,period,numerator,denominator,value,target,rag"
    series = queries.series(metric.metric_id, "la", authority, db=warehouse)
    assert len(text) == 1 + len(series[series["period"] <= latest])
    assert text[-1].startswith(f"{metric.metric_id},la,{authority},{latest},")

    # changing the org unit changes the headline
    service = queries.units_at("service", db=warehouse)[0]
    choose(page, wait_for_dash, "#kpi-level", "service")
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=service)
    expected = queries.scorecard(latest, "service", service, db=warehouse)
    value = expected[expected["metric_id"] == metric.metric_id].iloc[0]["value"]
    assert page.inner_text("#kpi-value") == format_value(value, metric.unit)
    assert params(page.url) == {"period": latest, "level": "service"}

    # choosing a bar of the breakdown opens that team's trend
    teams = queries.breakdown(metric.metric_id, latest, "service", service, db=warehouse)["org_unit"].tolist()
    bar = page.locator("#kpi-breakdown g.point path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer takes clicks
    page.wait_for_url(re.compile(r"level=team"))
    wait_for_dash(page)
    chosen = params(page.url)
    assert urlparse(page.url).path == f"/kpi/{metric.metric_id}"
    assert chosen["period"] == latest and chosen["unit"] in teams
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=chosen["unit"])
    assert page.console_errors == []


# ---------------------------------------------------------------- teams


def test_teams_page_heatmap_grid_and_controls(page, warehouse, wait_for_dash, axe, screenshot):
    latest = queries.latest_period(db=warehouse)
    page.goto("/teams")
    wait_for_dash(page)
    page.wait_for_selector("#tm-heatmap .main-svg")
    service = queries.units_at("service", db=warehouse)[0]
    first_metric = catalogue().metrics[0]
    assert page.inner_text("#tm-heatmap-title").startswith(f"{first_metric.label}: teams of {service}")
    grid = queries.team_grid(latest, "service", service, db=warehouse)
    teams = list(dict.fromkeys(grid["team"]))
    header = page.locator("#tm-grid thead th").all_inner_texts()
    assert header[1:] == teams
    cell = grid[(grid["team"] == teams[0]) & (grid["metric_id"] == first_metric.metric_id)].iloc[0]
    first_row = page.locator("#tm-grid tbody tr").first.inner_text()
    assert cell["rag"] in first_row and format_value(cell["value"], first_metric.unit) in first_row
    # heatmap cells print the value and RAG word
    matrix = queries.team_matrix(first_metric.metric_id, "service", service, latest, db=warehouse)
    known = matrix[matrix["value"].notna()].iloc[-1]
    heat_text = " ".join(page.locator("#tm-heatmap text").all_text_contents())
    assert format_value(known["value"], first_metric.unit) in heat_text and known["rag"] in heat_text
    screenshot(page, "teams")
    assert axe(page) == []

    other = catalogue().metrics[-1]
    choose(page, wait_for_dash, "#tm-kpi", other.metric_id)
    page.wait_for_function("t => document.querySelector('#tm-heatmap-title').innerText.startsWith(t)", arg=other.label)
    assert params(page.url)["kpi"] == other.metric_id

    area = queries.units_at("area", db=warehouse)[0]
    choose(page, wait_for_dash, "#tm-level", "area")
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=area)
    area_teams = list(dict.fromkeys(queries.team_grid(latest, "area", area, db=warehouse)["team"]))
    assert page.locator("#tm-grid thead th").all_inner_texts()[1:] == area_teams

    # clicking a cell of the heatmap opens that team's scorecard for the month
    page.locator("#tm-heatmap .nsewdrag").first.click()
    page.wait_for_url(re.compile(r"level=team"))
    wait_for_dash(page)
    clicked = params(page.url)
    assert clicked["period"] == latest and clicked["unit"] in area_teams
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=clicked["unit"])
    assert page.console_errors == []


# ---------------------------------------------------------------- audits


def _audit_rows(frame) -> list[str]:
    out = []
    for r in frame.to_dict("records"):
        pct = [
            f"{r[c]:.0f}%" if r[c] == r[c] else "–"
            for c in ("outstanding_pct", "good_pct", "requires_improvement_pct", "inadequate_pct")
        ]
        out.append(" ".join([month_label(r["period"]), str(int(r["audits"])), str(int(r["moderated"])), *pct]))
    return out


def test_audits_page_tables_follow_the_filters(page, warehouse, wait_for_dash, axe, screenshot):
    page.goto("/audits")
    wait_for_dash(page)
    page.wait_for_selector("#au-month-graph .main-svg")

    def shown() -> list[str]:
        return [" ".join(r.split()) for r in page.locator("#au-table-month tbody tr").all_inner_texts()]

    assert shown() == _audit_rows(queries.audit_grades("month", db=warehouse).tail(12))
    legend = page.locator("#au-month-graph .legendtext").all_text_contents()
    assert legend == ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
    screenshot(page, "audits")
    assert axe(page) == []

    service = queries.units_at("service", db=warehouse)[-1]
    choose(page, wait_for_dash, "#au-service", service)
    expected = _audit_rows(queries.audit_grades("month", service=service, db=warehouse).tail(12))
    page.wait_for_function("s => document.querySelector('#page-subtitle').innerText.startsWith(s)", arg=service)
    assert shown() == expected
    assert params(page.url) == {"service": service}

    audit_type = next(m.audit_type for m in catalogue().metrics if m.audit_type)
    choose(page, wait_for_dash, "#au-audit_type", audit_type)
    page.wait_for_function("() => document.querySelector('#page-subtitle').innerText.includes('audits')")
    expected = _audit_rows(queries.audit_grades("month", service=service, audit_type=audit_type, db=warehouse).tail(12))
    assert shown() == expected
    assert params(page.url) == {"service": service, "audit_type": audit_type}
    assert page.console_errors == []


# ---------------------------------------------------------------- every page


EVERY_PAGE = [
    "/",
    "/?level=team&unit=Coastal%20FS%201",  # a team's scorecard was 1,089 px wide at 320 px
    "/kpi/icpc_15wd",
    "/kpi/icpc_15wd?level=service",  # with the breakdown bars
    "/teams",
    "/audits",
    "/data",
    "/glossary",
    "/regional?metric=seen_5wd",
]


@pytest.mark.parametrize("width", [320, 1280])
@pytest.mark.parametrize("path", EVERY_PAGE)
def test_every_page_is_accessible_and_keyboard_reachable(page, live_server, wait_for_dash, axe, path, width):
    """At 1,280 px and at 320 CSS px (a 1,280 px screen at 400% zoom): no
    sideways scrolling (WCAG 1.4.10), axe with every WCAG rule and its best
    practices finds nothing of any impact, one landmark of each kind, the tab
    title names the view, and the first Tab lands on the skip link."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(path)
    wait_for_dash(page)
    page.wait_for_timeout(150)  # assets/cpip.js settles the page (titles, toolbars) after the render
    # every stylesheet, script and font comes from the app itself: no CDN
    assert [u for u in requested if not u.startswith((live_server, "data:"))] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe(page) == []
    # landmarks: one banner, one navigation, one main, one contentinfo
    assert page.locator("header.cpip-header").count() == 1
    assert page.locator("nav[aria-label='Main']").count() == 1
    assert page.locator("main#main-content").count() == 1
    assert page.get_by_role("contentinfo").count() == 1
    # the tab title says which view this is
    subtitle = page.locator("#page-subtitle")
    if subtitle.count():
        assert subtitle.inner_text() in page.title()
    # the first Tab lands on the skip link, visibly focused
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "cpip-skip-link"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    top = page.evaluate("getComputedStyle(document.activeElement).top")
    assert outline == "solid" or top == "0px"
    assert page.console_errors == []


def test_print_layout_hides_the_controls(page, wait_for_dash):
    page.goto("/")
    wait_for_dash(page)
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.cpip-controls')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('.cpip-nav')).display") == "none"
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"
    assert page.console_errors == []
