"""Loading extract files into the warehouse, with the load log and undo.

One file is one load, and one load is one `etl.store.warehouse.writer()`
transaction on a private copy of the warehouse: read, validate, replace by
record key, write the log and its findings, rebuild the KPIs, then swap the
copy in. A failure anywhere leaves the live file as it was.

A file with any error loads nothing unless the caller asks for the valid rows
alone; a workbook is one file (one list refused, none loaded) unless the caller
asks for its good lists and valid rows alone (`valid_rows_only`). A record
whose key is already in the warehouse replaces it only when it differs (the
old version moves to `<table>_replaced`, so the load can be undone); an
identical record is left untouched, so loading a file twice changes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from etl.catalogue.contract import EXTRACT_TYPES, ExtractType
from etl.catalogue.metrics import catalogue
from etl.ingest.validate import validate
from etl.readers.read import (
    ExtractFile,
    ExtractFileError,
    Recognised,
    SkippedList,
    find_header,
    inspect_file,
    stage,
    stage_rows,
)
from etl.store import authority, warehouse
from etl.store.db import dialect_of, touch

if TYPE_CHECKING:  # pandas only for the log's frames: loading a file never needs it
    import pandas as pd

Progress = Callable[[str], None]

OUTCOMES = ("loaded", "loaded valid rows only", "re-dated", "no change", "refused", "preview", "undone", "skipped")


@dataclass
class Finding:
    severity: str  # "error" | "warning"
    line: int | None  # line in the file, header = line 1
    column: str | None  # the contract's column name
    value: str | None
    reason: str

    def describe(self, file_name: str) -> str:
        """`assessments.csv: line 7: assessment_completed_date: impossible date ... (value '31/02/2023')`."""
        parts = [file_name]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(self.column)
        reason = f"warning: {self.reason}" if self.severity == "warning" else self.reason
        text = ": ".join([*parts, reason])
        if self.value is not None:
            text += f" (value '{self.value}')"
        # One finding, one line: a value with a line break in it is shown escaped.
        return text.replace("\r", "\\r").replace("\n", "\\n")


@dataclass
class LoadReport:
    file_name: str
    extract_type: str | None
    rows_read: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    # Unchanged records this extract's later as-of date re-dated (their deadlines are judged at it).
    redated: int = 0
    rejected: int = 0
    warnings: int = 0
    findings: list[Finding] = field(default_factory=list)
    first_period: str | None = None
    last_period: str | None = None
    outcome: str = "refused"  # loaded | loaded valid rows only | re-dated | no change | refused | preview
    load_id: int | None = None
    # Header names the contract does not declare: read past, never stored.
    dropped_columns: list[str] = field(default_factory=list)
    # How the file was read, for the analyst (an Annex A list recognised, a Yes/No column, a sheet skipped).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return self.outcome != "refused"

    def summary(self) -> str:
        """One line for the analyst."""
        if self.outcome == "skipped":
            return f"{self.file_name}: skipped: {'; '.join(self.notes)}"
        head = f"{self.file_name}: {self.extract_type or 'unrecognised file'}"
        where = f" (load {self.load_id})" if self.load_id is not None else ""
        if self.outcome == "refused" and (self.rows_read == 0 or not self.rejected):
            return f"{head}: refused, nothing loaded{where}"
        if self.outcome == "refused":
            good = self.rows_read - self.rejected
            text = (
                f"{head}: refused, nothing loaded{where}: {self.rejected:,} of {_count(self.rows_read, 'row')} "
                f"{'has' if self.rejected == 1 else 'have'} errors (listed below). Correct them and load the file again"
            )
            if good:
                text += f", or load the {_count(good, 'valid row')} only"
            return text
        counts = (
            f"{_count(self.rows_read, 'row')} read: {self.added:,} added, {self.replaced:,} replaced, "
            f"{self.unchanged:,} unchanged"
        )
        if self.redated:
            counts += f" ({self.redated:,} re-dated to the as-of date)"
        counts += f", {self.rejected:,} rejected, {_count(self.warnings, 'warning')}"
        text = f"{head}: {self.outcome}{where}: {counts}"
        if self.first_period:
            text += f"; periods {self.first_period} to {self.last_period}"
        if self.dropped_columns:
            text += f"; columns not in the contract dropped: {', '.join(self.dropped_columns)}"
        for note in self.notes:
            text += f"; {note}"
        return text


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass
class _Prepared:
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


def _prepare(path: str | os.PathLike, name: str | None) -> _Prepared:
    path = Path(path)
    prepared = _Prepared(path, name or path.name)
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


def _note_annex(prepared: _Prepared) -> None:
    recognised = prepared.recognised
    if recognised is not None and recognised.annex is not None:
        recognised.notes.insert(0, f"read as {recognised.annex.label}")


def _prepare_all(path: str | os.PathLike, name: str | None) -> list[_Prepared]:
    """One item per file, or per sheet of a workbook (each list loads, or is refused, on its own)."""
    from etl.readers.workbook import is_workbook

    if not is_workbook(path):
        return [_prepare(path, name)]
    from etl.formats.annex_a import HEADER_SEARCH_ROWS, identify
    from etl.readers.read import cell_text
    from etl.readers.workbook import Workbook, content_hash

    path = Path(path)
    book_name = name or path.name
    try:
        book = Workbook(path)
    except ExtractFileError as exc:
        return [_Prepared(path, book_name, problem=str(exc))]
    digest = content_hash(path)
    items: list[_Prepared] = []
    try:
        for sheet in book.sheets(HEADER_SEARCH_ROWS):
            item = _Prepared(path, f"{book_name}, sheet '{sheet.name}'", content_hash=f"{digest}:{sheet.name}")
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
    except ExtractFileError as exc:  # a sheet calamine cannot read: the workbook is refused whole, with the reason
        return [_Prepared(path, book_name, problem=str(exc))]
    finally:
        book.close()
    return items


def _as_date(as_of: date | str) -> date:
    if isinstance(as_of, datetime):
        return as_of.date()
    if isinstance(as_of, date):
        return as_of
    try:
        return date.fromisoformat(str(as_of))
    except ValueError:
        raise ValueError(f"as-of date {as_of!r} is not a date like 2023-07-31") from None


def _rebuild_kpis(con, sources: set[str] | None) -> None:
    """Rebuild the KPI mart from the changed sources, in the load's transaction."""
    if sources is not None and not sources:
        return  # nothing the mart reads changed (the action plans)
    try:
        from etl.rules.kpis import rebuild
    except ImportError:
        # etl.rules.kpis (written separately) is not in the tree yet: there is no mart to rebuild.
        return
    rebuild(con, sources=sources)


def _sources_for(extract_type: str) -> set[str] | None:
    # The organisation reference feeds every KPI (team -> service -> area -> authority).
    if extract_type == "actions":
        return set()  # the Practice Action Plans feed no KPI
    return None if extract_type == "organisation" else {extract_type}


def _keys_on(extract: ExtractType, left: str, right: str) -> str:
    return " AND ".join(f'{left}."{k}" = {right}."{k}"' for k in extract.key)


def _compare(con, extract: ExtractType, as_of: date) -> tuple[int, int, int, int]:
    """Classify the valid rows against the warehouse: (added, replaced, unchanged,
    re-dated: the unchanged records whose as-of date this load moves later).
    Leaves temp table `matched(<key>, same, old_as_of)`."""
    table = extract.table
    keys = ", ".join(f'i."{k}"' for k in extract.key)
    same = " AND ".join(f'i."{c}" IS NOT DISTINCT FROM t."{c}"' for c in extract.column_names)
    old_as_of = "t.as_of" if extract.record_level else "CAST(NULL AS DATE)"
    # DuckDB: the stored row's rowid (re-dating by rowid is ten times faster there than by a join on the key).
    rid = "" if dialect_of(con).postgres else ", t.rowid AS _rid"
    dialect_of(con).temp_table(
        con,
        "matched",
        f"SELECT {keys}, ({same}) AS same, {old_as_of} AS old_as_of{rid} "
        f'FROM good i JOIN "{table}" t ON {_keys_on(extract, "i", "t")}',
    )
    total = con.execute("SELECT count(*) FROM good").fetchall()[0][0]
    unchanged, replaced, redated = con.execute(
        "SELECT count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same),"
        " count(*) FILTER (WHERE same AND (old_as_of IS NULL OR old_as_of < ?)) FROM matched",
        [as_of],
    ).fetchall()[0]
    if not extract.record_level:
        redated = 0
    return total - unchanged - replaced, replaced, unchanged, redated


def _write(con, extract: ExtractType, load_id: int, as_of: date, added: int, replaced: int) -> None:
    """Move the records being replaced to `<table>_replaced`, then insert the new and changed ones.

    A record-level record is judged at the latest as-of date of any load that
    contained it: a changed record keeps the later of its old date and this
    load's; an unchanged one is re-dated to this load's when that is later, and
    `<table>_seen` remembers that this load contained it, so undo can restore
    the earlier date exactly."""
    table = extract.table
    touch(con, table, f"{table}_replaced", f"{table}_seen" if extract.record_level else table)
    columns = ", ".join(f'"{c}"' for c in extract.column_names)
    dated = extract.record_level
    if dated:
        _redate(con, extract, as_of)
    if replaced:
        dialect_of(con).temp_table(con, "changed", "SELECT * FROM matched WHERE NOT same")
        as_of_col, as_of_val = (", as_of", ", t.as_of") if dated else ("", "")
        con.execute(
            f'INSERT INTO "{table}_replaced" ({columns}, load_id, replaced_by{as_of_col}) '
            f"SELECT {', '.join(f't.{chr(34)}{c}{chr(34)}' for c in extract.column_names)}, t.load_id, ?{as_of_val} "
            f'FROM "{table}" t WHERE EXISTS (SELECT 1 FROM changed c WHERE {_keys_on(extract, "t", "c")})',
            [load_id],
        )
        con.execute(f'DELETE FROM "{table}" t USING changed c WHERE {_keys_on(extract, "t", "c")}')
    unchanged = "(SELECT * FROM matched WHERE same) AS u"
    if not dated:
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id) SELECT {columns}, ? '
            f"FROM good g WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.same AND {_keys_on(extract, 'g', 'm')})",
            [load_id],
        )
        return
    g_columns = ", ".join(f'g."{c}"' for c in extract.column_names)
    if added or replaced:
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id, as_of) '
            f"SELECT {g_columns}, $load, greatest($as_of, m.old_as_of) "
            f"FROM good g LEFT JOIN matched m ON {_keys_on(extract, 'g', 'm')} WHERE m.same IS NOT TRUE",
            {"load": load_id, "as_of": as_of},
        )
    keys = ", ".join(f'"{k}"' for k in extract.key)
    con.execute(f'INSERT INTO "{table}_seen" ({keys}, load_id) SELECT {keys}, ? FROM {unchanged}', [load_id])


def _redate(con, extract: ExtractType, as_of: date) -> None:
    """Re-date the unchanged records this load contained whose as-of date is earlier (`matched`'s
    `same` rows). DuckDB by rowid, while the rowids in `matched` still point at the rows they were
    read from; PostgreSQL by the key, through its index."""
    where = "m.same AND (m.old_as_of IS NULL OR m.old_as_of < $as_of)"
    if dialect_of(con).postgres:
        con.execute(
            f'UPDATE "{extract.table}" t SET as_of = $as_of FROM matched m WHERE {_keys_on(extract, "t", "m")} '
            f"AND {where}",
            {"as_of": as_of},
        )
        return
    con.execute(
        f'UPDATE "{extract.table}" SET as_of = $as_of WHERE rowid IN (SELECT _rid FROM matched m WHERE {where})',
        {"as_of": as_of},
    )


# A DATE as its month, `2023-07`, the same on both engines.
_MONTH_TEXT = "substr(CAST(period AS VARCHAR), 1, 7)"


def _superseded(con, extract: ExtractType) -> set[tuple[str, str, str]]:
    """The kpi_values rows (metric, month, unit) that records of this type supersede now."""
    if not extract.record_level:
        return set()
    if extract.snapshot:  # a snapshot covers the month of each as-of date it was taken on
        metrics = [m.metric_id for m in catalogue().metrics if m.source == extract.name]
        return set(
            con.execute(
                f"SELECT metric_id, {_MONTH_TEXT}, team FROM kpi_values WHERE metric_id IN"
                " (SELECT unnest(CAST($metrics AS VARCHAR[]))) AND period IN"
                f" (SELECT CAST(date_trunc('month', as_of) AS DATE) FROM \"{extract.table}\")",
                {"metrics": metrics},
            ).fetchall()
        )
    from etl.rules.kpis import coverage

    span = coverage(con).get(extract.name)
    metrics = [m.metric_id for m in catalogue().metrics if m.source == extract.name]
    if span is None or not metrics:
        return set()
    rows = con.execute(
        f"SELECT metric_id, {_MONTH_TEXT}, team FROM kpi_values"
        " WHERE metric_id IN (SELECT unnest(CAST($metrics AS VARCHAR[]))) AND period BETWEEN $first AND $last",
        {"metrics": metrics, "first": span[0], "last": span[1]},
    ).fetchall()
    return set(rows)


def _report_superseded(
    con, stage: duckdb.DuckDBPyConnection, report: LoadReport, extract: ExtractType, before: set[tuple[str, str, str]]
) -> None:
    """Say which kpi_values rows these records now supersede (a warning on the file, in `stage`'s findings)."""
    now = sorted(_superseded(con, extract) - before)
    if not now:
        return
    months = sorted({m for _, m, _ in now})
    metrics = ", ".join(sorted({metric for metric, _, _ in now}))
    shown = "; ".join(f"{metric} {month} {unit}" for metric, month, unit in now[:5])
    more = f" and {len(now) - 5:,} more" if len(now) > 5 else ""
    reason = (
        f"{_count(len(now), 'kpi_values row')} for {metrics} ({months[0]} to {months[-1]}) "
        f"{'is' if len(now) == 1 else 'are'} superseded: these {extract.name} records cover "
        f"{'its month' if len(now) == 1 else 'their months'}, so the figures are counted from them ({shown}{more})"
    )
    stage.execute("INSERT INTO findings VALUES (NULL, 2000, 'warning', NULL, NULL, ?)", [reason])
    report.findings.append(Finding("warning", None, None, None, reason))
    report.warnings += 1


def _table_columns(con, table: str) -> list[str]:
    return dialect_of(con).columns(con, table)


_SNAPSHOT_MONTH = "date_trunc('month', t.as_of) = date_trunc('month', CAST(? AS DATE))"


def _compare_snapshot(con, extract: ExtractType, as_of: date) -> tuple[int, int, int, str | None]:
    """A snapshot against the snapshot already loaded for the month of `as_of`: (added, replaced, unchanged,
    note). The same snapshot again changes nothing; a later one in the month replaces the earlier one whole
    (replaced counts the earlier records); an earlier one than that already loaded changes nothing."""
    table = extract.table
    dialect_of(con).temp_table(
        con, "_month", f'SELECT t.*, t.as_of AS _as_of FROM "{table}" t WHERE {_SNAPSHOT_MONTH}', [as_of]
    )
    [(earlier, latest)] = con.execute("SELECT count(*), max(_as_of) FROM _month").fetchall()
    total = con.execute("SELECT count(*) FROM good").fetchall()[0][0]
    if not earlier:
        return total, 0, 0, None
    if latest > as_of:
        return (
            0,
            0,
            0,
            f"a later snapshot of the month (as of {latest:%Y-%m-%d}) is already loaded: this one changes nothing",
        )
    columns = ", ".join(f'"{c}"' for c in extract.column_names)
    [(differ,)] = con.execute(
        f"SELECT count(*) FROM ((SELECT {columns} FROM good EXCEPT ALL SELECT {columns} FROM _month) "
        f"UNION ALL (SELECT {columns} FROM _month EXCEPT ALL SELECT {columns} FROM good)) AS differ"
    ).fetchall()
    if not differ and latest == as_of:
        return 0, 0, total, None
    [(kept,)] = con.execute(
        f"SELECT count(*) FROM good g WHERE EXISTS (SELECT 1 FROM _month m WHERE {_keys_on(extract, 'g', 'm')})"
    ).fetchall()
    return total - kept, earlier, 0, f"replaces the snapshot of {as_of:%Y-%m} loaded earlier ({earlier:,} records)"


def _write_snapshot(con, extract: ExtractType, load_id: int, as_of: date) -> None:
    """The snapshot of the month of `as_of`: the month's earlier snapshot moves to `<table>_replaced` (so undo
    brings it back), then every record of this one goes in. Snapshots of other months stay."""
    table = extract.table
    touch(con, table, f"{table}_replaced")
    kept = [c for c in _table_columns(con, table) if c in _table_columns(con, f"{table}_replaced")]
    old = ", ".join(f't."{c}"' for c in kept)
    con.execute(
        f'INSERT INTO "{table}_replaced" ({", ".join(chr(34) + c + chr(34) for c in kept)}, replaced_by) '
        f'SELECT {old}, ? FROM "{table}" t WHERE {_SNAPSHOT_MONTH}',
        [load_id, as_of],
    )
    con.execute(f'DELETE FROM "{table}" t WHERE {_SNAPSHOT_MONTH}', [as_of])
    columns = ", ".join(f'"{c}"' for c in extract.column_names)
    # A snapshot's as_of is the day it was taken: its records are judged at that date, and no later load moves it.
    con.execute(f'INSERT INTO "{table}" ({columns}, load_id, as_of) SELECT {columns}, ?, ? FROM good', [load_id, as_of])


def _periods(con, extract: ExtractType) -> tuple[str | None, str | None]:
    if not extract.period_column:
        return None, None
    column = f'"{extract.period_column}"'
    return con.execute(
        f"SELECT strftime(min({column}), '%Y-%m'), strftime(max({column}), '%Y-%m') FROM good"
    ).fetchall()[0]


def _findings(con) -> list[Finding]:
    rows = con.execute(
        "SELECT severity, line, column_name, value, reason FROM findings "
        "ORDER BY severity = 'warning', line, ord, column_name"
    ).fetchall()
    return [Finding(*row) for row in rows]


def _stage_for(con) -> duckdb.DuckDBPyConnection:
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


def _push_good(stage: duckdb.DuckDBPyConnection, con, extract: ExtractType) -> None:
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


def _run(
    con,
    prepared: _Prepared,
    *,
    as_of: date,
    valid_rows_only: bool,
    write: bool,
    load_id: int | None,
    step: Progress,
) -> LoadReport:
    """Read, validate and (when `write`) apply one file on `con`. File-level
    problems become a refused report, never an exception."""
    stage_con = _stage_for(con)
    try:
        return _run_staged(
            con,
            stage_con,
            prepared,
            as_of=as_of,
            valid_rows_only=valid_rows_only,
            write=write,
            load_id=load_id,
            step=step,
        )
    finally:
        if stage_con is not con:
            stage_con.close()


def _run_staged(
    con,
    stage_con,
    prepared: _Prepared,
    *,
    as_of: date,
    valid_rows_only: bool,
    write: bool,
    load_id: int | None,
    step: Progress,
) -> LoadReport:
    recognised = prepared.recognised
    report = LoadReport(
        prepared.name, recognised.extract.name if recognised else prepared.extract_type, load_id=load_id
    )
    if prepared.skipped:
        report.outcome, report.notes = "skipped", [prepared.skipped]
        return report
    if prepared.problem or recognised is None or (prepared.file is None and prepared.rows is None):
        report.findings = [Finding("error", None, None, None, prepared.problem or "cannot be read")]
        return report
    report.dropped_columns = recognised.dropped
    extract = recognised.extract
    if prepared.rows is not None:
        step(f"reading {len(prepared.rows):,} rows as {extract.name}")
    else:
        step(f"reading {prepared.file.size / 1e6:.1f} MB as {extract.name}")
    try:
        if prepared.rows is not None:
            stage_rows(stage_con, prepared.rows, prepared.first_line, recognised)
        else:
            stage(stage_con, prepared.file, recognised)
    except ExtractFileError as exc:
        report.findings = [Finding("error", None, None, None, str(exc))]
        if write and prepared.rows is None and stage_con is con:
            # A parser error aborts DuckDB's transaction; nothing was written yet, so start afresh to log the refusal.
            con.execute("ROLLBACK")
            con.execute("BEGIN TRANSACTION")
        return report
    report.notes = list(recognised.notes)
    step("validating")
    covered = None
    if stage_con is not con and extract.name == "kpi_values":
        from etl.rules.kpis import coverage

        covered = coverage(con)
    result = validate(stage_con, extract, as_of=as_of, blank_team=recognised.annex is not None, covered=covered)
    report.rows_read, report.rejected, report.warnings = result.rows, result.rejected, result.warnings
    report.findings = _findings(stage_con)
    report.first_period, report.last_period = _periods(stage_con, extract)
    good = result.rows - result.rejected
    if result.rejected and (not valid_rows_only or good == 0):
        report.outcome = "refused"
        return report
    step("comparing with the warehouse")
    if stage_con is not con:
        _push_good(stage_con, con, extract)
    if extract.snapshot:
        report.added, report.replaced, report.unchanged, note = _compare_snapshot(con, extract, as_of)
        report.notes += [note] if note else []
    else:
        report.added, report.replaced, report.unchanged, report.redated = _compare(con, extract, as_of)
    if not write:
        report.outcome = "preview"
        return report
    if extract.snapshot:
        # A snapshot replaces its month's earlier snapshot whole: its own write, never the record-by-key one.
        if report.added or report.replaced:
            step(f"writing {report.added:,} records")
            before = _superseded(con, extract)
            _write_snapshot(con, extract, load_id, as_of)
            _report_superseded(con, stage_con, report, extract, before)
    elif report.added or report.replaced or report.unchanged:
        step(f"writing {report.added + report.replaced:,} records")
        before = _superseded(con, extract)
        _write(con, extract, load_id, as_of, report.added, report.replaced)
        _report_superseded(con, stage_con, report, extract, before)
    if result.rejected:
        report.outcome = "loaded valid rows only"
    elif report.added or report.replaced:
        report.outcome = "loaded"
    else:
        report.outcome = "re-dated" if report.redated else "no change"
    return report


def _log(
    con, stage: duckdb.DuckDBPyConnection | None, report: LoadReport, prepared: _Prepared, *, as_of: date, who: str
) -> None:
    """The load's row in `loads` and its findings (staged in `stage`, or the report's own)."""
    touch(con, "loads", "load_findings")
    con.execute(
        "INSERT INTO loads (load_id, loaded_at, loaded_by, file_name, content_hash, extract_type, as_of, rows_read,"
        " rows_added, rows_replaced, rows_unchanged, rows_rejected, warnings, first_period, last_period, outcome,"
        " rows_redated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.load_id,
            datetime.now().replace(microsecond=0),
            who,
            report.file_name,
            prepared.hash,
            report.extract_type,
            as_of,
            report.rows_read,
            report.added,
            report.replaced,
            report.unchanged,
            report.rejected,
            report.warnings,
            report.first_period,
            report.last_period,
            report.outcome,
            report.redated,
        ],
    )
    staged = stage is not None and dialect_of(stage).has_table(stage, "findings")
    if staged and stage is con:
        # The findings of a staged file are all in SQL already: copy them in one statement.
        con.execute(
            "INSERT INTO load_findings (load_id, severity, line, column_name, value, reason) "
            "SELECT ?, severity, line, column_name, value, reason FROM findings ORDER BY line, ord",
            [report.load_id],
        )
    elif staged:  # staged in DuckDB beside PostgreSQL: COPY them across
        rows = stage.execute(
            "SELECT ?, severity, line, column_name, value, reason FROM findings ORDER BY line, ord", [report.load_id]
        ).fetchall()
        con.copy_rows("load_findings", ["load_id", "severity", "line", "column_name", "value", "reason"], rows)
    else:
        # Refused before staging: the one file-level finding.
        con.executemany(
            "INSERT INTO load_findings (load_id, severity, line, column_name, value, reason) VALUES (?, ?, ?, ?, ?, ?)",
            [[report.load_id, f.severity, f.line, f.column, f.value, f.reason] for f in report.findings],
        )


def _next_load_id(con) -> int:
    return con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]


def _load_one(con, item: _Prepared, *, as_of: date, who: str, valid_rows_only: bool, step: Progress) -> LoadReport:
    """One file or list as one load on `con`: run it and write its log."""
    stage_con = _stage_for(con)
    try:
        stage_con.execute("DROP TABLE IF EXISTS findings")  # the previous list's, when a workbook's lists share a write
        load_id = _next_load_id(con)
        report = _run_staged(
            con, stage_con, item, as_of=as_of, valid_rows_only=valid_rows_only, write=True, load_id=load_id, step=step
        )
        step("writing the load log")
        _log(con, stage_con, report, item, as_of=as_of, who=who)
    finally:
        if stage_con is not con:
            stage_con.close()
    return report


class _WorkbookRefused(Exception):
    """Thrown into a workbook's shared write to discard it: one of its lists was refused."""


def _finish_shared(shared: tuple | None, *, whole: bool = False, as_of: date, who: str, db) -> None:
    """Rebuild the KPIs of a workbook's changed lists once, then commit its write; when `whole` and one of
    its lists was refused, discard the write and log every list as refused (a workbook is all or nothing)."""
    if shared is None:
        return
    _, con, context, sources, group = shared
    refused = [r.file_name for _, r in group if r.outcome == "refused"]
    if whole and refused and any(r.outcome != "refused" for _, r in group):
        context.__exit__(_WorkbookRefused, _WorkbookRefused(), None)  # the copy (or transaction) is discarded
        because = (
            f"not loaded: {', '.join(refused)} of the same workbook {'is' if len(refused) == 1 else 'are'} refused,"
            " and a workbook loads whole or not at all (or load its good lists alone: --valid-rows-only, or the"
            " data page's choice)"
        )
        with warehouse.writer(db) as con:
            for item, report in group:
                report.load_id = _next_load_id(con)
                if report.outcome != "refused":
                    report.outcome, report.notes = "refused", []
                    report.added = report.replaced = report.unchanged = report.redated = 0
                    report.findings = [Finding("error", None, None, None, because), *report.findings]
                _log(con, None, report, item, as_of=as_of, who=who)
        return
    try:
        if sources:
            _rebuild_kpis(con, None if "organisation" in sources else set().union(*map(_sources_for, sources)))
    except BaseException:
        if not context.__exit__(*sys.exc_info()):
            raise
        raise
    context.__exit__(None, None, None)


@authority.scoped
def load_files(
    paths: Sequence[str | os.PathLike],
    *,
    as_of: date | str,
    who: str,
    valid_rows_only: bool = False,
    db: str | os.PathLike | None = None,
    progress: Progress | None = None,
    display_names: Sequence[str] | None = None,
) -> list[LoadReport]:
    """Load each file as its own all-or-nothing load; reports in the order given.

    Organisation files load first, so the teams they add are known to the
    other files of the same call. `progress(message)` hears each stage."""
    as_of = _as_date(as_of)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]  # one file given on its own
    names = list(display_names) if display_names is not None else [None] * len(paths)
    if len(names) != len(paths):
        raise ValueError("display_names must give one name per file")
    from etl.people import notes

    prepared = [item for p, n in zip(paths, names, strict=True) for item in _prepare_all(p, n)]
    order = sorted(
        range(len(prepared)),
        key=lambda i: 0 if prepared[i].recognised and prepared[i].recognised.extract.name == "organisation" else 1,
    )
    reports: dict[int, LoadReport] = {}
    stages = 6
    # (workbook path, connection, writer context, changed sources, [(list, report)]) while a workbook is written
    shared = None
    ends = {"whole": not valid_rows_only, "as_of": as_of, "who": who, "db": db}
    for done, index in enumerate(order):
        item = prepared[index]
        count = [0]

        def step(message: str, item: _Prepared = item, done: int = done, count: list[int] = count) -> None:
            count[0] += 1
            if progress is not None:
                percent = round(100 * (done + min(count[0], stages) / stages) / len(order))
                progress(f"[{done + 1}/{len(order)}] {item.name}: {message} ({percent}%)")

        if item.rows is None and notes.is_export(item.path):
            # A `cpip notes export` file goes back into the notes store, not the warehouse.
            reports[index] = _restore_notes(item.path, item.name, db)
            continue
        if item.skipped:
            reports[index] = LoadReport(item.name, None, outcome="skipped", notes=[item.skipped])
            continue
        # The lists of one workbook share one write (one copy of the warehouse, one KPI rebuild); each list is
        # still a load of its own, loaded or refused on its own.
        if shared is not None and shared[0] == item.path:
            con = shared[1]
        else:
            _finish_shared(shared, **ends)
            shared = None
            if item.content_hash is not None:  # a list of a workbook, readable or not
                context = warehouse.writer(db)
                shared = (item.path, context.__enter__(), context, set(), [])
                con = shared[1]
        if shared is None:
            with warehouse.writer(db) as con:
                report = _load_one(con, item, as_of=as_of, who=who, valid_rows_only=valid_rows_only, step=step)
                if report.added or report.replaced or report.redated:
                    # After the log: the KPI rules judge each record against its own as-of date.
                    step("rebuilding the KPIs")
                    _rebuild_kpis(con, _sources_for(report.extract_type))
        else:
            try:
                report = _load_one(con, item, as_of=as_of, who=who, valid_rows_only=valid_rows_only, step=step)
            except BaseException:
                context = shared[2]
                shared = None
                if not context.__exit__(*sys.exc_info()):
                    raise
                raise
            shared[4].append((item, report))
            if report.added or report.replaced or report.redated:
                shared[3].add(report.extract_type)
        if progress is not None:
            progress(f"[{done + 1}/{len(order)}] {item.name}: {report.outcome}")
        reports[index] = report
    _finish_shared(shared, **ends)
    return [reports[i] for i in range(len(prepared))]


def _restore_notes(path: str | os.PathLike, name: str | None, db: str | os.PathLike | None) -> LoadReport:
    """Bring back a `cpip notes export` file (etl/people/notes.py): versions already held are unchanged."""
    from etl.people import notes

    report = LoadReport(name or Path(path).name, "notes")
    try:
        added, held = notes.restore(path, db=db)
    except ValueError as exc:
        report.findings = [Finding("error", None, None, None, str(exc))]
        return report
    report.rows_read, report.added, report.unchanged = added + held, added, held
    report.outcome = "loaded" if added else "no change"
    return report


@authority.scoped
def preview_file(
    path: str | os.PathLike,
    *,
    as_of: date | str,
    db: str | os.PathLike | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """What loading the file would do (counts, findings), committing nothing.
    `progress(message)` hears each stage (reading, validating, comparing).
    A workbook gives one report per sheet: see `preview_files`; this returns the first."""
    return preview_files(path, as_of=as_of, db=db, display_name=display_name, progress=progress)[0]


@authority.scoped
def preview_files(
    path: str | os.PathLike,
    *,
    as_of: date | str,
    db: str | os.PathLike | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
) -> list[LoadReport]:
    """What loading the file would do, one report per list (a CSV is one list; a workbook one per sheet)."""
    as_of = _as_date(as_of)
    reports, stages = [], 3
    for prepared in _prepare_all(path, display_name):
        count = [0]

        def step(message: str, prepared: _Prepared = prepared, count: list[int] = count) -> None:
            count[0] += 1
            if progress is not None:
                progress(f"{prepared.name}: {message} ({round(100 * (count[0] - 1) / stages)}%)")

        with warehouse.reading(db) as con:
            reports.append(_run(con, prepared, as_of=as_of, valid_rows_only=True, write=False, load_id=None, step=step))
        if progress is not None:
            progress(f"{prepared.name}: checked (100%)")
    return reports


def _recompute_as_of(con, extract: ExtractType, touched: str) -> None:
    """Set each touched record's as_of to the latest as-of date of the loads still in force
    that contained it: the one that brought its version, those that saw it unchanged, and
    those whose earlier versions it replaced."""
    table = extract.table
    keys = ", ".join(f'"{k}"' for k in extract.key)
    contained = " UNION ALL ".join(
        f'SELECT {keys}, load_id FROM "{t}" x '
        f"WHERE EXISTS (SELECT 1 FROM {touched} k WHERE {_keys_on(extract, 'x', 'k')})"
        for t in (table, f"{table}_seen", f"{table}_replaced")
    )
    con.execute(
        f"""
        UPDATE "{table}" t SET as_of = d.as_of
        FROM (
            SELECT {keys}, max(l.as_of) AS as_of FROM ({contained}) c JOIN loads l USING (load_id)
            WHERE l.outcome <> 'undone' GROUP BY {keys}
        ) d
        WHERE {_keys_on(extract, "t", "d")}
        """
    )


@authority.scoped
def undo_load(load_id: int, *, who: str, db: str | os.PathLike | None = None) -> str:
    """Restore exactly the state before load `load_id`, as if it had never been loaded:
    its records go and the records it replaced come back, except that a record a later
    load also contained stays, as that load's; records it re-dated get their earlier
    as-of dates back. Refused (ValueError) when a later load that is still in force
    replaced some of its records, or when it is already undone."""
    with warehouse.writer(db) as con:
        row = con.execute(
            "SELECT file_name, extract_type, outcome, undone_at, undone_by FROM loads WHERE load_id = ?", [load_id]
        ).fetchall()
        if not row:
            raise ValueError(f"there is no load {load_id}")
        [(file_name, extract_type, outcome, undone_at, undone_by)] = row
        if outcome == "undone":
            raise ValueError(
                f"load {load_id} ({file_name}) was already undone on {undone_at:%Y-%m-%d %H:%M} by {undone_by}"
            )
        if outcome in ("refused", "no change"):
            raise ValueError(f"load {load_id} ({file_name}) changed nothing ({outcome}): there is nothing to undo")
        extract = EXTRACT_TYPES[extract_type]
        table = extract.table
        touch(con, table, f"{table}_replaced", f"{table}_seen" if extract.record_level else table, "loads")
        later = [
            r[0]
            for r in con.execute(
                f'SELECT DISTINCT replaced_by FROM "{table}_replaced" r JOIN loads l ON l.load_id = r.replaced_by '
                "WHERE r.load_id = ? AND l.outcome <> 'undone' ORDER BY 1",
                [load_id],
            ).fetchall()
        ]
        if later:
            which = ", ".join(str(i) for i in later)
            raise ValueError(
                f"load {load_id} ({file_name}) cannot be undone: later load {which} replaced some of its records;"
                f" undo load {which} first"
            )
        columns = ", ".join(f'"{c}"' for c in extract.column_names)
        keys = ", ".join(f'"{k}"' for k in extract.key)
        kept = redated = 0
        # A snapshot's records are its month's alone (the same child is in every month's snapshot): undo takes
        # them out and puts the month's earlier snapshot back, dates and all; nothing is carried across months.
        by_key = extract.record_level and not extract.snapshot
        if by_key:
            dialect_of(con).temp_table(
                con,
                "_touched",
                f'SELECT {keys} FROM "{table}" WHERE load_id = $load '
                f'UNION SELECT {keys} FROM "{table}_seen" WHERE load_id = $load',
                {"load": load_id},
            )
            # A record this load brought that a later load in force also contained stays, as the
            # earliest such load's, with the versions it replaced: as if this load never happened.
            s_keys = ", ".join(f's."{k}"' for k in extract.key)
            dialect_of(con).temp_table(
                con,
                "_heir",
                f"""
                SELECT {s_keys}, min(s.load_id) AS heir
                FROM "{table}_seen" s JOIN loads l ON l.load_id = s.load_id
                WHERE s.load_id <> $load AND l.outcome <> 'undone'
                  AND EXISTS (SELECT 1 FROM "{table}" t WHERE {_keys_on(extract, "s", "t")} AND t.load_id = $load)
                GROUP BY {s_keys}
                """,
                {"load": load_id},
            )
            [(kept,)] = con.execute("SELECT count(*) FROM _heir").fetchall()
            if kept:
                con.execute(
                    f'UPDATE "{table}" t SET load_id = h.heir FROM _heir h '
                    f"WHERE {_keys_on(extract, 't', 'h')} AND t.load_id = ?",
                    [load_id],
                )
                con.execute(
                    f'UPDATE "{table}_replaced" r SET replaced_by = h.heir FROM _heir h '
                    f"WHERE {_keys_on(extract, 'r', 'h')} AND r.replaced_by = ?",
                    [load_id],
                )
                con.execute(
                    f'DELETE FROM "{table}_seen" s USING _heir h WHERE {_keys_on(extract, "s", "h")} '
                    "AND s.load_id = h.heir"
                )
        removed = con.execute(f'SELECT count(*) FROM "{table}" WHERE load_id = ?', [load_id]).fetchall()[0][0]
        con.execute(f'DELETE FROM "{table}" WHERE load_id = ?', [load_id])
        [(restored,)] = con.execute(
            f'SELECT count(*) FROM "{table}_replaced" WHERE replaced_by = ?', [load_id]
        ).fetchall()
        as_of_col = ", as_of" if extract.record_level else ""
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id{as_of_col}) SELECT {columns}, load_id{as_of_col} '
            f'FROM "{table}_replaced" WHERE replaced_by = ?',
            [load_id],
        )
        con.execute(f'DELETE FROM "{table}_replaced" WHERE replaced_by = ?', [load_id])
        con.execute(
            "UPDATE loads SET outcome = 'undone', undone_at = ?, undone_by = ? WHERE load_id = ?",
            [datetime.now().replace(microsecond=0), who, load_id],
        )
        if by_key:
            con.execute(f'DELETE FROM "{table}_seen" WHERE load_id = ?', [load_id])
            dialect_of(con).temp_table(
                con,
                "_before",
                f'SELECT {keys}, as_of FROM "{table}" t '
                f"WHERE EXISTS (SELECT 1 FROM _touched k WHERE {_keys_on(extract, 't', 'k')})",
            )
            _recompute_as_of(con, extract, "_touched")
            [(redated,)] = con.execute(
                f'SELECT count(*) FROM "{table}" t JOIN _before b ON {_keys_on(extract, "t", "b")} '
                "WHERE t.as_of IS DISTINCT FROM b.as_of AND t.load_id <> ?",
                [load_id],
            ).fetchall()
            for temp in ("_touched", "_heir", "_before"):
                con.execute(f"DROP TABLE IF EXISTS {temp}")
        _rebuild_kpis(con, _sources_for(extract_type))
    text = (
        f"load {load_id} ({file_name}, {extract_type}) undone: {_count(removed, 'record')} removed, "
        f"{restored:,} earlier {'record' if restored == 1 else 'records'} restored"
    )
    if kept:
        text += f", {kept:,} kept as a later load also contained {'it' if kept == 1 else 'them'}"
    if redated:
        text += f", {_count(redated, 'record')} back at {'its' if redated == 1 else 'their'} earlier as-of date"
    return text


@authority.scoped
def load_log(db: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every load of the authority in hand, newest last (the columns of the release before authorities:
    `cpip loads` prints them, and scripts read them)."""
    with warehouse.reading(db) as con:
        columns = [c for c in dialect_of(con).columns(con, "loads") if c != "la_code"]
        return con.execute(f"SELECT {', '.join(columns)} FROM loads ORDER BY load_id").df()


@authority.scoped
def load_findings(load_id: int, db: str | os.PathLike | None = None) -> pd.DataFrame:
    """The errors and warnings of one load, by line."""
    with warehouse.reading(db) as con:
        return con.execute(
            "SELECT load_id, severity, line, column_name, value, reason FROM load_findings WHERE load_id = ? "
            "ORDER BY line NULLS FIRST, severity",
            [load_id],
        ).df()
