"""The child list, the due list and the editors as a person meets them (issue 24),
on the demo data in single-user mode (the person at the keyboard is the analyst,
who may open child lists and edit plans).

What the hand audit found and axe cannot: grids that cut every cell at 320 px and
took a Tab press per cell, date boxes cut by their wrapper, an Action list that
overwrote what was typed as it was arrowed through, refusals only in a status line,
field borders at 1.3:1, and no link to /due or /plans. Each test below failed on the
code before that issue.
"""

from __future__ import annotations

import calendar
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from servers import running_app

from dashboard import theme
from etl.ingest.load import load_files
from etl.serve import queries

pytestmark = pytest.mark.browser

CHILD_LIST = "/kpi/seen_5wd/children?period={period}&level=la"
DUE_LIST = "/due?days=5"
PLANS = "/plans"
EVENT_EDITOR = "/kpi/iha_20wd?level=la"


def _path(path: str, warehouse) -> str:
    return path.format(period=queries.latest_period(db=warehouse))


def _hex(pixel: tuple) -> str:
    return "#{:02x}{:02x}{:02x}".format(*pixel[:3])


CUT_CELLS = """() => [...document.querySelectorAll('.ag-cell, .ag-header-cell-text')]
    .filter(c => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1)
    .map(c => c.innerText)"""
CUT_INPUTS = """() => [...document.querySelectorAll('.dash-input-container')]
    .filter(w => w.offsetParent !== null)
    .filter(w => { const i = w.querySelector('input');
                   return i.getBoundingClientRect().right > w.getBoundingClientRect().right + 1
                   || w.clientWidth < i.scrollWidth; })
    .map(w => w.querySelector('input').id)"""


@pytest.mark.parametrize("width", [320, 640, 1280])
@pytest.mark.parametrize("path", [CHILD_LIST, DUE_LIST, PLANS, EVENT_EDITOR])
def test_lists_and_editors_read_whole_at_every_width(page, warehouse, wait_for_dash, axe, screenshot, path, width):
    """At 320, 640 and 1,280 px: no sideways page scroll, axe with every rule finds
    nothing, no grid cell and no heading cut ("C…", "2023-…", "Children seen within 5
    wo…" before), no date or text box cut by its wrapper (70 of 154 px before), the
    filter box at least 250 px wide at 320 px (10 px before), and the first Tab on the
    page's skip link."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(_path(path, warehouse))
    wait_for_dash(page)
    if "children" in path or "due" in path:
        page.wait_for_selector(".ag-row")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "cpip-skip-link"
    if path == EVENT_EDITOR:
        page.locator("#kpi-event-form > summary").click()  # open the editor so its boxes are measured
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(CUT_CELLS) == []
    assert page.evaluate(CUT_INPUTS) == []
    if "children" in path or "due" in path:
        box = page.locator(".cpip-grid-filter").bounding_box()
        assert box["width"] >= min(250, width - 60)
        # Wider than its box at 320 px: a sentence says so and how to scroll it; at 1,280 px it fits.
        wide = page.locator(".cpip-grid-wide")
        if width == 320:
            wide.wait_for(state="visible")
            # Scrolled to its last column, each row still shows its child ID.
            page.locator(".ag-center-cols-viewport").evaluate("v => { v.scrollLeft = v.scrollWidth; }")
            page.wait_for_timeout(100)
            first_id = page.locator(".ag-pinned-left-cols-container .ag-row[row-index='0'] [col-id='child_id']")
            assert first_id.is_visible() and re.fullmatch(r"C\d+", first_id.inner_text())
        if width == 1280:
            assert wide.is_hidden()
        # The grid is named (it was a table with no name) and says which list it is.
        name = page.get_attribute("[role=grid], [role=treegrid]", "aria-label")
        assert name.startswith("Children behind" if "children" in path else "What falls due")
    screenshot(page, f"lists-{path.strip('/').split('?')[0].replace('/', '-')}-{width}")
    assert axe(page) == []
    assert page.console_errors == []


def _focus(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
                   return {tag: e.tagName, id: e.id, text: (e.innerText || '').trim().split('\\n')[0],
                           col: e.getAttribute('col-id'),
                           row: (e.closest('[row-index]') || e).getAttribute('row-index'),
                           pager: !!e.closest('.ag-paging-panel')}; }"""
    )


def test_keyboard_opens_a_child_list_from_the_scorecard_sorts_it_and_tabs_past_it(page, warehouse, wait_for_dash):
    """Keyboard only: Enter on "Children behind this figure" opens the list (a new page:
    the first Tab on its skip link); Tab reaches the filter box, the skip link, then the grid once (its first
    heading); Enter sorts by that column; one more Tab leaves the grid for its pager
    (the due list took 325 Tab presses to reach it). The skip link lands after the grid."""
    period = queries.latest_period(db=warehouse)
    service = queries.units_at("service", db=warehouse)[0]
    page.goto(f"/?period={period}&level=service&unit={service.replace(' ', '%20')}")
    wait_for_dash(page)
    page.locator("#sc-children-seen_5wd").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/kpi/seen_5wd/children\?"))
    wait_for_dash(page)
    page.wait_for_selector("#children-grid .ag-row")
    # A new document (the gate records the view): the first Tab lands on the page's skip link.
    assert page.inner_text("h1") == "Children: Children seen within 5 working days"
    page.keyboard.press("Tab")
    assert _focus(page)["id"] == "" and page.evaluate("document.activeElement.className") == "cpip-skip-link"

    page.locator("#children-grid-filter").focus()
    page.keyboard.press("Tab")
    assert _focus(page)["id"] == "children-grid-skip"
    page.keyboard.press("Tab")
    assert _focus(page)["col"] == "child_id"  # the grid's one Tab stop: its first heading
    before = page.locator("#children-grid .ag-row [col-id='child_id']").all_inner_texts()
    page.keyboard.press("Enter")  # sort by child ID
    page.wait_for_function(
        "() => document.querySelector('#children-grid .ag-header-cell[col-id=child_id]')"
        ".getAttribute('aria-sort') === 'ascending'"
    )
    after = [
        page.locator(f"#children-grid .ag-row[row-index='{i}'] [col-id='child_id']").inner_text() for i in range(10)
    ]
    assert after == sorted(after) and after[0] <= min(before)  # the list now runs from the smallest ID
    assert _focus(page)["col"] == "child_id"  # focus stays on the heading that was used
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert _focus(page)["col"] == "team" and _focus(page)["row"] == "0"
    page.keyboard.press("Tab")
    assert _focus(page)["pager"], _focus(page)  # past every cell in one press

    page.locator("#children-grid-skip").focus()
    page.keyboard.press("Enter")
    assert _focus(page)["id"] == "children-grid-end"
    assert page.console_errors == []


def test_the_filter_box_filters_every_column_and_says_how_many_match(page, warehouse, wait_for_dash):
    page.goto(_path(CHILD_LIST, warehouse))
    wait_for_dash(page)
    page.wait_for_selector("#children-grid .ag-row")
    # One labelled box, not seven identical "Open Filter Menu" buttons and 10 px boxes in the headings.
    assert page.get_by_role("button", name="Open Filter Menu").count() == 0
    assert page.get_by_role("searchbox", name=re.compile("^Filter this list")).count() == 1
    child = page.locator("#children-grid .ag-row[row-index='3'] [col-id='child_id']").inner_text()
    page.locator("#children-grid-filter").fill(child)
    page.wait_for_function("() => document.querySelector('#children-grid-filter-count').innerText !== ''")
    shown_ids = set(page.locator("#children-grid .ag-row [col-id='child_id']").all_inner_texts())
    assert shown_ids == {child}  # only that child's rows
    shown = page.locator("#children-grid .ag-paging-row-summary-panel").inner_text()
    count = page.inner_text("#children-grid-filter-count")
    assert re.fullmatch(r"[\d,]+ rows? match(es)?\.", count)
    assert f"of {count.split()[0]}" in shown  # the pager counts the same rows
    assert page.console_errors == []


def _assert_focus_ring(page, selector: str) -> None:
    """Focus draws a ring (at least a 1px line round the control) at 3:1 against what was there."""
    target = page.locator(selector)
    wrapped = target.evaluate("e => e.parentElement.classList.contains('dash-input-container')")
    shown = target.locator("xpath=..") if wrapped else target  # Dash 4's box round its <input>
    shown.scroll_into_view_if_needed()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    box = shown.bounding_box()
    clip = {"x": box["x"] - 6, "y": box["y"] - 6, "width": box["width"] + 12, "height": box["height"] + 12}
    before = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")).astype(int)
    target.focus()
    page.wait_for_timeout(100)
    after = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")).astype(int)
    moved = (before != after).any(axis=2) & ~(after == 255).all(axis=2)  # what focus drew, not what it wiped
    changed = list(zip(map(tuple, before[moved]), map(tuple, after[moved]), strict=True))
    assert len(changed) >= 2 * (box["width"] + box["height"]), (selector, len(changed))
    best = max(theme.contrast(_hex(a), _hex(b)) for a, b in changed[:: max(1, len(changed) // 2000)])
    assert best >= 3.0, (selector, best)


def test_the_editors_controls_show_focus(page, wait_for_dash):
    """The plans editor's text box, date box, text area, a details summary and the
    "Open in the form" button, each from screenshots before and after focus."""
    page.goto(PLANS)
    wait_for_dash(page)
    page.keyboard.press("Shift")  # focus shows as for the keyboard
    for selector in ("#plan-edit-sponsor", "#plan-edit-due", "#plan-edit-notes", "#plan-edit-ids > summary",
                     "#plan-edit-open"):  # fmt: skip
        _assert_focus_ring(page, selector)
    assert page.console_errors == []


def test_a_grid_cell_and_a_text_box_show_focus_and_borders_at_3_to_1(page, warehouse, wait_for_dash):
    """Screenshots before and after focus: a grid cell and a column heading (no ring at all
    before) and the filter box (a 1px ring clipped by its wrapper) draw a ring at 3:1
    against what was there; a field's border is 3:1 or more against the card (1.3:1)."""
    page.goto(_path(CHILD_LIST, warehouse))
    wait_for_dash(page)
    page.wait_for_selector("#children-grid .ag-row")
    page.keyboard.press("Shift")  # focus shows as for the keyboard
    for selector in (
        "#children-grid .ag-row[row-index='1'] [col-id='team']",
        "#children-grid .ag-header-cell[col-id='team']",
        "#children-grid-filter",
    ):
        _assert_focus_ring(page, selector)
    # The filter box's border against the page beside it, from pixels.
    page.evaluate("document.activeElement.blur()")
    wrapper = page.locator("#children-grid-filter").locator("xpath=..").bounding_box()
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    y = int(wrapper["y"] + wrapper["height"] / 2)
    border = shot.getpixel((int(wrapper["x"]), y))
    outside = shot.getpixel((int(wrapper["x"]) - 4, y))
    assert theme.contrast(_hex(border), _hex(outside)) >= 3.0
    assert page.console_errors == []


def test_arrowing_through_the_action_list_keeps_what_was_typed(page, wait_for_dash):
    """The closed "Action" list changed the form at every option passed, overwriting what
    had been typed; now the form fills at "Open in the form" only. A refusal marks its
    field invalid, described by the sentence, and puts focus there."""
    page.goto(PLANS)
    wait_for_dash(page)
    page.fill("#plan-edit-action", "Typed before choosing")
    page.locator("#plan-edit-pick").focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(1500)  # longer than any callback round trip here
    assert page.input_value("#plan-edit-action") == "Typed before choosing"
    chosen = page.input_value("#plan-edit-pick")
    page.keyboard.press("Tab")
    assert _focus(page)["id"] == "plan-edit-open"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#plan-edit-action').value !== 'Typed before choosing'")
    assert page.input_value("#plan-edit-pick") == chosen

    page.select_option("#plan-edit-pick", "__new__")
    page.click("#plan-edit-open")
    page.wait_for_function("() => document.querySelector('#plan-edit-action').value === ''")
    page.click("#plan-edit-save")
    page.wait_for_selector("#plan-edit-message:has-text('Not saved')")
    page.wait_for_function("() => document.activeElement.id === 'plan-edit-action'")
    field = page.locator("#plan-edit-action")
    assert field.get_attribute("aria-invalid") == "true"
    described = page.inner_text("#" + field.get_attribute("aria-describedby"))
    assert described == "Not saved: an action needs its text (what will be done)"
    assert page.console_errors == []


def test_writing_an_event_by_keyboard_saves_the_date_typed(browser, live_server, warehouse, wait_for_dash):
    """Keyboard only: the date typed into the event box (32 px wide before, the year
    hidden) is the date saved and listed under the chart; with no date, the refusal marks
    the box invalid and puts focus on it (it was only a status line)."""
    latest = queries.latest_period(db=warehouse)
    year, month = latest.split("-")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"/kpi/iha_20wd?period={latest}&level=la")
        wait_for_dash(page)
        page.locator("#kpi-event-form > summary").focus()
        page.keyboard.press("Enter")  # open the editor
        box = page.locator("#plan-edit-event-date")
        assert box.locator("xpath=..").bounding_box()["width"] >= box.evaluate("i => i.scrollWidth")
        # Add with no date: the refusal marks the date box and puts focus there.
        page.locator("#plan-edit-event-add").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.activeElement.id === 'plan-edit-event-date'")
        assert box.get_attribute("aria-invalid") == "true"
        assert page.inner_text("#" + box.get_attribute("aria-describedby")) == "Not added: choose the date it happened."
        # The day is the month's number, so the date reads the same in a dd/mm or an mm/dd box.
        page.keyboard.type(f"{month}{month}{year}")
        assert box.input_value() == f"{year}-{month}-{month}"
        for _ in range(3):  # Tab moves through the box's own parts, then on
            page.keyboard.press("Tab")
            if _focus(page)["id"] != "plan-edit-event-date":
                break
        assert _focus(page)["id"] == "plan-edit-event-label"
        page.keyboard.type("Keyboard journey check")
        page.keyboard.press("Tab")
        assert _focus(page)["id"] == "plan-edit-event-add"
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#plan-edit-event-message').innerText.startsWith('Added')")
        assert page.inner_text("#plan-edit-event-message").startswith(
            f"Added {year}-{month}-{month}: Keyboard journey check."
        )
        assert _focus(page)["id"] == "plan-edit-event-add"  # focus stays where the person was
        # no longer marked once the event is added
        page.wait_for_function("() => !document.querySelector('#plan-edit-event-date').hasAttribute('aria-invalid')")
        page.reload()
        wait_for_dash(page)
        words = f"{int(month)} {calendar.month_abbr[int(month)]} {year}: Keyboard journey check"
        assert words in page.locator("#main-content").inner_text()
    finally:
        context.close()


def test_the_menu_and_every_team_and_service_scorecard_reach_due_and_plans(page, warehouse, wait_for_dash):
    """Nothing linked to /due, and /plans was not in the menu."""
    page.goto("/")
    wait_for_dash(page)
    menu = page.locator("nav[aria-label='Main'] a").all_inner_texts()
    assert menu == ["Scorecard", "Teams", "Audits", "Action plans", "What falls due", "Data"]
    team = queries.units_at("team", db=warehouse)[0]
    service = queries.units_at("service", db=warehouse)[0]
    for level, unit, due in (
        ("team", team, f"/due?team={team.replace(' ', '%20').replace('&', '%26')}&days=5"),
        ("service", service, "/due?days=5"),
    ):
        page.goto(f"/?level={level}&unit={unit.replace(' ', '%20').replace('&', '%26')}")
        wait_for_dash(page)
        assert page.get_attribute("#sc-due", "href") == due
        assert page.get_attribute("#sc-plans", "href") == "/plans"
    page.click("#sc-plans")
    page.wait_for_url(re.compile(r"/plans$"))
    wait_for_dash(page)
    assert page.inner_text("h1") == "Practice Action Plans"
    assert page.console_errors == []


def test_the_scorecard_view_list_has_no_blank_choice(page, wait_for_dash):
    """Its selected value was blank, and the arrow keys could not pass it."""
    page.goto("/")
    wait_for_dash(page)
    options = page.eval_on_selector_all("#sc-view option:not([hidden])", "os => os.map(o => o.innerText)")
    assert options == ["Scorecard", "Icon matrix of the units below"]
    assert page.evaluate("document.querySelector('#sc-view').selectedOptions[0].innerText") == "Scorecard"
    assert page.console_errors == []


# ---------------------------------------------------------------- the data page's focus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data_page"


@pytest.fixture(scope="module")
def data_server(tmp_path_factory) -> Iterator[str]:
    """The app on a warehouse of this module's own (this journey writes to it): the
    organisation and the base KPI values (pathway plans, July 2023: 86 of 100)."""
    tmp = tmp_path_factory.mktemp("focus-journey")
    db = tmp / "warehouse.duckdb"
    base = [FIXTURES / "organisation.csv", FIXTURES / "kpi_values_base.csv"]
    load_files(base, as_of=date(2023, 8, 5), who="t", db=db)
    env = {"CPIP_UPLOAD_DIR": str(tmp / "uploads"), "CPIP_CACHE_DIR": str(tmp / "cache")}
    with running_app(db, tmp / "server.log", env=env, ready_path="/data") as url:
        yield url


def test_loading_and_undoing_a_file_by_keyboard_never_drops_focus(browser, data_server):
    """Focus fell to the page body after choosing a file (the box is disabled while the
    file is sent), after Load (hidden while it runs) and after confirming Undo (its row
    is redrawn). Now it lands on the sentence that says what happened, each time."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, base_url=data_server)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto("/data")
        box = page.locator("#data-upload input[type=file]")
        box.focus()
        box.set_input_files(str(FIXTURES / "pathway_plans_july.csv"))
        page.wait_for_function("() => document.activeElement.id === 'data-status'")  # "Sending 1 file ..."
        page.wait_for_function("() => document.querySelector('#data-status').innerText.includes('1 file checked')")
        assert page.evaluate("document.activeElement.id") == "data-status"  # and still there when checked

        page.wait_for_function("() => !document.querySelector('#data-load').disabled")  # the report is drawn
        page.locator("#data-load").focus()
        page.keyboard.press("Enter")
        page.locator("#data-load-alert").wait_for()
        page.wait_for_function("() => document.activeElement.id === 'data-load-result'")
        assert "pathway_plans_july.csv: kpi_values: loaded" in page.evaluate("document.activeElement.innerText")

        newest = page.locator("#data-history-table tbody tr").first
        newest.get_by_text("pathway_plans_july.csv").wait_for()  # the history redraws after the load
        undo = newest.get_by_role("button", name=re.compile("^Undo"))
        undo.focus()
        page.keyboard.press("Enter")
        page.locator(".modal.show").wait_for()
        page.get_by_role("button", name="Undo the load").focus()
        page.keyboard.press("Enter")
        page.locator("#data-undo-alert").wait_for()
        page.wait_for_function("() => document.activeElement.id === 'data-undo-result'")
        assert "undone" in page.evaluate("document.activeElement.innerText")
        assert errors == []
    finally:
        context.close()


SPC_BACKDROP = (".js-line", ".shapelayer", ".gridlayer", ".zerolinelayer", ".layer-above", ".infolayer")


def test_spc_points_reach_3_to_1_from_pixels(browser, live_server):
    """Each SPC point against what is round it, from a screenshot at twice the pixel
    density with the lines and bands hidden: the most contrasting pixel of the mark.
    Common-cause points (#A6A6A6, 2.43:1) and improving diamonds (#00B0F0, 2.48:1)
    were under 3:1 on white; a dark edge now carries them."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400}, base_url=live_server, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto("/kpi/assessments_45wd?level=service")
        page.wait_for_selector("#kpi-spc .scatterlayer .points path")
        page.locator("#kpi-spc").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        hidden = ", ".join(f"#kpi-spc {layer}" for layer in SPC_BACKDROP)
        page.evaluate("sel => document.querySelectorAll(sel).forEach(e => { e.style.visibility = 'hidden'; })", hidden)
        boxes = page.eval_on_selector_all(
            "#kpi-spc .scatterlayer .points path",
            "ps => ps.map(q => { const r = q.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })",
        )
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        worst = []
        for x, y, w, h in boxes:
            crop = shot.crop((int(x * 2) - 2, int(y * 2) - 2, int((x + w) * 2) + 2, int((y + h) * 2) + 2))
            around = crop.getpixel((0, 0))  # what is round the mark, with the lines and bands hidden
            worst.append(max(theme.contrast(_hex(c), _hex(around)) for _, c in crop.getcolors(100_000)))
        assert len(worst) >= 12 and min(worst) >= 3.0, f"worst SPC point {min(worst):.2f}:1"
    finally:
        context.close()


def test_the_content_hash_reads_at_4_5_to_1_on_a_shaded_row(browser, live_server):
    """The load history's content hash, from pixels at twice the density: its darkest ink
    against the row it sits on (Bootstrap's pink measured 4.02:1 on a shaded row)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto("/data")
        page.wait_for_selector("#data-history-table tbody tr:nth-child(1) code")
        ratios = []
        for row in (1, 2):  # a shaded row and a plain one (the table is striped)
            code = page.locator(f"#data-history-table tbody tr:nth-child({row}) code")
            code.scroll_into_view_if_needed()
            shot = Image.open(io.BytesIO(code.screenshot())).convert("RGB")
            colours = shot.getcolors(100_000)
            ground = max(colours)[1]  # the commonest pixel: the row behind the text
            ratios.append(max(theme.contrast(_hex(c), _hex(ground)) for _, c in colours))
        assert min(ratios) >= 4.5, ratios
    finally:
        context.close()


def test_no_unnamed_image_in_the_accessibility_tree(page, wait_for_dash):
    """plotly's hidden text-measuring graphic and the toolbar buttons' icons were read as
    unnamed images; every image a screen reader meets now has a name."""
    page.goto("/kpi/icpc_15wd?level=service")
    wait_for_dash(page)
    page.wait_for_selector(".modebar-btn")
    # assets/cpip.js settles the charts after the render
    page.wait_for_function("() => [...document.querySelectorAll('.modebar')].every(m => m.getAttribute('aria-label'))")
    tree = page.locator("body").aria_snapshot().splitlines()
    assert [line for line in tree if line.strip() == "- img"] == []
    assert page.get_attribute("#js-plotly-tester", "aria-hidden") == "true"
    assert page.console_errors == []


def test_every_table_on_the_data_page_has_a_name(page, wait_for_dash):
    """The load history and the two freshness tables had no accessible name."""
    page.goto("/data")
    wait_for_dash(page)
    page.wait_for_selector("#data-history-table")
    page.wait_for_function("() => document.querySelectorAll('#data-freshness table').length >= 2")
    # assets/cpip.js names them after the render
    page.wait_for_function("() => [...document.querySelectorAll('#data-freshness table')].every(t => t.ariaLabel)")
    tree = page.locator("body").aria_snapshot().splitlines()
    assert [line for line in tree if line.strip() in ("- table", "- table:")] == []
    assert page.get_by_role("table", name="Load history").count() == 1
    assert page.console_errors == []


def test_a_chart_toolbar_button_shows_the_houses_3px_ring(page, wait_for_dash):
    """With the toolbar already showing (focus on its second button), arrowing to the first
    draws a ring round it: plotly's own 1px black ring won over the stylesheet's 3px one,
    and a toolbar fading in was counted as a ring before."""
    page.goto("/kpi/icpc_15wd?level=service")
    wait_for_dash(page)
    page.wait_for_function("() => [...document.querySelectorAll('.modebar')].every(m => m.getAttribute('aria-label'))")
    page.keyboard.press("Shift")  # focus shows as for the keyboard
    buttons = page.locator("#kpi-trend .modebar-btn")
    buttons.nth(1).focus()
    page.wait_for_timeout(400)  # the toolbar fades in
    box = buttons.nth(0).bounding_box()
    clip = {"x": box["x"] - 6, "y": box["y"] - 6, "width": box["width"] + 12, "height": box["height"] + 12}
    before = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")).astype(int)
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(100)
    after = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")).astype(int)
    moved = (before != after).any(axis=2)
    # A 3px ring round the button changes at least 3 x its perimeter of pixels; a 1px ring about 1 x.
    assert moved.sum() >= 3 * 2 * (box["width"] + box["height"]), moved.sum()
    pairs = zip(map(tuple, before[moved]), map(tuple, after[moved]), strict=True)
    assert max(theme.contrast(_hex(a), _hex(b)) for a, b in pairs) >= 3.0
    assert page.console_errors == []
