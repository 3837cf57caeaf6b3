"""The extract loader against docs/spec/extracts.md, on hand-made files in
tests/fixtures/extracts. Every expected answer below was worked out by hand
from the fixture (line numbers: header = line 1)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

import etl.ingest.write
from etl.ingest.load import Finding, LoadReport, load_files, load_findings, load_log, preview_file, undo_load
from etl.readers.read import recognise
from etl.store import warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "extracts"
REAL_REBUILD = etl.ingest.write.rebuild_kpis
AS_OF = date(2023, 9, 29)  # a Friday


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty warehouse (schema, calendar) made once and copied per test: quicker than building each."""
    return warehouse.ensure_warehouse(tmp_path_factory.mktemp("template") / "warehouse.duckdb")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, request: pytest.FixtureRequest) -> Path | str:
    """Every loader test on both engines (conftest's `engine`)."""
    if engine == "postgresql":
        url = request.getfixturevalue("pg_warehouse")
        monkeypatch.setenv("CPIP_DB", url)
        return url
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(request.getfixturevalue("empty_warehouse"), path)
    monkeypatch.setenv("CPIP_DB", str(path))  # nothing may reach data/warehouse.duckdb
    return path


@pytest.fixture(autouse=True)
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[set[str] | None]:
    """The KPI mart is another module's; here we record what the loader asks it to rebuild."""
    calls: list[set[str] | None] = []
    monkeypatch.setattr(etl.ingest.write, "rebuild_kpis", lambda con, sources: calls.append(sources))
    return calls


def load(db: Path, *names: str, valid_rows_only: bool = False) -> list[LoadReport]:
    return load_files([FIXTURES / n for n in names], as_of=AS_OF, who="tester", db=db, valid_rows_only=valid_rows_only)


def load_one(db: Path, name: str, **kwargs: bool) -> LoadReport:
    [report] = load(db, name, **kwargs)
    return report


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with warehouse.reading(db) as con:
        return con.execute(sql, params or []).fetchall()


ALL_ASSESSMENTS = (
    "SELECT child_id, team, assessment_start_date, child_seen_date, assessment_completed_date, child_seen, load_id,"
    " as_of FROM assessments ORDER BY child_id"
)


def contents(db: Path | str) -> object:
    """What the warehouse holds: the DuckDB file's bytes, or every table's rows on PostgreSQL."""
    if not str(db).startswith("postgresql://"):
        return Path(db).read_bytes()
    tables = query(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
    return {t: sorted(map(repr, query(db, f'SELECT * FROM "{t}"'))) for (t,) in tables}


def errors(report: LoadReport) -> list[tuple[int | None, str | None, str | None]]:
    return [(f.line, f.column, f.value) for f in report.findings if f.severity == "error"]


def warnings(report: LoadReport) -> list[Finding]:
    return [f for f in report.findings if f.severity == "warning"]


@pytest.fixture
def with_org(db: Path) -> Path:
    assert load_one(db, "organisation.csv").outcome == "loaded"
    return db


# --- recognising the extract type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "extract", "positions"),
    [
        (["Child ID", "TEAM", "Date of referral"], "referrals", {"child_id": 0, "team": 1, "referral_date": 2}),
        (["child-id", "Allocated_Team", "referral date"], "referrals", {"child_id": 0, "team": 1, "referral_date": 2}),
        (["Team Name", "Service", "Locality"], "organisation", {"team": 0, "service": 1, "area": 2}),
        (["Month", "KPI", "Org Unit", "Count"], "kpi_values", {"period": 0, "metric_id": 1, "team": 2, "numerator": 3}),
    ],
)
def test_headers_match_ignoring_case_spaces_punctuation_and_by_alias(
    header: list[str], extract: str, positions: dict[str, int]
) -> None:
    recognised = recognise(header)
    assert recognised.extract.name == extract
    assert recognised.positions == positions


def test_a_file_of_no_known_type_names_the_closest_type_and_what_it_lacks(db: Path) -> None:
    report = load_one(db, "unrecognised.csv")
    assert report.outcome == "refused"
    assert not report.ok
    assert report.findings[0].describe(report.file_name) == (
        "unrecognised.csv: not a recognised extract: the closest type is missing_episodes, which lacks missing_start"
        " (the first row has 4 filled columns, of which missing_episodes knows child_id, team, episode_id, returned_at)"
    )


def test_a_file_fitting_two_types_is_refused(db: Path) -> None:
    report = load_one(db, "ambiguous.csv")
    assert report.outcome == "refused"
    assert "fits more than one extract type (referrals and organisation)" in report.findings[0].reason


def test_two_columns_for_one_contract_column_are_refused(db: Path) -> None:
    report = load_one(db, "two_child_ids.csv")
    assert report.findings[0].reason == "line 1: columns 'child_id' and 'Person ID' both give child_id: keep one"


# --- files the parser cannot read: one line, never a traceback -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.csv", "the file is empty"),
        ("header_only.csv", "the file has a header but no data rows"),
        ("binary.csv", "this is a binary file, not a CSV text file"),
        ("workbook.csv", "this is an Excel workbook or a zip file, not a CSV"),
        ("utf16.csv", "the file is UTF-16 text, not UTF-8"),
        ("latin1.csv", "line 2: not UTF-8 text"),
        ("ragged.csv", "line 3: 2 values where the header has 3 columns (a ragged row)"),
    ],
)
def test_unreadable_files_are_refused_with_one_line(db: Path, with_org: Path, name: str, reason: str) -> None:
    report = load_one(db, name)
    assert report.outcome == "refused"
    assert report.rows_read == 0
    [finding] = report.findings
    assert finding.severity == "error"
    assert finding.line is None
    assert finding.reason.startswith(reason)
    assert "\n" not in finding.describe(name)
    assert "Traceback" not in finding.reason
    # Refused, but logged with its finding.
    assert query(db, "SELECT outcome, rows_read, rows_rejected FROM loads WHERE file_name = ?", [name]) == [
        ("refused", 0, 0)
    ]
    assert load_findings(report.load_id, db=db)["reason"].tolist() == [finding.reason]
    assert query(db, "SELECT count(*) FROM referrals") == [(0,)]


def test_a_missing_file_is_refused(db: Path, tmp_path: Path) -> None:
    [report] = load_files([tmp_path / "nowhere.csv"], as_of=AS_OF, who="tester", db=db)
    assert report.outcome == "refused"
    assert report.findings[0].reason == "file not found"


# --- a clean Excel "CSV UTF-8" file ----------------------------------------------------------------------------


def test_excel_csv_utf8_with_bom_crlf_aliases_and_uk_dates_loads(with_org: Path, rebuilds: list) -> None:
    db = with_org
    report = load_one(db, "assessments_excel.csv")
    assert report.outcome == "loaded"
    assert report.extract_type == "assessments"
    assert (report.rows_read, report.added, report.replaced, report.unchanged, report.rejected) == (3, 3, 0, 0, 0)
    assert (report.first_period, report.last_period) == ("2023-06", "2023-07")
    assert report.dropped_columns == ["Child Name", "Address", "Date of Birth"]
    rows = query(
        db,
        "SELECT child_id, team, assessment_start_date, child_seen_date, assessment_completed_date FROM assessments"
        " ORDER BY child_id",
    )
    assert rows == [
        ("C001", "North Assessment", date(2023, 7, 3), date(2023, 7, 4), date(2023, 7, 31)),
        # `north assessment` is stored as the organisation reference spells it.
        ("C002", "North Assessment", date(2023, 7, 10), None, None),
        ("C003", "Central Family Safeguarding", date(2023, 6, 1), date(2023, 6, 2), date(2023, 8, 25)),
    ]
    assert rebuilds == [None, {"assessments"}]  # organisation rebuilds everything


def test_personal_columns_never_reach_the_warehouse(with_org: Path) -> None:
    db = with_org
    load_one(db, "assessments_excel.csv")
    load_one(db, "assessments_errors.csv")
    personal = ["Amy Pond", "Rory Williams", "Clara Oswald", "1 High Street", "2 Low Street, Leadworth", "01/01/2015"]
    with warehouse.reading(db) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema IN ('main', 'public')"
        ).fetchall()
        names = {c for _, c in columns}
        assert not names & {"child_name", "address", "date_of_birth", "childname", "dateofbirth"}
        assert len(columns) > 50
        for table, column in columns:
            # Any value containing a name, an address or a birth date (the calendar holds every day, so there
            # only the names and addresses are looked for).
            wanted = personal if table == "calendar" else [*personal, "2015-01-01", "2016-02-02", "2017-03-03"]
            text = f'CAST("{column}" AS VARCHAR)'
            hits = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE ' + " OR ".join(f"strpos({text}, ?) > 0" for _ in wanted),
                wanted,
            ).fetchone()[0]
            assert hits == 0, f"{table}.{column} holds personal data"


# --- errors: one finding per rejected row, with line, column, value and reason ----------------------------------


def test_assessment_errors_each_with_line_column_value_and_reason(with_org: Path) -> None:
    report = load_one(with_org, "assessments_errors.csv")
    assert report.outcome == "refused"
    assert (report.rows_read, report.rejected, report.added, report.warnings) == (11, 9, 0, 1)
    described = [f.describe("a.csv") for f in report.findings]
    assert described == [
        "a.csv: line 2: assessment_start_date: impossible date: no such day (dates are day first: 31/07/2023)"
        " (value '31/02/2023')",
        "a.csv: line 3: assessment_start_date: not a date: write dates as 2023-07-31 or 31/07/2023 (value 'yesterday')",
        "a.csv: line 4: child_seen_date: child seen before the assessment started (assessment_start_date 2023-07-10)"
        " (value '2023-07-07')",
        "a.csv: line 5: assessment_completed_date: assessment completed before it started"
        " (assessment_start_date 2023-07-10) (value '2023-07-01')",
        "a.csv: line 6: team: unknown team 'Nowhere Team': not in the organisation reference (value 'Nowhere Team')",
        "a.csv: line 7: child_id: missing required value",
        # 2023-07-10 and 10/07/2023 are the same day, so the same record key.
        "a.csv: line 8: duplicate record key (child_id + assessment_start_date): the same record is on lines 8, 9"
        " (value 'E07 + 2023-07-10')",
        "a.csv: line 9: duplicate record key (child_id + assessment_start_date): the same record is on lines 8, 9"
        " (value 'E07 + 2023-07-10')",
        # A US month-first date is not a UK date: month 31 does not exist.
        "a.csv: line 10: assessment_start_date: impossible date: no such day (dates are day first: 31/07/2023)"
        " (value '07/31/2023')",
        "a.csv: line 12: assessment_completed_date: warning: after the as-of date 2023-09-29 (value '2023-10-02')",
    ]
    assert query(with_org, "SELECT count(*) FROM assessments") == [(0,)]
    assert report.summary() == (
        "assessments_errors.csv: assessments: refused, nothing loaded (load 2): 9 of 11 rows have errors"
        " (listed below). Correct them and load the file again, or load the 2 valid rows only"
    )


def test_refused_load_is_logged_with_every_finding(with_org: Path) -> None:
    report = load_one(with_org, "assessments_errors.csv")
    log = load_log(db=with_org)
    row = log[log["load_id"] == report.load_id].iloc[0]
    assert (row["outcome"], row["rows_read"], row["rows_rejected"], row["rows_added"]) == ("refused", 11, 9, 0)
    findings = load_findings(report.load_id, db=with_org)
    assert findings["line"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    assert findings["severity"].tolist() == ["error"] * 9 + ["warning"]


def test_valid_rows_only_loads_the_good_rows_and_keeps_the_rejected(with_org: Path) -> None:
    report = load_one(with_org, "assessments_errors.csv", valid_rows_only=True)
    assert report.outcome == "loaded valid rows only"
    assert report.ok
    assert (report.added, report.rejected, report.warnings) == (2, 9, 1)
    assert query(with_org, "SELECT child_id FROM assessments ORDER BY 1") == [("E10",), ("E11",)]
    findings = load_findings(report.load_id, db=with_org)
    assert len(findings) == 10
    assert findings.iloc[0][["line", "column_name", "value"]].tolist() == [2, "assessment_start_date", "31/02/2023"]


def test_unknown_team_before_any_organisation_is_loaded(db: Path) -> None:
    report = load_one(db, "referrals.csv")
    assert report.outcome == "refused"
    assert report.findings[0].reason == "unknown team 'North Assessment': no organisation reference is loaded yet"


def test_organisation_files_load_first_in_one_call(db: Path, rebuilds: list) -> None:
    referrals, organisation = load(db, "referrals.csv", "organisation.csv")
    assert (organisation.outcome, referrals.outcome) == ("loaded", "loaded")
    assert organisation.load_id == 1 and referrals.load_id == 2
    assert rebuilds == [None, {"referrals"}]


def test_blank_lines_and_line_breaks_in_values_keep_line_numbers_right(with_org: Path) -> None:
    report = load_one(with_org, "assessments_odd_lines.csv")
    # Line 3 is blank, B2's team spans lines 4-5, B3 is on line 6; the rows of bare commas are not records.
    assert report.rows_read == 3
    assert errors(report) == [(4, "team", "North\nAssessment"), (6, "assessment_start_date", "31/02/2023")]
    # A line break inside an identifier is refused on its line, and said once (not also as an unknown team).
    assert report.findings[0].describe("f.csv") == (
        "f.csv: line 4: team: contains a line break or other control character (value 'North\\nAssessment')"
    )


def test_health_assessment_before_care_start(with_org: Path) -> None:
    report = load_one(with_org, "health_assessments.csv", valid_rows_only=True)
    assert errors(report) == [(2, "iha_date", "2023-07-01")]
    assert report.findings[0].reason == (
        "initial health assessment before the child came into care (care_start_date 2023-07-03)"
    )
    assert query(with_org, "SELECT child_id, care_start_date, iha_date FROM health_assessments") == [
        ("H2", date(2023, 7, 3), date(2023, 7, 20))
    ]


def test_dates_outside_the_working_day_calendar_are_refused(with_org: Path) -> None:
    # The calendar runs 2000-2040; a date outside it would silently drop out of every KPI.
    report = load_one(with_org, "assessments_out_of_range.csv")
    assert report.outcome == "refused"
    assert errors(report) == [
        (2, "assessment_start_date", "01/01/1899"),
        (3, "assessment_completed_date", "2041-01-01"),
    ]
    assert {f.reason for f in report.findings if f.severity == "error"} == {
        "outside the years this dashboard counts (2000 to 2040)"
    }


def test_missing_episode_datetimes_orders_and_late_interviews(with_org: Path) -> None:
    report = load_one(with_org, "missing_episodes.csv", valid_rows_only=True)
    assert errors(report) == [
        (3, "returned_at", "01/07/2023 21:00"),
        (4, "rhi_completed_at", "2023-07-05 18:00"),
        (6, "missing_start", "2023-07-05"),  # a date without a time is not a datetime
        (7, "rhi_completed_at", "2023-07-06 10:00"),  # an interview but no return
        (8, "missing_start", "31/07/2023 25:00"),
    ]
    reasons = {f.line: f.reason for f in report.findings if f.severity == "error"}
    assert reasons[3] == "returned before the missing episode started (missing_start 2023-07-01 22:00)"
    assert reasons[4] == "return home interview before the child returned (returned_at 2023-07-06 09:00)"
    assert reasons[6].startswith("not a date and time")
    assert reasons[8].startswith("impossible date or time")
    # 6 July 09:00:30 to 10 August: 35 calendar days, more than 30.
    [late] = warnings(report)
    assert (late.line, late.column, late.reason) == (
        5,
        "rhi_completed_at",
        "return home interview 35 days after the return (more than 30)",
    )
    assert query(
        with_org, "SELECT episode_id, missing_start, returned_at, rhi_completed_at FROM missing_episodes ORDER BY 1"
    ) == [
        ("EP1", datetime(2023, 7, 1, 22, 0), datetime(2023, 7, 2, 8, 15), datetime(2023, 7, 3, 10, 0)),
        ("EP4", datetime(2023, 7, 5, 10, 0), datetime(2023, 7, 6, 9, 0, 30), datetime(2023, 8, 10, 9, 0)),
    ]


def test_open_assessment_warning_counts_working_days_and_bank_holidays(with_org: Path) -> None:
    report = load_one(with_org, "assessments_excel.csv")
    # C002 started Monday 10 July 2023, still open on Friday 29 September: 15 working days in the rest of
    # July, 22 in August (28 August was a bank holiday) and 21 in September = 58.
    [open_too_long] = warnings(report)
    assert (open_too_long.line, open_too_long.column, open_too_long.value) == (3, "assessment_completed_date", None)
    assert open_too_long.reason == (
        "assessment still open 58 working days after it started (more than 45) at the as-of date 2023-09-29"
    )
    assert report.ok


def test_grades_are_case_insensitive_ri_and_stored_canonical(with_org: Path) -> None:
    report = load_one(with_org, "case_audits.csv", valid_rows_only=True)
    assert errors(report) == [(3, "grade", "Excellent"), (4, "grade", None)]
    assert report.findings[1].reason == "missing required value"
    assert query(with_org, "SELECT audit_id, audit_type, grade, moderated_grade FROM case_audits ORDER BY 1") == [
        ("A1", "management_oversight", "Requires Improvement", "Good"),
        ("A4", "assessment", "Requires Improvement", None),
    ]


def test_kpi_values_rules(with_org: Path) -> None:
    report = load_one(with_org, "kpi_values.csv", valid_rows_only=True)
    assert errors(report) == [
        (3, "numerator", "12"),
        (4, "denominator", None),
        (5, "denominator", "0"),
        (7, "denominator", "5"),
        (8, "metric_id", "not_a_metric"),
        (9, "period", "2023-13"),
        (10, "team", "Atlantis"),
        (11, "numerator", "ten"),
    ]
    reasons = [f.reason for f in report.findings if f.severity == "error"]
    assert reasons[0] == "numerator above denominator (10)"
    assert reasons[1] == "missing denominator: icpc_15wd is a percentage"
    assert reasons[2] == "the denominator must be above 0 for a percentage"
    assert reasons[3] == "a count takes no denominator: homeless_16_17 is a count, leave it blank"
    assert reasons[4] == "unknown metric 'not_a_metric': not in metrics.yml"
    assert reasons[6] == "unknown team, service or area 'Atlantis': not in the organisation reference"
    # The authority as a whole, as metrics.yml names it; the month is stored as its first day.
    assert query(with_org, "SELECT period, metric_id, team, numerator, denominator FROM kpi_values ORDER BY 1") == [
        (date(2023, 6, 1), "homeless_16_17", "Demo County Council", 19.0, None),
        (date(2023, 7, 1), "icpc_15wd", "Demo County Council", 40.0, 50.0),
    ]
    assert (report.first_period, report.last_period) == ("2023-06", "2023-07")


def test_date_after_the_as_of_date_is_a_warning_and_loads(with_org: Path) -> None:
    report = load_one(with_org, "referrals.csv")
    assert report.outcome == "loaded"
    [future] = warnings(report)
    assert (future.line, future.column, future.value) == (3, "referral_date", "15/10/2023")
    assert (
        future.describe("r.csv")
        == "r.csv: line 3: referral_date: warning: after the as-of date 2023-09-29 (value '15/10/2023')"
    )
    assert query(with_org, "SELECT referral_date FROM referrals ORDER BY 1") == [
        (date(2023, 7, 1),),
        (date(2023, 10, 15),),
    ]


# --- loading twice, corrections, undo --------------------------------------------------------------------------


def test_loading_the_same_file_twice_changes_nothing(with_org: Path, rebuilds: list) -> None:
    first = load_one(with_org, "assessments_excel.csv")
    before = query(
        with_org,
        ALL_ASSESSMENTS,
    )
    again = load_one(with_org, "assessments_excel.csv")
    assert again.outcome == "no change"
    assert again.ok
    assert (again.added, again.replaced, again.unchanged) == (0, 0, 3)
    assert (
        query(
            with_org,
            ALL_ASSESSMENTS,
        )
        == before
    )
    assert {r[-2] for r in before} == {first.load_id}
    log = load_log(db=with_org)
    assert log["outcome"].tolist() == ["loaded", "loaded", "no change"]
    assert log["content_hash"].iloc[1] == log["content_hash"].iloc[2]
    assert len(log["content_hash"].iloc[1]) == 64  # sha256
    assert rebuilds == [None, {"assessments"}]  # nothing changed, nothing to rebuild


def test_a_corrected_extract_replaces_by_record_key(with_org: Path) -> None:
    first = load_one(with_org, "assessments_excel.csv")
    corrected = load_one(with_org, "assessments_corrected.csv")
    assert corrected.outcome == "loaded"
    # C001 changed (completed 1 August), C002 identical (10/07/2023 is 2023-07-10), C004 new.
    assert (corrected.added, corrected.replaced, corrected.unchanged) == (1, 1, 1)
    assert query(with_org, "SELECT child_id, assessment_completed_date, load_id FROM assessments ORDER BY 1") == [
        ("C001", date(2023, 8, 1), corrected.load_id),
        ("C002", None, first.load_id),
        ("C003", date(2023, 8, 25), first.load_id),
        ("C004", date(2023, 8, 30), corrected.load_id),
    ]
    assert query(
        with_org, "SELECT child_id, assessment_completed_date, load_id, replaced_by FROM assessments_replaced"
    ) == [("C001", date(2023, 7, 31), first.load_id, corrected.load_id)]


def test_undo_restores_the_replaced_records(with_org: Path, rebuilds: list) -> None:
    load_one(with_org, "assessments_excel.csv")
    before = query(with_org, "SELECT * FROM assessments ORDER BY child_id")
    corrected = load_one(with_org, "assessments_corrected.csv")
    message = undo_load(corrected.load_id, who="lead", db=with_org)
    assert message == (
        "load 3 (assessments_corrected.csv, assessments) undone: 2 records removed, 1 earlier record restored"
    )
    assert query(with_org, "SELECT * FROM assessments ORDER BY child_id") == before
    assert query(with_org, "SELECT count(*) FROM assessments_replaced") == [(0,)]
    assert query(with_org, "SELECT outcome, undone_by FROM loads WHERE load_id = 3") == [("undone", "lead")]
    assert rebuilds[-1] == {"assessments"}
    with pytest.raises(ValueError, match=r"load 3 \(assessments_corrected.csv\) was already undone"):
        undo_load(corrected.load_id, who="lead", db=with_org)


def test_undo_is_refused_while_a_later_load_replaced_its_records(with_org: Path) -> None:
    first = load_one(with_org, "assessments_excel.csv")
    corrected = load_one(with_org, "assessments_corrected.csv")
    with pytest.raises(ValueError, match=r"later load 3 replaced some of its records; undo load 3 first"):
        undo_load(first.load_id, who="lead", db=with_org)
    undo_load(corrected.load_id, who="lead", db=with_org)
    undo_load(first.load_id, who="lead", db=with_org)
    assert query(with_org, "SELECT count(*) FROM assessments") == [(0,)]


def test_undo_of_a_load_that_changed_nothing_or_does_not_exist(with_org: Path) -> None:
    refused = load_one(with_org, "assessments_errors.csv")
    with pytest.raises(ValueError, match="changed nothing"):
        undo_load(refused.load_id, who="lead", db=with_org)
    with pytest.raises(ValueError, match="there is no load 99"):
        undo_load(99, who="lead", db=with_org)


def test_a_failure_half_way_leaves_the_warehouse_as_it_was(with_org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_one(with_org, "assessments_excel.csv")
    before = contents(with_org)
    real_write = etl.ingest.write.write_records

    def write_then_fail(*args: object, **kwargs: object) -> None:
        real_write(*args, **kwargs)  # records are written ... then the machine "fails"
        raise RuntimeError("disk full")

    monkeypatch.setattr(etl.ingest.write, "write_records", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        load_one(with_org, "assessments_corrected.csv")
    assert contents(with_org) == before
    assert not Path(str(with_org) + ".tmp").exists()
    assert query(with_org, "SELECT count(*), max(load_id) FROM assessments") == [(3, 2)]
    assert query(with_org, "SELECT count(*) FROM loads") == [(2,)]


def test_preview_commits_nothing(with_org: Path) -> None:
    load_one(with_org, "assessments_excel.csv")
    before = contents(with_org)
    report = preview_file(FIXTURES / "assessments_corrected.csv", as_of=AS_OF, db=with_org, display_name="new.csv")
    assert (report.outcome, report.file_name, report.load_id) == ("preview", "new.csv", None)
    assert (report.added, report.replaced, report.unchanged) == (1, 1, 1)
    assert contents(with_org) == before


def test_preview_reports_its_stages(with_org: Path) -> None:
    messages: list[str] = []
    preview_file(FIXTURES / "assessments_excel.csv", as_of=AS_OF, db=with_org, progress=messages.append)
    assert messages == [
        "assessments_excel.csv: reading 0.0 MB as assessments (0%)",
        "assessments_excel.csv: validating (33%)",
        "assessments_excel.csv: comparing with the warehouse (67%)",
        "assessments_excel.csv: checked (100%)",
    ]


def test_progress_reports_stages_with_percent(with_org: Path) -> None:
    messages: list[str] = []
    load_files([FIXTURES / "assessments_excel.csv"], as_of=AS_OF, who="tester", db=with_org, progress=messages.append)
    assert messages[0].startswith("[1/1] assessments_excel.csv: reading")
    assert any("validating" in m for m in messages)
    assert messages[-2].endswith("(100%)")
    assert messages[-1] == "[1/1] assessments_excel.csv: loaded"


def test_load_log_records_who_when_file_and_type(with_org: Path) -> None:
    load_files(
        [FIXTURES / "assessments_excel.csv"],
        as_of="2023-09-29",
        who="analyst",
        db=with_org,
        display_names=["July assessments.csv"],
    )
    row = load_log(db=with_org).iloc[-1]
    assert (row["loaded_by"], row["file_name"], row["extract_type"]) == (
        "analyst",
        "July assessments.csv",
        "assessments",
    )
    assert pd.Timestamp(row["as_of"]).date() == AS_OF
    assert (row["first_period"], row["last_period"], row["warnings"]) == ("2023-06", "2023-07", 1)


def test_organisation_corrections_replace_by_team(with_org: Path, tmp_path: Path) -> None:
    changed = tmp_path / "organisation.csv"
    shutil.copyfile(FIXTURES / "organisation.csv", changed)
    changed.write_text(changed.read_text().replace("West Care,Children We Care For", "West Care,Leaving Care"))
    [report] = load_files([changed], as_of=AS_OF, who="tester", db=with_org)
    assert (report.added, report.replaced, report.unchanged) == (0, 1, 2)
    assert query(with_org, "SELECT service FROM organisation WHERE team = 'West Care'") == [("Leaving Care",)]


def test_the_kpi_mart_is_rebuilt_in_the_load_and_after_undo(with_org: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(etl.ingest.write, "rebuild_kpis", REAL_REBUILD)
    report = load_one(with_org, "assessments_excel.csv")
    mart = (
        "SELECT metric_id, substr(CAST(period AS VARCHAR), 1, 7), numerator, denominator FROM kpi_monthly"
        " WHERE level = 'la'"
    )
    # C001 completed in 20 working days (met, July); C003 in 61 (not met, August). Seen: C003 next day (June),
    # C001 next day (July); C002 never seen and 58 working days gone by the as-of date (not met, July).
    assert sorted(query(with_org, mart)) == [
        ("assessments_45wd", "2023-07", 1.0, 1.0),
        ("assessments_45wd", "2023-08", 0.0, 1.0),
        ("seen_5wd", "2023-06", 1.0, 1.0),
        ("seen_5wd", "2023-07", 1.0, 2.0),
    ]
    undo_load(report.load_id, who="lead", db=with_org)
    assert query(with_org, mart) == []


@pytest.mark.parametrize(
    ("value", "stored", "reason"),
    [
        ("1/7/2023", date(2023, 7, 1), None),  # Excel's UK short date without leading zeros
        ("2023-7-31", date(2023, 7, 31), None),
        ("29/02/2024", date(2024, 2, 29), None),  # a leap year
        ("29/02/2023", None, "impossible date"),
        ("31/07/23", None, "not a date"),  # a two-digit year is not read as the year 23
        ("2023/07/31", None, "not a date"),
        ("31 July 2023", None, "not a date"),
    ],
)
def test_date_shapes(with_org: Path, tmp_path: Path, value: str, stored: date | None, reason: str | None) -> None:
    path = tmp_path / "referrals.csv"
    path.write_text(f"child_id,team,referral_date\nR1,West Care,{value}\n", encoding="utf-8")
    [report] = load_files([path], as_of=AS_OF, who="tester", db=with_org)
    if stored is None:
        assert report.outcome == "refused"
        assert errors(report) == [(2, "referral_date", value)]
        assert report.findings[0].reason.startswith(reason)
    else:
        assert report.outcome == "loaded"
        assert query(with_org, "SELECT referral_date FROM referrals") == [(stored,)]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2023-07-31T14:05", datetime(2023, 7, 31, 14, 5)),
        ("31/07/2023 4:05", datetime(2023, 7, 31, 4, 5)),
        ("31/07/2023 14:05:59", datetime(2023, 7, 31, 14, 5, 59)),
        ("2023-07-31 14:05:59", datetime(2023, 7, 31, 14, 5, 59)),
    ],
)
def test_datetime_shapes(with_org: Path, tmp_path: Path, value: str, stored: datetime) -> None:
    path = tmp_path / "missing.csv"
    path.write_text(
        f"child_id,team,episode_id,missing_start,returned_at,rhi_completed_at\nM1,West Care,EP1,{value},,\n",
        encoding="utf-8",
    )
    [report] = load_files([path], as_of=AS_OF, who="tester", db=with_org)
    assert report.outcome == "loaded", report.findings
    assert query(with_org, "SELECT missing_start FROM missing_episodes") == [(stored,)]


def test_a_semicolon_separated_file_is_refused_with_a_hint(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "referrals.csv"
    path.write_text("child_id;team;referral_date\nR1;West Care;2023-07-01\n", encoding="utf-8")
    [report] = load_files([path], as_of=AS_OF, who="tester", db=db)
    assert report.findings[0].reason.startswith("line 1: the columns are separated by semicolons, not commas")


def test_a_key_repeated_many_times_lists_the_first_five_lines(with_org: Path, tmp_path: Path) -> None:
    path = tmp_path / "referrals.csv"
    path.write_text("child_id,team,referral_date\n" + "R1,West Care,2023-07-01\n" * 7, encoding="utf-8")
    [report] = load_files([path], as_of=AS_OF, who="tester", db=with_org)
    assert report.rejected == 7
    assert report.findings[0].describe("r.csv") == (
        "r.csv: line 2: duplicate record key (child_id + referral_date): the same record is on 7 lines:"
        " 2, 3, 4, 5, 6, ... (value 'R1 + 2023-07-01')"
    )
