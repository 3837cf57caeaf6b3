"""Loading extract files into the warehouse, with the load log and undo.

One file is one load, and one load is one `etl.store.warehouse.writer()`
transaction on a private copy of the warehouse: read, validate, replace by
record key, write the log and its findings, rebuild the KPIs, then swap the
copy in. A failure anywhere leaves the live file as it was.

A file with any error loads nothing unless the caller asks for the valid rows
alone; a file of several lists (a workbook) is one file: one list refused, none
loaded, unless the caller asks for its good lists and valid rows alone
(`valid_rows_only`). A record whose key is already in the warehouse replaces it
only when it differs (the old version moves to `<table>_replaced`, so the load
can be undone); an identical record is left untouched, so loading a file twice
changes nothing.

The seams: `prepare` (read, recognise, stage), `etl.ingest.validate`, `write`
(compare, write, the log) and `undo`; this module runs them and keeps the
public functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from etl.formats import ssda903_reader
from etl.formats.ssda903 import Year
from etl.formats.ssda903_reader import reading_year
from etl.ingest import bundle, write
from etl.ingest.prepare import (
    Prepared,
    as_date,
    periods,
    prepare_group,
    push_good,
    stage_for,
    staged_findings,
)
from etl.ingest.report import OUTCOMES, Finding, LoadReport
from etl.ingest.undo import undo_load
from etl.ingest.validate import validate
from etl.readers import registry
from etl.readers.read import ExtractFileError, stage, stage_rows
from etl.store import authority, warehouse
from etl.store.db import dialect_of

if TYPE_CHECKING:  # pandas only for the log's frames: loading a file never needs it
    import pandas as pd

__all__ = [
    "OUTCOMES",
    "Finding",
    "LoadReport",
    "load_files",
    "load_findings",
    "load_log",
    "preview_file",
    "preview_files",
    "preview_group",
    "undo_load",
]

Progress = Callable[[str], None]


def _run(
    con,
    prepared: Prepared,
    *,
    as_of: date,
    valid_rows_only: bool,
    commit: bool,
    load_id: int | None,
    step: Progress,
) -> LoadReport:
    """Read, validate and (when `commit`) apply one file on `con`. File-level
    problems become a refused report, never an exception."""
    stage_con = stage_for(con)
    try:
        return _run_staged(
            con,
            stage_con,
            prepared,
            as_of=as_of,
            valid_rows_only=valid_rows_only,
            commit=commit,
            load_id=load_id,
            step=step,
        )
    finally:
        if stage_con is not con:
            stage_con.close()


def _run_staged(
    con,
    stage_con,
    prepared: Prepared,
    *,
    as_of: date,
    valid_rows_only: bool,
    commit: bool,
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
            stage_rows(
                stage_con,
                prepared.rows,
                prepared.first_line,
                recognised,
                lines=prepared.lines,
                empty_ok=prepared.window is not None,  # a return's module with no records that year
                text_cells=prepared.text_cells,
            )
        else:
            stage(stage_con, prepared.file, recognised)
    except ExtractFileError as exc:
        report.findings = [Finding("error", None, None, None, str(exc))]
        if commit and prepared.rows is None and stage_con is con:
            # A parser error aborts DuckDB's transaction; nothing was written yet, so start afresh to log the refusal.
            con.execute("ROLLBACK")
            con.execute("BEGIN TRANSACTION")
        return report
    report.notes = list(recognised.notes)
    step("validating")
    covered = None
    if stage_con is not con and "given_figures" in extract.checks:
        from etl.rules.kpis import coverage

        covered = coverage(con)
    layout = recognised.layout
    result = validate(
        stage_con,
        extract,
        as_of=as_of,
        blank_team=layout is not None and layout.blank_team is not None,
        team_given=layout is None or layout.team_given,
        covered=covered,
    )
    report.rows_read, report.rejected, report.warnings = result.rows, result.rejected, result.warnings
    if prepared.reader_findings:
        _reader_findings(stage_con, prepared, report)
    if layout is not None and not layout.team_given:
        report.notes.append(
            f"{layout.name} names no team: each record counts for the team the allocation history gives its child"
            f" on the record's counted date, else as {layout.blank_team}"
        )
    report.findings = staged_findings(stage_con)
    report.first_period, report.last_period = periods(stage_con, extract)
    good = report.rows_read - report.rejected
    if report.rejected and (not valid_rows_only or good == 0):
        report.outcome = "refused"
        return report
    step("comparing with the warehouse")
    if stage_con is not con:
        push_good(stage_con, con, extract)
    if layout is not None and not layout.team_given and recognised.annex is not None:
        # A return says nothing about what it does not carry: a record held already keeps it (its team).
        write.keep_unsaid(con, extract, {"child_id", *getattr(recognised.annex, "fields", {})})
    if extract.snapshot:
        report.added, report.replaced, report.unchanged, note = write.compare_snapshot(con, extract, as_of)
        report.notes += [note] if note else []
    else:
        report.added, report.replaced, report.unchanged, report.redated = write.compare_records(con, extract, as_of)
    if not commit:
        report.outcome = "preview"
        return report
    if extract.snapshot:
        # A snapshot replaces its month's earlier snapshot whole: its own write, never the record-by-key one.
        if report.added or report.replaced:
            step(f"writing {report.added:,} records")
            before = write.superseded(con, extract)
            write.write_snapshot(con, extract, load_id, as_of)
            write.report_superseded(con, stage_con, report, extract, before)
    elif report.added or report.replaced or report.unchanged:
        step(f"writing {report.added + report.replaced:,} records")
        before = write.superseded(con, extract)
        write.write_records(con, extract, load_id, as_of, report.added, report.replaced)
        write.report_superseded(con, stage_con, report, extract, before)
    if prepared.window is not None and not extract.snapshot:
        report.retired = write.retire_window(con, extract, load_id, prepared.window)
        first, last = prepared.window
        report.notes.append(
            f"taken as every {extract.name} record dated {first:%-d %b %Y} to {last:%-d %b %Y}"
            f" by {extract.window_date}"
            + (f": {report.retired:,} held from earlier loads are not in it and are retired" if report.retired else "")
        )
    if report.rejected:
        report.outcome = "loaded valid rows only"
    elif report.added or report.replaced or report.retired:
        report.outcome = "loaded"
    else:
        report.outcome = "re-dated" if report.redated else "no change"
    return report


def _reader_findings(stage_con, prepared: Prepared, report: LoadReport) -> None:
    """The reader's own findings (a return's national rules) beside the validator's, in `findings`; the
    records it refused are rows read and rejected."""
    stage_con.executemany(
        "INSERT INTO findings (line, ord, severity, column_name, value, reason) VALUES (?, 500, ?, ?, ?, ?)",
        [[line, severity, column, value, reason] for severity, line, column, value, reason in prepared.reader_findings],
    )
    report.rows_read += prepared.reader_errors
    report.rejected += prepared.reader_errors
    report.warnings += sum(1 for f in prepared.reader_findings if f[0] == "warning")


class _ReturnRefused(Exception):
    """A list of a return was refused: the return's write is abandoned (all or nothing)."""


def _load_return(items: list[Prepared], *, as_of: date, who: str, db, step_for) -> list[LoadReport]:
    """The lists of one return (a CIN census's referrals, assessments, section 47 enquiries and plans) in
    one write: each is a load of its own in the log, but if any is refused none is loaded, and the log says
    so for each."""
    reports: list[LoadReport] = []
    try:
        with warehouse.writer(db) as con:
            changed: set[str] = set()
            for item in items:
                dated = _return_as_of(item, as_of)
                report = _load_one(con, item, as_of=dated, who=who, valid_rows_only=False, step=step_for(item))
                if dated != as_of:
                    report.notes.append(f"as of {dated:%-d %b %Y}, the end of its year (what it can know)")
                reports.append(report)
                if report.added or report.replaced or report.redated or report.retired:
                    changed.add(report.extract_type)
            if not all(r.ok for r in reports):
                raise _ReturnRefused  # every list was checked, so every error is listed; none is written
            if changed:
                moved = [write.sources_for(source) for source in changed]
                write.rebuild_kpis(con, None if None in moved else set().union(*moved))
    except _ReturnRefused:
        return _refuse_return(items, reports, as_of=as_of, who=who, db=db)
    return reports


def _return_as_of(item: Prepared, as_of: date) -> date:
    """A return knows its records as they were at the end of its year at the latest: last year's census loaded
    today is as of 31 March (its open records are judged then, and it is older than an extract taken since);
    an in-year census, taken before its year ends, is as of the day given."""
    return min(as_of, item.window[1]) if item.window is not None else as_of


def _refuse_return(items: list[Prepared], reports: list[LoadReport], *, as_of: date, who: str, db) -> list[LoadReport]:
    """Log every list of a refused return as refused, with its own findings and why it was not loaded."""
    refused = [r.file_name for r in reports if not r.ok]
    failed = "; ".join(refused) or "another list"
    verb = "have" if len(refused) > 1 else "has"
    out: list[LoadReport] = []
    with warehouse.writer(db) as con:
        for index, item in enumerate(items):
            report = (
                reports[index]
                if index < len(reports)
                else LoadReport(item.name, item.recognised.extract.name if item.recognised else item.extract_type)
            )
            if report.ok or index >= len(reports):
                report.findings.append(
                    Finding(
                        "error",
                        None,
                        None,
                        None,
                        f"not loaded: {failed} {verb} errors, and a return loads whole or not at all",
                    )
                )
                report.added = report.replaced = report.unchanged = report.redated = report.retired = 0
            report.outcome, report.whole = "refused", True
            report.load_id = write.next_load_id(con)
            write.log_load(con, None, report, item, as_of=_return_as_of(item, as_of), who=who)
            out.append(report)
    return out


def _load_one(con, item: Prepared, *, as_of: date, who: str, valid_rows_only: bool, step: Progress) -> LoadReport:
    """One file or list as one load on `con`: run it and write its log."""
    stage_con = stage_for(con)
    try:
        stage_con.execute("DROP TABLE IF EXISTS findings")  # the previous list's, when a workbook's lists share a write
        load_id = write.next_load_id(con)
        report = _run_staged(
            con, stage_con, item, as_of=as_of, valid_rows_only=valid_rows_only, commit=True, load_id=load_id, step=step
        )
        step("writing the load log")
        write.log_load(con, stage_con, report, item, as_of=as_of, who=who)
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
                report.load_id = write.next_load_id(con)
                if report.outcome != "refused":
                    report.outcome, report.notes = "refused", []
                    report.added = report.replaced = report.unchanged = report.redated = 0
                    report.findings = [Finding("error", None, None, None, because), *report.findings]
                write.log_load(con, None, report, item, as_of=as_of, who=who)
        return
    try:
        if sources:
            moved = [write.sources_for(source) for source in sources]
            write.rebuild_kpis(con, None if None in moved else set().union(*moved))
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
    collection_year: str | None = None,
) -> list[LoadReport]:
    """Load each file as its own all-or-nothing load; reports in the order given. The files of one return
    given together (an SSDA903's CSV tables) are one load, with one report.

    Organisation files load first, so the teams they add are known to the
    other files of the same call. `progress(message)` hears each stage. `collection_year` (`2024/25`) is the
    year a statutory return is read for; without it, the year of the as-of date."""
    as_of = as_date(as_of)
    year = Year.parse(collection_year) if collection_year else Year.of(as_of)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]  # one file given on its own
    names = list(display_names) if display_names is not None else [None] * len(paths)
    if len(names) != len(paths):
        raise ValueError("display_names must give one name per file")
    with reading_year(year):
        prepared = [
            item
            for reader, group in registry.gather(paths)
            for item in prepare_group(reader, [paths[i] for i in group], [names[i] for i in group])
        ]
    order = sorted(
        range(len(prepared)),
        key=lambda i: 0 if prepared[i].recognised and prepared[i].recognised.extract.declares_teams else 1,
    )
    reports: dict[int, LoadReport] = {}
    stages = 6
    # (workbook path, connection, writer context, changed sources, [(list, report)]) while a workbook is written
    shared = None
    bundled: set[str] = set()  # the SSDA903 returns loaded (one report each)
    ends = {"whole": not valid_rows_only, "as_of": as_of, "who": who, "db": db}
    for done, index in enumerate(order):
        item = prepared[index]
        count = [0]

        def step(message: str, item: Prepared = item, done: int = done, count: list[int] = count) -> None:
            count[0] += 1
            if progress is not None:
                percent = round(100 * (done + min(count[0], stages) / stages) / len(order))
                progress(f"[{done + 1}/{len(order)}] {item.name}: {message} ({percent}%)")

        if item.bundle is not None:
            # The lists of one return load together, all or nothing, once (at the first of them).
            if index in reports or item.bundle in bundled:
                continue
            _finish_shared(shared, **ends)
            shared = None
            members = [i for i in order if prepared[i].bundle == item.bundle]
            if ssda903_reader.holds(item.bundle):
                # An SSDA903 return (etl/ingest/bundle.py): one load with one report; its other lists have none.
                bundled.add(item.bundle)
                step(f"loading the return's {len(members)} lists as one load")
                reports[index] = bundle.load_return([prepared[i] for i in members], as_of=as_of, who=who, db=db)
                if progress is not None:
                    progress(f"[{done + 1}/{len(order)}] {item.name}: {reports[index].outcome}")
                continue

            def step_for(member: Prepared, done: int = done) -> Progress:
                def member_step(message: str) -> None:
                    if progress is not None:
                        progress(f"[{done + 1}/{len(order)}] {member.name}: {message}")

                return member_step

            loaded_return = _load_return([prepared[i] for i in members], as_of=as_of, who=who, db=db, step_for=step_for)
            for i, report in zip(members, loaded_return, strict=True):
                reports[i] = report
                if progress is not None:
                    progress(f"[{done + 1}/{len(order)}] {prepared[i].name}: {report.outcome}")
            continue

        if item.rows is None and _may_be_notes_export(item.path):
            # A `cpip notes export` file goes back into the notes store, not the warehouse.
            reports[index] = _restore_notes(item.path, item.name, db)
            continue
        if item.skipped:
            reports[index] = LoadReport(item.name, None, outcome="skipped", notes=[item.skipped])
            continue
        # The lists of one workbook share one write (one copy of the warehouse, one KPI rebuild); each list is
        # still a load of its own in the log, and the workbook loads whole or not at all (`_finish_shared`).
        if shared is not None and shared[0] == item.path:
            con = shared[1]
        else:
            _finish_shared(shared, **ends)
            shared = None
            if item.of_several:  # a list of a workbook, readable or not: the workbook is one write
                context = warehouse.writer(db)
                shared = (item.path, context.__enter__(), context, set(), [])
                con = shared[1]
        if shared is None:
            with warehouse.writer(db) as con:
                report = _load_one(con, item, as_of=as_of, who=who, valid_rows_only=valid_rows_only, step=step)
                if report.added or report.replaced or report.redated or report.retired:
                    # After the log: the KPI rules judge each record against its own as-of date.
                    step("rebuilding the KPIs")
                    write.rebuild_kpis(con, write.sources_for(report.extract_type))
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
            if report.added or report.replaced or report.redated or report.retired:
                shared[3].add(report.extract_type)
        if progress is not None:
            progress(f"[{done + 1}/{len(order)}] {item.name}: {report.outcome}")
        reports[index] = report
    _finish_shared(shared, **ends)
    done_reports = [reports[i] for i in range(len(prepared)) if i in reports]
    _check_access_file(done_reports, db)
    return done_reports


def _check_access_file(reports: list[LoadReport], db: str | os.PathLike | None) -> None:
    """A new organisation reference: say (and log) which teams and services of the access file it lacks."""
    from etl.privacy import access

    changed = [r for r in reports if r.extract_type == "organisation" and (r.added or r.replaced)]
    if not changed:
        return
    try:
        changed[-1].notes.extend(access.check_access_file(db))
    except access.AccessError:
        return  # a broken access file is reported where it is read (the web app refuses to start)


def _may_be_notes_export(path) -> bool:
    """A `cpip notes export` file (JSON): asked of the notes module only for a file that starts like one, so
    loading an extract never imports it (nor pandas with it)."""
    try:
        with open(path, "rb") as handle:
            if not handle.read(64).lstrip().startswith(b"{"):
                return False
    except OSError:
        return False
    from etl.people import notes

    return notes.is_export(path)


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
    return preview_group([path], as_of=as_of, db=db, display_names=[display_name], progress=progress)


@authority.scoped
def preview_group(
    paths: Sequence[str | os.PathLike],
    *,
    as_of: date | str,
    db: str | os.PathLike | None = None,
    display_names: Sequence[str | None] | None = None,
    progress: Progress | None = None,
    collection_year: str | None = None,
) -> list[LoadReport]:
    """What loading files given together would do: one report per list of each file, and one per return
    whose files are given together (an SSDA903's CSV tables, its XML or a zip). Commits nothing."""
    as_of = as_date(as_of)
    names = list(display_names) if display_names is not None else [None] * len(paths)
    reports, stages = [], 3
    with reading_year(Year.parse(collection_year) if collection_year else Year.of(as_of)):
        items = [
            item
            for reader, group in registry.gather(paths)
            for item in prepare_group(reader, [paths[i] for i in group], [names[i] for i in group])
        ]
    returns = {i.bundle for i in items if i.bundle is not None and ssda903_reader.holds(i.bundle)}
    for prepared in items:
        if prepared.bundle in returns:  # an SSDA903 return: one report (a census's lists are each previewed)
            together = [p for p in items if p.bundle == prepared.bundle]
            if prepared is together[0]:
                reports.append(bundle.preview_return(together, as_of=as_of, db=db))
            continue
        count = [0]

        def step(message: str, prepared: Prepared = prepared, count: list[int] = count) -> None:
            count[0] += 1
            if progress is not None:
                progress(f"{prepared.name}: {message} ({round(100 * (count[0] - 1) / stages)}%)")

        with warehouse.reading(db) as con:
            reports.append(
                _run(con, prepared, as_of=as_of, valid_rows_only=True, commit=False, load_id=None, step=step)
            )
        if progress is not None:
            progress(f"{prepared.name}: checked (100%)")
    return reports


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
