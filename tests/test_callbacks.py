"""The pages' builders and callbacks called as plain functions, against a small
hand-made warehouse whose mart rows are written straight into `kpi_monthly`,
so every number a reader would see is known by hand:

- assessments_45wd, authority: July 2023 375 / 425 = 88.2% (2023/24 thresholds
  green 90, amber 85: Amber), June 340 / 400 = 85.0% (so: improving).
  Family Safeguarding 200 / 220 = 90.9% (Green), Assessment and Intervention
  175 / 205 = 85.4% (Amber). Coastal FS 1 120 / 130 = 92.3%.
- missing_episodes (lower is better, green 250, amber 300): July 283 (Amber), June 250.
- iha_20wd: July 9 / 14 = 64.3% (green 75, amber 60: Amber). homeless_16_17 (monitored): 19.
- Every other KPI has no data: the catalogue has 25 KPIs, 23 rated, so 3 Amber and 20 No data.
- Audits: April 2023, Coastal FS 1: 5 audits, 4 moderated (Outstanding, Good, 2 x Requires
  Improvement) -> 25%, 25%, 50%, 0%. May 2023, North A&I 1: 1 audit, moderated Inadequate.
  The audits were loaded with as-of 20 July 2023, before July ended.
"""

from __future__ import annotations

import io
import os
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dash_tree import by_id, text_of

from etl.store.warehouse import writer

ROOT = Path(__file__).resolve().parent.parent
AUTHORITY = "Demo County Council"

TEAMS = [
    ("Coastal FS 1", "Family Safeguarding", "Coastal"),
    ("Coastal FS 2", "Family Safeguarding", "Coastal"),
    ("=SUM(A1)", "Family Safeguarding", "Coastal"),  # a name that would run as a formula in Excel
    ("North A&I 1", "Assessment and Intervention", "Northern"),
]

MART = [
    ("assessments_45wd", "2023-07", "la", AUTHORITY, 375, 425),
    ("assessments_45wd", "2023-06", "la", AUTHORITY, 340, 400),
    ("assessments_45wd", "2023-07", "service", "Family Safeguarding", 200, 220),
    ("assessments_45wd", "2023-07", "service", "Assessment and Intervention", 175, 205),
    ("assessments_45wd", "2023-07", "area", "Coastal", 200, 220),
    ("assessments_45wd", "2023-07", "area", "Northern", 175, 205),
    ("assessments_45wd", "2023-07", "team", "Coastal FS 1", 120, 130),
    ("assessments_45wd", "2023-06", "team", "Coastal FS 1", 100, 125),
    ("assessments_45wd", "2023-07", "team", "Coastal FS 2", 79, 88),
    ("assessments_45wd", "2023-07", "team", "=SUM(A1)", 1, 2),
    ("assessments_45wd", "2023-07", "team", "North A&I 1", 175, 205),
    ("missing_episodes", "2023-07", "la", AUTHORITY, 283, None),
    ("missing_episodes", "2023-06", "la", AUTHORITY, 250, None),
    ("iha_20wd", "2023-07", "la", AUTHORITY, 9, 14),
    ("homeless_16_17", "2023-07", "la", AUTHORITY, 19, None),
]

AUDITS = [
    ("A1", "C1", "Coastal FS 1", date(2023, 4, 3), "assessment", "Good", "Outstanding"),
    ("A2", "C2", "Coastal FS 1", date(2023, 4, 4), "assessment", "Good", "Good"),
    ("A3", "C3", "Coastal FS 1", date(2023, 4, 5), "management_oversight", "Good", "Requires Improvement"),
    ("A4", "C4", "Coastal FS 1", date(2023, 4, 6), "management_oversight", "Inadequate", "Requires Improvement"),
    ("A5", "C5", "Coastal FS 1", date(2023, 4, 7), "assessment", "Good", None),
    ("A6", "C6", "North A&I 1", date(2023, 5, 9), "assessment", "Requires Improvement", "Inadequate"),
]


def build_warehouse(path: Path) -> None:
    org = pd.DataFrame(TEAMS, columns=["team", "service", "area"]).assign(load_id=1)
    mart = pd.DataFrame(MART, columns=["metric_id", "period", "level", "org_unit", "numerator", "denominator"])
    mart["period"] = pd.to_datetime(mart["period"] + "-01").dt.date
    audits = pd.DataFrame(
        AUDITS, columns=["audit_id", "child_id", "team", "audit_date", "audit_type", "grade", "moderated_grade"]
    ).assign(load_id=1)
    with writer(path) as con:
        con.register("org_frame", org)
        con.execute(
            "INSERT INTO organisation (team, service, area, load_id) SELECT team, service, area, load_id FROM org_frame"
        )
        con.register("mart_frame", mart)
        con.execute(
            "INSERT INTO kpi_monthly (metric_id, period, level, org_unit, numerator, denominator)"
            " SELECT metric_id, CAST(period AS DATE), level, org_unit, numerator, denominator"
            " FROM mart_frame"
        )
        con.register("audit_frame", audits)
        con.execute("INSERT INTO case_audits BY NAME SELECT * FROM audit_frame")
        con.execute(
            "INSERT INTO loads (load_id, loaded_at, loaded_by, file_name, content_hash, extract_type, as_of, rows_read,"
            " rows_added, rows_replaced, rows_unchanged, rows_rejected, warnings, first_period, last_period, outcome,"
            " undone_at, undone_by, rows_redated)"
            " VALUES (1, TIMESTAMP '2023-07-21 09:00', 'test', 'case_audits.csv', 'h', 'case_audits',"
            " DATE '2023-07-20', 6, 6, 0, 0, 0, 0, '2023-04', '2023-05', 'loaded', NULL, NULL, 0)"
        )


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The app's page modules, reading the hand-made warehouse."""
    db = tmp_path_factory.mktemp("callbacks") / "warehouse.duckdb"
    build_warehouse(db)
    previous = os.environ.get("CPIP_DB")
    os.environ["CPIP_DB"] = str(db)
    sys.path.insert(0, str(ROOT))
    import app  # noqa: F401  (creating the app registers the pages)
    from dashboard.pages import audits, kpi, scorecard, teams

    yield {"scorecard": scorecard, "kpi": kpi, "teams": teams, "audits": audits}
    if previous is None:
        os.environ.pop("CPIP_DB", None)
    else:
        os.environ["CPIP_DB"] = previous


# ---------------------------------------------------------------- scorecard


def test_a_figure_over_too_few_records_says_small_numbers_instead_of_a_colour(pages):
    # The team "=SUM(A1)" completed 1 of 2 assessments in time in July 2023: 50%, far below the
    # Amber threshold, but 2 is below metrics.yml's default min_denominator of 5.
    content = pages["scorecard"].build(period="2023-07", level="team", unit="=SUM(A1)")
    row = text_of(by_id(content, "sc-row-assessments_45wd"))
    assert "50.0% 1 / 2 90.0% Small numbers –" in row  # value, counts, target, the RAG column's word
    assert text_of(by_id(content, "sc-small-assessments_45wd")) == (
        "Small numbers: 2 counted, fewer than the 5 a RAG rating needs, so the figure is shown without a colour "
        "and left out of the Red and Amber counts."
    )
    assert text_of(by_id(content, "sc-count-red")) == "0" and text_of(by_id(content, "sc-count-amber")) == "0"
    # Coastal FS 1's 120 of 130 is rated as before.
    team = pages["scorecard"].build(period="2023-07", level="team", unit="Coastal FS 1")
    assert "Small numbers" not in text_of(by_id(team, "sc-row-assessments_45wd"))


def test_each_person_lands_on_their_own_scorecard(pages):
    from etl.privacy.access import Role, Viewer, viewing

    def subtitle(viewer, **address):
        with viewing(viewer):
            return text_of(by_id(pages["scorecard"].build(**address), "page-subtitle"))

    manager = Viewer("j.smith", Role.TEAM_MANAGER, teams=("coastal fs 2",))
    head = Viewer("a.khan", Role.HEAD_OF_SERVICE, services=("Family Safeguarding",))
    assert subtitle(manager) == "Coastal FS 2 · July 2023 · Team"
    assert subtitle(head) == "Family Safeguarding · July 2023 · Service"
    assert subtitle(Viewer("dlt.chair", Role.BOARD)) == f"{AUTHORITY} · July 2023"
    # An address that names a unit is followed, whoever asks; a team the organisation lacks opens the authority.
    assert subtitle(manager, level="la") == f"{AUTHORITY} · July 2023"
    assert subtitle(Viewer("x", Role.TEAM_MANAGER, teams=("Coastal FS 9",))) == f"{AUTHORITY} · July 2023"


def test_scorecard_defaults_to_the_latest_month_and_the_authority(pages):
    content = pages["scorecard"].build()
    assert text_of(by_id(content, "page-subtitle")) == f"{AUTHORITY} · July 2023"
    row = text_of(by_id(content, "sc-row-assessments_45wd"))
    assert "88.2%" in row and "375 / 425" in row and "Amber" in row and "Improving" in row
    missing = text_of(by_id(content, "sc-row-missing_episodes"))
    assert "283" in missing and "Worsening" in missing and "Amber" in missing
    homeless = text_of(by_id(content, "sc-row-homeless_16_17"))
    assert "19" in homeless and "Not rated" in homeless
    assert text_of(by_id(content, "sc-count-amber")) == "3"
    assert text_of(by_id(content, "sc-count-no-data")) == "20"  # the workforce's four among them
    assert text_of(by_id(content, "sc-count-red")) == "0"


def test_scorecard_for_a_team_links_each_kpi_to_the_same_view(pages):
    content = pages["scorecard"].build("2023-07", "team", "Coastal FS 1")
    row = text_of(by_id(content, "sc-row-assessments_45wd"))
    assert "92.3%" in row and "120 / 130" in row and "Green" in row
    link = by_id(content, "sc-link-assessments_45wd")
    assert link.href == "/kpi/assessments_45wd?period=2023-07&level=team&unit=Coastal%20FS%201"
    assert by_id(content, "sc-boardpack-pdf").href == "/boardpack.pdf?period=2023-07&level=team&unit=Coastal%20FS%201"
    assert by_id(content, "sc-boardpack-xlsx").href == (
        "/boardpack.xlsx?period=2023-07&level=team&unit=Coastal%20FS%201"
    )
    # the controls show what the URL asked for
    assert by_id(content, "sc-period").value == "2023-07"
    assert by_id(content, "sc-level").value == "team"
    assert by_id(content, "sc-unit").value == "Coastal FS 1"
    assert [o["value"] for o in by_id(content, "sc-unit").options] == sorted(t for t, _, _ in TEAMS)


def test_scorecard_june_compares_with_may_which_has_no_data(pages):
    row = text_of(by_id(pages["scorecard"].build("2023-06", "la", None), "sc-row-assessments_45wd"))
    assert "85.0%" in row and "340 / 400" in row and "No comparison" in row


def test_scorecard_banner_says_the_month_may_be_incomplete(pages):
    banner = text_of(by_id(pages["scorecard"].build("2023-07"), "sc-freshness"))
    assert "July 2023 may be incomplete" in banner
    assert (
        "No data yet for July 2023 from: assessments, case_audits, cp_plans, kpi_values, missing_episodes, referrals."
        in banner
    )
    assert "21 KPIs show No data" in banner
    assert "case_audits (taken 20 July 2023)" in banner


def test_scorecard_explains_values_it_did_not_understand(pages):
    content = pages["scorecard"].build("1999-01", "galaxy", "Nowhere")
    words = text_of(content)
    assert "There is no data for 1999-01; showing July 2023, the latest month." in words
    assert "galaxy is not a level" in words
    assert text_of(by_id(content, "page-subtitle")) == f"{AUTHORITY} · July 2023"


def test_scorecard_layout_carries_its_url_location(pages):
    parts = pages["scorecard"].layout(period="2023-07", level="la")
    assert parts[0].id == "sc-url" and parts[0].refresh == "callback-nav"
    assert parts[1].data == {"params": ["period", "level", "unit", "view"], "resets": {"unit": ["sc-level"]}}


def test_a_failing_query_gives_a_plain_message_not_a_traceback(pages, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pages["scorecard"].queries, "scorecard", broken)
    words = text_of(pages["scorecard"].layout())
    assert "The scorecard could not be shown." in words
    assert "disk on fire" not in words and "Traceback" not in words


def test_empty_warehouse_says_no_data_loaded(pages, tmp_path, monkeypatch):
    monkeypatch.setenv("CPIP_DB", str(tmp_path / "empty.duckdb"))
    assert "No data has been loaded yet." in text_of(pages["scorecard"].build())


# ---------------------------------------------------------------- KPI page


def test_kpi_page_headline_breakdown_table_and_definition(pages):
    content = pages["kpi"].build("assessments_45wd", "2023-07", "la", None)
    assert text_of(by_id(content, "kpi-value")) == "88.2%"
    breakdown = by_id(content, "kpi-breakdown").figure
    bar = breakdown.data[0]
    # best first, drawn bottom-up: Assessment and Intervention (85.4%) below Family Safeguarding (90.9%)
    assert list(bar.y) == ["Assessment and Intervention", "Family Safeguarding"]
    assert list(bar.text) == ["85.4% (175 / 205) · Amber", "90.9% (200 / 220) · Green"]
    definition = text_of(by_id(content, "kpi-definition"))
    assert "Head of Service, Assessment and Intervention" in definition
    assert "Higher is better" in definition
    assert (
        "Target 90.0%; Green at or above 90.0%, Amber at or above 85.0%, otherwise Red (financial year 2023/24)."
        in (definition)
    )
    words = text_of(content)
    assert "Jul 2023 88.2% 375 425 90.0% Amber" in words
    assert "Jun 2023 85.0% 340 400 90.0% Amber" in words
    trend = by_id(content, "kpi-trend").figure
    assert [round(v, 1) for v in trend.data[0].y] == [85.0, 88.2]
    links = [c for c in by_id(content, "kpi-breakdown-links").children if not isinstance(c, str)]
    assert [link.href for link in links] == [
        "/kpi/assessments_45wd?period=2023-07&level=service&unit=Family%20Safeguarding",
        "/kpi/assessments_45wd?period=2023-07&level=service&unit=Assessment%20and%20Intervention",
    ]


def test_kpi_page_for_a_team_has_no_breakdown(pages):
    content = pages["kpi"].build("assessments_45wd", "2023-07", "team", "Coastal FS 1")
    assert by_id(content, "kpi-breakdown") is None
    assert text_of(by_id(content, "kpi-value")) == "92.3%"
    assert by_id(content, "kpi-back").href == "/?period=2023-07&level=team&unit=Coastal%20FS%201"


def test_kpi_page_for_an_unknown_kpi(pages):
    assert "There is no KPI called nope." in text_of(pages["kpi"].build("nope", None, None, None))


def test_csv_download_neutralises_formulas(pages):
    params = {"metric_id": "assessments_45wd", "level": "team", "unit": "=SUM(A1)", "period": "2023-07"}
    out = pages["kpi"].download_csv(1, params)
    assert out["filename"] == "assessments_45wd_sum-a1.csv"
    frame = pd.read_csv(io.StringIO(out["content"]))
    assert list(frame.columns) == [
        "metric_id", "level", "org_unit", "period", "numerator", "denominator", "value", "target", "rag"
    ]  # fmt: skip
    assert frame["org_unit"].tolist() == ["'=SUM(A1)"]
    # 1 of 2 is below the default min_denominator of 5: shown, not rated.
    assert frame.iloc[0][["numerator", "denominator", "value", "rag"]].tolist() == [1.0, 2.0, 50.0, "Small numbers"]


def test_csv_download_for_the_authority(pages):
    params = {"metric_id": "assessments_45wd", "level": "la", "unit": AUTHORITY, "period": "2023-07"}
    frame = pd.read_csv(io.StringIO(pages["kpi"].download_csv(1, params)["content"]))
    assert frame["period"].tolist() == ["2023-06", "2023-07"]
    assert frame["value"].tolist() == [85.0, 88.2]


def test_csv_download_needs_a_click(pages):
    from dash import no_update

    assert pages["kpi"].download_csv(None, {"metric_id": "x"}) is no_update


# ---------------------------------------------------------------- teams


def test_teams_page_heatmap_and_grid_for_a_service(pages):
    content = pages["teams"].build("2023-07", "service", "Family Safeguarding", "assessments_45wd")
    title = text_of(by_id(content, "tm-heatmap-title"))
    assert title == "Assessments within 45 working days: teams of Family Safeguarding, Aug 2022 to Jul 2023"
    heat = by_id(content, "tm-heatmap").figure.data[0]
    assert list(heat.y) == ["Coastal FS 2", "Coastal FS 1", "=SUM(A1)"]
    assert heat.text[1][-1] == "92.3%<br>Green"  # Coastal FS 1, July
    assert heat.text[0][-1] == "89.8%<br>Amber"  # Coastal FS 2: 79 / 88
    assert heat.text[1][-2] == "80.0%<br>Red"  # Coastal FS 1, June: 100 / 125 under 2023/24's 85
    grid = by_id(content, "tm-grid")
    hrefs = [h.children.href for h in grid.children[1].children.children[1:]]
    assert hrefs == [
        "/?period=2023-07&level=team&unit=%3DSUM%28A1%29",
        "/?period=2023-07&level=team&unit=Coastal%20FS%201",
        "/?period=2023-07&level=team&unit=Coastal%20FS%202",
    ]


def test_teams_page_defaults_to_the_first_service_and_kpi(pages):
    content = pages["teams"].build(None, None, None, None)
    assert text_of(by_id(content, "page-subtitle")) == "Assessment and Intervention · July 2023"
    assert by_id(content, "tm-kpi").value == "icpc_15wd"


# ---------------------------------------------------------------- comparators and the icon matrix


def test_scorecard_shows_the_published_comparators_and_says_whose_they_are(pages):
    content = pages["scorecard"].build("2023-07", "la", None)
    # West Sussex (938), dental checks, year to 31 March 2024 (tests/test_comparators.py works it by hand).
    dental = text_of(by_id(content, "sc-row-dental_up_to_date"))
    # Folded into one column, a line each, the year once.
    assert "Ours 76.0% England 79.0% Region 77.0% Neighbours 76.0% C rank 101 of 151 2023/24" in dental
    repeat = text_of(by_id(content, "sc-row-repeat_cp_plans"))
    assert "Ours 25.8% England 24.7% Region 25.3%" in repeat and "rank" not in repeat  # monitored: no band
    note = text_of(by_id(content, "sc-comparator-note"))
    assert "those of West Sussex (DfE code 938), not Demo County Council's own" in note


def test_scorecard_as_an_icon_matrix_of_the_services(pages):
    content = pages["scorecard"].build("2023-07", "la", None, "icons")
    assert by_id(content, "sc-table") is None and by_id(content, "sc-view").value == "icons"
    counts = text_of(by_id(content, "sc-matrix-counts"))
    assert counts == "0 KPIs special cause concerning; 0 KPIs consistently failing."  # two months: too few
    html_table = text_of(content)
    assert 'id="sc-matrix"' in html_table and ">Family Safeguarding</a></th>" in html_table
    team = pages["scorecard"].build("2023-07", "team", "Coastal FS 1", "icons")
    assert "A team has no units below it" in text_of(by_id(team, "sc-matrix-none"))


def test_teams_page_has_the_icon_matrix_of_its_teams(pages):
    content = pages["teams"].build("2023-07", "service", "Family Safeguarding", "assessments_45wd")
    matrix = text_of(by_id(content, "tm-matrix-card"))
    assert "Variation and assurance by team and KPI, July 2023" in matrix
    assert "&lt;" not in matrix or "=SUM(A1)" in matrix
    assert 'href="/kpi/assessments_45wd?period=2023-07&amp;level=team&amp;unit=Coastal%20FS%201#kpi-spc-card"' in matrix
    assert "Too few points (2 of 12)" in matrix


def test_kpi_page_says_where_we_stand_and_draws_the_comparison(pages):
    content = pages["kpi"].build("dental_up_to_date", "2023-07", "la", None)
    card = by_id(content, "kpi-comparator-card")
    assert "Where we stand among all councils, 2023/24" in text_of(card)
    assert text_of(by_id(card, "kpi-cmp-published")) == "76.0%"
    assert text_of(by_id(card, "kpi-cmp-england")) == "79.0%"
    assert text_of(by_id(card, "kpi-cmp-region")) == "77.0%"
    assert text_of(by_id(card, "kpi-cmp-sn")) == "76.0%"
    assert text_of(by_id(card, "kpi-cmp-band")) == "C (rank 101 of 151)"
    figure = by_id(card, "kpi-comparison").figure
    names = [t.name for t in figure.data]
    assert names.count("Statistical neighbours (each)") == 10 and names[-2:] == [
        "West Sussex (DfE code 938)",
        "England",
    ]
    ours = next(t for t in figure.data if t.name.startswith("West Sussex"))
    assert list(ours.x) == ["2020/21", "2021/22", "2022/23", "2023/24", "2024/25"] and ours.y[3] == 76.0
    table = text_of(by_id(card, "kpi-comparison-table"))
    assert "Gloucestershire (neighbour)" in table and "Devon (neighbour)" in table
    # No counterpart, no card.
    assert by_id(pages["kpi"].build("assessments_45wd", "2023-07", "la", None), "kpi-comparator-card") is None


def test_kpi_page_trend_and_spc_chart_carry_england_of_each_year(pages):
    from dashboard.components.figures import trend_figure
    from etl.catalogue.metrics import catalogue

    metric = catalogue().metric("rereferrals_12m")
    # Table C1, England: 21.5% in the year to March 2022, 22.4% to March 2023 and 2024.
    line = pages["kpi"].england_line(metric, ["2022-03", "2022-04", "2023-07"])
    assert line == {"England (published, each year)": [21.5, 22.4, 22.4]}
    assert pages["kpi"].england_line(catalogue().metric("assessments_45wd"), ["2023-07"]) == {}
    series = pd.DataFrame({"period": ["2022-03", "2022-04", "2023-07"], "value": [20.0, 21.0, 22.0]})
    figure = trend_figure(series, metric, references=line)
    england = next(t for t in figure.data if t.name == "England (published, each year)")
    assert list(england.y) == [21.5, 22.4, 22.4]


# ---------------------------------------------------------------- audits


def test_audits_table_in_the_reports_form(pages):
    content = pages["audits"].build(None, None, None)
    months = text_of(by_id(content, "au-table-month").children[2])
    assert months == "Apr 2023 5 4 25% 25% 50% 0% May 2023 1 1 0% 0% 0% 100%"
    quarters = text_of(by_id(content, "au-table-quarter").children[2])
    # Q1 2023/24 pools April and May: 6 audits, 5 moderated: 1, 1, 2, 1 -> 20%, 20%, 40%, 20%
    assert quarters == "2023/24 Q1 6 5 20% 20% 40% 20%"
    bars = by_id(content, "au-quarter-graph").figure
    assert [t.name for t in bars.data] == ["Outstanding", "Good", "Requires Improvement", "Inadequate"]


def test_audits_filters(pages):
    service = text_of(by_id(pages["audits"].build("Assessment and Intervention", None, None), "au-table-month"))
    assert "May 2023 1 1 0% 0% 0% 100%" in service and "Apr 2023" not in service
    by_type = text_of(by_id(pages["audits"].build(None, "Coastal FS 1", "management_oversight"), "au-table-month"))
    assert "Apr 2023 2 2 0% 0% 100% 0%" in by_type
    chosen, notes, _options = pages["audits"].filters("Assessment and Intervention", "Coastal FS 1", "gossip")
    assert chosen == {"service": "Assessment and Intervention", "team": None, "audit_type": None}
    assert notes == [
        "Coastal FS 1 is not a team of Assessment and Intervention; showing every team.",
        "gossip is not an audit type; showing every type (management_oversight, assessment, leaving_care_planning).",
    ]
    # Names match as the loader matches them: case, spaces, underscores.
    chosen, notes, _options = pages["audits"].filters("assessment  and intervention", None, "Management Oversight")
    assert chosen == {"service": "Assessment and Intervention", "team": None, "audit_type": "management_oversight"}
    assert notes == []


# ---------------------------------------------------------------- shell


def test_navigation_lists_the_pages_in_order(pages):
    from dashboard.shell import nav_items

    items = nav_items()
    assert items[:3] == [("Scorecard", "/"), ("Teams", "/teams"), ("Audits", "/audits")]
    assert "/kpi/<metric_id>" not in [path for _, path in items]


def test_the_menu_offers_only_what_the_role_may_open(pages):
    from dashboard.shell import nav_items
    from etl.privacy.access import Role, Viewer, viewing

    def menu(viewer):
        with viewing(viewer):
            return [label for label, _ in nav_items()]

    # A viewer sees figures only; a team manager also what falls due; only the analyst the data page.
    assert menu(Viewer("v", Role.VIEWER)) == ["Scorecard", "Teams", "Audits", "Action plans"]
    assert menu(Viewer("j", Role.TEAM_MANAGER, teams=("Team A",))) == [
        "Scorecard",
        "Teams",
        "Audits",
        "Action plans",
        "What falls due",
    ]
    assert menu(Viewer("b", Role.BOARD)) == ["Scorecard", "Teams", "Audits", "Action plans", "What falls due"]
    assert menu(Viewer("p", Role.ANALYST)) == ["Scorecard", "Teams", "Audits", "Action plans", "What falls due", "Data"]
