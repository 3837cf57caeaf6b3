"""Reading an Excel workbook's sheets as rows of cells.

python-calamine (Rust) is the reader: on a county-sized 12-month Annex A workbook it reads the cells
several times faster than openpyxl in read-only mode (benchmarks/annex_a.py measures both). Cells
come back as Python values (str, float, int, bool, date, datetime); `etl.readers.read.cell_text` turns the
ones the contract takes into the text a CSV would hold. Only what a caller asks for is kept: a sheet
no KPI reads is never read past its first rows.

Before calamine opens a workbook, `etl.readers.limits.check_workbook` looks at it in bounded memory and refuses
a zip bomb, a workbook over the size or cell caps, and any XML entity declaration; calamine's own errors on
a damaged sheet become a refusal with the reason, never an unexpected error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from etl.readers.read import ExtractFileError, Part

_CHUNK = 8 * 1024 * 1024


@dataclass
class Sheet:
    name: str
    first_row: int  # the spreadsheet row number of rows[0] (1-based)
    top: list[list[object]]  # the first rows, to find the header in


def is_workbook(path: str | Path) -> bool:
    """An .xlsx (a zip) by its first bytes, whatever the file is called."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PK\x03\x04" and Path(path).suffix.lower() in (".xlsx", ".xlsm")
    except OSError:
        return False


def content_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Workbook:
    """One open workbook; `sheets()` lists each sheet with its first rows, `rows(name)` reads one whole."""

    def __init__(self, path: str | Path) -> None:
        from python_calamine import CalamineWorkbook

        from etl.readers.limits import check_workbook

        self.path = Path(path)
        check_workbook(self.path)  # before calamine inflates anything
        self._sheets: dict[str, object] = {}  # calamine reads a whole sheet at once: each is read only once
        try:
            self._book = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for a damaged file
            raise ExtractFileError(f"the workbook cannot be read ({exc.__class__.__name__}: {exc})") from None

    def sheets(self, top: int) -> Iterator[Sheet]:
        for name in self._book.sheet_names:
            sheet = _refusing(self._sheet, name)
            start = sheet.start or (0, 0)
            rows: list[list[object]] = []
            for row in sheet.iter_rows():
                rows.append(_pad(row, start[1]))
                if len(rows) >= top:
                    break
            yield Sheet(name, start[0] + 1, rows)

    def rows(self, name: str) -> tuple[int, list[list[object]]]:
        """(row number of the first row, every row) of one sheet."""
        sheet = self._sheets.pop(name, None) or _refusing(self._book.get_sheet_by_name, name)
        start = sheet.start or (0, 0)
        rows = _refusing(sheet.to_python, skip_empty_area=True)
        return start[0] + 1, [_pad(row, start[1]) for row in rows] if start[1] else rows

    def _sheet(self, name: str):
        if name not in self._sheets:
            self._sheets[name] = self._book.get_sheet_by_name(name)
        return self._sheets[name]

    def close(self) -> None:
        self._sheets.clear()
        self._book.close()


def _refusing(read, *args, **kwargs):
    """calamine's errors (XmlError on a damaged sheet, and the like) as the file's refusal."""
    try:
        return read(*args, **kwargs)
    except Exception as exc:
        raise ExtractFileError(f"the workbook cannot be read ({exc.__class__.__name__}: {exc})") from None


def _pad(row: list[object], columns_before: int) -> list[object]:
    """A row as if it started in column A (calamine starts at the used area's first column)."""
    return [None] * columns_before + list(row) if columns_before else list(row)


def workbook_parts(paths: Sequence[Path], names: Sequence[str]) -> Iterator[Part]:
    """The workbook reader (etl/readers/registry.py): each sheet one list; a sheet's rows are read only
    when the loader asks for them, while the book is open."""
    from etl.formats.layouts import header_rows
    from etl.readers.read import cell_text

    for path, name in zip(paths, names, strict=True):
        book = Workbook(path)
        digest = content_hash(path)
        try:
            for sheet in book.sheets(header_rows()):
                yield Part(
                    f"{name}, sheet '{sheet.name}'",
                    [[cell_text(c, "text") or "" for c in row] for row in sheet.top],
                    f"{digest}:{sheet.name}",
                    sheet=sheet.name,
                    top_line=sheet.first_row,
                    rows=lambda book=book, sheet_name=sheet.name: book.rows(sheet_name),
                )
        finally:
            book.close()
