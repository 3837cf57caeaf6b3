"""Loading extract files into the warehouse, with the load log and undo.

One file is one load, and one load is one `etl.store.warehouse.writer()`
transaction on a private copy of the warehouse: read, validate, replace by
record key, write the log and its findings, rebuild the KPIs, then swap the
copy in. A failure anywhere leaves the live file as it was.

A file with any error loads nothing unless the caller asks for the valid rows
alone; a file of several lists (a workbook) is one file: one list refused, none
loaded, unless the caller asks for its good lists and valid rows alone
(`valid_rows_only`). Which version of a record counts is worked out from the
loads in force and their windows (etl/ingest/resolve.py, docs/spec/windows.md):
a replaced or retired version moves to `<table>_replaced`, so the load can be
undone; an identical record is left untouched, so loading a file twice
changes nothing.

The seams: `prepare` (read, recognise, stage), `etl.ingest.validate`, `write`
(compare, write, the log) and `undo`; this module runs them and keeps the
public functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from etl.formats import ssda903_reader
from etl.formats.ssda903 import Year
from etl.formats.ssda903_reader import reading_year
from etl.ingest import windows, write
from etl.ingest.prepare import (
    Prepared,
    as_date,
    periods,
    prepare_group,
    push_good,
    stage_for,
    staged_findings,
)
from etl.ingest.report import OUTCOMES, FigureChange, Finding, LoadReport
from etl.ingest.validate import validate
from etl.readers import registry
from etl.readers.read import ExtractFileError, stage, stage_rows
from etl.store import authority, warehouse
from etl.store.db import dialect_of

if TYPE_CHECKING:  # pandas only for the log's frames: loading a file never needs it
    import pandas as pd

    from etl.ingest.undo import undo_load  # imported when first asked for (`__getattr__`)

__all__ = [
    "OUTCOMES",
    "FigureChange",
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


def __getattr__(name: str):
    """`undo_load` is re-exported here, imported when first asked for: a load never needs it."""
    if name == "undo_load":
        from etl.ingest.undo import undo_load

        return undo_load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Options:
    as_of: date
    who: str = ""
    valid_rows_only: bool = False
    window: tuple[date, date] | None = None  # the analyst's window for a CSV (docs/spec/windows.md)
    window_months: int | None = None  # the analyst's months for an Annex A list


class _Discard(Exception):
    """Raised inside the writer to discard a check's writes (DuckDB: the copy; PostgreSQL: rolled back)."""


def _run_staged(con, stage_con, prepared: Prepared, *, opts: Options, load_id: int, step: Progress) -> LoadReport:
    """Read, validate and apply one file (or list) on `con`, whose `loads` row is open. File-level
    problems become a refused report, never an exception."""
    as_of = opts.as_of
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
        if prepared.rows is None and stage_con is con:
            # A parser error aborts DuckDB's transaction: start afresh (the load's row again) to log the refusal.
            con.execute("ROLLBACK")
            con.execute("BEGIN TRANSACTION")
            write.open_load(con, load_id, prepared, as_of=as_of, who=opts.who)
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
    if report.rejected and (not opts.valid_rows_only or good == 0):
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
        # A snapshot replaces its month's earlier snapshot whole: its own write, never the record-by-key one.
        if report.added or report.replaced:
            step(f"writing {report.added:,} records")
            before = write.superseded(con, extract)
            write.write_snapshot(con, extract, load_id, as_of)
            write.report_superseded(con, stage_con, report, extract, before)
    elif extract.record_level:
        _write_record_level(
            con, stage_con, report, extract, recognised.annex, prepared.window, opts=opts, load_id=load_id, step=step
        )
    else:
        report.added, report.replaced, report.unchanged, report.redated = write.compare_records(con, extract, as_of)
        if report.added or report.replaced or report.unchanged:
            step(f"writing {report.added + report.replaced:,} records")
            before = write.superseded(con, extract)
            write.write_records(con, extract, load_id, as_of, report.added, report.replaced)
            write.report_superseded(con, stage_con, report, extract, before)
    if report.rejected:
        report.outcome = "loaded valid rows only"
    elif report.added or report.replaced or report.retired or report.held:
        report.outcome = "loaded"
    else:
        report.outcome = "re-dated" if report.redated else "no change"
    return report


def _write_record_level(
    con, stage_con, report: LoadReport, extract, annex, year, *, opts: Options, load_id: int, step: Progress
) -> None:
    """A record-level list by the version that counts (etl/ingest/windows.py): its window (a return's: its
    collection year, `year`), the dates a newer file may not erase, what it retires."""
    window = windows.window_for(
        extract, annex, opts.as_of, window=opts.window or year, window_months=opts.window_months
    )
    report.uncounted = windows.uncounted(con, extract)
    if window is not None:
        report.window_from, report.window_to = window.first, window.last
        report.notes.append(f"taken as every {windows.record_noun(extract)} from {window.words()}")
    if report.uncounted:
        report.notes.append(
            f"cannot count {', '.join(report.uncounted)} (Yes/No, not dates): those figures are left as they were"
        )
    report.kept_dates = windows.keep_dates(con, extract, opts.as_of)
    before = write.superseded(con, extract)
    write.set_window(con, load_id, window, report.uncounted)
    step("writing the records")
    written = windows.write_versions(con, extract, load_id, opts.as_of, window)
    report.added, report.replaced, report.unchanged = written.added, written.replaced, written.unchanged
    report.redated, report.retired, report.held, report.held_by = (
        written.redated,
        written.retired,
        written.held,
        written.held_by,
    )
    report.retired_keys = written.retired_keys or []
    write.report_superseded(con, stage_con, report, extract, before)
    write.report_retired(stage_con, report, extract)


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


def _load_return(
    items: list[Prepared], *, opts: Options, db, dry_run: bool, step_for: Callable[[Prepared], Progress]
) -> list[LoadReport]:
    """The lists of one return (a CIN census's referrals, assessments, section 47 enquiries and plans) in
    one write: each is a load of its own in the log, all of one batch (one undo takes them all); if any is
    refused none is loaded, and the log says so for each."""
    reports: list[LoadReport] = []
    try:
        with warehouse.writer(db) as con:
            before = _figures(con) if dry_run else None
            changed: set[str] = set()
            batch = None
            for item in items:
                dated = _return_as_of(item, opts.as_of)
                own = replace(opts, as_of=dated, valid_rows_only=False)
                report = _load_one(con, item, opts=own, batch=batch, step=step_for(item))
                batch = batch or report.load_id
                if dated != opts.as_of:
                    report.notes.append(f"as of {dated:%-d %b %Y}, the end of its year (what it can know)")
                reports.append(report)
                if report.added or report.replaced or report.redated or report.retired:
                    changed.add(report.extract_type)
            if not all(r.ok for r in reports):
                raise _ReturnRefused  # every list was checked, so every error is listed; none is written
            if changed:
                moved = [write.sources_for(source) for source in changed]
                write.rebuild_kpis(con, None if None in moved else set().union(*moved))
            if dry_run:
                changes = figure_changes(before, _figures(con))
                for report in reports:
                    report.changes = changes
                raise _Discard
    except _Discard:
        for report in reports:
            if report.outcome not in ("refused", "skipped"):
                report.outcome = "preview"
            report.load_id = None
    except (_ReturnRefused, windows.DuplicateKeys):
        return _refuse_return(items, reports, opts=opts, db=db, dry_run=dry_run)
    return reports


def _return_as_of(item: Prepared, as_of: date) -> date:
    """A return knows its records as they were at the end of its year at the latest: last year's census loaded
    today is as of 31 March (its open records are judged then, and it is older than an extract taken since);
    an in-year census, taken before its year ends, is as of the day given."""
    return min(as_of, item.window[1]) if item.window is not None else as_of


def _refuse_return(
    items: list[Prepared], reports: list[LoadReport], *, opts: Options, db, dry_run: bool = False
) -> list[LoadReport]:
    """Log every list of a refused return as refused (one batch), with its own findings and why it was not
    loaded."""
    refused = [r.file_name for r in reports if not r.ok]
    failed = "; ".join(refused) or "another list"
    verb = "have" if len(refused) > 1 else "has"
    out: list[LoadReport] = []
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
        report.outcome, report.whole, report.load_id = "refused", True, None
        out.append(report)
    if dry_run:
        return out
    with warehouse.writer(db) as con:
        batch = None
        for item, report in zip(items, out, strict=True):
            report.load_id = write.next_load_id(con)
            write.log_load(con, None, report, item, as_of=_return_as_of(item, opts.as_of), who=opts.who, batch=batch)
            batch = batch or report.load_id
    return out


def _load_one(con, item: Prepared, *, opts: Options, batch: int | None, step: Progress) -> LoadReport:
    """One file or list as one load on `con`: open its log row, run it, close the row."""
    stage_con = stage_for(con)
    try:
        stage_con.execute("DROP TABLE IF EXISTS findings")  # the previous list's, when a workbook's lists share a write
        load_id = write.next_load_id(con)
        write.open_load(con, load_id, item, as_of=opts.as_of, who=opts.who, batch=batch)
        report = _run_staged(con, stage_con, item, opts=opts, load_id=load_id, step=step)
        step("writing the load log")
        write.close_load(con, stage_con, report, item, batch=batch or load_id)
    finally:
        if stage_con is not con:
            stage_con.close()
    return report


def _groups(prepared: list[Prepared]) -> list[list[int]]:
    """The items of each file, in order (a workbook's lists are one file: one write, one undo);
    organisation files first, so the teams they add are known to the other files."""
    groups: list[list[int]] = []
    returns: dict[str, list[int]] = {}  # a return's lists, wherever its files were given
    for index, item in enumerate(prepared):
        if item.bundle is not None and item.bundle in returns:
            returns[item.bundle].append(index)
        elif item.bundle is not None:
            returns[item.bundle] = [index]
            groups.append(returns[item.bundle])
        elif (
            groups
            and item.of_several
            and prepared[groups[-1][-1]].of_several
            and (prepared[groups[-1][-1]].path == item.path)
        ):
            groups[-1].append(index)
        else:
            groups.append([index])

    def first(group: list[int]) -> int:
        return 0 if any(prepared[i].recognised and prepared[i].recognised.extract.declares_teams for i in group) else 1

    return sorted(groups, key=first)


def _figures(con) -> dict[tuple[str, str], tuple[float, float | None]]:
    """The authority's figures: {(metric, month): (numerator, denominator)}."""
    rows = con.execute(
        "SELECT metric_id, substr(CAST(period AS VARCHAR), 1, 7), numerator, denominator FROM kpi_monthly "
        "WHERE level = 'la'"
    ).fetchall()
    return {(m, p): (n, d) for m, p, n, d in rows}


def figure_changes(before: dict, after: dict) -> list[FigureChange]:
    """Every KPI month whose authority figure differs, in metric and month order."""
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changed.append(FigureChange(key[0], key[1], old, new))
    return changed


def _load_group(
    db, prepared: list[Prepared], group: list[int], *, opts: Options, dry_run: bool, steps: dict
) -> dict[int, LoadReport]:
    whole = not opts.valid_rows_only and any(prepared[i].of_several for i in group)
    reports: dict[int, LoadReport] = {}
    try:
        with warehouse.writer(db) as con:
            before = _figures(con) if dry_run else None
            batch, sources = None, set()
            for index in group:
                report = _load_one(con, prepared[index], opts=opts, batch=batch, step=steps[index])
                batch = batch or report.load_id
                reports[index] = report
                if report.added or report.replaced or report.redated or report.retired:
                    sources.add(report.extract_type)
            refused = [r.file_name for r in reports.values() if r.outcome == "refused"]
            if whole and refused and any(r.outcome != "refused" for r in reports.values()):
                raise _WorkbookRefused(refused)
            if sources:
                # After the log: the KPI rules judge each record against its own as-of date.
                steps[group[-1]]("rebuilding the KPIs")
                moved = [write.sources_for(source) for source in sources]
                write.rebuild_kpis(con, None if None in moved else set().union(*moved))
            if dry_run:
                changes = figure_changes(before, _figures(con))
                for report in reports.values():
                    report.changes = changes
                raise _Discard
    except _Discard:
        for report in reports.values():
            if report.outcome not in ("refused", "skipped"):
                report.outcome = "preview"
            report.load_id = None
    except windows.DuplicateKeys as exc:
        reports = _refuse_group(db, prepared, group, opts=opts, reason=str(exc), dry_run=dry_run)
    except _WorkbookRefused as exc:
        # A workbook loads whole or not at all: its write is discarded and every list logged as refused.
        refused = exc.args[0]
        because = (
            f"not loaded: {', '.join(refused)} of the same workbook {'is' if len(refused) == 1 else 'are'} refused,"
            " and a workbook loads whole or not at all (or load its good lists alone: --valid-rows-only, or the"
            " data page's choice)"
        )
        reports = _refuse_group(
            db, prepared, group, opts=opts, reason=because, dry_run=dry_run, kept={i: r for i, r in reports.items()}
        )
    return reports


class _WorkbookRefused(Exception):
    """Raised inside a workbook's shared write to discard it: one of its lists was refused."""


def _refuse_group(
    db, prepared, group, *, opts: Options, reason: str, dry_run: bool, kept: dict[int, LoadReport] | None = None
) -> dict[int, LoadReport]:
    """A file the loader refused after writing (nothing of it committed): each list's refusal logged, a list
    refused on its own keeping its own findings (`kept`), the others the reason."""
    reports: dict[int, LoadReport] = {}
    for index in group:
        item = prepared[index]
        recognised = item.recognised
        own = (kept or {}).get(index)
        if own is not None and own.outcome == "refused":
            own.load_id = None
            reports[index] = own
            continue
        reports[index] = LoadReport(
            item.name,
            recognised.extract.name if recognised else item.extract_type,
            rows_read=own.rows_read if own else 0,
            findings=[Finding("error", None, None, None, reason), *(own.findings if own else [])],
        )
    if dry_run:
        return reports
    with warehouse.writer(db) as con:
        batch = None
        for index in group:
            report = reports[index]
            report.load_id = write.next_load_id(con)
            write.open_load(con, report.load_id, prepared[index], as_of=opts.as_of, who=opts.who, batch=batch)
            batch = batch or report.load_id
            write.close_load(con, None, report, prepared[index], batch=batch)
    return reports


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
    window: tuple[date, date] | None = None,
    window_months: int | None = None,
    dry_run: bool = False,
    collection_year: str | None = None,
) -> list[LoadReport]:
    """Load each file as its own all-or-nothing load (a workbook: each list its own load, the lists
    written together); reports in the order given. The files of one return given together (an SSDA903's
    CSV tables) are one load, with one report; a CIN census's lists load together, one load each.

    Organisation files load first, so the teams they add are known to the
    other files of the same call. `progress(message)` hears each stage.
    `window`: the span a CSV is the whole truth for; `window_months`: an Annex A list's months
    (docs/spec/windows.md). `dry_run`: do it all on the writer's copy (PostgreSQL: a transaction) and
    discard it: the reports say what it would do, with the authority's figures it would change.
    `collection_year` (`2024/25`) is the year a statutory return is read for; without it, the year of the
    as-of date."""
    opts = Options(as_date(as_of), who, valid_rows_only, window, window_months)
    year = Year.parse(collection_year) if collection_year else Year.of(opts.as_of)
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
    groups = _groups(prepared)
    order = [i for group in groups for i in group]
    reports: dict[int, LoadReport] = {}
    stages = 6
    steps: dict[int, Progress] = {}
    for done, index in enumerate(order):
        item = prepared[index]
        count = [0]

        def step(message: str, item: Prepared = item, done: int = done, count: list[int] = count) -> None:
            count[0] += 1
            if progress is None:
                return
            if dry_run:
                # A check says reading, validating, comparing; the writes it discards are not its stages.
                if count[0] <= 3:
                    progress(f"{item.name}: {message} ({round(100 * (count[0] - 1) / 3)}%)")
                return
            percent = round(100 * (done + min(count[0], stages) / stages) / len(order))
            progress(f"[{done + 1}/{len(order)}] {item.name}: {message} ({percent}%)")

        steps[index] = step
    for group in groups:
        first = prepared[group[0]]
        if first.bundle is not None:
            _load_bundle(db, prepared, group, reports, opts=opts, dry_run=dry_run, steps=steps, progress=progress)
            continue
        loadable = []
        for index in group:
            item = prepared[index]
            if item.rows is None and _may_be_notes_export(item.path):
                # A `cpip notes export` file goes back into the notes store, not the warehouse.
                reports[index] = (
                    _restore_notes(item.path, item.name, db)
                    if not dry_run
                    else LoadReport(item.name, "notes", outcome="preview")
                )
            elif item.skipped:
                reports[index] = LoadReport(item.name, None, outcome="skipped", notes=[item.skipped])
            else:
                loadable.append(index)
        if loadable:
            reports |= _load_group(db, prepared, loadable, opts=opts, dry_run=dry_run, steps=steps)
        for index in group if progress is not None else ():
            if dry_run:
                progress(f"{prepared[index].name}: checked (100%)")
            else:
                progress(f"[{order.index(index) + 1}/{len(order)}] {prepared[index].name}: {reports[index].outcome}")
    done_reports = [reports[i] for i in range(len(prepared)) if i in reports]
    if not dry_run:
        _check_access_file(done_reports, db)
    return done_reports


def _load_bundle(db, prepared, group, reports, *, opts: Options, dry_run: bool, steps, progress) -> None:
    """The lists of one return: an SSDA903 as one load with one report (etl/ingest/bundle.py; its other
    lists have none), a CIN census's lists each a load of one batch (`_load_return`)."""
    members = [prepared[i] for i in group]
    if ssda903_reader.holds(members[0].bundle):
        from etl.ingest import bundle

        steps[group[0]](f"loading the return's {len(members)} lists as one load")
        if dry_run:
            reports[group[0]] = bundle.preview_return(members, as_of=opts.as_of, db=db)
        else:
            reports[group[0]] = bundle.load_return(members, as_of=opts.as_of, who=opts.who, db=db)
        if progress is not None:
            progress(f"{members[0].name}: {reports[group[0]].outcome}")
        return
    by_item = {id(prepared[i]): steps[i] for i in group}
    loaded = _load_return(members, opts=opts, db=db, dry_run=dry_run, step_for=lambda member: by_item[id(member)])
    for index, report in zip(group, loaded, strict=True):
        reports[index] = report
        if progress is not None:
            progress(f"{prepared[index].name}: {report.outcome}")


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
    window: tuple[date, date] | None = None,
    window_months: int | None = None,
) -> LoadReport:
    """What loading the file would do (counts, findings, the figures it would change), committing
    nothing. A workbook gives one report per sheet: see `preview_files`; this returns the first."""
    return preview_files(
        path,
        as_of=as_of,
        db=db,
        display_name=display_name,
        progress=progress,
        window=window,
        window_months=window_months,
    )[0]


@authority.scoped
def preview_files(
    path: str | os.PathLike,
    *,
    as_of: date | str,
    db: str | os.PathLike | None = None,
    display_name: str | None = None,
    progress: Progress | None = None,
    window: tuple[date, date] | None = None,
    window_months: int | None = None,
) -> list[LoadReport]:
    """What loading the file would do, one report per list (a CSV is one list; a workbook one per
    sheet): the load itself, on the writer's copy (PostgreSQL: a transaction), then discarded. Each
    report's `changes` lists the authority's figures the whole file would change."""
    return preview_group(
        [path],
        as_of=as_of,
        db=db,
        display_names=[display_name] if display_name else None,
        progress=progress,
        window=window,
        window_months=window_months,
    )


@authority.scoped
def preview_group(
    paths: Sequence[str | os.PathLike],
    *,
    as_of: date | str,
    db: str | os.PathLike | None = None,
    display_names: Sequence[str | None] | None = None,
    progress: Progress | None = None,
    collection_year: str | None = None,
    window: tuple[date, date] | None = None,
    window_months: int | None = None,
) -> list[LoadReport]:
    """What loading files given together would do: one report per list of each file, and one per return
    whose files are given together (an SSDA903's CSV tables, its XML or a zip). Commits nothing."""
    names = list(display_names) if display_names is not None else None
    return load_files(
        list(paths),
        as_of=as_of,
        who="check",
        valid_rows_only=True,
        db=db,
        progress=progress,
        display_names=names if names and any(names) else None,
        window=window,
        window_months=window_months,
        dry_run=True,
        collection_year=collection_year,
    )


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
