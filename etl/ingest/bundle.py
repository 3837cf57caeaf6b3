"""Loading a statutory return given as several tables (an SSDA903's CSV tables, its XML, a zip) as one load:
all or nothing, one row in the load log (its extract type is the return's name, `ssda903`), one undo.

Each list of the return (one per contract type it feeds) is staged and validated as any extract is
(etl/ingest/validate.py); the return's own checks (its children, its episode chains, its codes by collection
year: etl/formats/ssda903_reader.py) are added. Any error refuses the whole return. Otherwise every type is
written by record key under the one load id, and the return is the whole truth for its collection year: a
record an earlier return brought for that year, of a table this return gives, that this one no longer holds
is retired (moved to `<type>_replaced`, so undo brings it back). The windows of docs/spec/windows.md, being
built in the loader for every type, should take this over: see `retire_year`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from etl.catalogue.contract import EXTRACT_TYPES, RETURNS
from etl.formats import ssda903_reader
from etl.ingest import write
from etl.ingest.prepare import Prepared, push_good, stage_for
from etl.ingest.report import Finding, LoadReport
from etl.ingest.validate import validate
from etl.readers.read import ExtractFileError, stage_rows
from etl.store import warehouse
from etl.store.db import column_type, touch

RETURN = "ssda903"
_NO_TEAM = "no allocated team:%"  # every 903 record has none: said once for the return, not per row


def _stage_name(extract: str) -> str:
    return f"r_{extract}"


def load_return(items: list[Prepared], *, as_of: date, who: str, db) -> LoadReport:
    """The lists of one return (`items` share a bundle) as one load."""
    notes = ssda903_reader.notes_for(items[0].bundle or "")
    name = items[0].bundle or items[0].name
    with warehouse.writer(db) as con:
        stage_con = stage_for(con)
        try:
            load_id = write.next_load_id(con)
            report = LoadReport(name, RETURN, load_id=load_id)
            _validate(stage_con, items, notes, report, as_of)
            if report.rejected or any(f.severity == "error" for f in report.findings):
                report.outcome = "refused"
            else:
                _write(con, stage_con, items, notes, report, as_of, load_id)
            _log(con, stage_con, report, items, as_of=as_of, who=who)
            if report.added or report.replaced or report.redated or report.retired:
                sources: set[str] = set()
                for extract in RETURNS[RETURN]:
                    moved = write.sources_for(extract)
                    if moved is None:
                        sources = None
                        break
                    sources |= moved
                write.rebuild_kpis(con, sources)
        finally:
            if stage_con is not con:
                stage_con.close()
    return report


def preview_return(items: list[Prepared], *, as_of: date, db) -> LoadReport:
    """What loading the return would do (its checks, and the records it would add or replace), committing
    nothing."""
    notes = ssda903_reader.notes_for(items[0].bundle or "")
    with warehouse.reading(db) as con:
        stage_con = stage_for(con)
        try:
            report = LoadReport(items[0].bundle or items[0].name, RETURN)
            _validate(stage_con, items, notes, report, as_of)
            if report.rejected or any(f.severity == "error" for f in report.findings):
                report.outcome = "refused"
                return report
            staged = {i.recognised.extract.name for i in items if i.recognised is not None}
            stage_con.execute("DROP VIEW IF EXISTS good")
            for name in staged:
                extract = EXTRACT_TYPES[name]
                stage_con.execute(f"CREATE TEMP TABLE good AS SELECT * FROM good_{name}")
                if stage_con is not con:
                    push_good(stage_con, con, extract)
                added, replaced, unchanged, redated = write.compare_records(con, extract, as_of)
                report.added += added
                report.replaced += replaced
                report.unchanged += unchanged
                report.redated += redated
                for c in {id(stage_con): stage_con, id(con): con}.values():
                    c.execute("DROP TABLE IF EXISTS good")
            report.outcome = "preview"
        finally:
            if stage_con is not con:
                stage_con.close()
    return report


def _validate(stage_con, items: list[Prepared], notes, report: LoadReport, as_of: date) -> None:
    """Stage and validate each list; gather every finding (the return's own first) in `_return_findings`."""
    stage_con.execute("DROP TABLE IF EXISTS _return_findings")
    stage_con.execute(
        "CREATE TEMP TABLE _return_findings (line INTEGER, ord INTEGER, severity VARCHAR, column_name VARCHAR,"
        " value VARCHAR, reason VARCHAR)"
    )
    if notes is not None:
        rows = []
        for p in notes.problems:
            where = notes.tables.get(p.table, p.table)
            child = f"child {p.child}: " if p.child else ""
            rows.append((p.line, 0, p.severity, p.column, p.value, f"{where}: {child}{p.reason}"))
        if rows:
            stage_con.executemany("INSERT INTO _return_findings VALUES (?, ?, ?, ?, ?, ?)", rows)
        report.notes += [f"skipped {s}" for s in notes.skipped]
        report.notes.append(f"read as the SSDA903 return for {notes.year}")
    for item in items:
        if item.problem or item.recognised is None or item.rows is None:
            reason = item.problem or "cannot be read"
            stage_con.execute(
                "INSERT INTO _return_findings VALUES (NULL, 0, 'error', NULL, NULL, ?)", [f"{item.name}: {reason}"]
            )
            continue
        extract = item.recognised.extract
        table = _stage_name(extract.name)
        try:
            stage_rows(
                stage_con,
                item.rows,
                item.first_line,
                item.recognised,
                table=table,
                lines=item.lines,
                text_cells=item.text_cells,
            )
        except ExtractFileError as exc:
            stage_con.execute(
                "INSERT INTO _return_findings VALUES (NULL, 0, 'error', NULL, NULL, ?)", [f"{item.name}: {exc}"]
            )
            continue
        result = validate(stage_con, extract, as_of=as_of, stage=table, blank_team=True)
        stage_con.execute("DELETE FROM findings WHERE reason LIKE ?", [_NO_TEAM])
        # The year end a return is for may be after an in-year return's as-of date: not a finding.
        stage_con.execute("DELETE FROM findings WHERE column_name = 'year_end' AND reason LIKE 'after the as-of date%'")
        # Each finding names its child, as the return's own checks do.
        stage_con.execute(
            "INSERT INTO _return_findings SELECT f.line, f.ord, f.severity, f.column_name, f.value, "
            "? || ': ' || coalesce('child ' || s.child_id || ': ', '') || f.reason "
            f'FROM findings f LEFT JOIN "{table}" s ON s.line = f.line',
            [item.name.split(" (")[0]],
        )
        report.rows_read += result.rows
        report.rejected += result.rejected
        stage_con.execute(f"CREATE OR REPLACE TEMP TABLE good_{extract.name} AS SELECT * FROM good")
    report.findings = [
        Finding(*row)
        for row in stage_con.execute(
            "SELECT severity, line, column_name, value, reason FROM _return_findings "
            "ORDER BY severity = 'warning', reason, line"
        ).fetchall()
    ]
    report.warnings = sum(1 for f in report.findings if f.severity == "warning")


def _write(con, stage_con, items, notes, report: LoadReport, as_of: date, load_id: int) -> None:
    """Every type of the return by record key under one load id; then what the return no longer holds of
    its year, retired."""
    staged = {i.recognised.extract.name for i in items if i.recognised is not None}
    speaks = set(notes.types) if notes is not None else staged
    periods: list[str] = []
    stage_con.execute("DROP VIEW IF EXISTS good")  # the last list's, from validate
    for name in RETURNS[RETURN]:
        extract = EXTRACT_TYPES[name]
        if name not in speaks:
            continue
        if name in staged:
            select = f"SELECT * FROM good_{name}"
        else:  # a table given with no rows of the type: the return holds none for its year
            columns = ", ".join(f'CAST(NULL AS {column_type(c.type)}) AS "{c.name}"' for c in extract.columns)
            select = f"SELECT {columns} WHERE false"
        stage_con.execute(f"CREATE TEMP TABLE good AS {select}")
        if stage_con is not con:
            push_good(stage_con, con, extract)
        # A return taken earlier than what the warehouse holds of a record (last year's return loaded after this
        # year's) does not override it: the newer as-of date speaks (docs/spec/windows.md).
        [(older,)] = con.execute(
            f'SELECT count(*) FROM good g WHERE EXISTS (SELECT 1 FROM "{extract.table}" t '
            f"WHERE {write.keys_on(extract, 'g', 't')} AND t.as_of > $as_of)",
            {"as_of": as_of},
        ).fetchall()
        if older:
            con.execute(
                f'DELETE FROM good g WHERE EXISTS (SELECT 1 FROM "{extract.table}" t '
                f"WHERE {write.keys_on(extract, 'g', 't')} AND t.as_of > $as_of)",
                {"as_of": as_of},
            )
            report.kept_newer += older
        added, replaced, unchanged, redated = write.compare_records(con, extract, as_of)
        if added or replaced or unchanged:
            write.write_records(con, extract, load_id, as_of, added, replaced)
        report.added += added
        report.replaced += replaced
        report.unchanged += unchanged
        report.redated += redated
        if notes is not None:
            report.retired += retire_year(con, extract, load_id, notes.year.start, notes.year.end, as_of)
        if extract.period_column and name in staged:
            first, last = stage_con.execute(
                f"SELECT strftime(min(\"{extract.period_column}\"), '%Y-%m'), "
                f"strftime(max(\"{extract.period_column}\"), '%Y-%m') FROM good"
            ).fetchall()[0]
            periods += [p for p in (first, last) if p]
        for c in {id(stage_con): stage_con, id(con): con}.values():
            c.execute("DROP TABLE IF EXISTS good")
    if periods:
        report.first_period, report.last_period = min(periods), max(periods)
    if report.kept_newer:
        report.notes.append(
            f"{report.kept_newer:,} records a return taken later already holds kept as that one gives them"
        )
    if report.retired:
        report.notes.append(
            f"{report.retired:,} records an earlier return held for {notes.year} are not in this one: retired"
        )
    report.outcome = (
        "loaded"
        if report.added or report.replaced or report.retired
        else ("re-dated" if report.redated else "no change")
    )


def retire_year(con, extract, load_id: int, first: date, last: date, as_of: date) -> int:
    """The return is the whole truth for its collection year: records of this type whose window date falls
    in it, brought by an earlier return, and not in this one (`good`) go to `<type>_replaced` (undo brings
    them back). Records other extracts brought are left to the windows rule (docs/spec/windows.md), which
    the loader is gaining for every type: at merge, this becomes that rule's window for a return."""
    table, column = extract.table, extract.window_date
    touch(con, table, f"{table}_replaced")
    condition = (
        f'CAST(t."{column}" AS DATE) BETWEEN $first AND $last AND t.load_id <> $load AND t.as_of <= $as_of '
        f"AND t.load_id IN (SELECT load_id FROM loads WHERE extract_type = '{RETURN}') "
        f"AND NOT EXISTS (SELECT 1 FROM good g WHERE {write.keys_on(extract, 'g', 't')})"
    )
    params = {"first": first, "last": last, "load": load_id, "as_of": as_of}
    [(count,)] = con.execute(f'SELECT count(*) FROM "{table}" t WHERE {condition}', params).fetchall()
    if not count:
        return 0
    columns = ", ".join(f'"{c}"' for c in extract.column_names)
    picked = ", ".join(f't."{c}"' for c in extract.column_names)
    con.execute(
        f'INSERT INTO "{table}_replaced" ({columns}, load_id, replaced_by, as_of) '
        f'SELECT {picked}, t.load_id, $load, t.as_of FROM "{table}" t WHERE {condition}',
        params,
    )
    con.execute(f'DELETE FROM "{table}" t WHERE {condition}', params)
    return count


def _log(con, stage_con, report: LoadReport, items: list[Prepared], *, as_of: date, who: str) -> None:
    """The return's one row in the load log, and every finding of every table."""
    stage_con.execute("DROP TABLE IF EXISTS findings")
    stage_con.execute("CREATE TEMP TABLE findings AS SELECT * FROM _return_findings")
    prepared = Prepared(Path(items[0].path), report.file_name, content_hash=items[0].hash)
    write.log_load(con, stage_con, report, prepared, as_of=as_of, who=who)
