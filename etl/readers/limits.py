"""A workbook inspected before it is read: how big it is once unpacked, how many cells it holds, and
nothing in it that an XML parser could be made to follow.

An .xlsx is a zip of XML parts, and the 50 MB upload cap is on the compressed bytes: a 1 MB file can
unpack to gigabytes (a zip bomb), and python-calamine reads a whole sheet, and every shared string, into
memory. So before calamine opens a workbook we look at it in bounded memory:

- zipfile's own metadata (each part's declared uncompressed size), refused over the size cap at once;
- one streaming pass over every XML part, a megabyte at a time, never a whole part in memory: the real
  unpacked bytes (zipfile stops at the declared size and checks the CRC, so a part that lies about its size
  is refused as damaged), any document type declaration (`<!DOCTYPE`, `<!ENTITY`: the billion-laughs and
  XXE attacks; Excel never writes one), each sheet's `<dimension>` and the cells it really holds, and the
  shared strings' `count` / `uniqueCount`.

Macros (`xl/vbaProject.bin`) and external links (`xl/externalLinks/`) are never run or fetched: calamine
reads cell values (a linked cell's value as last saved) and nothing else, and neither part is an XML part
we parse.

The caps are settings: `CPIP_WORKBOOK_MAX_MB` (default 200, unpacked) and `CPIP_WORKBOOK_MAX_CELLS`
(default 5,000,000, all sheets together).
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from etl.readers.read import ExtractFileError

MAX_MB_SETTING, MAX_CELLS_SETTING = "CPIP_WORKBOOK_MAX_MB", "CPIP_WORKBOOK_MAX_CELLS"
DEFAULT_MAX_MB, DEFAULT_MAX_CELLS = 200, 5_000_000
MAX_PARTS = 10_000  # a county's Annex A workbook has about fifty
_CHUNK = 1 << 20
_CARRY = 32  # bytes kept from the previous chunk, so a tag split across two chunks is still seen

_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
_ROOT_PREFIX = re.compile(rb"<(\w+:)?worksheet\b")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?\"")
_SST_COUNT = re.compile(rb"<(?:\w+:)?sst\b[^>]*?\bcount=\"(\d+)\"")
_SST_UNIQUE = re.compile(rb"<(?:\w+:)?sst\b[^>]*?\buniqueCount=\"(\d+)\"")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_cells: int

    @property
    def max_mb(self) -> int:
        return self.max_bytes // 1_000_000


def limits() -> Limits:
    """The caps in force (the settings, else the defaults)."""
    return Limits(_setting(MAX_MB_SETTING, DEFAULT_MAX_MB) * 1_000_000, _setting(MAX_CELLS_SETTING, DEFAULT_MAX_CELLS))


def _setting(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip().replace(",", "").replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise ExtractFileError(f"the setting {name} is '{os.environ[name]}', not a whole number above 0")
    return int(text)


def check_workbook(path: str | Path, caps: Limits | None = None) -> None:
    """Refuse (ExtractFileError, one sentence naming the cap) a workbook too big to read safely or one
    that declares XML entities; return quietly for one calamine may read."""
    caps = caps or limits()
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ExtractFileError("the workbook cannot be read: it is not a complete .xlsx (zip) file") from None
    with book:
        parts = book.infolist()
        if len(parts) > MAX_PARTS:
            raise ExtractFileError(
                f"the workbook has {len(parts):,} parts inside it, more than a workbook has ({MAX_PARTS:,}): refused"
            )
        declared = sum(p.file_size for p in parts)
        if declared > caps.max_bytes:
            raise ExtractFileError(_too_big(declared, caps))
        unpacked = cells = 0
        for part in parts:
            name = part.filename
            if not name.lower().endswith((".xml", ".rels", ".vml")) or part.is_dir():
                continue  # pictures, printer settings, macros (never run): not parsed by anyone
            is_sheet = name.startswith("xl/worksheets/") and name.count("/") == 2
            seen = _scan(book, part, caps, unpacked, sheet=is_sheet, shared=name == "xl/sharedStrings.xml")
            unpacked += seen.size
            cells += seen.cells
            if cells > caps.max_cells:
                raise ExtractFileError(_too_many(cells, caps))


@dataclass
class _Seen:
    size: int = 0
    cells: int = 0


def _scan(book: zipfile.ZipFile, part: zipfile.ZipInfo, caps: Limits, before: int, *, sheet: bool, shared: bool):
    """One part, streamed: its real size, its cells (a sheet), its declared counts (a sheet, the shared strings)."""
    seen = _Seen()
    carry = b""
    first = True
    tags: tuple[bytes, ...] = ()
    try:
        with book.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                seen.size += len(chunk)
                if before + seen.size > caps.max_bytes:
                    raise ExtractFileError(_too_big(before + seen.size, caps))
                window = carry + chunk
                # One pass for `<!` (rare in a workbook's XML), then the declarations themselves.
                if b"<!" in window and any(declaration in window for declaration in _DECLARATIONS):
                    raise ExtractFileError(
                        f"the workbook's part {part.filename} declares XML entities (a document type), which Excel"
                        " never writes and which can make a reader expand it without end or read other files:"
                        " refused; save the workbook again from Excel"
                    )
                if first:
                    _check_declared(window, part.filename, caps, sheet=sheet, shared=shared)
                    first = False
                    # A cell is `<c ...>` (or `<x:c ...>` where the sheet's elements carry a prefix).
                    root = _ROOT_PREFIX.search(window)
                    prefix = root[1] if root and root[1] else b""
                    tags = (b"<" + prefix + b"c ", b"<" + prefix + b"c>")
                if sheet:
                    # bytes.count, not a regular expression: a 200 MB sheet is counted in a fraction of a second.
                    # Tags wholly inside the carried bytes were counted with the previous chunk.
                    seen.cells += sum(window.count(tag) - carry.count(tag) for tag in tags)
                    if seen.cells > caps.max_cells:
                        raise ExtractFileError(_too_many(seen.cells, caps))
                carry = window[-_CARRY:]
    except (zipfile.BadZipFile, EOFError, NotImplementedError, OSError, RuntimeError) as exc:
        raise ExtractFileError(
            f"the workbook cannot be read: its part {part.filename} is damaged or packed in a way Excel does not use"
            f" ({exc})"
        ) from None
    return seen


def _check_declared(head: bytes, name: str, caps: Limits, *, sheet: bool, shared: bool) -> None:
    """What the part says of itself in its first bytes: a sheet's used range, the shared strings' counts."""
    # The schema puts `<dimension>` before `<sheetData>`: search no further than that.
    data = head.find(b"sheetData")
    if sheet and (found := _DIMENSION.search(head, 0, data if data >= 0 else len(head))):
        first_col, first_row, last_col, last_row = (g.decode() if g else "" for g in found.groups())
        if last_row and last_col:
            rows = int(last_row) - int(first_row or 1) + 1
            columns = _column_number(last_col) - _column_number(first_col or "A") + 1
            if rows * columns > caps.max_cells:
                raise ExtractFileError(
                    f"a sheet of the workbook spans {rows:,} rows by {columns:,} columns ({rows * columns:,} cells),"
                    f" over the limit of {caps.max_cells:,} cells ({MAX_CELLS_SETTING}): split the workbook or"
                    " save the lists as CSV files"
                )
    if shared:
        for pattern in (_SST_COUNT, _SST_UNIQUE):
            found = pattern.search(head)
            if found and int(found[1]) > caps.max_cells:
                raise ExtractFileError(
                    f"the workbook declares {int(found[1]):,} shared text values, over the limit of"
                    f" {caps.max_cells:,} cells ({MAX_CELLS_SETTING}): split the workbook or save the lists as"
                    " CSV files"
                )


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _too_big(size: int, caps: Limits) -> str:
    return (
        f"the workbook unpacks to more than {caps.max_mb:,} MB (at least {size / 1e6:,.0f} MB), over the limit of"
        f" {caps.max_mb:,} MB for a workbook once unpacked ({MAX_MB_SETTING}): refused unread; save the lists as CSV"
        " files, or raise the limit if the workbook is genuine"
    )


def _too_many(cells: int, caps: Limits) -> str:
    return (
        f"the workbook holds more than {caps.max_cells:,} cells (at least {cells:,}), over the limit of"
        f" {caps.max_cells:,} cells for a workbook ({MAX_CELLS_SETTING}): refused unread; split the workbook or save"
        " the lists as CSV files"
    )
