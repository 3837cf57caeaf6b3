"""The inbox: one pass loads or refuses each file, moves it to processed/ or
rejected/ with a report beside it, never trusts a file name, and only one
pass (or one scheduler) works a folder at a time."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from cpip.cli import main as cpip
from dashboard import inbox_schedule
from etl.ingest import inbox
from etl.ingest.inbox import process_inbox, safe_file_name
from etl.ingest.load import load_log

FIXTURES = Path(__file__).parent / "fixtures" / "data_page"
AS_OF = date(2023, 8, 5)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_target) -> Path:
    """The inbox on both engines (conftest's `engine`)."""
    path = new_target(tmp_path)
    monkeypatch.setenv("CPIP_DB", str(path))
    return path


def _drop(folder: Path, name: str, source: Path | bytes) -> Path:
    target = folder / name
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("assessments.csv", "assessments.csv"),
        ("Assessments July 2023 (v2).csv", "Assessments July 2023 (v2).csv"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.csv", "evil.csv"),
        ("/absolute/path/x.csv", "x.csv"),
        ("..", "file.csv"),
        ("", "file.csv"),
        (".hidden.csv", "hidden.csv"),
        ("a<b>|c?.csv", "a_b_c.csv"),
        ("=cmd|' calc'!A1.csv", "cmd_ calc_A1.csv"),
        ("résumé.csv", "r_sum.csv"),
        ("tab\tand\nnewline.csv", "tab_and_newline.csv"),
    ],
)
def test_safe_file_name(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe


def test_safe_file_name_caps_length_and_keeps_the_extension() -> None:
    long = safe_file_name("x" * 300 + ".csv")
    assert len(long) == 100
    assert long.endswith("xxx.csv")


def test_a_pass_loads_good_files_and_refuses_bad_ones(tmp_path: Path, db: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    _drop(folder, "organisation.csv", FIXTURES / "organisation.csv")
    _drop(folder, "kpi_values_base.csv", FIXTURES / "kpi_values_base.csv")
    _drop(folder, "errors =1;.csv", FIXTURES / "with_errors" / "pathway_plans_july.csv")
    _drop(folder, "notes.txt", b"not an extract\n")
    _drop(folder, "binary.csv", b"\x00\x01\x02\xff\xfe" * 50)
    # Not taken: hidden files and copies still in progress.
    _drop(folder, ".~lock.csv", b"x")
    _drop(folder, "copying.csv.part", b"x")

    result = process_inbox(folder, who="cron", as_of=AS_OF)

    assert not result.ok  # three files were refused
    lines = result.lines()
    assert len(lines) == 5  # one line per file taken
    by_name = {o.file_name: o for o in result.outcomes}
    assert by_name["organisation.csv"].outcome == "loaded"
    assert by_name["kpi_values_base.csv"].outcome == "loaded"
    assert by_name["errors =1;.csv"].outcome == "refused"
    assert by_name["notes.txt"].outcome == "refused"
    assert by_name["binary.csv"].outcome == "refused"

    # Moved, under sanitised names, with a report beside each; untouched files stay.
    processed = sorted(p.name for p in (folder / "processed").iterdir())
    rejected = sorted(p.name for p in (folder / "rejected").iterdir())
    assert len(processed) == 4 and len(rejected) == 6
    assert any(n.endswith("_organisation.csv") for n in processed)
    assert any(n.endswith("_organisation.csv.report.txt") for n in processed)
    assert any(n.endswith("_errors _1.csv") for n in rejected)
    assert any(n.endswith("_notes.txt.report.txt") for n in rejected)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [".inbox.lock", ".~lock.csv", "copying.csv.part"]

    # The report says what happened, naming the bad rows by line.
    report = by_name["errors =1;.csv"].report_path.read_text(encoding="utf-8")
    assert "file: errors =1;.csv" in report
    assert "outcome: refused" in report
    assert "line 3: numerator" in report  # 60 of 50: numerator above denominator
    assert "line 4: metric_id" in report  # pathway_plan is not a metric
    notes = by_name["notes.txt"].report_path.read_text(encoding="utf-8")
    assert "not a CSV file" in notes

    # The warehouse holds the two good loads, by "cron"; refusals the loader saw are logged too.
    log = load_log(db)
    loaded = log[log["outcome"] == "loaded"]
    assert sorted(loaded["file_name"]) == ["kpi_values_base.csv", "organisation.csv"]
    assert set(loaded["loaded_by"]) == {"cron"}
    assert "notes.txt" not in set(log["file_name"])  # never given to the loader


def test_the_same_file_again_is_processed_as_no_change(tmp_path: Path, db: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    _drop(folder, "organisation.csv", FIXTURES / "organisation.csv")
    process_inbox(folder, who="cron", as_of=AS_OF)
    _drop(folder, "organisation.csv", FIXTURES / "organisation.csv")
    second = process_inbox(folder, who="cron", as_of=AS_OF)
    assert second.ok
    assert [o.outcome for o in second.outcomes] == ["no change"]
    # Two files of the same name in processed/ never overwrite each other.
    kept = [p for p in (folder / "processed").iterdir() if not p.name.endswith(inbox.REPORT_SUFFIX)]
    assert len(kept) == 2


def test_an_empty_inbox_is_fine(tmp_path: Path, db: Path) -> None:
    result = process_inbox(tmp_path, who="cron")
    assert result.ok
    assert result.lines() == [f"inbox: no files waiting in {tmp_path}"]


@pytest.fixture
def duck_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CPIP_DB", str(path))
    return path


def test_the_warehouse_itself_is_never_taken_from_the_folder(tmp_path: Path, duck_db: Path) -> None:
    db = duck_db
    # Someone points the inbox at the data folder: the warehouse and its lock stay where they are.
    assert process_inbox(tmp_path, who="cron").outcomes == []  # the warehouse file is not "waiting"
    _drop(tmp_path, "organisation.csv", FIXTURES / "organisation.csv")
    result = process_inbox(tmp_path, who="cron", as_of=AS_OF)
    assert [o.file_name for o in result.outcomes] == ["organisation.csv"]
    assert db.exists()


def test_a_missing_folder_is_one_clear_error(tmp_path: Path, db: Path) -> None:
    with pytest.raises(ValueError, match="there is no inbox folder"):
        process_inbox(tmp_path / "nowhere", who="cron")


def test_a_second_pass_at_the_same_time_does_nothing(tmp_path: Path, db: Path) -> None:
    _drop(tmp_path, "organisation.csv", FIXTURES / "organisation.csv")
    with open(tmp_path / inbox.LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        result = process_inbox(tmp_path, who="cron")
    assert result.ok
    assert "another pass is already working" in result.lines()[0]
    assert (tmp_path / "organisation.csv").exists()  # left for the pass that holds the lock


def test_cli_inbox_exit_code_and_lines(tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path = tmp_path / "inbox"
    tmp_path.mkdir()
    _drop(tmp_path, "organisation.csv", FIXTURES / "organisation.csv")
    assert cpip(["inbox", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("organisation.csv: ") and "processed/" in out[0]

    _drop(tmp_path, "notes.txt", b"hello")
    assert cpip(["inbox", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    moved = _only(tmp_path / "rejected", "_notes.txt")
    assert out == [
        "notes.txt: refused: not a CSV file, an Excel workbook, a return's XML file (CIN census or SSDA903)"
        " or a zipped SSDA903 return"
        f" (save the extract as CSV UTF-8) -> {moved}"
    ]


def _only(folder: Path, suffix: str) -> str:
    (match,) = [p for p in folder.iterdir() if p.name.endswith(suffix)]
    return f"rejected/{match.name}"


# --- the app's scheduled pass ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"), [("", None), ("0", None), ("-3", None), ("soon", None), ("60", 60.0), ("1", 5.0)]
)
def test_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, seconds: float | None) -> None:
    monkeypatch.setenv("CPIP_INBOX_INTERVAL", value)
    assert inbox_schedule.interval() == seconds


def test_scheduler_is_off_unless_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CPIP_INBOX_INTERVAL", raising=False)
    monkeypatch.setenv("CPIP_INBOX", str(tmp_path))
    assert inbox_schedule.start(None) is False
    assert not (tmp_path / ".scheduler.lock").exists()


def test_scheduler_runs_a_pass_and_only_one_process_runs_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db: Path
) -> None:
    monkeypatch.setenv("CPIP_INBOX_INTERVAL", "30")
    monkeypatch.setenv("CPIP_INBOX", str(tmp_path))
    _drop(tmp_path, "organisation.csv", FIXTURES / "organisation.csv")
    try:
        assert inbox_schedule.start(None) is True
        # Another process (a second gunicorn worker) cannot take the scheduler's lock.
        code = (
            "import sys; from pathlib import Path; from dashboard.inbox_schedule import _take_lock;"
            "sys.exit(0 if _take_lock(Path(sys.argv[1])) is None else 1)"
        )
        assert subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False).returncode == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (tmp_path / "processed").exists():
            time.sleep(0.1)
        processed = [p.name for p in (tmp_path / "processed").iterdir()]
        assert any(n.endswith("_organisation.csv") for n in processed)
    finally:
        inbox_schedule.stop()
    # Once stopped, the lock is free for another process.
    code = (
        "import sys; from pathlib import Path; from dashboard.inbox_schedule import _take_lock;"
        "sys.exit(0 if _take_lock(Path(sys.argv[1])) is not None else 1)"
    )
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False).returncode == 0
