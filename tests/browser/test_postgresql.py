"""The app on PostgreSQL, in a real headless Chromium: the demo data loaded into a throwaway server
(tests/pg_server.py) and served by gunicorn with CPIP_DB=postgresql://..., beside a second authority.

- The scorecard shows the figures the DuckDB demo warehouse gives (the same SQL on both engines).
- A regional user sees both authorities side by side on /regional, switches to the other from the
  line at the top, and the header and scorecard follow; a user of one authority cannot switch.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import running_app

from dashboard.components.format import format_fraction, format_value, long_month_label
from etl.demo.extracts import load_demo
from etl.ingest.load import load_files
from etl.serve import queries
from etl.store import authority

pytestmark = pytest.mark.browser

ACCESS = """
default_role: none
users:
  r.lead: {role: board, authorities: ["938", "846"]}
  d.viewer: {role: viewer}
"""
# Brighton and Hove (846): one team, three assessments completed in July 2023, all within 45 working days.
ORG_846 = [["team", "service", "area"], ["Seafront Team", "Seafront Service", "Seafront"]]
ASSESSMENTS_846 = [
    ["child_id", "team", "assessment_start_date", "child_seen_date", "assessment_completed_date"],
    ["B1", "Seafront Team", "2023-07-03", "2023-07-04", "2023-07-10"],
    ["B2", "Seafront Team", "2023-07-03", "2023-07-04", "2023-07-11"],
    ["B3", "Seafront Team", "2023-07-03", "2023-07-05", "2023-07-12"],
]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture(scope="module")
def pg_demo(pg_server, pg_template, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    from pg_server import create_database, drop_database

    from etl.store import db

    folder = tmp_path_factory.mktemp("pg-browser")
    url = create_database(pg_server.url, template=pg_template)
    state = folder / "state"
    import os

    previous = os.environ.get("CPIP_STATE_DIR")
    os.environ["CPIP_STATE_DIR"] = str(state)
    try:
        assert load_demo(if_empty=False, who="test", db=url) == 0
        files = [_csv(folder / "org-846.csv", ORG_846), _csv(folder / "assessments-846.csv", ASSESSMENTS_846)]
        reports = load_files(files, as_of="2023-09-29", who="test", db=url, authority="846")
        assert [r.outcome for r in reports] == ["loaded", "loaded"]
        yield url, folder
    finally:
        if previous is None:
            os.environ.pop("CPIP_STATE_DIR", None)
        else:
            os.environ["CPIP_STATE_DIR"] = previous
        db.close_pool(url)
        drop_database(pg_server.url, url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def pg_live(pg_demo) -> Iterator[str]:
    url, folder = pg_demo
    (folder / "access.yml").write_text(ACCESS, encoding="utf-8")
    env = {
        "CPIP_ACCESS": str(folder / "access.yml"),
        "CPIP_STATE_DIR": str(folder / "state"),
        "CPIP_CACHE_DIR": str(folder / "cache"),
        "CPIP_AUTHORITIES": "938,846",
    }
    with running_app(
        url, folder / "gunicorn.log", workers=2, env=env, ready_headers={"X-Remote-User": "r.lead"}
    ) as base:
        yield base


def test_the_scorecard_on_postgresql_shows_the_duckdb_demo_figures(
    browser, pg_live, warehouse, wait_for_dash, axe, screenshot, signed_in_page
) -> None:
    context, page, errors = signed_in_page(browser, pg_live, "d.viewer")
    try:
        page.goto("/")
        wait_for_dash(page)
        latest = queries.latest_period(db=warehouse)
        assert page.inner_text("#page-subtitle") == f"Demo County Council · {long_month_label(latest)}"
        duck = queries.scorecard(latest, "la", None, db=warehouse)  # the DuckDB demo warehouse
        shown_rows = 0
        for row in duck[duck["value"].notna()].to_dict("records"):
            shown = page.inner_text(f"#sc-row-{row['metric_id']}")
            assert format_value(row["value"], row["unit"]) in shown, row["metric_id"]
            assert format_fraction(row["numerator"], row["denominator"], row["unit"]) in shown, row["metric_id"]
            shown_rows += 1
        assert shown_rows >= 10
        for word in ("Red", "Amber", "Green", "No data"):
            expected = int((duck["rag"] == word).sum())
            assert page.inner_text(f"#sc-count-{word.lower().replace(' ', '-')}") == str(expected)
        assert page.locator("#cpip-authority-switch").count() == 0  # one authority: nothing to switch to
        screenshot(page, "postgresql-scorecard")
        assert axe(page) == []
        assert errors == []
    finally:
        context.close()


def test_a_regional_user_sees_both_authorities_and_switches_between_them(
    browser, pg_live, pg_demo, wait_for_dash, axe, screenshot, signed_in_page
) -> None:
    url, _ = pg_demo
    with authority.using("938"):
        demo_july = queries.scorecard("2023-07", "la", None, db=url)
    demo = demo_july[demo_july["metric_id"] == "assessments_45wd"].iloc[0]
    context, page, errors = signed_in_page(browser, pg_live, "r.lead")
    try:
        page.goto("/regional?metric=assessments_45wd")
        wait_for_dash(page)
        table = page.inner_text("#rg-page table")
        assert "Demo County Council" in table and "Brighton and Hove" in table
        july = next(line for line in table.splitlines() if line.startswith("Jul 2023"))
        # 846: 3 of 3 within 45 working days; 938: the demo's own July figure.
        assert "100.0% (3 / 3)" in july
        fraction = format_fraction(demo["numerator"], demo["denominator"], "percent")
        assert f"{format_value(demo['value'], 'percent')} ({fraction})" in july
        screenshot(page, "postgresql-regional")
        assert axe(page) == []
        # At 320 CSS px (400% zoom) the header's authority switch and the table fit without sideways scrolling.
        page.set_viewport_size({"width": 320, "height": 900})
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        screenshot(page, "postgresql-regional-320")
        assert axe(page) == []
        page.set_viewport_size({"width": 1280, "height": 900})
        page.click("#cpip-authority-switch >> text=Brighton and Hove")
        wait_for_dash(page)
        assert page.inner_text(".cpip-authority") == "Brighton and Hove"
        assert "Showing Brighton and Hove" in page.inner_text("#cpip-who")
        page.goto("/?period=2023-07")
        wait_for_dash(page)
        row = page.inner_text("#sc-row-assessments_45wd")
        assert "100.0%" in row and "3 / 3" in row
        assert errors == []
    finally:
        context.close()
