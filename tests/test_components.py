"""The dashboard's pure builders: formatting, theme, badges, sparkline, figures,
tables, notices and the URL helpers. No warehouse, no browser; every expected
value here is worked out by hand from the inputs."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dash import html
from dash_tree import find_all, text_of

from dashboard import theme
from dashboard.components.badges import direction_badge, rag_chip, rag_counts, rag_summary
from dashboard.components.banners import freshness_notes
from dashboard.components.controls import query_string, resolve_selection, view_href
from dashboard.components.figures import audit_bars_figure, breakdown_figure, heatmap_figure, trend_figure
from dashboard.components.format import format_fraction, format_value, long_month_label, month_label
from dashboard.components.sparkline import sparkline_svg
from dashboard.components.tables import audit_table, scorecard_table, team_grid_table
from etl.catalogue.metrics import catalogue

ASSETS = Path(__file__).resolve().parent.parent / "dashboard" / "assets"


# ---------------------------------------------------------------- format


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (88.2, "percent", "88.2%"),
        (88.24, "percent", "88.2%"),
        (64.2857, "percent", "64.3%"),
        (100, "percent", "100.0%"),
        (283, "count", "283"),
        (283.0, "count", "283"),
        (1234, "count", "1,234"),
        (None, "percent", "No data"),
        (float("nan"), "count", "No data"),
    ],
)
def test_format_value(value, unit, expected):
    assert format_value(value, unit) == expected


def test_format_fraction():
    assert format_fraction(375, 425, "percent") == "375 / 425"
    assert format_fraction(375.0, 425.0, "percent") == "375 / 425"
    assert format_fraction(283, None, "count") == "283"
    assert format_fraction(0, 0, "percent") == ""  # no denominator: nothing to show
    assert format_fraction(None, None, "count") == ""


def test_month_labels():
    assert month_label("2023-07") == "Jul 2023"
    assert long_month_label("2024-03") == "March 2024"


# ---------------------------------------------------------------- theme


def test_rag_chip_text_meets_wcag_aa_contrast():
    for word, style in theme.RAG.items():
        assert theme.contrast(style.text, style.background) >= 4.5, word


def test_contrast_of_black_on_white_is_21():
    assert theme.contrast("#000000", "#ffffff") == pytest.approx(21.0)


def test_direction_and_muted_text_contrast_on_white():
    for word, colour in theme.DIRECTION.values():
        assert theme.contrast(colour, theme.SURFACE) >= 4.5, word


def test_stylesheet_defines_no_colours_and_uses_only_theme_variables():
    css = (ASSETS / "cpip.css").read_text(encoding="utf-8")
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b", css), "colours belong in dashboard/theme.py"
    defined = set(theme.css_variables()) | {"--cpip-font"}
    used = set(re.findall(r"var\((--cpip-[a-z0-9-]+)\)", css))
    assert used <= defined, used - defined


def test_each_rag_has_a_shape_as_well_as_a_colour():
    css = theme.rag_symbol_css()
    for word, style in theme.RAG.items():
        assert f'.cpip-rag-{word.lower().replace(" ", "-")}::before{{content:"{style.symbol}" / ""' in css
    assert len({style.symbol for style in theme.RAG.values()}) == len(theme.RAG)


def test_assets_hold_bootstrap_so_no_cdn_is_needed():
    head = (ASSETS / "bootstrap.min.css").read_text(encoding="utf-8")[:200]
    assert "Bootstrap" in head and "v5.3.8" in head


# ---------------------------------------------------------------- badges


def test_rag_chip_carries_its_word_and_class():
    chip = rag_chip("Red")
    assert "Red" in text_of(chip)
    assert "cpip-rag-red" in chip.className
    assert "No data" in text_of(rag_chip("No data"))
    assert "cpip-rag-no-data" in rag_chip("No data").className
    # a monitored metric is rated "" by etl.serve.queries
    assert "Not rated" in text_of(rag_chip(""))


def test_direction_arrow_follows_the_number_and_the_word_follows_polarity():
    up_good = direction_badge("improving", 80.0, 70.0)
    assert text_of(up_good) == "↑ Improving"
    assert "cpip-dir-improving" in up_good.className
    # lower is better: the number went down, which is an improvement
    assert text_of(direction_badge("improving", 20.0, 22.0)) == "↓ Improving"
    assert text_of(direction_badge("worsening", 70.0, 80.0)) == "↓ Worsening"
    assert text_of(direction_badge("no change", 50.0, 50.0)) == "→ No change"
    assert text_of(direction_badge("", None, 50.0)) == "– No comparison"
    assert text_of(direction_badge("up", 19.0, 12.0)) == "↑ Up"


def test_rag_counts_and_summary():
    counts = rag_counts(["Red", "Red", "Green", "No data", "", "Amber", "Red"])
    assert counts == {"Red": 3, "Amber": 1, "Green": 1, "No data": 1}
    strip = rag_summary(["Red", "Green", "Green"], id_prefix="x")
    assert text_of(strip).split() == ["1", "Red", "0", "Amber", "2", "Green", "0", "No", "data"]


# ---------------------------------------------------------------- sparkline


def test_sparkline_breaks_at_gaps_and_marks_the_last_value():
    svg = sparkline_svg([1, 2, None, 4])
    # one line for the run 1, 2; the lone 4 is a dot, not a line
    assert svg.count("<polyline") == 1
    # x step = (120 - 2*3) / 3 = 38, so the last point sits at x = 3 + 3*38 = 117;
    # 4 is the maximum, so y = the top padding, 3.
    assert '<circle cx="117.0" cy="3.0"' in svg


def test_sparkline_of_no_data_is_empty():
    svg = sparkline_svg([None, None])
    assert "<polyline" not in svg and "<circle" not in svg


# ---------------------------------------------------------------- figures


def test_trend_figure_targets_bands_boundaries_and_hover():
    metric = catalogue().metric("iha_20wd")  # target 70 to 2022/23, 75 from 2023/24
    series = pd.DataFrame(
        {
            "period": ["2023-02", "2023-03", "2023-04", "2023-05"],
            "numerator": [9.0, 7.0, 15.0, 3.0],
            "denominator": [14.0, 10.0, 20.0, 4.0],
            "value": [100 * 9 / 14, 70.0, 75.0, 75.0],
            "rag": ["Amber", "Green", "Green", "Green"],
        }
    )
    fig = trend_figure(series, metric, benchmarks={"England": 60.0, "Statistical neighbours": None})
    names = [t.name for t in fig.data]
    assert names[0] == metric.label
    assert "Target" in names
    assert "England 60.0%" in names
    assert not any(n.startswith("Statistical") for n in names)  # no figure, no line
    target = next(t for t in fig.data if t.name == "Target")
    assert list(target.y) == [70, 70, 75, 75]
    assert fig.data[0].customdata[0] == "64.3% (9 / 14)<br>RAG: Amber"
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(rects) == 6  # Green, Amber, Red bands in each of two financial years
    assert len(lines) == 1  # one financial-year boundary, before April 2023
    assert [a.text for a in fig.layout.annotations] == ["2023/24"]


def test_trend_figure_without_data_says_so():
    metric = catalogue().metric("iha_20wd")
    fig = trend_figure(pd.DataFrame(columns=["period", "value"]), metric)
    assert "No data" in fig.layout.annotations[0].text


def test_breakdown_is_sorted_best_first_and_labels_each_bar():
    metric = catalogue().metric("iha_20wd")
    frame = pd.DataFrame(
        {
            "org_unit": ["A", "B", "C"],
            "numerator": [5.0, 9.0, None],
            "denominator": [10.0, 10.0, None],
            "value": [50.0, 90.0, None],
            "rag": ["Red", "Green", "No data"],
        }
    )
    fig = breakdown_figure(frame, metric, period="2023-07")
    bar = fig.data[0]
    # plotly draws the first category at the bottom: best (B) ends up on top
    assert list(bar.y) == ["C", "A", "B"]
    assert bar.text[2] == "90.0% (9 / 10) · Green"
    assert bar.text[1] == "50.0% (5 / 10) · Red"
    assert bar.text[0] == "No data"


def test_breakdown_lower_is_better_puts_the_lowest_on_top():
    metric = catalogue().metric("rereferrals_12m")
    frame = pd.DataFrame(
        {
            "org_unit": ["A", "B"],
            "numerator": [1.0, 3.0],
            "denominator": [10.0, 10.0],
            "value": [10.0, 30.0],
            "rag": ["Green", "Red"],
        }
    )
    assert list(breakdown_figure(frame, metric).data[0].y) == ["B", "A"]


def test_heatmap_cells_carry_value_and_rag_word():
    metric = catalogue().metric("iha_20wd")
    matrix = pd.DataFrame(
        {
            "team": ["T1", "T1", "T2", "T2"],
            "period": ["2023-06", "2023-07", "2023-06", "2023-07"],
            "numerator": [15.0, 3.0, None, 1.0],
            "denominator": [17.0, 4.0, None, 2.0],
            "value": [100 * 15 / 17, 75.0, None, 50.0],
            "rag": ["Green", "Green", "No data", "Red"],
        }
    )
    fig = heatmap_figure(matrix, metric)
    heat = fig.data[0]
    assert list(heat.y) == ["T2", "T1"]  # first team on top
    assert list(heat.x) == ["Jun 2023", "Jul 2023"]

    def cell(prop: str, i: int, j: int) -> str:
        # the cells are split over two traces by text colour; each cell is in one of them
        return "".join(getattr(trace, prop)[i][j] for trace in fig.data)

    assert cell("text", 1, 0) == "88.2%<br>Green"
    assert cell("text", 0, 0) == ""  # no data: no cell drawn
    assert cell("text", 0, 1) == "50.0%<br>Red"
    assert all("(1 / 2)" in trace.customdata[0][1] for trace in fig.data)
    for trace in fig.data:
        assert trace.colorscale is not None and trace.zmin == 0 and trace.zmax == 100
    assert [trace.showscale for trace in fig.data] == [True, False]  # one colour bar


@pytest.mark.parametrize("unit_metric", ["iha_20wd", "missing_episodes"])
def test_heatmap_text_meets_contrast_on_every_cell(unit_metric):
    """Each cell's text is black or white, whichever reaches 4.5:1 on that
    cell's colour (plotly's own #444 gave 3.5:1 on the olive middle)."""
    from dashboard.components.figures import heatmap_cell_colour

    metric = catalogue().metric(unit_metric)
    values = [float(v) for v in range(0, 101)]
    matrix = pd.DataFrame(
        {
            "team": ["T"] * len(values),
            "period": [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(len(values))],
            "numerator": values,
            "denominator": [100.0] * len(values),
            "value": values,
            "rag": ["Green"] * len(values),
        }
    )
    fig = heatmap_figure(matrix, metric)
    checked = 0
    for trace in fig.data:
        colour = trace.textfont.color
        for value in trace.z[0]:
            if value is None:
                continue
            background = heatmap_cell_colour(value, trace.zmin, trace.zmax, reverse=bool(trace.reversescale))
            assert theme.contrast(colour, background) >= 4.5, (value, colour, background)
            checked += 1
    assert checked == len(values)


def test_audit_bars_are_in_grade_order_and_stack_to_100():
    frame = pd.DataFrame(
        {
            "period": ["2023/24 Q1"],
            "audits": [78],
            "moderated": [71],
            "outstanding_pct": [100 / 71],
            "good_pct": [2400 / 71],
            "requires_improvement_pct": [4300 / 71],
            "inadequate_pct": [300 / 71],
        }
    )
    fig = audit_bars_figure(frame)
    assert [t.name for t in fig.data] == ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
    assert sum(t.y[0] for t in fig.data) == pytest.approx(100.0)
    assert list(fig.data[1].x) == ["2023/24 Q1"]
    assert fig.layout.barmode == "stack"


# ---------------------------------------------------------------- tables


def _scorecard_frame() -> pd.DataFrame:
    base = {
        "period": "2023-07", "level": "la", "org_unit": "Demo County Council", "green": None, "amber": None,
        "benchmark_kpi": None, "south_east": None, "variation": "", "assurance": "",
    }  # fmt: skip
    rows = [
        dict(base, metric_id="assessments_45wd", metric_name="% assessments completed within 45 working days",
             short_name="Assessments within 45 working days",
             area="Assessments and plans for children in need and in need of protection", unit="percent",
             polarity="higher_is_better", numerator=375.0, denominator=425.0, value=100 * 375 / 425, target=90.0,
             rag="Amber", previous_value=85.0, direction="improving", sparkline=[80.0, None, 88.2],
             benchmark_year=2025, england=82.0, sn_median=None),
        dict(base, metric_id="missing_episodes", metric_name="Missing episodes", short_name="Missing episodes",
             area="Return home interviews for children who go missing", unit="count", polarity="lower_is_better",
             numerator=283.0, denominator=None, value=283.0, target=250.0, rag="Red", previous_value=270.0,
             direction="worsening", sparkline=[270.0, 283.0], benchmark_year=None, england=None, sn_median=None),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_scorecard_table_groups_by_area_in_catalogue_order_and_links_each_kpi():
    table = scorecard_table(_scorecard_frame(), catalogue(), period="2023-07", level="team", unit="Coastal FS 1")
    areas = [text_of(th) for th in find_all(table, lambda c: getattr(c, "className", "") == "cpip-area")]
    assert areas == [
        "2. Assessments and plans for children in need and in need of protection",
        "4. Return home interviews for children who go missing",
    ]
    row = find_all(table, lambda c: getattr(c, "id", None) == "sc-row-assessments_45wd")[0]
    words = text_of(row)
    assert "88.2%" in words and "375 / 425" in words and "90.0%" in words
    assert "Amber" in words and "Improving" in words and "82.0%" in words and "2024/25" in words
    link = find_all(row, lambda c: getattr(c, "id", None) == "sc-link-assessments_45wd")[0]
    assert link.href == "/kpi/assessments_45wd?period=2023-07&level=team&unit=Coastal%20FS%201"
    count_row = text_of(find_all(table, lambda c: getattr(c, "id", None) == "sc-row-missing_episodes")[0])
    assert "283" in count_row and "250" in count_row and "Worsening" in count_row
    spc = find_all(row, lambda c: getattr(c, "className", "") == "cpip-spc")
    assert len(spc) == 1  # the marked place for the SPC icons


def test_team_grid_links_each_team_to_its_scorecard():
    grid = pd.DataFrame(
        {
            "team": ["Coastal FS 1", "Coastal FS 2"],
            "metric_id": ["iha_20wd", "iha_20wd"],
            "short_name": ["IHA", "IHA"],
            "numerator": [3.0, 1.0],
            "denominator": [4.0, 2.0],
            "value": [75.0, 50.0],
            "rag": ["Green", "Red"],
        }
    )
    table = team_grid_table(grid, catalogue(), period="2023-07", metric_ids=["iha_20wd"])
    links = find_all(table, lambda c: getattr(c, "className", "") == "cpip-team-link")
    assert [link.href for link in links] == [
        "/?period=2023-07&level=team&unit=Coastal%20FS%201",
        "/?period=2023-07&level=team&unit=Coastal%20FS%202",
    ]
    assert text_of(table.children[2]).split()[-4:] == ["Green", "75.0%", "Red", "50.0%"]


def test_audit_table_in_the_published_form():
    frame = pd.DataFrame(
        {"period": ["2023-04"], "audits": [27], "moderated": [26], "outstanding_pct": [100 / 26],
         "good_pct": [600 / 26], "requires_improvement_pct": [1700 / 26], "inadequate_pct": [200 / 26]}
    )  # fmt: skip
    table = audit_table(frame, caption="By month", by="month")
    body = text_of(table.children[2])
    # 1/26 = 3.8% -> 4%, 6/26 = 23.1% -> 23%, 17/26 = 65.4% -> 65%, 2/26 = 7.7% -> 8%
    assert body.split() == ["Apr", "2023", "27", "26", "4%", "23%", "65%", "8%"]


# ---------------------------------------------------------------- notices and URLs


def test_freshness_notes_name_missing_sources_and_early_extracts():
    fresh = pd.DataFrame(
        [
            {"kind": "extract", "name": "referrals", "source": "referrals", "latest_period": "2023-06",
             "as_of": date(2023, 7, 3)},
            {"kind": "extract", "name": "assessments", "source": "assessments", "latest_period": "2023-07",
             "as_of": date(2023, 8, 2)},
            {"kind": "metric", "name": "rereferrals_12m", "source": "referrals", "latest_period": "2023-06",
             "as_of": date(2023, 7, 3)},
            {"kind": "metric", "name": "assessments_45wd", "source": "assessments", "latest_period": "2023-07",
             "as_of": date(2023, 8, 2)},
        ]
    )  # fmt: skip
    notes = freshness_notes(fresh, "2023-07")
    assert notes[0] == "No data yet for July 2023 from: referrals. 1 KPI shows No data for this month."
    assert "referrals (taken 3 July 2023)" in notes[1]
    assert "assessments" not in notes[1]
    assert freshness_notes(fresh, "2023-06") == []


def test_query_string_encodes_spaces_as_percent_20():
    assert query_string({"period": "2023-07", "level": "team", "unit": "Coastal FS 1"}) == (
        "?period=2023-07&level=team&unit=Coastal%20FS%201"
    )
    assert query_string({"period": None, "unit": ""}) == ""
    assert view_href("/kpi/iha_20wd", "2023-07", "service", "Children We Care For") == (
        "/kpi/iha_20wd?period=2023-07&level=service&unit=Children%20We%20Care%20For"
    )
    assert view_href("/", "2023-07", "team", "North A&I 1") == "/?period=2023-07&level=team&unit=North%20A%26I%201"


def test_resolve_selection_defaults_and_notes():
    units = {"la": ["Demo County Council"], "team": ["T1", "T2"], "service": ["S"], "area": ["A"]}
    ok = resolve_selection("2023-06", "team", "T2", periods=["2023-06", "2023-07"], units_at=units.__getitem__)
    assert (ok.period, ok.level, ok.unit, ok.notes) == ("2023-06", "team", "T2", [])
    fallback = resolve_selection("1999-01", "planet", "X", periods=["2023-06", "2023-07"], units_at=units.__getitem__)
    assert (fallback.period, fallback.level, fallback.unit) == ("2023-07", "la", "Demo County Council")
    assert len(fallback.notes) == 3
    empty = resolve_selection(None, None, None, periods=[], units_at=units.__getitem__)
    assert empty.period is None and empty.notes == []


def test_rag_summary_is_a_labelled_group():
    strip = rag_summary([], id_prefix="x")
    assert isinstance(strip, html.Div)
    assert strip.role == "group"


# ---------------------------------------------------------------- shell


def test_logo_comes_from_the_catalogue_or_the_plain_default():
    from dashboard.shell import logo_src

    def asset(name: str) -> str:
        return f"/assets/{name}"

    assert logo_src(asset, None) == "/assets/logo.svg"
    assert logo_src(asset, "crest.png") == "/assets/crest.png"
    assert logo_src(asset, "https://intranet.example/crest.svg") == "https://intranet.example/crest.svg"


def test_page_template_carries_the_theme_and_the_language():
    from dashboard.shell import index_string

    template = index_string()
    assert '<html lang="en-GB">' in template
    assert f"--cpip-rag-red-bg:{theme.RAG['Red'].background}" in template
    for placeholder in ("{%app_entry%}", "{%config%}", "{%scripts%}", "{%renderer%}", "{%css%}"):
        assert placeholder in template


def test_an_unknown_unit_is_named_with_the_right_article():
    """ "Nowhere is not a authority" was the note; a team keeps "a"."""
    sel = resolve_selection(
        "2023-07", "la", "Nowhere", periods=["2023-07"], units_at=lambda level: ["Demo County Council"]
    )
    assert sel.notes[0].startswith("Nowhere is not an authority; showing Demo County Council")
    sel = resolve_selection("2023-07", "team", "Nowhere", periods=["2023-07"], units_at=lambda level: ["Team A"])
    assert sel.notes[0].startswith("Nowhere is not a team; showing Team A")


def test_abbreviations_are_expanded_and_every_page_links_to_the_glossary():
    from dashboard.components.glossary import ABBREVIATIONS, TERMS, with_abbreviations
    from dashboard.shell import build_shell

    parts = with_abbreviations("ICPCs within 15 working days (A&I, FS)")
    abbrs = [p for p in parts if isinstance(p, html.Abbr)]
    assert [(a.children, a.title) for a in abbrs] == [
        ("ICPCs", "initial child protection conferences"),
        ("A&I", "Assessment and Intervention (a service)"),
        ("FS", "Family Safeguarding (a service)"),
    ]
    assert "".join(p if isinstance(p, str) else p.children for p in parts) == "ICPCs within 15 working days (A&I, FS)"
    assert with_abbreviations("FSW and SPCs") == ["FSW and SPCs"]  # whole words only
    # every abbreviation the catalogue's names and areas use is defined
    used = " ".join([m.label for m in catalogue().metrics] + list(catalogue().areas))
    for word in set(re.findall(r"\b[A-Z][A-Z&]{1,}s?\b", used)):
        assert word in ABBREVIATIONS, word
    assert {"Special cause variation", "Assurance", "Hit and miss", "p-chart", "Polarity"} <= {t for t, _ in TERMS}
    links = find_all(build_shell(lambda name: f"/assets/{name}"), lambda c: getattr(c, "href", None) == "/glossary")
    assert links, "the footer links to the glossary"
