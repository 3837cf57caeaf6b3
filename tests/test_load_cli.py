"""`cpip load`, `cpip loads` and `cpip undo` end to end on a temporary warehouse:
exit codes, the one-line messages, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import etl.ingest.write
from cpip.cli import main
from etl.store import warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "extracts"
REBUILD = etl.ingest.write.rebuild_kpis  # the real one, for the tests that read figures


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return warehouse.ensure_warehouse(tmp_path_factory.mktemp("template") / "warehouse.duckdb")


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_warehouse: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(empty_warehouse, path)
    monkeypatch.setenv("CPIP_DB", str(path))
    # The KPI mart is another module's: not rebuilt here.
    monkeypatch.setattr(etl.ingest.write, "rebuild_kpis", lambda con, sources: None)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_load_good_files_exits_0_and_prints_each_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "load",
        "--as-of",
        "2023-09-29",
        str(FIXTURES / "assessments_excel.csv"),
        str(FIXTURES / "organisation.csv"),
    )
    assert code == 0
    assert out.splitlines() == [
        "assessments_excel.csv: assessments: loaded (load 2): 3 rows read: 3 added, 0 replaced, 0 unchanged,"
        " 0 rejected, 1 warning; periods 2023-06 to 2023-07; columns not in the contract dropped: Child Name,"
        " Address, Date of Birth",
        "assessments_excel.csv: line 3: assessment_completed_date: warning: assessment still open 58 working days"
        " after it started (more than 45) at the as-of date 2023-09-29",
        "organisation.csv: organisation: loaded (load 1): 3 rows read: 3 added, 0 replaced, 0 unchanged,"
        " 0 rejected, 0 warnings",
    ]


def test_load_with_errors_exits_non_zero_and_lists_every_rejected_row(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "load", "--as-of", "2023-09-29", str(FIXTURES / "organisation.csv"))
    code, out, _ = run(capsys, "load", "--as-of", "2023-09-29", str(FIXTURES / "assessments_errors.csv"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("assessments_errors.csv: assessments: refused, nothing loaded (load 2): 9 of 11 rows")
    # Findings of one kind are grouped: one line each, with its first lines.
    assert lines[1] == (
        "assessments_errors.csv: assessment_start_date: 2 rows: impossible date: no such day"
        " (dates are day first: 31/07/2023) (lines 2, 10)"
    )
    assert lines[2] == (
        "assessments_errors.csv: line 3: assessment_start_date: not a date: write dates as 2023-07-31 or 31/07/2023"
        " (value 'yesterday')"
    )
    assert len(lines) == 1 + 7 + 1  # summary, 9 errors of 7 kinds, 1 warning

    code, out, _ = run(
        capsys, "load", "--as-of", "2023-09-29", "--valid-rows-only", str(FIXTURES / "assessments_errors.csv")
    )
    assert code == 0
    assert out.splitlines()[0].startswith("assessments_errors.csv: assessments: loaded valid rows only (load 3)")


def test_findings_of_one_kind_are_grouped_and_the_load_log_keeps_them_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "load", "--as-of", "2023-09-29", str(FIXTURES / "organisation.csv"))
    rows = [f"C{i},{'Team X' if i % 3 else 'Team Y'},{1 + i % 28:02d}/07/2023" for i in range(12)]
    path = tmp_path / "referrals.csv"
    path.write_text("child_id,team,referral_date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "load", "--as-of", "2023-09-29", str(path))
    assert code == 1
    assert out.splitlines()[1:] == [
        "referrals.csv: team: 12 rows name 2 teams that are not in the organisation reference: Team Y, Team X"
        " (lines 2, 3, 4, 5, 6 and 7 more; all of them: cpip loads --findings 2)"
    ]
    code, out, _ = run(capsys, "loads", "--findings", "2")
    assert code == 0
    assert len(out.splitlines()) == 1 + 12
    code, out, _ = run(capsys, "teams", "--unknown", str(path))
    assert (code, out.splitlines()) == (0, ["team,service,area", "Team Y,,", "Team X,,"])


def test_unreadable_file_exits_non_zero_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "load", "--as-of", "2023-09-29", str(FIXTURES / "workbook.csv"))
    assert code == 1
    assert out.splitlines() == [
        "workbook.csv: unrecognised file: refused, nothing loaded (load 1)",
        "workbook.csv: this is an Excel workbook or a zip file, not a CSV: save it from Excel as"
        " 'CSV UTF-8 (Comma delimited)'",
    ]


def test_loads_and_undo(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "load", "--as-of", "2023-09-29", str(FIXTURES / "organisation.csv"))
    run(capsys, "load", "--as-of", "2023-09-29", str(FIXTURES / "assessments_excel.csv"))
    code, out, _ = run(capsys, "loads")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("load_id,loaded_at,loaded_by,file_name,content_hash,extract_type,as_of,rows_read")
    assert [line.split(",")[3] for line in lines[1:]] == ["organisation.csv", "assessments_excel.csv"]

    code, out, _ = run(capsys, "undo", "2")
    assert code == 0
    assert (
        out.strip()
        == "load 2 (assessments_excel.csv, assessments) undone: 3 records removed, 0 earlier records restored"
    )
    code, out, err = run(capsys, "undo", "2")
    assert code == 1
    assert err.startswith("cpip undo: load 2 (assessments_excel.csv) was already undone on ")
    assert len(err.strip().splitlines()) == 1


def test_the_cpip_command_in_its_own_process(tmp_path: Path, db: Path) -> None:
    """The real command, as an analyst runs it: the KPI mart is rebuilt for real here."""
    result = subprocess.run(
        [
            sys.executable, "-m", "cpip.cli", "load", "--as-of", "2023-09-29",
            str(FIXTURES / "organisation.csv"), str(FIXTURES / "binary.csv"),
        ],
        capture_output=True, text=True, env={**os.environ, "CPIP_DB": str(db)}, cwd=Path(__file__).parent.parent,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "organisation.csv: organisation: loaded (load 1): 3 rows read: 3 added, 0 replaced, 0 unchanged,"
        " 0 rejected, 0 warnings",
        "binary.csv: unrecognised file: refused, nothing loaded (load 2)",
        "binary.csv: this is a binary file, not a CSV text file",
    ]
    assert result.stderr == ""


def _referrals(folder: Path, name: str, *rows: tuple[str, str]) -> Path:
    path = folder / name
    path.write_text("child_id,team,referral_date\n" + "".join(f"{c},North Assessment,{d}\n" for c, d in rows))
    return path


def test_a_dry_run_names_the_figures_it_would_change_and_loads_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(etl.ingest.write, "rebuild_kpis", REBUILD)
    assert run(capsys, "load", "--as-of", "2023-04-01", str(FIXTURES / "organisation.csv"))[0] == 0
    # R1 referred 3 and 10 July: the second is a re-referral. July: 1 of 2.
    first = _referrals(tmp_path, "july.csv", ("R1", "2023-07-03"), ("R1", "2023-07-10"))
    assert run(capsys, "load", "--as-of", "2023-07-31", str(first))[0] == 0
    # The corrected list, the whole truth for July, no longer holds the 10 July referral: July 0 of 1.
    corrected = _referrals(tmp_path, "corrected.csv", ("R1", "2023-07-03"))
    code, out, _ = run(
        capsys, "load", "--as-of", "2023-08-01", "--window", "2023-07-01:2023-07-31", "--dry-run", str(corrected)
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "corrected.csv: referrals: preview: 1 row read: 0 added, 0 replaced, 1 unchanged (1 re-dated to the as-of"
        " date), 0 rejected, 1 warning; 1 record held from earlier loads is not in this list, which covers"
        " 1 Jul 2023 to 31 Jul 2023: retired; periods 2023-07 to 2023-07; taken as every referral from 1 Jul 2023"
        " to 31 Jul 2023"
    )
    assert "1 figure would change (authority):" in lines
    assert "  rereferrals_12m 2023-07: 1/2 (50.0%) -> 0/1 (0.0%)" in lines
    assert lines[-1] == "dry run: nothing was loaded"
    code, out, _ = run(capsys, "loads")
    assert "corrected.csv" not in out
    # Loaded for real, then undone: July is 1 of 2 again.
    assert run(capsys, "load", "--as-of", "2023-08-01", "--window", "2023-07-01:2023-07-31", str(corrected))[0] == 0
    code, out, _ = run(capsys, "undo", "3")
    assert out.startswith("load 3 (corrected.csv, referrals) undone: 0 records removed, 1 earlier record restored")


def test_a_window_that_is_not_two_dates_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["load", "--window", "2023-07-31", str(FIXTURES / "organisation.csv")])
    assert "is not two dates like 2023-04-01:2023-07-31" in capsys.readouterr().err


def test_children_of_a_list_with_no_working_days_and_plans_print(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.privacy import access

    monkeypatch.setattr(etl.ingest.write, "rebuild_kpis", REBUILD)
    # The command line has no viewer, even when another test module has put the web app's gate up.
    monkeypatch.setitem(access._web, "gated", False)
    run(capsys, "load", "--as-of", "2023-04-01", str(FIXTURES / "organisation.csv"))
    run(capsys, "load", "--as-of", "2023-07-31", str(_referrals(tmp_path, "r.csv", ("R1", "2023-07-03"))))
    code, out, err = run(capsys, "children", "--metric", "rereferrals_12m", "--period", "2023-07", "--level", "la")
    assert (code, err) == (0, "")
    assert "R1" in out
    code, out, err = run(capsys, "plans")
    assert (code, err) == (0, "")
    assert out.startswith("Practice Action Plans, judged on")
