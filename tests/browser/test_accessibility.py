"""WCAG 2.2 AA as a person checks it, on the demo data (issue 15): what axe
cannot see. Keyboard walks (Tab stops, the chart toolbars, a select arrowed
through), focus that shows (screenshots before and after focus, compared),
contrast measured from the pixels of the heatmap, every chart's data as a
table, a move to another page announced, and the tab title naming the view.

Reflow at 320 CSS px and axe with every rule are in test_pages.py
(`test_every_page_is_accessible_and_keyboard_reachable`), per page and width.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from dashboard import theme
from dashboard.components.format import format_value, long_month_label, month_label
from etl.catalogue.metrics import catalogue
from etl.rules.calendar import add_months
from etl.serve import queries

pytestmark = pytest.mark.browser

# Every page that draws charts, with how many; the KPI page at a service has
# the trend, the SPC chart and the breakdown bars.
CHART_PAGES = {"/kpi/icpc_15wd?level=service": 3, "/teams": 1, "/audits": 2}


def _hex(pixel: tuple) -> str:
    return "#{:02x}{:02x}{:02x}".format(*pixel[:3])


def tab_stops(page, limit: int = 400) -> list[dict]:
    """Tab from the top of the page to its end: what each stop is."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) { return null; }
                return {tag: e.tagName, id: e.id, cls: String(e.className && e.className.baseVal !== undefined
                        ? e.className.baseVal : e.className),
                        name: e.getAttribute('aria-label') || e.getAttribute('data-title') || e.innerText || '',
                        toolbar: !!e.closest('.modebar'), graph: (e.closest('.dash-graph') || {}).id || ''};
            }"""
        )
        if stop is None or (stops and stop == stops[0]):
            break
        stops.append(stop)
    return stops


# ---------------------------------------------------------------- chart toolbars


@pytest.mark.parametrize("path", list(CHART_PAGES))
def test_no_chart_can_leave_the_building_and_each_toolbar_is_one_tab_stop(page, wait_for_dash, path):
    page.goto(path)
    wait_for_dash(page)
    page.wait_for_selector(".js-plotly-plot .modebar-btn")
    charts = CHART_PAGES[path]
    assert page.locator(".js-plotly-plot").count() == charts
    # Only download and reset; nothing that sends a chart anywhere, and no server to send it to.
    titles = page.eval_on_selector_all(".modebar-btn", "bs => bs.map(b => b.getAttribute('data-title'))")
    assert titles == ["Download plot as a PNG", "Reset axes"] * charts
    contexts = page.eval_on_selector_all(
        ".js-plotly-plot", "ps => ps.map(p => [p._context.showSendToCloud, p._context.plotlyServerURL])"
    )
    assert contexts == [[False, ""]] * charts
    # The keyboard walk: one stop per toolbar, and every toolbar is reached.
    stops = tab_stops(page)
    in_toolbars = [s for s in stops if s["toolbar"]]
    assert len(in_toolbars) == charts, in_toolbars
    assert len({s["graph"] for s in in_toolbars}) == charts
    # The walk found 24 toolbar stops before a KPI page's first link below the charts.
    links = [i for i, s in enumerate(stops) if "cpip-unit-link" in s["cls"] or "cpip-team-link" in s["cls"]]
    if links:
        assert sum(s["toolbar"] for s in stops[: links[0]]) <= charts
    # Arrow keys move along the toolbar; Tab leaves it.
    page.locator(".modebar-btn").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('data-title')") == "Reset axes"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.modebar') !== document.querySelector('.modebar')")
    assert page.console_errors == []


# ---------------------------------------------------------------- focus that shows


def _ring(before: Image.Image, after: Image.Image, inner: tuple[int, int, int, int]) -> tuple[int, float]:
    """What focus drew in the band round a control (outside its own box, where
    a focus ring lies; inside, a date box highlights its day, which is not a
    ring): how many pixels changed there, and the best contrast between a
    pixel before and after (a focus indicator needs 3:1 against what it covers)."""
    a = np.asarray(before.convert("RGB")).astype(int)
    b = np.asarray(after.convert("RGB")).astype(int)
    band = np.ones(a.shape[:2], dtype=bool)
    left, top, width, height = inner
    band[max(top, 0) : top + height, max(left, 0) : left + width] = False
    moved = np.argwhere((a != b).any(axis=2) & band)
    sample = moved[:: max(1, len(moved) // 4000)]
    best = max((theme.contrast(_hex(tuple(a[i, j])), _hex(tuple(b[i, j]))) for i, j in sample), default=1.0)
    return len(moved), best


FOCUS_CASES = {
    # page: [(selector, what it is)]
    "/": [
        (".cpip-nav-link >> nth=1", "link in the header"),
        ("#sc-period", "select"),
        ("#sc-boardpack-pdf", "button-styled link"),
        (".cpip-kpi-link >> nth=0", "link in a table"),
    ],
    "/kpi/icpc_15wd?level=service": [
        ("#kpi-download-btn", "button"),
        ("#kpi-spc-data > summary", "show as a table"),
        ("#kpi-trend .modebar-btn >> nth=0", "chart toolbar"),
    ],
    "/data": [
        ("#data-as-of", "date box"),
        ("#data-upload input[type=file]", "upload box"),
        ("#data-history-table button >> nth=0", "Undo button"),
        ("[role=region][aria-label='Load history']", "scrolling table"),
    ],
}


@pytest.mark.parametrize("path", list(FOCUS_CASES))
def test_focus_is_visible_on_every_control_type(page, wait_for_dash, path):
    """Each kind of control, screenshotted before and after it takes focus:
    the focus must draw a ring round it at 3:1 against what was there
    (WCAG 2.4.7, 2.4.11, 1.4.11). The upload box and the date box failed this."""
    page.goto(path)
    wait_for_dash(page)
    page.keyboard.press("Shift")  # a key press: the browser now shows focus as for the keyboard
    for selector, what in FOCUS_CASES[path]:
        target = page.locator(selector)
        target.wait_for(state="attached")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        # The box that shows the focus: the upload box, for its invisible file input.
        shown = page.locator("#data-upload") if "input[type=file]" in selector else target
        shown.scroll_into_view_if_needed()
        # Wholly on screen (a tall table scrolled only "if needed" can keep its lower edge, and its ring, below).
        shown.evaluate("el => el.scrollIntoView({block: 'center', inline: 'nearest'})")
        page.wait_for_timeout(400)  # a toolbar fades out when it loses focus
        box = shown.bounding_box()
        x, y = max(box["x"] - 8, 0), max(box["y"] - 8, 0)
        clip = {"x": x, "y": y, "width": box["width"] + 16, "height": box["height"] + 16}
        before = Image.open(io.BytesIO(page.screenshot(clip=clip)))
        target.focus()
        page.wait_for_timeout(400)  # and fades in
        assert page.evaluate("document.activeElement !== document.body"), what
        after = Image.open(io.BytesIO(page.screenshot(clip=clip)))
        inner = (round(box["x"] - x), round(box["y"] - y), round(box["width"]), round(box["height"]))
        changed, best = _ring(before, after, inner)
        # A ring: at least a 1px line right round the control, in a colour at 3:1 to what was there.
        assert changed >= 2 * (box["width"] + box["height"]), f"{what}: focus changed only {changed} pixels"
        assert best >= 3.0, f"{what}: the focus indicator reaches only {best:.2f}:1"
    assert page.console_errors == []


# ---------------------------------------------------------------- contrast from pixels


def test_heatmap_text_contrast_measured_from_pixels(page, wait_for_dash):
    """Each heatmap label against its own cell, from a screenshot at twice the
    pixel density: the most contrasting pixel of the label (its ink) against
    the commonest (the cell). #444 on olive measured 3.53:1 this way."""
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.goto("/teams")
    wait_for_dash(page)
    page.wait_for_selector("#tm-heatmap .hm text")
    page.locator("#tm-heatmap").scroll_into_view_if_needed()
    boxes = page.eval_on_selector_all(
        "#tm-heatmap .hm text",
        "ts => ts.map(t => { const r = t.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })",
    )
    assert len(boxes) >= 50
    shot = Image.open(io.BytesIO(page.screenshot(scale="device"))).convert("RGB")
    scale = shot.width / 1280
    ratios = []
    for x, y, w, h in boxes:
        crop = shot.crop((int(x * scale), int(y * scale), int((x + w) * scale), int((y + h) * scale)))
        colours = crop.getcolors(crop.width * crop.height)  # [(count, (r, g, b)), ...]
        cell = max(colours)[1]
        ratios.append(max(theme.contrast(_hex(c), _hex(cell)) for _, c in colours))
    assert min(ratios) >= 4.5, f"{sum(r < 4.5 for r in ratios)} labels below 4.5:1 (worst {min(ratios):.2f}:1)"
    assert page.console_errors == []


# ---------------------------------------------------------------- charts as tables


def test_every_chart_has_its_data_as_a_table(page, warehouse, wait_for_dash):
    latest = queries.latest_period(db=warehouse)
    first = add_months(latest, -11)
    service = queries.units_at("service", db=warehouse)[0]
    metric = catalogue().metrics[0]

    # The heatmap: every team, every one of its 12 months.
    page.goto("/teams")
    wait_for_dash(page)
    page.get_by_text("Show the heatmap as a table").click()
    table = page.locator("#tm-heatmap-table")
    table.wait_for()
    months = [month_label(add_months(first, i)) for i in range(12)]
    assert table.locator("thead th").all_inner_texts() == ["Team", *months]
    matrix = queries.team_matrix(metric.metric_id, "service", service, latest, db=warehouse)
    teams = sorted(set(matrix["team"]))
    assert table.locator("tbody th").all_inner_texts() == teams
    known = matrix[matrix["value"].notna()].iloc[0]
    row = table.locator("tbody tr").nth(teams.index(known["team"])).locator("td")
    cell = row.nth(months.index(month_label(str(known["period"])[:7]))).inner_text()
    assert cell == f"{format_value(known['value'], metric.unit)}, {known['rag']}"
    # In the accessibility tree: a table with its caption, and no chart SVG soup.
    assert page.get_by_role("table", name=re.compile(f"^{re.escape(metric.label)} by team and month")).count() == 1
    assert page.eval_on_selector_all("#tm-heatmap .main-svg", "ss => ss.every(s => s.getAttribute('aria-hidden'))")

    # The SPC chart: each month's class and the rule it met.
    page.goto(f"/kpi/assessments_45wd?period={latest}&level=service&unit={service.replace(' ', '%20')}")
    wait_for_dash(page)
    page.get_by_text("Show the SPC chart as a table").click()
    spc = queries.spc_series("assessments_45wd", "service", service, period=latest, db=warehouse)
    points = page.locator("#kpi-spc-table tbody tr")
    assert points.count() == int((spc.value == spc.value).sum())
    special = next(i for i, rules in enumerate(spc.rules) if rules)
    text = points.nth(special).inner_text()
    assert text.startswith(month_label(spc.period[special])) and "Special cause" in text
    assert re.search(r"beyond a process limit|in a row|close to a limit", text)

    # The breakdown bars: each team, best first.
    page.get_by_text("Show the bars as a table").click()
    below = queries.breakdown("assessments_45wd", latest, "service", service, db=warehouse)
    rows = page.locator("#kpi-breakdown-table tbody th").all_inner_texts()
    assert sorted(rows) == sorted(below["org_unit"]) and rows[0] == below.iloc[0]["org_unit"]
    assert page.console_errors == []


# ---------------------------------------------------------------- moving about


def test_a_move_to_a_kpi_page_is_announced_and_titled(page, warehouse, wait_for_dash):
    latest = queries.latest_period(db=warehouse)
    authority = catalogue().authority.name
    page.goto("/")
    wait_for_dash(page)
    home = f"CPIP scorecard: {authority} · {long_month_label(latest)} – CPIP"
    page.wait_for_function("t => document.title === t", arg=home)  # set just after the render
    metric = catalogue().metrics[0]
    page.locator(f"#sc-link-{metric.metric_id}").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/kpi/{metric.metric_id}"))
    wait_for_dash(page)
    title = f"{metric.label}: {authority} · {long_month_label(latest)} – CPIP"
    page.wait_for_function("t => document.title === t", arg=title)
    # focus is on the new page's heading, which a screen reader reads; the status region says where we are
    page.wait_for_function("() => document.activeElement.tagName === 'H1'")
    assert page.evaluate("document.activeElement.innerText") == metric.label
    assert page.inner_text("#cpip-announce") == title
    # the scorecard's areas are headings too
    page.go_back()
    page.wait_for_selector("#sc-table")
    wait_for_dash(page)
    areas = page.get_by_role("heading", level=2).all_inner_texts()
    assert areas[0].startswith("1. ") and areas[0][3:] == catalogue().areas[0]
    assert page.console_errors == []


def test_arrowing_through_the_month_list_loads_one_view(page, warehouse, wait_for_dash):
    """A closed select changes its value at each arrow key; the view loads
    once, when the keys stop, not once per month passed."""
    periods = queries.periods(db=warehouse)
    page.goto("/")
    wait_for_dash(page)
    renders: list[str] = []

    def count(request) -> None:
        if "_dash-update-component" in request.url and "_pages_content" in (request.post_data or ""):
            renders.append(request.url)

    page.on("request", count)
    page.locator("#sc-period").focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # newest first: each step is a month earlier
    wanted = periods[-4]
    page.wait_for_function("p => new URLSearchParams(location.search).get('period') === p", arg=wanted)
    wait_for_dash(page)
    subtitle = "m => document.querySelector('#page-subtitle').innerText.includes(m)"
    page.wait_for_function(subtitle, arg=long_month_label(wanted))
    assert len(renders) == 1, renders
    assert page.evaluate("document.activeElement.id") == "sc-period"
    assert page.console_errors == []


def test_narrow_charts_scroll_in_their_own_focusable_box(browser, live_server):
    context = browser.new_context(viewport={"width": 320, "height": 800}, base_url=live_server)
    page = context.new_page()
    page.goto("/teams")
    page.wait_for_selector("#tm-heatmap .main-svg")
    page.wait_for_timeout(300)
    box = page.locator(".cpip-chart-scroll").first
    assert page.evaluate("document.documentElement.scrollWidth") == 320
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region"
    assert "scrolls sideways" in box.get_attribute("aria-label")
    context.close()


def test_the_undo_dialog_and_buttons_are_named(page, wait_for_dash):
    page.goto("/data")
    wait_for_dash(page)
    page.locator("#data-history-table").wait_for()
    heads = page.locator("#data-history-table thead th").all_inner_texts()
    assert heads[-1] == "Actions"
    first = page.locator("#data-history-table tbody tr").first
    load_id = first.locator("td").first.inner_text()
    file_name = first.locator("td").nth(3).inner_text()
    first.get_by_role("button", name=f"Undo load {load_id} ({file_name})", exact=True).click()
    dialog = page.get_by_role("dialog", name="Undo this load?")
    dialog.wait_for()
    dialog.get_by_role("button", name="Keep it").click()
    dialog.wait_for(state="hidden")
    assert page.console_errors == []


# ---------------------------------------------------------------- applicable or missing


def test_a_kpi_that_is_not_the_units_work_is_left_off_and_no_data_names_its_extract(page, warehouse, wait_for_dash):
    """An assessment team's scorecard read "No data" for 8 of 18 KPIs, not its
    work and missing alike. Now those metrics.yml says are another service's
    work are left off (and counted); every "No data" left says which extract
    would bring it; `cpip scorecard` keeps every row, with `applies`."""
    latest = queries.latest_period(db=warehouse)
    org = queries.org_units(db=warehouse)
    team = org[org["service"] == "Assessment and Intervention"]["team"].iloc[0]
    frame = queries.scorecard(latest, "team", team, db=warehouse)
    off = frame[~frame["applies"]]
    assert len(off) >= 5 and off["numerator"].isna().all()  # never a KPI the team has records for
    page.goto(f"/?period={latest}&level=team&unit={team.replace(' ', '%20').replace('&', '%26')}")
    wait_for_dash(page)
    note = page.inner_text("#sc-left-off")
    assert note.startswith(f"{len(off)} KPIs do not apply to {team} and are left off: ")
    assert page.locator(".cpip-sc-row").count() == len(frame) - len(off)
    for metric_id in off["metric_id"]:
        assert page.locator(f"#sc-row-{metric_id}").count() == 0
    for row in frame[frame["applies"] & frame["value"].isna()].to_dict("records"):
        assert "would bring it" in page.inner_text(f"#sc-row-{row['metric_id']}")
    table = queries.scorecard_table(latest, "team", db=warehouse)
    assert len(table) == len(catalogue().metrics) * len(org) and set(table["applies"]) == {"yes", "no"}
    assert page.console_errors == []
