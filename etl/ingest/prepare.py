"""Preparing a load: read a file (or each sheet of a workbook), recognise its type, and stage it where it is
validated (the warehouse's DuckDB connection, or an in-memory DuckDB beside PostgreSQL)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from etl.catalogue.contract import ExtractType
from etl.ingest.report import Finding
from etl.readers.read import (
    ExtractFile,
    ExtractFileError,
    Recognised,
    SkippedList,
    find_header,
    inspect_file,
)
from etl.store import warehouse
from etl.store.db import dialect_of


@dataclass
class Prepared:
    path: Path
    name: str
    file: ExtractFile | None = None
    recognised: Recognised | None = None
    problem: str | None = None
    # A worksheet: its data rows (cells as read) and the spreadsheet row of the first.
    rows: list[list[object]] | None = None
    first_line: int = 2
    content_hash: str | None = None
    skipped: str | None = None  # a sheet or list no KPI reads: why it was skipped (not an error)

    @property
    def hash(self) -> str:
        return self.content_hash or (self.file.content_hash if self.file else "")

    extract_type: str | None = None  # the type a refused header was recognised as, if any


def prepare(path: str | os.PathLike, name: str | None) -> Prepared:
    path = Path(path)
    prepared = Prepared(path, name or path.name)
    try:
        prepared.file = inspect_file(path)
        index, prepared.recognised = find_header(prepared.file.top_rows)
        prepared.file.header = prepared.file.top_rows[index]
        prepared.file.header_line = index + 1
    except SkippedList as exc:
        prepared.skipped = str(exc)
    except ExtractFileError as exc:
        prepared.problem = str(exc)
        prepared.extract_type = exc.extract_type
    _note_annex(prepared)
    return prepared


def _note_annex(prepared: Prepared) -> None:
    recognised = prepared.recognised
    if recognised is not None and recognised.annex is not None:
        recognised.notes.insert(0, f"read as {recognised.annex.label}")


def prepare_all(path: str | os.PathLike, name: str | None) -> list[Prepared]:
    """One item per file, or per sheet of a workbook (each list loads, or is refused, on its own)."""
    from etl.readers.workbook import is_workbook

    if not is_workbook(path):
        return [prepare(path, name)]
    from etl.formats.annex_a import HEADER_SEARCH_ROWS, identify
    from etl.readers.read import cell_text
    from etl.readers.workbook import Workbook, content_hash

    path = Path(path)
    book_name = name or path.name
    try:
        book = Workbook(path)
    except ExtractFileError as exc:
        return [Prepared(path, book_name, problem=str(exc))]
    digest = content_hash(path)
    items: list[Prepared] = []
    try:
        for sheet in book.sheets(HEADER_SEARCH_ROWS):
            item = Prepared(path, f"{book_name}, sheet '{sheet.name}'", content_hash=f"{digest}:{sheet.name}")
            items.append(item)
            top = [[cell_text(c, "text") or "" for c in row] for row in sheet.top]
            try:
                index, item.recognised = find_header(top, sheet.name)
            except SkippedList as exc:
                item.skipped = str(exc)
                continue
            except ExtractFileError as exc:
                if any(identify(row, sheet.name) for row in top):
                    item.problem = str(exc)  # a list the KPIs read, but not readable as one: refused
                else:
                    item.skipped = "not an extract or an Annex A list the KPIs read"
                continue
            first_row, rows = book.rows(sheet.name)
            skip = index + 1 + (sheet.first_row - first_row)
            item.rows = rows[skip:]
            item.first_line = first_row + skip
            _note_annex(item)
    finally:
        book.close()
    return items


def as_date(as_of: date | str) -> date:
    if isinstance(as_of, datetime):
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    try:
        return date.fromisoformat(str(as_of))
    except ValueError:
        raise ValueError(f"as-of date {as_of!r} is not a date like 2023-07-31") from None


def periods(con, extract: ExtractType) -> tuple[str | None, str | None]:
    if not extract.period_column:
        return None, None
    column = f'"{extract.period_column}"'
    return con.execute(
        f"SELECT strftime(min({column}), '%Y-%m'), strftime(max({column}), '%Y-%m') FROM good"
    ).fetchall()[0]


def staged_findings(con) -> list[Finding]:
    rows = con.execute(
        "SELECT severity, line, column_name, value, reason FROM findings "
        "ORDER BY severity = 'warning', line, ord, column_name"
    ).fetchall()
    return [Finding(*row) for row in rows]


def stage_for(con) -> duckdb.DuckDBPyConnection:
    """Where a file is read and validated: the warehouse's own connection on DuckDB; on PostgreSQL an
    in-memory DuckDB (its CSV reader and checks are DuckDB's) holding what the checks look up: the
    organisation reference and the working-day calendar."""
    if not dialect_of(con).postgres:
        return con
    stage = duckdb.connect()
    stage.execute("CREATE TABLE organisation (team VARCHAR, service VARCHAR, area VARCHAR)")
    teams = con.execute("SELECT team, service, area FROM organisation").fetchall()
    if teams:
        stage.executemany("INSERT INTO organisation VALUES (?, ?, ?)", teams)
    stage.execute("CREATE TABLE calendar (day DATE, is_working_day BOOLEAN, working_day_number INTEGER)")
    warehouse.fill_calendar(stage)
    return stage


def push_good(stage: duckdb.DuckDBPyConnection, con, extract: ExtractType) -> None:
    """PostgreSQL: the validated rows (`good`, in DuckDB) into a temp table `good` there, through COPY."""
    import tempfile

    columns = ", ".join(f'"{c.name}" {warehouse.column_type(c.type)}' for c in extract.columns)
    names = ", ".join(f'"{c}"' for c in extract.column_names)
    con.execute("DROP TABLE IF EXISTS good")
    con.execute(f"CREATE TEMP TABLE good ({columns})")
    with tempfile.TemporaryDirectory(prefix="cpip-good-") as folder:
        path = Path(folder) / "good.csv"
        stage.execute(f"COPY (SELECT {names} FROM good) TO '{path}' (FORMAT csv, HEADER false)")
        with con.raw.cursor() as cursor, cursor.copy(f"COPY good ({names}) FROM STDIN (FORMAT csv)") as copy:
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
    con.execute("ANALYZE good")
