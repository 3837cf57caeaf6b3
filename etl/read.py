"""Reading an extract file: is it a CSV we can read, which extract type is it,
and its declared columns staged as text in DuckDB.

The fast path is DuckDB's own `read_csv` with every column given explicitly as
VARCHAR (no type guessing); validation and casting then happen in SQL over the
whole set (etl.validate). Columns the contract does not declare are never
selected, so a name or address column never gets further than the parser.

Everything that is wrong with a file as a whole raises `ExtractFileError`
with one line an analyst can act on, never a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from etl.contract import EXTRACT_TYPES, ExtractType, normalise_header

_CHUNK = 8 * 1024 * 1024
_EXCEL_HINT = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"


class ExtractFileError(ValueError):
    """The file as a whole cannot be loaded; the message is one line. `extract_type`
    names the type the header was recognised as, when it was."""

    def __init__(self, message: str, extract_type: str | None = None) -> None:
        super().__init__(message)
        self.extract_type = extract_type


@dataclass
class ExtractFile:
    """What we know about a file before reading its rows."""

    path: Path
    content_hash: str  # sha256 of the bytes, for the load log
    size: int
    header: list[str]
    # Lines in the file, not counting blank lines at its end. When it is the
    # number of records + 1, record n (from 0) sits on line n + 2.
    lines: int


@dataclass
class Recognised:
    """The extract type a header belongs to, and where each column is."""

    extract: ExtractType
    positions: dict[str, int]  # contract column -> position in the file
    dropped: list[str] = field(default_factory=list)  # headers not in the contract, never stored


def inspect_file(path: str | Path) -> ExtractFile:
    """Hash the file, count its lines and read its header, refusing files that
    are empty, binary or not UTF-8 (one streaming pass over the bytes)."""
    path = Path(path)
    digest = hashlib.sha256()
    size = newlines = 0
    first = b""
    tail = b""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                if not first:
                    first = chunk[: 64 * 1024]
                digest.update(chunk)
                newlines += chunk.count(b"\n")
                size += len(chunk)
                tail = (tail + chunk)[-4096:]
    except IsADirectoryError:
        raise ExtractFileError("is a folder, not a CSV file") from None
    except FileNotFoundError:
        raise ExtractFileError("file not found") from None
    except PermissionError:
        raise ExtractFileError("cannot be read (permission denied)") from None
    if not first.strip():
        raise ExtractFileError("the file is empty")
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractFileError(f"the file is UTF-16 text, not UTF-8: {_EXCEL_HINT}")
    if first.startswith(b"PK\x03\x04"):
        raise ExtractFileError(f"this is an Excel workbook or a zip file, not a CSV: {_EXCEL_HINT}")
    if b"\x00" in first:
        raise ExtractFileError("this is a binary file, not a CSV text file")
    header = _parse_header(first)
    # Blank lines at the end of a file are harmless; inside it they shift line numbers.
    stripped = tail.rstrip(b"\r\n \t")
    trailing_newlines = tail[len(stripped) :].count(b"\n")
    lines = newlines - trailing_newlines + 1
    return ExtractFile(path, digest.hexdigest(), size, header, lines)


def _parse_header(first: bytes) -> list[str]:
    line_end = first.find(b"\n")
    raw = first if line_end < 0 else first[:line_end]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExtractFileError(f"line 1: the header is not UTF-8 text: {_EXCEL_HINT}") from None
    text = text.rstrip("\r")
    if not text.strip():
        raise ExtractFileError("line 1: the header row is blank")
    try:
        header = next(csv.reader([text]))
    except csv.Error as exc:
        raise ExtractFileError(f"line 1: the header row cannot be read ({exc})") from None
    return [h.strip() for h in header]


def recognise(header: list[str]) -> Recognised:
    """The one extract type whose required columns are all in the header.

    Matching ignores case, spaces, underscores and punctuation, and accepts
    each column's aliases. No type, or more than one, is refused."""
    if len(header) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if separator in header[0]:
                raise ExtractFileError(f"line 1: the columns are separated by {name}, not commas: {_EXCEL_HINT}")
    normalised = [normalise_header(h) for h in header]
    fits: list[tuple[ExtractType, dict[str, list[int]]]] = []
    scored = []
    for extract in EXTRACT_TYPES.values():
        found = {c.name: [i for i, n in enumerate(normalised) if n and c.matches(header[i])] for c in extract.columns}
        missing = [c.name for c in extract.columns if c.required and not found[c.name]]
        if not missing:
            fits.append((extract, found))
        present = sum(1 for c in extract.columns if found[c.name])
        scored.append((len(missing), -present, extract.name, missing))
    if not fits:
        _, _, name, missing = min(scored, key=lambda s: (s[0], s[1]))
        raise ExtractFileError(
            f"not a recognised extract: the closest type is {name}, which lacks {', '.join(missing)}"
            f" (the header has: {', '.join(h for h in header if h) or 'nothing'})"
        )
    if len(fits) > 1:
        names = " and ".join(e.name for e, _ in fits)
        raise ExtractFileError(
            f"the header fits more than one extract type ({names}): a file must hold one type;"
            " remove the other type's columns"
        )
    extract, found = fits[0]
    positions: dict[str, int] = {}
    for column, where in found.items():
        if len(where) > 1:
            both = " and ".join(f"'{header[i]}'" for i in where)
            raise ExtractFileError(f"line 1: columns {both} both give {column}: keep one", extract.name)
        if where:
            positions[column] = where[0]
    used = set(positions.values())
    dropped = [h for i, h in enumerate(header) if i not in used and h]
    return Recognised(extract, positions, dropped)


def _csv_error(exc: duckdb.Error) -> ExtractFileError:
    """DuckDB's many-line CSV error as one line an analyst can act on."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = f"line {line[1]}: " if line else ""
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if columns:
        return ExtractFileError(
            f"{where}{columns[2]} values where the header has {columns[1]} columns (a ragged row): "
            "the file is not a clean CSV"
        )
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return ExtractFileError(f"{where}not UTF-8 text: {_EXCEL_HINT}")
    if "unterminated quote" in text.lower():
        return ExtractFileError(f"{where}a quoted value is never closed: the file is not a clean CSV")
    first = next((s.strip() for s in text.splitlines() if s.strip()), exc.__class__.__name__)
    first = first.removeprefix("Invalid Input Error: ")
    return ExtractFileError(f"{where}the file cannot be read as CSV ({first})")


def stage(con: duckdb.DuckDBPyConnection, file: ExtractFile, recognised: Recognised, table: str = "stage") -> int:
    """Read the file's declared columns as trimmed text: temporary view
    `table(line, <contract columns>)` over table `<table>_raw`; blank rows are
    dropped. Returns the rows read.

    Line numbers: the header is line 1, the first record line 2."""
    extract = recognised.extract
    all_columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(file.header)))
    picked = []
    for column in extract.columns:
        if column.name in recognised.positions:
            picked.append(f"NULLIF(trim(c{recognised.positions[column.name]}), '') AS \"{column.name}\"")
        else:
            picked.append(f'CAST(NULL AS VARCHAR) AS "{column.name}"')
    # Excel leaves rows of bare commas after the data; they are not records.
    blank = " AND ".join(f"NULLIF(trim(c{i}), '') IS NULL" for i in range(len(file.header)))
    con.execute("SET enable_progress_bar = false")  # progress is ours to report, not DuckDB's on the terminal
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE "{table}_raw" AS
            SELECT {", ".join(picked)}, ({blank}) AS _blank
            FROM read_csv(?, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
                          strict_mode = true, null_padding = false, encoding = 'utf-8',
                          columns = {{{all_columns}}})
            """,
            [str(file.path)],
        )
    except duckdb.Error as exc:
        raise _csv_error(exc) from None
    records = con.execute(f'SELECT count(*) FROM "{table}_raw"').fetchall()[0][0]
    names = ", ".join(f'"{c.name}"' for c in extract.columns)
    if records + 1 == file.lines:
        # The usual case: one record a line, and the table keeps the file's order.
        # Inside a transaction DuckDB numbers new rows from a large offset: count from the first.
        line_sql = f'CAST(rowid - (SELECT min(rowid) FROM "{table}_raw") + 2 AS INTEGER)'
        source = f'"{table}_raw"'
    else:
        # Blank lines or line breaks inside quoted values: number records the slow, exact way.
        _register_lines(con, file, records, f"{table}_lines")
        line_sql = "l.line"
        source = (
            f'(SELECT rowid - (SELECT min(rowid) FROM "{table}_raw") AS _rid, * FROM "{table}_raw") r '
            f'JOIN "{table}_lines" l ON l.rid = r._rid'
        )
    # A view, not a copy: validation reads it once into `typed`.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW "{table}" AS
        SELECT {line_sql} AS line, {names} FROM {source} WHERE NOT _blank
        """
    )
    rows = con.execute(f'SELECT count(*) FROM "{table}_raw" WHERE NOT _blank').fetchall()[0][0]
    if rows == 0:
        raise ExtractFileError("the file has a header but no data rows")
    return rows


def _register_lines(con: duckdb.DuckDBPyConnection, file: ExtractFile, records: int, table: str) -> None:
    """The line each record starts on, by Python's csv module (which, like
    DuckDB, skips blank lines); used only for files that need it."""
    starts: list[int] = []
    with open(file.path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        previous_end = 0
        for index, row in enumerate(reader):
            start, previous_end = previous_end + 1, reader.line_num
            if index == 0 or not row:
                continue
            starts.append(start)
    if len(starts) != records:
        raise ExtractFileError("the file's rows cannot be numbered reliably: the file is not a clean CSV")
    numbered = pd.DataFrame({"rid": range(records), "line": starts})
    con.register("_numbered", numbered)
    try:
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT CAST(rid AS BIGINT) AS rid, '
            "CAST(line AS INTEGER) AS line FROM _numbered"
        )
    finally:
        con.unregister("_numbered")
