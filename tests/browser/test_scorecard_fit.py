"""The scorecard fits the 1,280 px laptop and an A4 landscape page with every column on it (issue 25:
it was 1,366 px wide, the band column cut and the SPC column off-screen; printing cut the same)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

FITS = """() => {
    const table = document.querySelector('#sc-page table');
    const spc = [...table.querySelectorAll('thead th')].pop();
    return {width: table.scrollWidth, room: table.parentElement.clientWidth,
            spcRight: spc.getBoundingClientRect().right, page: document.documentElement.clientWidth,
            last: spc.innerText.trim()};
}"""


def test_every_column_of_the_scorecard_is_on_screen_and_on_the_printed_page(page, wait_for_dash):
    page.goto("/")
    wait_for_dash(page)
    page.wait_for_selector("#sc-row-assessments_45wd")
    screen = page.evaluate(FITS)
    assert screen["last"] == "SPC"
    assert screen["width"] <= screen["room"] and screen["spcRight"] <= screen["page"], screen
    # A4 landscape less the 10 mm margins is 277 mm: 1,047 CSS px.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1047, "height": 740})
    printed = page.evaluate(FITS)
    assert printed["width"] <= printed["room"] and printed["spcRight"] <= printed["page"], printed
    # DfE's published figures sit in one column (their own five made the table too wide).
    headings = page.locator("#sc-page table thead th").all_inner_texts()
    assert [h.strip() for h in headings][-2:] == ["Published figures", "SPC"]
