"""The reader registry: which reader reads a file, and the suffixes the upload box and the inbox accept."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from dashboard.components import upload
from etl.readers import registry
from etl.readers.read import Part

ZIP = b"PK\x03\x04" + b"\x00" * 20


def _no_parts(paths: Sequence[Path], names: Sequence[str]) -> Iterator[Part]:
    yield from ()


def _js_accepts(js: str, name: str) -> bool:
    """Whether the browser's filter lets a file of this name through (its regular expression, run here)."""
    pattern = re.search(r"if \(!/(.+?)/i\.test\(name\)\)", js)[1].replace("\\\\", "\\")
    return re.search(pattern, name, flags=re.IGNORECASE) is not None


def test_the_upload_box_accepts_exactly_the_registrys_suffixes() -> None:
    # The SSDA903 return's zip (its CSV tables are CSV files, told apart by their headers; its XML is an XML file).
    assert registry.suffixes() == (".xlsx", ".xlsm", ".xml", ".zip", ".csv")
    content = {
        ".csv": b"child_id,team\nC1,North\n",
        ".xlsx": ZIP,
        ".xlsm": ZIP,
        ".zip": ZIP,
        ".xml": b"<Message></Message>",
    }
    for suffix in registry.suffixes():
        assert upload.precheck(f"extract{suffix.upper()}", content[suffix], limit=1000) is None, suffix
        assert _js_accepts(upload.filter_uploads_js(), f"extract{suffix}")
    for name in ("extract.txt", "extract.xls", "extract.json", "extract.csv.gz", "extract"):
        assert upload.precheck(name, b"child_id\n", limit=1000).startswith(
            "it is not a CSV file, an Excel workbook, a return's XML file (CIN census or SSDA903)"
            " or a zipped SSDA903 return."
        ), name
        assert not _js_accepts(upload.filter_uploads_js(), name), name


def test_a_registered_reader_is_accepted_by_the_upload_box_and_refused_after() -> None:
    reader = registry.Reader("visits", (".hvr",), "a home visit return", _no_parts)
    registry.register(reader)
    try:
        assert upload.precheck("july.hvr", b"HVR1\n", limit=1000) is None
        assert _js_accepts(upload.filter_uploads_js(), "july.HVR")
        assert upload.precheck("july.txt", b"x", limit=1000).startswith(
            "it is not a CSV file, a home visit return, an Excel workbook, a return's XML file (CIN census or SSDA903)"
            " or a zipped SSDA903 return."
        )
    finally:
        registry.unregister(reader)
    assert upload.precheck("july.hvr", b"HVR1\n", limit=1000).startswith(
        "it is not a CSV file, an Excel workbook, a return's XML file (CIN census or SSDA903)"
        " or a zipped SSDA903 return."
    )


def test_a_workbook_is_known_by_its_first_bytes_as_well_as_its_name(tmp_path: Path) -> None:
    book = tmp_path / "annex.XLSM"
    book.write_bytes(ZIP)
    text = tmp_path / "annex.xlsx"
    text.write_text("child_id,team\n", encoding="utf-8")
    other = tmp_path / "extract.txt"
    other.write_text("child_id,team\n", encoding="utf-8")
    assert registry.reader_for(book).name == "workbook"
    # Text under a workbook's name, or any name no reader claims, goes to the CSV reader, which says what is wrong.
    assert registry.reader_for(text).name == "csv"
    assert registry.reader_for(other).name == "csv"


def test_files_given_together_are_gathered_into_one_return_by_their_reader(tmp_path: Path) -> None:
    """A return made of several files (an SSDA903's CSV tables): its reader groups them; others stay alone."""

    def one_return(paths: Sequence[Path]) -> list[list[Path]]:
        return [sorted(paths)]  # every table given is one return

    reader = registry.Reader("tables", (".tbl",), "a return's table", _no_parts, gather=one_return)
    names = ["a.csv", "header.tbl", "b.csv", "episodes.tbl"]
    for name in names:
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    registry.register(reader)
    try:
        groups = registry.gather([tmp_path / n for n in names])
    finally:
        registry.unregister(reader)
    assert [(r.name, positions) for r, positions in groups] == [
        ("csv", [0]),
        ("tables", [3, 1]),  # episodes.tbl, header.tbl sorted by path: one group, placed at its first file
        ("csv", [2]),
    ]
