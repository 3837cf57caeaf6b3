"""Findings grouped in SQL (etl.ingest.findings.StagedFindings) say exactly what grouping them one by one says."""

from __future__ import annotations

import duckdb
import pytest

from etl.ingest.findings import StagedFindings, group_findings
from etl.ingest.report import Finding

# (line, ord, severity, column, value, reason): a staged file's findings, as validate leaves them.
ROWS = [
    (7, 3, "error", "assessment_start_date", "31/02/2023", "impossible date: no such day (dates are day first)"),
    (3, 0, "error", "team", "Team Q", "unknown team 'Team Q': not in the organisation reference"),
    (4, 0, "error", "team", "O'Brien Team", "unknown team 'O''Brien Team': not in the organisation reference"),
    (5, 0, "error", "team", "Team Q", "unknown team 'Team Q': not in the organisation reference"),
    (9, 0, "error", "team", "Team 12", "unknown team 'Team 12': not in the organisation reference"),
    (2, 9, "warning", "assessment_completed_date", None, "assessment still open 50 working days (more than 45)"),
    (6, 9, "warning", "assessment_completed_date", None, "assessment still open 61 working days (more than 45)"),
    (8, 9, "warning", "assessment_completed_date", None, "assessment still open 1,204 working days (more than 45)"),
    (10, 9, "warning", "assessment_completed_date", None, "assessment still open 47 working days (more than 45)"),
    (11, 9, "warning", "assessment_completed_date", None, "assessment still open 48 working days (more than 45)"),
    (12, 9, "warning", "assessment_completed_date", None, "assessment still open 49 working days (more than 45)"),
    (13, 8, "warning", "child_seen_date", "2024-02-03", "after the as-of date 2024-01-31"),
    (None, 2000, "warning", None, None, "2 kpi_values rows for seen_5wd (2023-06 to 2023-07) are superseded"),
]


@pytest.fixture
def staged() -> StagedFindings:
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE findings (line INTEGER, ord INTEGER, severity VARCHAR, column_name VARCHAR,"
        " value VARCHAR, reason VARCHAR)"
    )
    con.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    return StagedFindings(con)


def test_the_groups_read_as_a_person_reads_them(staged: StagedFindings) -> None:
    # Worked out by hand: errors first, by line; then warnings, by line, the line-less one last.
    assert [g.describe("a.csv", 4) for g in group_findings(staged)] == [
        "a.csv: team: 4 rows name 3 teams that are not in the organisation reference: Team Q, O'Brien Team,"
        " Team 12 (lines 3, 4, 5, 9)",
        "a.csv: line 7: assessment_start_date: impossible date: no such day (dates are day first) (value '31/02/2023')",
        "a.csv: assessment_completed_date: warning: 6 rows: assessment still open 50 working days (more than 45)"
        " (lines 2, 6, 8, 10, 11 and 1 more; all of them: cpip loads --findings 4)",
        "a.csv: line 13: child_seen_date: warning: after the as-of date 2024-01-31 (value '2024-02-03')",
        "a.csv: warning: 2 kpi_values rows for seen_5wd (2023-06 to 2023-07) are superseded",
    ]


def test_sql_groups_equal_python_groups(staged: StagedFindings) -> None:
    by_sql = group_findings(staged)
    by_python = group_findings(list(staged))  # a plain list: grouped one finding at a time
    assert by_sql == by_python
    assert [g.kind for g in by_sql][2] == "assessment still open … working days (more than …)"


def test_findings_read_one_by_one_in_order(staged: StagedFindings) -> None:
    assert len(staged) == 13
    assert staged[0] == Finding(
        "error", 3, "team", "Team Q", "unknown team 'Team Q': not in the organisation reference"
    )
    assert [f.line for f in staged] == [3, 4, 5, 7, 9, 2, 6, 8, 10, 11, 12, 13, None]
    assert staged[-1].reason.startswith("2 kpi_values rows")


def test_a_finding_added_later_joins_its_group(staged: StagedFindings) -> None:
    staged.append(Finding("error", 20, "team", "Team Z", "unknown team 'Team Z': not in the organisation reference"))
    staged += [Finding("warning", None, None, None, "3 assessments held from earlier loads are retired")]
    assert len(staged) == 15
    groups = group_findings(staged)
    assert groups == group_findings(list(staged))
    assert groups[0].describe("a.csv") == (
        "a.csv: team: 5 rows name 4 teams that are not in the organisation reference: Team Q, O'Brien Team,"
        " Team 12, Team Z (lines 3, 4, 5, 9, 20)"
    )
    assert groups[-1].describe("a.csv") == "a.csv: warning: 3 assessments held from earlier loads are retired"


def test_any_other_change_groups_one_by_one(staged: StagedFindings) -> None:
    staged.insert(0, Finding("error", None, None, None, "the file is refused"))
    del staged[1]
    assert staged.groups is None
    groups = group_findings(staged)
    assert groups[0].describe("a.csv") == "a.csv: the file is refused"
    assert groups[1].describe("a.csv") == (
        "a.csv: team: 3 rows name 3 teams that are not in the organisation reference: O'Brien Team, Team Q,"
        " Team 12 (lines 4, 5, 9)"
    )
