"""The board pack (issue 5), built from a small hand-made warehouse with known answers.

The warehouse is written straight through etl.store.warehouse.writer: three teams
(one named `=HYPERLINK("x")`), kpi_monthly rows for May-July 2023 and a few
case audits. Expected figures, worked out by hand from metrics.yml's 2023/24
thresholds:

- assessments_45wd (higher is better, green 90, amber 85): July 70/100 = 70.0%
  -> Red; June 80/100 = 80.0%, so worsening. Services: Assessment and
  Intervention 70/100 = 70.0% (Red). Teams: North A&I 40/50 = 80.0%,
  South A&I 30/50 = 60.0%.
- seen_5wd (higher, green 80, amber 70): July 45/50 = 90.0% -> Green.
- rereferrals_12m (lower is better, green 20, amber 23): July 11/50 = 22.0% ->
  Amber; June 12/50 = 24.0%, so improving.
- homeless_16_17 (monitored count): 19, not rated; the `=HYPERLINK("x")` team 5.
- Every other rated KPI has no July data: "No data" (16 of them).
  Summary: 1 Red, 1 Amber, 1 Green, 16 No data, 2 monitored.
- Audits: April Good + RI (both moderated), May one unmoderated Good,
  July one moderated Inadequate. Q1 2023/24: 3 audits, 2 moderations,
  0% / 50% / 50% / 0%; July: 1, 1, 0% / 0% / 0% / 100%.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from dashboard.export.boardpack import BoardPackError, build_boardpack, check_request, collect
from dashboard.export.pdf import render_html
from dashboard.export.routes import boardpack_url, download_name, register
from etl.store.warehouse import writer

AUTHORITY = "Demo County Council"
EVIL = '=HYPERLINK("x")'
TEAMS = [
    ("North A&I", "Assessment and Intervention", "Northern"),
    ("South A&I", "Assessment and Intervention", "Southern"),
    (EVIL, "Children We Care For", "Northern"),
]
# metric_id, period, level, org_unit, numerator, denominator
KPI_ROWS = [
    ("assessments_45wd", "2023-06", "la", AUTHORITY, 80, 100),
    ("assessments_45wd", "2023-07", "la", AUTHORITY, 70, 100),
    ("assessments_45wd", "2023-07", "service", "Assessment and Intervention", 70, 100),
    ("assessments_45wd", "2023-07", "area", "Northern", 40, 50),
    ("assessments_45wd", "2023-07", "area", "Southern", 30, 50),
    ("assessments_45wd", "2023-07", "team", "North A&I", 40, 50),
    ("assessments_45wd", "2023-07", "team", "South A&I", 30, 50),
    ("assessments_45wd", "2023-05", "la", AUTHORITY, 88, 100),
    ("seen_5wd", "2023-07", "la", AUTHORITY, 45, 50),
    ("rereferrals_12m", "2023-06", "la", AUTHORITY, 12, 50),
    ("rereferrals_12m", "2023-07", "la", AUTHORITY, 11, 50),
    ("homeless_16_17", "2023-07", "la", AUTHORITY, 19, None),
    ("homeless_16_17", "2023-07", "team", EVIL, 5, None),
    ("homeless_16_17", "2023-07", "service", "Children We Care For", 5, None),
]
AUDITS = [
    ("A1", "2023-04-12", "Good", "Good"),
    ("A2", "2023-04-20", "Requires Improvement", "Requires Improvement"),
    ("A3", "2023-05-03", "Good", None),
    ("A4", "2023-07-10", "Inadequate", "Inadequate"),
]


def _month(period: str) -> date:
    return date(int(period[:4]), int(period[5:]), 1)


def make_warehouse(path: Path) -> Path:
    with writer(path) as con:
        con.execute(
            "INSERT INTO loads (load_id, loaded_at, loaded_by, file_name, content_hash, extract_type, as_of,"
            " rows_read, rows_added, rows_replaced, rows_unchanged, rows_rejected, warnings, outcome)"
            " VALUES (1, ?, 'test', 'case_audits.csv', 'x', 'case_audits', ?, 4, 4, 0, 0, 0, 0, 'loaded')",
            [datetime(2023, 9, 1, 9, 0), date(2023, 8, 31)],
        )
        con.executemany("INSERT INTO organisation (team, service, area, load_id) VALUES (?, ?, ?, 1)", TEAMS)
        con.executemany(
            "INSERT INTO kpi_monthly (metric_id, period, level, org_unit, numerator, denominator)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(m, _month(p), lv, u, n, d) for m, p, lv, u, n, d in KPI_ROWS],
        )
        con.executemany(
            "INSERT INTO case_audits (audit_id, child_id, team, audit_date, audit_type, grade, moderated_grade,"
            " load_id) VALUES (?, 'C1', 'North A&I', ?, 'collaborative', ?, ?, 1)",
            [(a, date.fromisoformat(d), g, m) for a, d, g, m in AUDITS],
        )
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, module_target) -> Path:
    """The board pack from either engine (conftest's `module_engine`): the same pages and sheets."""
    return make_warehouse(module_target(tmp_path_factory.mktemp("wh")))


@pytest.fixture(scope="module")
def pdf(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_boardpack("2023-07", level="la", out=tmp_path_factory.mktemp("pack") / "pack.pdf", db=db)


@pytest.fixture(scope="module")
def pdf_pages(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf).pages]


@pytest.fixture(scope="module")
def xlsx(db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_boardpack("2023-07", level="la", out=tmp_path_factory.mktemp("pack") / "pack.xlsx", db=db)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- PDF -----------------------------------------------------------------------


def test_cover_names_authority_month_and_as_of(pdf_pages: list[str]) -> None:
    cover = squash(pdf_pages[0])
    assert AUTHORITY in cover
    assert "July 2023" in cover
    assert "Data as of 31 August 2023" in cover
    assert "Whole authority" in cover


def test_summary_counts(pdf_pages: list[str]) -> None:
    summary = squash(pdf_pages[1])
    for n, word in ((1, "RED"), (1, "AMBER"), (1, "GREEN"), (20, "NO DATA"), (2, "MONITORED, NOT RATED")):
        assert re.search(rf"\b{n}\s*{word}\b", summary), (n, word, summary[:400])


def test_scorecard_rows_carry_value_fraction_target_rag_and_direction(pdf_pages: list[str]) -> None:
    text = squash(" ".join(pdf_pages[1:3]))
    assert "% assessments completed within 45 working days 70.0% 70 / 100 90.0% ● Red 80.0% ▼ worsening" in text
    assert "% children seen within 5 working days of assessment start 90.0% 45 / 50 80.0% ▲ Green" in text
    assert "% referrals that are re-referrals within 12 months 22.0% 11 / 50 20.0% ◆ Amber 24.0% ▼ improving" in text
    assert "16/17-year-olds presenting as homeless 19 19 – – Not rated" in text
    # grouped by improvement area, in the plan's order
    first, second = text.index("Strategy discussions and child protection"), text.index("Assessments and plans")
    assert first < second < text.index("% assessments completed within 45")


def test_the_scorecard_carries_the_published_comparators(pdf_pages: list[str]) -> None:
    text = squash(" ".join(pdf_pages[1:4]))
    assert "Ours (published) England Stat. neighbours Band" in text
    # Dental checks: no July figure here; West Sussex 76.0%, England 79.0%, neighbours 76.0%, band C (2023/24).
    assert "dental check up to date No data" in text and "76.0% 79.0% 76.0% C" in text
    assert "those of West Sussex (DfE code 938), not Demo County Council's own" in text


def test_the_authority_s_pack_has_the_icon_matrix_of_its_services(pdf_pages: list[str]) -> None:
    page = next(squash(p) for p in pdf_pages if "icons of each service" in p)
    assert "KPI Assessment and Intervention Children We Care For" in page
    assert "Too few points (1 of 12)" in page  # one month of the service's assessments: no icons yet, and why


def test_one_exception_page_for_the_red_kpi(pdf_pages: list[str]) -> None:
    exceptions = [squash(p) for p in pdf_pages if "Exception:" in p]
    assert len(exceptions) == 1
    page = exceptions[0]
    assert "Exception: % assessments completed within 45 working days" in page
    assert "Red" in page and "70.0%" in page and "70 / 100" in page
    # definition and owner from metrics.yml
    assert "met if completed within 45 working days of the assessment start" in page
    assert "Owner: Head of Service, Assessment and Intervention" in page


def test_audit_table_in_the_seed_form(pdf_pages: list[str]) -> None:
    page = squash(pdf_pages[-1])
    assert "Total Audits Total Moderations Outstanding Good Requires Improvement Inadequate" in page
    assert "July 23 1 1 0% 0% 0% 100%" in page
    assert "Q1 2023/24 total 3 2 0% 50% 50% 0%" in page


def test_pages_are_a4_landscape_numbered_with_fonts_embedded(pdf: Path, pdf_pages: list[str]) -> None:
    reader = PdfReader(pdf)
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 841.89) < 1 and abs(height - 595.28) < 1  # A4 landscape in points
    total = len(reader.pages)
    assert (
        total == 6
    )  # cover, scorecard (25 KPIs with comparators: two pages), the services' matrix, one exception, audits
    assert f"Page 2 of {total}" in pdf_pages[1]
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            fonts.append(
                (descriptor["/FontName"], any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
            )
    assert fonts and all(embedded for _, embedded in fonts), fonts
    assert any("Liberation" in str(name) for name, _ in fonts)


def test_exception_page_has_the_charts(pdf_pages: list[str]) -> None:
    # The charts are vector (SVG), so their words are in the page's text.
    page = squash(next(p for p in pdf_pages if "Exception:" in p))
    # trend: months on the axis, the target in the legend, the bands named for black-and-white print
    assert "May 2023" in page and "Jul 2023" in page and "Target" in page
    assert "Green ≥ 90.0%" in page and "Amber ≥ 85.0%" in page and "Red below 85.0%" in page
    # breakdown by service: the bar's label, and the target line
    assert "70.0% (70 / 100) · Red" in page
    assert "Target 90.0%" in page


def test_pages_render_to_png(pdf: Path, tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == 6


def test_spc_column_says_why_there_is_no_icon(pdf_pages: list[str]) -> None:
    # assessments_45wd has May, June and July 2023: three points (its April 2023 rebase comes before them all).
    text = squash(" ".join(pdf_pages))
    assert "Too few points (3 of 12)" in text
    # rereferrals_12m (no rebase) has June and July.
    assert "Too few points (2 of 12)" in text


def test_spc_columns_show_icons_and_words(db: Path) -> None:
    pack = collect("2023-07", db=db, kind="html")
    assert pack.show_spc  # every row says why it has no icon yet
    pack.rows = [
        replace(r, variation="special cause concerning", variation_icon="concern_low", assurance="consistently failing")
        if r.metric_id == "assessments_45wd"
        else r
        for r in pack.rows
    ]
    pack.show_spc = True
    html = render_html(pack)
    assert "Variation<br>(SPC)" in html
    # each with its icon (alt text in words) and the short word beside it, for black-and-white print
    assert '<span class="spc-word">Concerning ↓</span>' in html
    assert 'alt="Special cause variation – concerning: lower values"' in html
    assert '<span class="spc-word">Failing</span>' in html
    assert 'alt="Assurance: the process will consistently fail the target"' in html


# --- Excel ---------------------------------------------------------------------


def test_scorecard_sheet(xlsx: Path) -> None:
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Scorecard", "Data", "Definitions"]
    ws = wb["Scorecard"]
    header = [c.value for c in ws[4]]
    assert header[:8] == ["Improvement area", "KPI", "Metric ID", "Value", "Numerator", "Denominator", "Target", "RAG"]
    assert ws.freeze_panes == "A5"
    assert ws.auto_filter.ref == "A4:T29"  # header + 25 KPIs
    assert [c.value for c in ws[4]][13:] == [
        "Published year (to 31 March)", "Published (ours)", "England", "Region", "Statistical neighbours (median)",
        "Quartile band", "Note for the Board",
    ]  # fmt: skip
    dental = next(r for r in range(5, 30) if ws.cell(r, 3).value == "dental_up_to_date")
    # West Sussex's published figures, year to March 2024 (tests/test_comparators.py works them by hand).
    assert [ws.cell(dental, c).value for c in range(14, 20)] == [2024, 76.0, 79.0, 77.0, 76.0, "C"]
    rows = {ws.cell(r, 3).value: r for r in range(5, 23)}
    red = rows["assessments_45wd"]
    assert [ws.cell(red, c).value for c in (4, 5, 6, 7, 8, 9, 10)] == [70.0, 70, 100, 90, "Red", 80.0, "worsening"]
    assert ws.cell(red, 8).fill.fgColor.rgb.endswith("B3261E")
    green = rows["seen_5wd"]
    assert ws.cell(green, 8).value == "Green" and ws.cell(green, 8).fill.fgColor.rgb.endswith("1E7B34")
    assert ws.cell(rows["rereferrals_12m"], 8).value == "Amber"
    assert ws.cell(rows["homeless_16_17"], 8).value == "Not rated"
    assert ws.cell(rows["pathway_plans"], 4).value == "No data"
    assert ws.cell(rows["pathway_plans"], 8).value == "No data"


def test_data_sheet_every_kpi_by_unit_and_month(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Data"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:I")
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert len(rows) == len(KPI_ROWS)  # one row per unit per month with data
    found = {(r[1], r[2], r[3], r[4]): (r[5], r[6], r[7], r[8]) for r in rows}
    assert found[("assessments_45wd", "2023-07", "team", "South A&I")] == (30, 50, 60.0, "Red")
    assert found[("assessments_45wd", "2023-05", "la", AUTHORITY)] == (88, 100, 88.0, "Amber")


def test_definitions_sheet(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Definitions"]
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows(min_row=2)}
    assert len(rows) == 25
    assert rows["assessments_45wd"][6] == "Head of Service, Assessment and Intervention"
    assert rows["assessments_45wd"][8:11] == [90, 90, 85]


def test_formula_like_team_is_text_not_formula(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Data"]
    cells = [r[4] for r in ws.iter_rows(min_row=2) if "HYPERLINK" in str(r[4].value)]
    assert cells, "the team should be on the Data sheet"
    for cell in cells:
        assert cell.data_type == "s"
        assert cell.value == "'" + EVIL
    with zipfile.ZipFile(xlsx) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in archive.read(name).decode("utf-8"), name


# --- requests and routes ----------------------------------------------------------


def test_check_request(db: Path) -> None:
    assert check_request(None, None, None, db=db) == ("2023-07", "la", None)
    assert check_request("2023-06", "team", EVIL, db=db) == ("2023-06", "team", EVIL)
    for args, message in [
        (("2023-13", "la", None), "not a month like 2023-07"),
        (("July", "la", None), "not a month like 2023-07"),
        (("2021-01", "la", None), "no KPI data for 2021-01: the warehouse holds 2023-05 to 2023-07"),
        (("2023-07", "region", None), "is not one of la, area, service, team"),
        (("2023-07", "team", None), "Name the team"),
        (("2023-07", "team", "Nowhere"), "'Nowhere' is not a team"),
    ]:
        with pytest.raises(BoardPackError, match=re.escape(message)):
            check_request(*args, db=db)


def test_wrong_suffix(db: Path, tmp_path: Path) -> None:
    with pytest.raises(BoardPackError, match=re.escape("written as .pdf or .xlsx")):
        build_boardpack("2023-07", out=tmp_path / "pack.docx", db=db)


def test_cli_writes_the_pack_and_refuses_a_bad_unit_in_one_line(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cpip.cli import main

    monkeypatch.setenv("CPIP_DB", str(db))
    out = tmp_path / "team.xlsx"
    assert main(["boardpack", "--period", "2023-07", "--level", "team", "--unit", "South A&I", "--out", str(out)]) == 0
    assert f"Board pack written to {out}" in capsys.readouterr().out
    ws = load_workbook(out)["Data"]
    # a team's pack holds that team's rows only
    assert {r[4].value for r in ws.iter_rows(min_row=2)} == {"South A&I"}
    assert main(["boardpack", "--period", "2023-07", "--level", "team", "--unit", "Nowhere", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == "cpip boardpack: 'Nowhere' is not a team in the organisation reference.\n"


def test_boardpack_url() -> None:
    assert boardpack_url("pdf", "2023-07") == "/boardpack.pdf?period=2023-07&level=la"
    assert boardpack_url("xlsx", "2023-07", "team", EVIL) == (
        "/boardpack.xlsx?period=2023-07&level=team&unit=%3DHYPERLINK%28%22x%22%29"
    )


def test_download_name_is_safe() -> None:
    assert download_name("2023-07", "la", None, "pdf") == "cpip-boardpack-2023-07-la.pdf"
    assert download_name("2023-07", "team", EVIL, "xlsx") == "cpip-boardpack-2023-07-team-HYPERLINK-x.xlsx"


@pytest.fixture(scope="module")
def client(db: Path):
    from flask import Flask

    app = Flask(__name__)
    app.config["CPIP_DB"] = str(db)
    register(app)
    return app.test_client()


def test_route_sends_the_excel_pack(client) -> None:
    response = client.get("/boardpack.xlsx?period=2023-07&level=team&unit=" + "North%20A%26I")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "cpip-boardpack-2023-07-team-North-A-I.xlsx" in response.headers["Content-Disposition"]
    assert response.data[:2] == b"PK"


def test_route_sends_the_pdf_pack(client, pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The PDF itself is tested above: here the route hands over its parameters and sends
    # the file (reusing the module's pack keeps the tests fast).
    calls = []

    def build(period: str, *, level: str, unit: str | None, out: Path, db: str) -> Path:
        calls.append((period, level, unit))
        out.write_bytes(pdf.read_bytes())
        return out

    monkeypatch.setattr("dashboard.export.routes.build_boardpack", build)
    response = client.get("/boardpack.pdf?period=2023-07&level=service&unit=Assessment+and+Intervention")
    assert response.status_code == 200
    assert calls == [("2023-07", "service", "Assessment and Intervention")]
    assert response.mimetype == "application/pdf"
    assert "cpip-boardpack-2023-07-service-Assessment-and-Intervention.pdf" in response.headers["Content-Disposition"]
    assert response.data == pdf.read_bytes()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=2023-99", "period '2023-99' is not a month like 2023-07."),
        ("period=2023-07&level=nation", "level 'nation' is not one of la, area, service, team."),
        ("period=2023-07&level=team&unit=Nowhere", "'Nowhere' is not a team in the organisation reference."),
        ("period=2023-07&level=team", "Name the team with unit=..."),
    ],
)
def test_route_refuses_bad_parameters_with_a_clear_400(client, query: str, message: str) -> None:
    response = client.get("/boardpack.pdf?" + query)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert message in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_route_hides_an_unexpected_failure(client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("dashboard.export.routes.build_boardpack", broken)
    response = client.get("/boardpack.xlsx?period=2023-07")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "could not be built" in text and "disk on fire" not in text


def test_the_pack_needs_no_browser_for_its_charts(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pdf: Path
) -> None:
    # The charts are drawn as SVG directly (dashboard/export/svg.py): with no Chromium to be
    # found, the pack still has every chart, and no "chart not drawn" note.
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    out = build_boardpack("2023-07", out=tmp_path / "pack.pdf", db=db)
    text = squash(" ".join(page.extract_text() for page in PdfReader(out).pages))
    assert "not drawn" not in text
    assert "Exception: % assessments completed within 45 working days" in text
    assert "70.0% (70 / 100) · Red" in text and "Green ≥ 90.0%" in text


# --- a tagged PDF (issue 24): board papers are published, so the pack must be accessible ---------------


def _structure(pdf: Path) -> list[tuple[str, object]]:
    """Every element of the PDF's structure tree in reading order: (tag, its /Alt)."""
    root = PdfReader(pdf).trailer["/Root"]
    found: list[tuple[str, object]] = []

    def walk(node) -> None:
        kids = node.get("/K")
        kids = kids.get_object() if hasattr(kids, "get_object") else kids
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if hasattr(kid, "get") and kid.get("/S"):
                found.append((str(kid["/S"]), kid.get("/Alt")))
                walk(kid)

    walk(root["/StructTreeRoot"].get_object())
    return found


def test_the_pdf_is_tagged_with_title_language_headings_and_table_headers(pdf: Path) -> None:
    root = PdfReader(pdf).trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en-GB"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])  # the title, not the file name, is shown
    assert PdfReader(pdf).metadata.title == f"{AUTHORITY} – CPIP board pack – July 2023"
    tags = [tag for tag, _ in _structure(pdf)]
    # One H1 (the authority), then the pages' H2s in order; tables with header cells.
    assert tags.count("/H1") == 1 and tags.index("/H1") < tags.index("/H2")
    assert tags.count("/Table") >= 5 and tags.count("/TH") >= 40
    assert "/Lbl" in tags and "/LBody" in tags  # the contents list is a list


def test_every_chart_says_its_figures_trend_and_target(pdf: Path) -> None:
    """Worked by hand from the module's warehouse: assessments_45wd was 88.0% in May,
    80.0% in June, 70.0% in July (target 90.0%, higher is better), so the trend fell;
    its service Assessment and Intervention 70/100 (Red), Children We Care For none."""
    alts = [str(alt) for tag, alt in _structure(pdf) if tag == "/Figure"]
    assert all(alts), alts  # no figure without its words
    trend = next(a for a in alts if a.startswith("Line chart"))
    assert "it fell from 88.0% in May 2023 to 70.0% in Jul 2023 (worse)" in trend
    assert "Target 90.0%, higher is better" in trend
    assert "May 2023 88.0%; Jun 2023 80.0%; Jul 2023 70.0%" in trend
    bars = next(a for a in alts if a.startswith("Bar chart"))
    assert "Assessment and Intervention 70.0% (70 / 100), Red; Children We Care For no data. Target 90.0%." in bars
    audits = next(a for a in alts if a.startswith("Moderated audit grades"))
    # April: Good and RI moderated (50% each); May: one unmoderated audit; July: one Inadequate.
    assert "Apr 2023: Outstanding 0%, Good 50%, Requires Improvement 50%, Inadequate 0%" in audits
    assert "May 2023: none moderated" in audits and "Jul 2023: Outstanding 0%, Good 0%" in audits
    spark = next(a for a in alts if a.startswith("Last 12 months"))
    assert spark == "Last 12 months, oldest first: no data for 9 months, then 88.0%, 80.0%, 70.0%"


def test_a_figure_is_read_after_its_label(pdf: Path) -> None:
    """pdftotext (as a reader that ignores the tags would) reads each of the exception
    page's figures right after its label; it read the four labels, then the four values."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    page = squash(next(p for p in text.split("\f") if "Exception:" in p))
    assert "July 2023 70.0% 70 / 100 Target 90.0% Previous month 80.0% Direction of travel ▼ worsening" in page
