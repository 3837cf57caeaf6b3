"""Preparing a load: read a file (or each sheet of a workbook), recognise its type, and stage it where it is
validated (the warehouse's DuckDB connection, or an in-memory DuckDB beside PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from etl.catalogue.contract import ExtractType
from etl.formats import layouts
from etl.ingest.findings import StagedFindings
from etl.readers import registry
from etl.readers.read import ExtractFile, ExtractFileError, Part, Recognised, SkippedList, find_header
from etl.readers.registry import Reader
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
    bundle: str | None = None  # the return it is part of (etl.readers.read.Part.bundle)
    # One list of a file of several (a workbook's sheet): the file's lists share one write, all or nothing.
    of_several: bool = False
    # A return's list (etl.readers.read.Part): each row's line, the reader's findings and refused records,
    # and the window (collection year) it is the whole truth for.
    lines: list[int] | None = None
    reader_findings: list[tuple] = field(default_factory=list)
    reader_errors: int = 0
    window: tuple[date, date] | None = None
    text_cells: bool = False


def prepare_group(reader: Reader, paths: Sequence[str | os.PathLike], names: Sequence[str | None]) -> list[Prepared]:
    """One item per list of the files (a CSV is one, a workbook one per sheet); a file the reader cannot
    open, or a list in it the reader cannot read (a sheet calamine fails on), makes the whole file one
    refused item with the reason."""
    paths = [Path(p) for p in paths]
    shown = [n or p.name for p, n in zip(paths, names, strict=True)]
    items: list[Prepared] = []
    try:
        for part in reader.read(paths, shown):
            items.append(_prepare_part(paths[0], part, several=reader.several))
    except ExtractFileError as exc:
        return [Prepared(paths[0], " + ".join(shown), problem=str(exc), extract_type=exc.extract_type)]
    return items


def prepare_all(path: str | os.PathLike, name: str | None) -> list[Prepared]:
    """One item per list of one file."""
    return prepare_group(registry.reader_for(path), [path], [name])


def _prepare_part(path: Path, part: Part, *, several: bool) -> Prepared:
    item = Prepared(
        path,
        part.name,
        file=part.file,
        content_hash=part.content_hash,
        bundle=part.bundle,
        of_several=several,
        lines=part.lines,
        reader_findings=part.findings,
        reader_errors=part.errors,
        window=part.window,
        text_cells=part.text_cells,
    )
    try:
        index, item.recognised = find_header(part.top, part.sheet)
    except SkippedList as exc:
        item.skipped = str(exc)
        return item
    except ExtractFileError as exc:
        if several and not any(layouts.identify(row, part.sheet) for row in part.top):
            # One list of several that is no extract (a cover sheet, a list no KPI reads): not an error.
            item.skipped = "not an extract or an Annex A list the KPIs read"
        else:
            item.problem = str(exc)
            item.extract_type = exc.extract_type
        return item
    if part.file is not None:
        part.file.header = part.top[index]
        part.file.header_line = part.top_line + index
    elif part.lines is not None:
        _, item.rows = part.rows()  # a return's records, each with its own line: no header among them
    else:
        first_line, rows = part.rows()
        skip = index + 1 + (part.top_line - first_line)
        item.rows = rows[skip:]
        item.first_line = first_line + skip
    _note_annex(item)
    return item


def _note_annex(prepared: Prepared) -> None:
    recognised = prepared.recognised
    if recognised is not None and recognised.annex is not None:
        recognised.notes.insert(0, f"read as {recognised.annex.label}")


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


def staged_findings(con) -> StagedFindings:
    """The staged file's findings, errors first, by line: grouped by SQL, made objects only when read."""
    return StagedFindings(con)


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
    stage.execute("CREATE TABLE team_aliases (alias VARCHAR, team VARCHAR)")
    aliases = con.execute("SELECT alias, team FROM team_aliases").fetchall()
    if aliases:
        stage.executemany("INSERT INTO team_aliases VALUES (?, ?)", aliases)
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
