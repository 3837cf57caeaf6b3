"""Issue 21's file-side findings: nothing leaks, nothing breaks, nothing grows without bound.

- a workbook is inspected before it is read: a zip bomb, a workbook over the cell cap, an XXE or billion-laughs
  workbook are refused with a sentence (and a load-log entry), in bounded memory;
- a file whose first row is a child's details (no header) is refused without keeping any of them;
- a full disk stops a load with a sentence, leaves no half-written copy, and the old warehouse serves on;
- a workbook with one bad list loads nothing, unless its good lists are asked for.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from kpi_helpers import new_warehouse

from cpip.cli import main
from etl.ingest.load import load_files, load_log
from etl.store import warehouse

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2023, 7, 31)


def _bench():
    """benchmarks/workbook_limits.py writes the bomb and the large workbook; the tests use the same files."""
    spec = importlib.util.spec_from_file_location("workbook_limits", ROOT / "benchmarks" / "workbook_limits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = new_warehouse(tmp_path)
    monkeypatch.setenv("CPIP_DB", str(path))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def with_part(path: Path, name: str, text: bytes) -> Path:
    """The workbook at `path` with part `name` replaced by `text` (an attacker's edit of a real .xlsx)."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts[name] = text
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for part, data in parts.items():
            out.writestr(part, data)
    return path


LIST9 = [
    ["Child Unique ID", "Date of Birth", "Allocated Team", "Latest Pathway Plan Review Date"],
    ["L1", datetime(2004, 1, 1), "Team C", datetime(2023, 3, 1)],
]
LIST3_BAD = [
    ["Child Unique ID", "Date of Referral", "Allocated Team"],
    ["R1", datetime(2023, 7, 3), "Team A"],
    ["R2", "31/02/2023", "Team A"],  # no such day: this list is refused
]


# --- workbooks inspected before they are read --------------------------------------------------------


def test_a_zip_bomb_is_refused_naming_the_cap_within_a_1_gib_address_space(tmp_path: Path) -> None:
    # About 1 MB on disk, one cell of 1 GiB once unpacked: calamine alone would need several GiB for it.
    bomb = _bench().write_bomb(tmp_path / "bomb.xlsx", 1024)
    assert bomb.stat().st_size < 2_000_000
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from etl.readers.read import ExtractFileError\n"
        "from etl.readers.workbook import Workbook\n"
        "try:\n"
        "    Workbook(sys.argv[1])\n"
        "except ExtractFileError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "over the limit of 200 MB for a workbook once unpacked (CPIP_WORKBOOK_MAX_MB)" in result.stdout


def test_a_bomb_loaded_is_refused_with_a_sentence_and_a_load_log_entry(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The cap is a setting: 1 MB here, and a 3 MB cell is over it.
    monkeypatch.setenv("CPIP_WORKBOOK_MAX_MB", "1")
    bomb = _bench().write_bomb(tmp_path / "small-bomb.xlsx", 3)
    code, out = cli(capsys, "load", "--as-of", "2023-07-31", str(bomb))
    assert code == 1
    assert "small-bomb.xlsx: unrecognised file: refused, nothing loaded (load 2)" in out
    assert "over the limit of 1 MB for a workbook once unpacked (CPIP_WORKBOOK_MAX_MB)" in out
    log = load_log(db)
    assert log[["file_name", "outcome"]].values.tolist()[-1] == ["small-bomb.xlsx", "refused"]


def test_a_workbook_over_the_cell_cap_is_refused_naming_the_cap(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPIP_WORKBOOK_MAX_CELLS", "10")
    # List 9 with 3 children: 4 rows of 4 cells, 16 cells, over a cap of 10; with a cap of 16 it loads.
    rows = [*LIST9, ["L2", datetime(2004, 1, 1), "Team C", datetime(2023, 3, 1)]]
    rows.append(["L3", datetime(2004, 1, 1), "Team C", datetime(2023, 3, 1)])
    path = workbook(tmp_path / "big.xlsx", {"List 9": rows})
    [report] = load_files([path], as_of=AS_OF, who="tester", db=db)
    assert report.outcome == "refused"
    assert "a sheet of the workbook spans 4 rows by 4 columns (16 cells), over the limit of 10 cells" in (
        report.findings[0].reason
    )
    monkeypatch.setenv("CPIP_WORKBOOK_MAX_CELLS", "16")
    [report] = load_files([path], as_of=AS_OF, who="tester", db=db)
    assert (report.outcome, report.rows_read) == ("loaded", 3)


def test_cells_are_counted_even_when_the_sheet_hides_its_dimension(tmp_path: Path, monkeypatch) -> None:
    from etl.readers.limits import check_workbook
    from etl.readers.read import ExtractFileError

    monkeypatch.setenv("CPIP_WORKBOOK_MAX_CELLS", "10")
    path = workbook(tmp_path / "sly.xlsx", {"List 9": [*LIST9, *[list(LIST9[1])] * 2]})
    with zipfile.ZipFile(path) as book:
        sheet = book.read("xl/worksheets/sheet1.xml")
    # The same 16 cells, the <dimension> saying A1 alone.
    path = with_part(path, "xl/worksheets/sheet1.xml", re.sub(rb"<dimension [^>]*>", b'<dimension ref="A1"/>', sheet))
    with zipfile.ZipFile(path) as book:
        assert b'<dimension ref="A1"/>' in book.read("xl/worksheets/sheet1.xml")
    with pytest.raises(ExtractFileError, match=r"holds more than 10 cells \(at least 16\)"):
        check_workbook(path)


def test_shared_strings_declaring_more_than_the_cap_are_refused(tmp_path: Path, monkeypatch) -> None:
    from etl.readers.limits import check_workbook
    from etl.readers.read import ExtractFileError

    monkeypatch.setenv("CPIP_WORKBOOK_MAX_CELLS", "1000")
    path = workbook(tmp_path / "strings.xlsx", {"List 9": LIST9})
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    path = with_part(
        path, "xl/sharedStrings.xml", b"<sst " + ns + b' count="5000" uniqueCount="2000"><si><t>a</t></si></sst>'
    )
    with pytest.raises(ExtractFileError, match=r"declares 5,000 shared text values, over the limit of 1,000 cells"):
        check_workbook(path)


@pytest.mark.parametrize(
    ("kind", "doctype"),
    [
        ("xxe", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
        ("laughs", b'<!DOCTYPE x [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'),
    ],
)
def test_an_xxe_or_billion_laughs_workbook_is_refused_with_a_sentence_and_a_log_entry(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, doctype: bytes
) -> None:
    path = workbook(tmp_path / f"{kind}.xlsx", {"List 9": LIST9})
    with zipfile.ZipFile(path) as book:
        sheet = book.read("xl/worksheets/sheet1.xml")
    head, _, body = sheet.partition(b"?>")
    with_part(path, "xl/worksheets/sheet1.xml", head + b"?>" + doctype + body)
    code, out = cli(capsys, "load", "--as-of", "2023-07-31", str(path))
    assert code == 1
    assert "unexpected error" not in out and "XmlError" not in out
    assert f"{kind}.xlsx: the workbook's part xl/worksheets/sheet1.xml declares XML entities" in out
    assert load_log(db)[["file_name", "outcome"]].values.tolist()[-1] == [f"{kind}.xlsx", "refused"]


def test_the_data_page_check_ends_with_the_cap_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import importlib

    from dashboard.components import data_report

    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
    importlib.import_module("app")
    page = importlib.import_module("dashboard.pages.data")
    db = new_warehouse(tmp_path)
    monkeypatch.setenv("CPIP_DB", str(db))
    monkeypatch.setenv("CPIP_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("CPIP_WORKBOOK_MAX_MB", "1")
    bomb = _bench().write_bomb(tmp_path / "bomb.xlsx", 3)
    contents = "data:application/vnd.ms-excel;base64," + base64.b64encode(bomb.read_bytes()).decode()
    staged, _, _ = page.save_uploads([{"name": "bomb.xlsx", "contents": contents}])
    progress: list[tuple] = []
    [preview] = page.check_staged(staged, as_of=AS_OF, set_progress=progress.append)
    assert data_report.file_status(preview) == "refused"
    assert progress[-1][0] == 100  # the bar ends: the check is over, not spinning
    assert "over the limit of 1 MB for a workbook once unpacked (CPIP_WORKBOOK_MAX_MB)" in str(preview)


# --- a file with no header keeps nothing of its first row ---------------------------------------------

CHILD = ["PH1", "Zebedee", "Quillfeather", "14/03/2012", "17 Acacia Avenue", "BN1 9QZ", "White British"]


def test_a_file_with_no_header_is_refused_without_keeping_the_childs_details(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "children.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [CHILD, ["PH2", "Ada", "Lovelace", "10/12/2011", "1 St James Square", "SW1Y 4JU", "White British"]]
        )
    code, out = cli(capsys, "load", "--as-of", "2023-07-31", str(path))
    assert code == 1
    # The column count is named; no cell of the row is.
    assert "(the first row has 7 filled columns, none of them a column" in out
    personal = CHILD[1:]
    assert [value for value in personal if value in out] == []
    # Every column of every table of the warehouse, as text: none holds any of the child's details.
    found = []
    with warehouse.reading(db) as con:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            for value in personal:
                [(n,)] = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?', [f"%{value}%"]
                ).fetchall()
                if n:
                    found.append((table, column, value))
    assert len(columns) > 50  # every table, the load log's included
    assert found == []


# --- a full disk ----------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 24 MB tmpfs (root only: the tests run as root here and in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave_mb: int) -> None:
    """Fill the disk but `leave_mb` MB."""
    import shutil

    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * max(free - leave_mb * 1024 * 1024, 0))


def _referrals(path: Path) -> Path:
    path.write_text("child_id,team,referral_date\nR1,Team A,03/07/2023\n", encoding="utf-8")
    return path


def test_a_full_disk_stops_the_load_with_a_sentence_and_the_old_warehouse_serves(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_warehouse(small_disk)
    monkeypatch.setenv("CPIP_DB", str(db))
    before = sorted(p.name for p in small_disk.iterdir())
    _fill(small_disk, leave_mb=3)
    code, out = cli(capsys, "load", "--as-of", "2023-07-31", str(_referrals(tmp_path / "referrals.csv")))
    assert code == 1
    size_mb = -(-db.stat().st_size // (1024 * 1024))
    # The copy (the warehouse's size) and 16 MB of room for the load's writes; 3 MB (or a little less) free.
    assert f"not enough disk space for the load: about {size_mb + 16} MB needed, " in out
    assert " MB free on " in out and "the warehouse is unchanged" in out and "cpip load: 28" not in out
    assert sorted(p.name for p in small_disk.iterdir() if p.name != "filler") == before  # no .tmp left
    with warehouse.reading(db) as con:  # the pages' reads: the old warehouse, as it was
        assert con.execute("SELECT count(*) FROM organisation").fetchall() == [(4,)]  # kpi_helpers.ORG's teams
        assert con.execute("SELECT count(*) FROM referrals").fetchall() == [(0,)]


def test_a_disk_that_fills_during_the_copy_leaves_no_copy_behind(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = new_warehouse(small_disk)
    monkeypatch.setenv("CPIP_DB", str(db))
    before = sorted(p.name for p in small_disk.iterdir())
    # Another process takes the room between the check and the copy: the copy itself runs out of space.
    monkeypatch.setattr(warehouse, "_check_room", lambda live: None, raising=False)
    _fill(small_disk, leave_mb=1)
    for _ in range(2):  # a retry makes no second copy either
        code, out = cli(capsys, "load", "--as-of", "2023-07-31", str(_referrals(tmp_path / "referrals.csv")))
        assert code == 1
        assert "not enough disk space for the load: about" in out and "cpip load: 28" not in out
        assert sorted(p.name for p in small_disk.iterdir() if p.name != "filler") == before
    with warehouse.reading(db) as con:
        assert con.execute("SELECT count(*) FROM organisation").fetchall() == [(4,)]  # kpi_helpers.ORG's teams


# --- a workbook is all or nothing -------------------------------------------------------------------------


def test_a_workbook_with_a_bad_list_loads_nothing_unless_its_good_lists_are_asked_for(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workbook(tmp_path / "annex.xlsx", {"List 9": LIST9, "List 3": LIST3_BAD})
    code, out = cli(capsys, "load", "--as-of", "2023-07-31", str(path))
    assert code == 1
    assert "annex.xlsx, sheet 'List 9': care_leavers: refused, nothing loaded (load 2)" in out
    assert "annex.xlsx, sheet 'List 3': referrals: refused, nothing loaded (load 3): 1 of 2 rows has errors" in out
    assert (
        "annex.xlsx, sheet 'List 9': not loaded: annex.xlsx, sheet 'List 3' of the same workbook is refused,"
        " and a workbook loads whole or not at all" in out
    )
    with warehouse.reading(db) as con:
        assert con.execute("SELECT count(*) FROM care_leavers").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM referrals").fetchall() == [(0,)]
        # Both lists are in the load log as refused, each with its reason.
        assert con.execute("SELECT load_id, outcome FROM loads WHERE load_id > 1 ORDER BY 1").fetchall() == [
            (2, "refused"),
            (3, "refused"),
        ]
        [(reason,)] = con.execute("SELECT reason FROM load_findings WHERE load_id = 2").fetchall()
        assert reason.startswith("not loaded: annex.xlsx, sheet 'List 3' of the same workbook is refused")

    # Asked for: List 9 loads whole, List 3 its one valid row (R1).
    code, out = cli(capsys, "load", "--as-of", "2023-07-31", "--valid-rows-only", str(path))
    assert code == 0
    assert "annex.xlsx, sheet 'List 9': care_leavers: loaded (load 4)" in out
    assert "annex.xlsx, sheet 'List 3': referrals: loaded valid rows only (load 5)" in out
    with warehouse.reading(db) as con:
        assert con.execute("SELECT child_id FROM care_leavers").fetchall() == [("L1",)]
        assert con.execute("SELECT child_id FROM referrals").fetchall() == [("R1",)]


def test_a_workbook_whose_lists_are_all_good_loads_them_all(db: Path, tmp_path: Path) -> None:
    good3 = LIST3_BAD[:2]
    path = workbook(tmp_path / "annex.xlsx", {"List 9": LIST9, "List 3": good3})
    reports = load_files([path], as_of=AS_OF, who="tester", db=db)
    assert [(r.outcome, r.rows_read) for r in reports] == [("loaded", 1), ("loaded", 1)]


def test_on_a_full_disk_notes_and_the_access_log_still_read_and_a_child_list_says_why_it_is_not_shown(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etl.people import notes
    from etl.privacy import access, access_log

    monkeypatch.setattr(access, "_web", {"gated": False})  # run as the command line, whatever test built the app
    db = new_warehouse(small_disk)
    monkeypatch.setenv("CPIP_DB", str(db))
    notes.add_event("seen_5wd", "2023-07-03", "New front door", author="a.lead", db=db)
    access_log.record(who="a.lead", role="analyst", list_name="/kpi/seen_5wd/children", fmt="html", children=2, db=db)
    _fill(small_disk, leave_mb=0)
    # Reads (every page's notes, the data page's access log) carry on from the files as they are.
    assert "New front door" in [e.label for e in notes.events_for("seen_5wd", db=db)]  # beside metrics.yml's
    assert access_log.entries(db)["who"].tolist() == ["a.lead"]
    # A view that must be recorded is refused with a sentence, not a 500.
    with pytest.raises(access_log.AccessLogUnavailable, match=r"the access log, .* cannot be written"):
        access_log.record(who="b", role="analyst", list_name="/kpi/seen_5wd/children", fmt="csv", children=2, db=db)


def test_a_workbook_is_all_or_nothing_on_either_engine(tmp_path: Path, new_target) -> None:
    target = new_warehouse(new_target(tmp_path))
    path = workbook(tmp_path / "annex.xlsx", {"List 9": LIST9, "List 3": LIST3_BAD})
    good, bad = load_files([path], as_of=AS_OF, who="tester", db=target)
    assert (good.outcome, bad.outcome) == ("refused", "refused")
    assert good.summary() == f"annex.xlsx, sheet 'List 9': care_leavers: refused, nothing loaded (load {good.load_id})"
    with warehouse.reading(target) as con:
        assert con.execute("SELECT count(*) FROM care_leavers").fetchall() == [(0,)]
        assert con.execute("SELECT file_name, outcome FROM loads WHERE load_id > 1 ORDER BY load_id").fetchall() == [
            ("annex.xlsx, sheet 'List 9'", "refused"),
            ("annex.xlsx, sheet 'List 3'", "refused"),
        ]
    good, bad = load_files([path], as_of=AS_OF, who="tester", db=target, valid_rows_only=True)
    assert (good.outcome, bad.outcome) == ("loaded", "loaded valid rows only")
    with warehouse.reading(target) as con:
        assert con.execute("SELECT child_id FROM care_leavers").fetchall() == [("L1",)]
        assert con.execute("SELECT child_id FROM referrals").fetchall() == [("R1",)]
