"""The contract is the one list: a type, a format and a KPI added by declaration alone reach the figures;
people read a type's words, never its id."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dash_tree import text_of

import etl.store.schema
from etl.catalogue import metrics
from etl.catalogue.contract import EXTRACT_TYPES, KPI_SOURCES, Column, ExtractType, Order
from etl.formats import layouts
from etl.ingest.load import load_files
from etl.readers import registry
from etl.readers.read import ExtractFileError, Part
from etl.rules import kpis
from etl.store import warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "extracts"

# ------------------------------------------------------------------ the declarations

# A made-up type: home visits, each due from a plan's start.
HOME_VISITS = ExtractType(
    name="home_visits",
    description="Home visits on a plan (made up for this test)",
    columns=(
        Column("child_id", "text", True),
        Column("team", "text", True),
        Column("plan_start_date", "date", True),
        Column("visit_date", "date", False, counted=True),
    ),
    key=("child_id", "plan_start_date"),
    period_column="plan_start_date",
    words="home visits return",
    kpi_source=True,
    window_date="plan_start_date",
    order=(Order("visit_date", "plan_start_date", "visited before the plan started"),),
)


@dataclass(frozen=True)
class VisitList:
    extract: str | None = "home_visits"
    label: str = "Home Visit Return, visits list"


# A made-up layout of rows: its own headings for the type's columns, known by one of them.
HOME_VISIT_LAYOUT = layouts.Layout(
    "Home Visit Return",
    identify=lambda header, sheet: VisitList() if "Date Of Home Visit" in header else None,
    headings_for=lambda extract, column: (
        {"visit_date": ("Date Of Home Visit",), "plan_start_date": ("Plan Began",)}.get(column, ())
        if extract == "home_visits"
        else ()
    ),
)


def _visit_parts(paths: Sequence[Path], names: Sequence[str]) -> Iterator[Part]:
    """A made-up file format: `.hvr`, rows of cells separated by `;`, a `#` line a comment."""
    for path, name in zip(paths, names, strict=True):
        text = path.read_text(encoding="utf-8")
        if not text.startswith("HVR1"):
            raise ExtractFileError("not a home visit return (no HVR1 line)")
        # From line 2; a comment is a blank row, so the lines stay the file's.
        rows = [[] if line.startswith("#") else line.split(";") for line in text.splitlines()[1:]]
        yield Part(name, rows[:6], f"hvr:{len(text)}", top_line=2, rows=lambda rows=rows: (2, rows))


HOME_VISIT_READER = registry.Reader("home visit return", (".hvr",), "a home visit return", _visit_parts)

# The made-up KPI: plans begun in the month whose child was visited, written as every KPI rule is
# (etl/rules/kpis/<source>.sql): one record-level SELECT judging each record (RECORD_COLUMNS), from
# which the mart counts `met` over met/not met per team and month.
HOME_VISITS_SQL = """
SELECT 'visited_on_plan' AS metric_id, CAST(date_trunc('month', {visited_on_plan.counted_on}) AS DATE) AS period,
       team, child_id, CAST(plan_start_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(visit_date AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN visit_date IS NOT NULL THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM home_visits
"""

CATALOGUE = """
authority: {name: Made Up Council, la_code: "938"}
areas: [Visits]
metrics:
  - metric_id: visited_on_plan
    name: "% of plans whose child was visited"
    area: Visits
    unit: percent
    polarity: higher_is_better
    source: home_visits
    counted_on: plan_start_date
    rule: Plans begun in the month whose child has a home visit.
    owner: Head of Visits
    thresholds:
      "2023/24": {green: 90, amber: 80}
"""


@pytest.fixture
def declared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The made-up type, layout, reader, KPI rule and catalogue, declared for one test and taken out after."""
    monkeypatch.setitem(EXTRACT_TYPES, HOME_VISITS.name, HOME_VISITS)
    layouts.register(HOME_VISIT_LAYOUT)
    registry.register(HOME_VISIT_READER)
    rules = tmp_path / "kpis"
    shutil.copytree(kpis.SQL_DIR, rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (rules / "home_visits.sql").write_text(HOME_VISITS_SQL, encoding="utf-8")
    monkeypatch.setattr(kpis, "SQL_DIR", rules)
    (tmp_path / "metrics.yml").write_text(CATALOGUE, encoding="utf-8")
    monkeypatch.setenv("CPIP_METRICS", str(tmp_path / "metrics.yml"))
    monkeypatch.setenv("CPIP_DB", str(tmp_path / "warehouse.duckdb"))
    # The SQLAlchemy tables are built from the contract when etl.store.schema is imported: built again
    # with the made-up type in it (a type declared in contract.py is there at import).
    importlib.reload(etl.store.schema)
    kpis._sql_file.cache_clear()
    metrics._cached.cache_clear()
    try:
        yield
    finally:
        registry.unregister(HOME_VISIT_READER)
        layouts.unregister(HOME_VISIT_LAYOUT)
        monkeypatch.undo()
        importlib.reload(etl.store.schema)
        kpis._sql_file.cache_clear()
        metrics._cached.cache_clear()


def test_a_made_up_type_format_and_kpi_are_recognised_validated_loaded_and_counted(
    declared: None, tmp_path: Path
) -> None:
    assert "home_visits" in KPI_SOURCES
    assert metrics.catalogue().metric("visited_on_plan").source == "home_visits"
    visits = tmp_path / "visits_july.hvr"
    visits.write_text(
        "HVR1\n"
        "# Home visits, July 2023\n"
        "Child ID;Team;Plan Began;Date Of Home Visit\n"
        "C1;West Care;2023-07-03;2023-07-05\n"  # visited
        "C2;West Care;2023-07-10;\n"  # not yet visited
        "C3;North Assessment;2023-07-12;2023-07-20\n"  # visited
        "C4;West Care;2023-07-14;2023-07-01\n",  # visited before the plan began: an error, rejected
        encoding="utf-8",
    )
    org, report = load_files(
        [FIXTURES / "organisation.csv", visits], as_of=date(2023, 7, 31), who="tester", valid_rows_only=True
    )
    assert org.outcome == "loaded"
    # Recognised by the made-up layout's headings (Plan Began, Date Of Home Visit), read by the made-up reader.
    assert report.extract_type == "home_visits"
    assert "read as Home Visit Return, visits list" in report.notes
    # Validated by the declared order rule: line 7 of the file (HVR1 is line 1) is C4.
    [error] = [f for f in report.findings if f.severity == "error"]
    assert (error.line, error.column) == (7, "visit_date")
    assert "visited before the plan started (plan_start_date 2023-07-14)" in error.reason
    assert (report.rows_read, report.added, report.rejected, report.outcome) == (4, 3, 1, "loaded valid rows only")
    assert (report.first_period, report.last_period) == ("2023-07", "2023-07")
    # Counted: West Care 1 of 2 visited (C1; C2 not), North Assessment 1 of 1; the authority 2 of 3.
    with duckdb.connect(str(warehouse.warehouse_path(None)), read_only=True) as con:
        rows = con.execute(
            "SELECT level, org_unit, numerator, denominator FROM kpi_monthly WHERE metric_id = 'visited_on_plan'"
            " AND period = DATE '2023-07-01' AND level IN ('team', 'la') ORDER BY level, org_unit"
        ).fetchall()
    assert rows == [
        ("la", "Made Up Council", 2.0, 3.0),
        ("team", "North Assessment", 1.0, 1.0),
        ("team", "West Care", 1.0, 2.0),
    ]


def test_a_made_up_format_that_cannot_be_read_is_refused_in_words(declared: None, tmp_path: Path) -> None:
    broken = tmp_path / "broken.hvr"
    broken.write_text("not a return\n", encoding="utf-8")
    [report] = load_files([broken], as_of=date(2023, 7, 31), who="tester")
    assert report.summary() == "broken.hvr: unrecognised file: refused, nothing loaded (load 1)"
    assert report.findings[0].reason == "not a home visit return (no HVR1 line)"


# ------------------------------------------------------------------ words for people


def test_the_kpi_page_names_a_snapshot_source_in_words_not_its_id(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CPIP_DB", str(tmp_path / "empty.duckdb"))
    sys.path.insert(0, str(Path(__file__).parent.parent))
    import app  # noqa: F401  (creating the app registers the pages)
    from dashboard.pages import kpi

    dental = metrics.catalogue().metric("dental_up_to_date")
    assert dental.source == "children_in_care"
    words = text_of(kpi.definition(dental, "2023-07"))
    assert "Source Children in care list (a snapshot on its as-of date)" in words
    assert "children_in_care" not in words


def test_every_kpi_source_has_words() -> None:
    for name in KPI_SOURCES:
        words = EXTRACT_TYPES[name].words
        assert words and "_" not in words, name
