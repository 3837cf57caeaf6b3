"""Reading an extract file: is it a CSV we can read, which extract type is it,
and its declared columns staged as text in DuckDB.

The fast path is DuckDB's own `read_csv` with every column given explicitly as
VARCHAR (no type guessing); validation and casting then happen in SQL over the
whole set (etl.ingest.validate). Columns the contract does not declare are never
selected, so a name or address column never gets further than the parser.

Everything that is wrong with a file as a whole raises `ExtractFileError`
with one line an analyst can act on, never a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from etl.catalogue.contract import EXTRACT_TYPES, FLAG_NO, FLAG_YES, Column, ExtractType, normalise_header
from etl.formats import annex_a, layouts
from etl.formats.layouts import Layout, LayoutList

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
    # number of records + header_line, record n (from 0) sits on line n + header_line + 1.
    lines: int
    # The first few rows: the header may sit below a title row (Annex A's template).
    top_rows: list[list[str]] = field(default_factory=list)
    header_line: int = 1  # the line the header is on


@dataclass
class Recognised:
    """The extract type a header belongs to, and where each column is."""

    extract: ExtractType
    positions: dict[str, int]  # contract column -> position in the file
    dropped: list[str] = field(default_factory=list)  # headers not in the contract, never stored
    annex: LayoutList | None = None  # the list of a national layout the header is (Annex A's List 4), if one
    layout: Layout | None = None  # that layout
    notes: list[str] = field(default_factory=list)  # what the analyst should know about how it was read


@dataclass
class Part:
    """One list of rows a reader found in a file: a CSV is one, a workbook one per sheet, an XML return one
    per table. The loader finds its header among `top`, then stages it: from `file` (a CSV, read by DuckDB
    itself) or from `rows()` (cells, read only for a list the loader takes)."""

    name: str  # as the load log names it: `file.csv`, `file.xlsx, sheet 'List 4'`
    top: list[list[str]]  # its first rows as text, to find the header in
    content_hash: str  # the load log's fingerprint of what was loaded
    sheet: str | None = None  # the sheet or table name, which may tell a layout's lists apart
    top_line: int = 1  # the line (spreadsheet row) of top[0]
    file: ExtractFile | None = None
    # (the line of rows[0], every row of the list as cells); call it before the reader moves on to its next part.
    rows: Callable[[], tuple[int, list[list[object]]]] | None = None
    # Files given together that are one return (an SSDA903's tables) share this: loaded as one, all or nothing.
    bundle: str | None = None
    # A return's lists (the CIN census's): the line each row of rows() starts on in the file, the reader's
    # own findings (severity, line, column, value, reason), how many of its records it refused (they are not
    # in rows()), and the window the return is the whole truth for (its collection year, judged by the
    # type's window date).
    lines: list[int] | None = None
    findings: list[tuple[str, int | None, str | None, str | None, str]] = field(default_factory=list)
    errors: int = 0
    window: tuple[date, date] | None = None
    text_cells: bool = False  # rows() gives each cell as the text (or None) to stage, nothing to convert


def csv_parts(paths: Sequence[Path], names: Sequence[str]) -> Iterator[Part]:
    """The CSV reader: each file is one list, its header and the rows below it read by DuckDB."""
    for path, name in zip(paths, names, strict=True):
        file = inspect_file(path)
        yield Part(name, file.top_rows, file.content_hash, file=file)


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
    top_rows = _parse_top_rows(first)
    header = top_rows[0]
    # Blank lines at the end of a file are harmless; inside it they shift line numbers.
    stripped = tail.rstrip(b"\r\n \t")
    trailing_newlines = tail[len(stripped) :].count(b"\n")
    lines = newlines - trailing_newlines + 1
    return ExtractFile(path, digest.hexdigest(), size, header, lines, top_rows)


def _parse_top_rows(first: bytes) -> list[list[str]]:
    """The header row (refused if it cannot be read), then the next few rows, in case a title sits above it."""
    rows = [_parse_header(first)]
    try:
        text = first.decode("utf-8-sig", errors="replace")
        for index, row in enumerate(csv.reader(text.splitlines()[1 : layouts.header_rows()])):
            if index + 2 > text.count("\n"):
                break  # the chunk may end mid-line
            rows.append([h.strip() for h in row])
    except csv.Error:
        pass
    return rows


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


def _matches(extract: ExtractType, column: Column, header: str) -> bool:
    """The contract's names for the column, and the headings the national layouts (Annex A) use for it."""
    return normalise_header(header) in _names(extract, column)


def _names(extract: ExtractType, column: Column) -> set[str]:
    """Every name `_matches` takes for the column, normalised (the layouts in force now: they may change)."""
    return {
        normalise_header(column.name),
        *(normalise_header(a) for a in column.aliases),
        *(normalise_header(h) for h in layouts.headings_for(extract.name, column.name)),
    }


def recognise(header: list[str], sheet_name: str | None = None) -> Recognised:
    """The extract type whose declared columns the header covers most, among the types whose
    required columns it carries all of.

    Matching ignores case, spaces, underscores and punctuation, and accepts each column's aliases
    and Annex A headings. No type, or a true tie, is refused; so is a type recognised but lacking a
    column its KPI counts with (loading it would count every event as missing)."""
    if len(header) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if separator in header[0]:
                raise ExtractFileError(f"line 1: the columns are separated by {name}, not commas: {_EXCEL_HINT}")
    normalised = [normalise_header(h) for h in header]
    fits: list[tuple[int, ExtractType, dict[str, list[int]]]] = []
    scored = []
    for extract in EXTRACT_TYPES.values():
        # Each column's names once, then a set lookup per heading (a workbook has a dozen lists to recognise).
        names = {c.name: _names(extract, c) for c in extract.columns}
        found = {c.name: [i for i, n in enumerate(normalised) if n and n in names[c.name]] for c in extract.columns}
        # A column a KPI counts with is needed in the header like a required one (its values may be blank):
        # a file without it would load as if every such event were missing.
        missing = [c.name for c in extract.columns if (c.required or c.counted) and not found[c.name]]
        present = sum(1 for c in extract.columns if found[c.name])
        if not missing:
            fits.append((present, extract, found))
        scored.append((len(missing), -present, extract.name, missing))
    if not fits:
        _, _, name, missing = min(scored, key=lambda s: (s[0], s[1]))
        counted = [m for m in missing if EXTRACT_TYPES[name].column(m).counted]
        why = f" (its KPIs count with {', '.join(counted)})" if counted else ""
        raise ExtractFileError(
            f"not a recognised extract: the closest type is {name}, which lacks {', '.join(missing)}{why}"
            # Never the cells themselves: a row that is not a header may be a child's name, birthday and address,
            # and this sentence is stored in the load log and shown; the contract's own names are safe to repeat.
            f" (the first row has {_count_columns(header)}{_named(header, name)})"
        )
    best = max(present for present, _, _ in fits)
    top = [(extract, found) for present, extract, found in fits if present == best]
    if len(top) > 1:
        names = " and ".join(e.name for e, _ in top)
        raise ExtractFileError(
            f"the header fits more than one extract type ({names}): a file must hold one type;"
            " remove the other type's columns"
        )
    extract, found = top[0]
    positions: dict[str, int] = {}
    for column, where in found.items():
        if len(where) > 1:
            both = " and ".join(f"'{header[i]}'" for i in where)
            raise ExtractFileError(f"line 1: columns {both} both give {column}: keep one", extract.name)
        if where:
            positions[column] = where[0]
    used = set(positions.values())
    dropped = [h for i, h in enumerate(header) if i not in used and h]
    found = layouts.identify(header, sheet_name)
    if found is None or found[1].extract != extract.name:
        return Recognised(extract, positions, dropped)
    return Recognised(extract, positions, dropped, found[1], found[0])


def _count_columns(header: list[str]) -> str:
    filled = sum(1 for h in header if h)
    return f"{filled} filled {'column' if filled == 1 else 'columns'}" if filled else "nothing in it"


def _named(header: list[str], name: str) -> str:
    """The header cells that are the closest type's column names or aliases (contract words, nothing personal)."""
    extract = EXTRACT_TYPES[name]
    known = [h for h in header if h and any(_matches(extract, c, h) for c in extract.columns)]
    return f", of which {name} knows {', '.join(known)}" if known else f", none of them a column {name} knows"


class SkippedList(ExtractFileError):
    """A list of a national layout (Annex A) that no KPI reads: skipped and reported, not refused."""


def find_header(rows: list[list[str]], sheet_name: str | None = None) -> tuple[int, Recognised]:
    """The header among the first rows (it may sit below a title row): (its index, what it is).
    An Annex A list no KPI reads raises SkippedList; nothing recognisable raises the first row's reason."""
    first_problem: ExtractFileError | None = None
    for index, row in enumerate(rows[: layouts.header_rows()]):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if not any(cells):
            continue
        found = layouts.identify(cells, sheet_name)
        annex = found[1] if found else None
        if annex is not None and annex.extract is None:
            raise SkippedList(f"{annex.label}: no KPI reads it")
        try:
            return index, recognise(cells, sheet_name)
        except ExtractFileError as exc:
            if annex is not None:
                raise  # an Annex A list the KPIs read, but this one cannot be: refused with the reason
            first_problem = first_problem or exc
    raise first_problem or ExtractFileError("the file has no header row")


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

    Line numbers: the header is line 1 (or the line below a title row), the first record the next."""
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
                          skip = {file.header_line - 1}, columns = {{{all_columns}}})
            """,
            [str(file.path)],
        )
    except duckdb.Error as exc:
        raise _csv_error(exc) from None
    records = con.execute(f'SELECT count(*) FROM "{table}_raw"').fetchall()[0][0]
    if records + file.header_line == file.lines:
        # The usual case: one record a line, and the table keeps the file's order.
        # Inside a transaction DuckDB numbers new rows from a large offset: count from the first.
        line_sql = f'CAST(rowid - (SELECT min(rowid) FROM "{table}_raw") + {file.header_line + 1} AS INTEGER)'
        source = f'"{table}_raw"'
    else:
        # Blank lines or line breaks inside quoted values: number records the slow, exact way.
        _register_lines(con, file, records, f"{table}_lines")
        line_sql = "l.line"
        source = (
            f'(SELECT rowid - (SELECT min(rowid) FROM "{table}_raw") AS _rid, * FROM "{table}_raw") r '
            f'JOIN "{table}_lines" l ON l.rid = r._rid'
        )
    return _stage_view(con, recognised, table, line_sql, source, "the file")


def stage_rows(
    con: duckdb.DuckDBPyConnection,
    rows: list[list[object]],
    first_line: int,
    recognised: Recognised,
    table: str = "stage",
    *,
    lines: list[int] | None = None,
    empty_ok: bool = False,
    text_cells: bool = False,
) -> int:
    """Stage a worksheet's data rows (cells as the workbook reader gives them) like `stage` does a CSV:
    record n (from 0) is on spreadsheet row `first_line + n`, or on `lines[n]` where the reader says
    (an XML return's records). Only the contract's columns are taken. `empty_ok`: no rows is a list of
    none (a return's module with no records that year), not a refusal. `text_cells`: the cells are text
    already."""
    extract = recognised.extract
    data: dict[str, list[object]] = {
        "line": list(lines) if lines is not None else list(range(first_line, first_line + len(rows))),
        "_blank": [all(cell is None or cell == "" for cell in row) for row in rows],
    }
    taken = [(c, recognised.positions.get(c.name)) for c in extract.columns]
    for column, position in taken:
        if position is None:
            data[column.name] = [None] * len(rows)
            continue
        if text_cells:  # a reader that gives text already (an XML return's values): taken as they are
            data[column.name] = [row[position] for row in rows]
            continue
        # Column by column, short rows (trailing blanks cut) read as blank.
        cells = [row[position] if position < len(row) else None for row in rows]
        if column.type == "date":
            # A date cell goes to the CSV as it is: the writer's str() of a date is its ISO text.
            data[column.name] = [c if type(c) is date else cell_text(c, "date") for c in cells]
        elif column.type == "text":
            data[column.name] = [
                (c.strip() or None) if type(c) is str and "\xa0" not in c else _text_text(c, "text") for c in cells
            ]
        else:
            convert = _CELL_TEXT.get(column.type, cell_text)
            data[column.name] = [convert(c, column.type) for c in cells]
    # The taken columns reach DuckDB as a CSV of text in a private temporary file, read with every column given
    # as VARCHAR (no guessing), as an extract CSV is: quicker than building a frame, and no pandas to import.
    names = list(data)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8", newline="", delete=False) as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(names)
        out.writerows(zip(*data.values(), strict=True))
    try:
        columns = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
        picked = ", ".join(f'NULLIF("{c.name}", \'\') AS "{c.name}"' for c, _ in taken)
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{table}_raw" AS SELECT CAST(line AS INTEGER) AS line, {picked}, '
            f"_blank = 'True' AS _blank FROM read_csv(?, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}}) ORDER BY 1",
            [handle.name],
        )
    finally:
        os.unlink(handle.name)
    return _stage_view(con, recognised, table, "line", f'"{table}_raw"', "the list", empty_ok=empty_ok)


def cell_text(cell: object, kind: str) -> str | None:
    """A workbook cell as the text a CSV would hold: Excel dates become ISO dates, whole numbers lose `.0`,
    non-breaking spaces become spaces."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, datetime):
        if kind == "date" or (cell.hour, cell.minute, cell.second) == (0, 0, 0):
            return cell.date().isoformat() if kind != "datetime" else cell.strftime("%Y-%m-%d %H:%M:%S")
        return cell.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, date):
        return cell.isoformat() if kind != "datetime" else f"{cell.isoformat()} 00:00"
    if isinstance(cell, bool):
        return "Yes" if cell else "No"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    text = str(cell).replace("\xa0", " ").strip()
    return text or None


def _date_text(cell: object, kind: str) -> str | None:
    """The common case of a date column, fast: a date cell (calamine gives datetime.date) as ISO text."""
    if type(cell) is date:
        return cell.isoformat()
    return cell_text(cell, kind)


def _text_text(cell: object, kind: str) -> str | None:
    if type(cell) is str:
        text = cell.replace("\xa0", " ").strip() if "\xa0" in cell else cell.strip()
        return text or None
    return cell_text(cell, kind)


_CELL_TEXT = {"date": _date_text, "text": _text_text}

_FLAG_WORDS = ", ".join(f"'{w}'" for w in (*FLAG_YES, *FLAG_NO))


def _flag_words(value: str) -> str:
    """SQL: the value lower-cased with Annex A's code prefix (`a) Yes`) removed."""
    return f"lower(trim(regexp_replace({value}, '{annex_a.CODE_PREFIX}', '')))"


def _stage_view(
    con: duckdb.DuckDBPyConnection,
    recognised: Recognised,
    table: str,
    line_sql: str,
    source: str,
    what: str,
    *,
    empty_ok: bool = False,
) -> int:
    """The view `table(line, <contract columns>)` over the raw rows, without blank ones. A column that may
    hold Yes/No instead of dates (`or_flag`) is read as that flag when every value given is Yes/No."""
    extract = recognised.extract
    chosen = {c.name: f'"{c.name}"' for c in extract.columns}
    for column in extract.columns:
        if column.or_flag and column.name in recognised.positions:
            value = f'"{column.name}"'
            # Dates always hold `-` or `/`; Yes/No never do: a cheap test first, so a CSV of dates pays little.
            [(undated,)] = con.execute(
                f"SELECT count(*) FROM \"{table}_raw\" WHERE {value} IS NOT NULL AND {value} NOT LIKE '%-%' "
                f"AND {value} NOT LIKE '%/%' AND NOT _blank"
            ).fetchall()
            if not undated:
                continue
            flags, others = con.execute(
                f"SELECT count(*) FILTER (WHERE {_flag_words(value)} IN ({_FLAG_WORDS})), "
                f"count(*) FILTER (WHERE {value} IS NOT NULL AND {_flag_words(value)} NOT IN ({_FLAG_WORDS})) "
                f'FROM "{table}_raw" WHERE NOT _blank'
            ).fetchall()[0]
            if flags and not others:
                # Yes/No cannot time anything: the flag keeps it (a blank is read as No), the date stays empty.
                chosen[column.name] = f'CAST(NULL AS VARCHAR) AS "{column.name}"'
                chosen[column.or_flag] = f"coalesce({value}, 'No') AS \"{column.or_flag}\""
                recognised.notes.append(
                    f"{column.name}: the column holds Yes/No, not dates, so the KPIs timed from it get no figure"
                    " from this file"
                )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW "{table}" AS
        SELECT {line_sql} AS line, {", ".join(chosen.values())} FROM {source} WHERE NOT _blank
        """
    )
    rows = con.execute(f'SELECT count(*) FROM "{table}_raw" WHERE NOT _blank').fetchall()[0][0]
    if rows == 0 and not empty_ok:
        raise ExtractFileError(f"{what} has a header but no data rows")
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
            if index < file.header_line or not row:
                continue
            starts.append(start)
    if len(starts) != records:
        raise ExtractFileError("the file's rows cannot be numbered reliably: the file is not a clean CSV")
    import pandas as pd

    numbered = pd.DataFrame({"rid": range(records), "line": starts})
    con.register("_numbered", numbered)
    try:
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT CAST(rid AS BIGINT) AS rid, '
            "CAST(line AS INTEGER) AS line FROM _numbered"
        )
    finally:
        con.unregister("_numbered")
