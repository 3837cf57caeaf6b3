"""The public CIN census samples (../shared/reference/samples/returns/, see samples.md there) through `cpip
load`: each loads or is refused with a clear line naming why; none gives a traceback. And the layouts of other
years. The samples are other projects' files, read where the workplace keeps them, never copied into this
repository (its tests write their own fixtures); without them, only the tests that need them are skipped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cin_census_files import Episode, census_xml
from kpi_helpers import AUTHORITY, mart, new_warehouse

from cpip.cli import main

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "samples" / "returns"
if not SAMPLES.is_dir():  # a worktree beside the shared folder, or the main checkout inside /work
    SAMPLES = Path("/work/shared/reference/samples/returns")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared public samples are not at hand")

# file -> (exit code, words the output must hold)
EXPECTED = {
    "csc-validator-be-cin/CIN_Census_2021_no_assessment_factors.xml": (0, "cp_plans: loaded"),
    # DfE's sample child has dates in 1970 (before the calendar's years) or impossible ones on purpose.
    "csc-validator-be-cin/CIN_Census_2021.xml": (1, "a date outside the years this dashboard counts"),
    "csc-validator-be-cin/CIN_la_issues_2887Q.xml": (1, "a date outside the years this dashboard counts"),
    "csc-validator-be-cin/CIN_Census_2024.xml": (1, "CIN rule 8608"),
    "csc-validator-be-cin/CIN_Census_2026.xml": (1, "CIN rule 8600"),
    "csc-validator-be-cin/CIN2rows.xml": (1, "duplicate record key (child_id + cpp_start_date)"),
    "csc-validator-be-cin/CIN_header_issues_100.xml": (1, "CIN rule 100: the reference date (2023-03-28)"),
    "csc-validator-be-cin/fake_CIN_data.xml": (1, "CIN rule 100: the reference date (2022-07-21)"),
    "liia-tools-pipeline/BAR_cin_2022.xml": (1, "a census for 2021/22: the layouts read are 2022/23"),
    "csdatatools/cin-2022.xml": (1, "(value '1070-10-06')"),
}


@needs_samples
def test_every_sample_is_expected():
    found = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.xml") if "cin" in p.name.lower()}
    assert sorted(found) == sorted(EXPECTED)


@needs_samples
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_public_sample_loads_or_is_refused_in_words(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CPIP_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path / "state"))
    code, words = EXPECTED[name]
    assert main(["load", "--as-of", "2024-04-30", str(SAMPLES / name)]) == code
    out = capsys.readouterr()
    printed = out.out + out.err
    assert words in printed, printed
    assert "Traceback" not in printed and "unexpected error" not in printed


def test_the_2026_27_layout_loads_and_what_it_adds_is_not_read(tmp_path):
    # 2026/27: Sex in place of GenderCurrent and the new PreProceedingsandFGDM module, which no KPI reads.
    db = new_warehouse(tmp_path)
    text = census_xml(date(2027, 3, 31), {"N1": [Episode(date(2026, 5, 4), plans=[(date(2026, 5, 6), None, 1)])]})
    text = text.replace(
        "<ReferralNFA>false</ReferralNFA>",
        "<ReferralNFA>false</ReferralNFA>\n        <PreProceedingsandFGDM><PPStartDate>2026-09-09</PPStartDate>"
        "<PPOutcome>A</PPOutcome></PreProceedingsandFGDM>",
    )
    path = tmp_path / "cin_2026-27.xml"
    path.write_text(text, encoding="utf-8")
    from etl.ingest.load import load_files

    reports = load_files([path], as_of=date(2027, 4, 30), who="test", db=db)
    assert all(r.ok for r in reports), [r.summary() for r in reports]
    assert mart(db, "repeat_cp_plans", "la", AUTHORITY) == {"2026-05": (1, 1)}


def test_annex_a_list_7_feeds_the_same_kpi(tmp_path):
    # Annex A List 7's headings: plans starting in June 2023, one with 2 previous plans, one with none.
    db = new_warehouse(tmp_path)
    path = tmp_path / "list7.csv"
    path.write_text(
        "Child Unique ID,Allocated Team,Child Protection Plan Start Date,Number of Previous Child Protection Plans\n"
        "Q1,Team A,2023-06-05,2\nQ2,Team A,2023-06-19,0\n",
        encoding="utf-8",
    )
    from etl.ingest.load import load_files

    [report] = load_files([path], as_of=date(2023, 7, 31), who="test", db=db)
    assert report.extract_type == "cp_plans" and report.ok, report.summary()
    assert mart(db, "repeat_cp_plans", "team", "Team A") == {"2023-06": (1, 2)}
