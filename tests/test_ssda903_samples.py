"""The public SSDA903 samples (../shared/reference/samples/returns/, see samples.md) load or are refused with a
clear message, never a traceback. They are fake data with deliberate errors: what matters is that each is
read (tables recognised by their headers, a byte-order mark and an extra column tolerated) and that the
message names the rule and the child."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from kpi_helpers import new_warehouse

from etl.ingest.load import load_files

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "samples" / "returns"
if not SAMPLES.is_dir():  # a worktree beside the shared folder, or the main checkout inside /work
    SAMPLES = Path("/work/shared/reference/samples/returns")
VALIDATOR = SAMPLES / "csc-validator-be-903"
LIIA = SAMPLES / "liia-tools-pipeline"

pytestmark = pytest.mark.skipif(not VALIDATOR.is_dir(), reason="the shared public samples are not at hand")


def load(tmp_path, paths, *, year, as_of):
    db = new_warehouse(tmp_path)
    reports = load_files(paths, as_of=as_of, who="test", db=db, collection_year=year)
    return reports, " | ".join(f.reason for r in reports for f in r.findings)


def test_the_validators_fake_tables_are_read_as_one_return_and_refused_by_rule(tmp_path):
    tables = sorted(p for p in VALIDATOR.glob("*.csv") if "errors" not in p.name)
    reports, reasons = load(tmp_path, tables, year="2017/18", as_of=date(2018, 5, 1))
    [report] = reports  # twelve tables, one return
    assert report.extract_type == "ssda903" and report.outcome == "refused"
    # Overlapping chains (142), X1 with no continuation (388) and OC2 outside the cohort (190), each with its child.
    for rule in ("903 rule 142", "903 rule 388", "903 rule 190"):
        assert rule in reasons
    assert "episodes.csv: child " in reasons
    # Reviews, UASC, AD1, PlacedAdoption, PrevPerm, SWEpisodes (whose header starts with a byte-order mark) and
    # DoLo are recognised and read past.
    assert "skipped sw_episodes.csv: the SWEpisodes table, which no KPI reads" in report.notes
    assert "skipped DoLo.csv: the DoLo table, which no KPI reads" in report.notes


def test_two_files_of_one_table_are_refused(tmp_path):
    tables = sorted(VALIDATOR.glob("*.csv"))
    reports, reasons = load(tmp_path, tables, year="2017/18", as_of=date(2018, 5, 1))
    assert [r.outcome for r in reports] == ["refused"]
    assert "are both the PlacedAdoption table: give one of each table" in reasons


def test_the_validators_fake_xml_is_read_and_refused_by_rule(tmp_path):
    reports, reasons = load(tmp_path, [VALIDATOR / "fake_903.xml"], year="2017/18", as_of=date(2018, 5, 1))
    [report] = reports
    assert report.outcome == "refused"
    assert "903 rule 142" in reasons and "903 rule 388" in reasons
    assert report.rows_read > 400  # 459 episodes and the OC2, OC3 and missing rows were read


def test_liias_samples_with_an_extra_column_and_dummy_values(tmp_path):
    paths = [LIIA / "SSDA903_2020_header.csv", LIIA / "SSDA903_2020_episodes.csv"]
    reports, reasons = load(tmp_path, paths, year="2019/20", as_of=date(2020, 5, 1))
    [report] = reports  # the episodes' extra TEST_COLUMN does not stop it being the Episodes table
    assert report.outcome == "refused"
    assert "child 249901: 903 rule 143: not a RNE code of the 2019/20 return" in reasons
    assert "the child is in Header twice" in reasons
    assert "legal_status" in {f.column for f in report.findings}  # the blank legal status


@pytest.mark.parametrize(
    ("names", "missing"),
    [(["header.csv"], "Episodes table"), (["sw_episodes.csv", "DoLo.csv"], "Header and Episodes tables")],
)
def test_a_return_lacking_its_header_or_episodes_says_which(tmp_path, names, missing):
    reports, reasons = load(tmp_path, [VALIDATOR / n for n in names], year="2017/18", as_of=date(2018, 5, 1))
    assert [r.outcome for r in reports] == ["refused"]
    assert f"an SSDA903 return needs its {missing}" in reasons
