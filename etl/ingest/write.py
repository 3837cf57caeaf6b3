"""Writing a load: compare the valid rows with the warehouse and write them by record key (or a snapshot's
month whole), keeping what they replaced for undo; say which given KPI rows they supersede; the load log."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from etl.catalogue.contract import EXTRACT_TYPES, KPI_SOURCES, ExtractType
from etl.catalogue.metrics import catalogue
from etl.ingest.prepare import Prepared
from etl.ingest.report import Finding, LoadReport, counted
from etl.store.db import dialect_of, touch


def rebuild_kpis(con, sources: set[str] | None) -> None:
    """Rebuild the KPI mart from the changed sources, in the load's transaction."""
    if sources is not None and not sources:
        return  # nothing the mart reads changed (the action plans)
    try:
        from etl.rules.kpis import rebuild
    except ImportError:
        # etl.rules.kpis (written separately) is not in the tree yet: there is no mart to rebuild.
        return
    rebuild(con, sources=sources)


def sources_for(extract_type: str) -> set[str] | None:
    """The KPI sources a change of this type moves: its own; every one for the organisation reference
    (team -> service -> area -> authority) and the allocation history (which team an Unallocated record
    counts for); none for a type no KPI reads (the Practice Action Plans)."""
    extract = EXTRACT_TYPES.get(extract_type)
    if extract is not None and (extract.declares_teams or extract.allocates):
        return None
    own = {extract_type} if extract_type in KPI_SOURCES else set()
    # The sources whose KPI SQL also reads this type (care_episodes.sql reads List 8's children in care).
    return own | {t.name for t in EXTRACT_TYPES.values() if extract_type in t.reads and t.name in KPI_SOURCES}


def keys_on(extract: ExtractType, left: str, right: str) -> str:
    return " AND ".join(f'{left}."{k}" = {right}."{k}"' for k in extract.key)


def compare_records(con, extract: ExtractType, as_of: date) -> tuple[int, int, int, int]:
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
        f"SELECT {keys}, ({same}) AS same, {old_as_of} AS old_as_of, t.load_id AS old_load{rid} "
        f'FROM good i JOIN "{table}" t ON {keys_on(extract, "i", "t")}',
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


def write_records(con, extract: ExtractType, load_id: int, as_of: date, added: int, replaced: int) -> None:
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
            f'FROM "{table}" t WHERE EXISTS (SELECT 1 FROM changed c WHERE {keys_on(extract, "t", "c")})',
            [load_id],
        )
        con.execute(f'DELETE FROM "{table}" t USING changed c WHERE {keys_on(extract, "t", "c")}')
    unchanged = "(SELECT * FROM matched WHERE same) AS u"
    if not dated:
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id) SELECT {columns}, ? '
            f"FROM good g WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.same AND {keys_on(extract, 'g', 'm')})",
            [load_id],
        )
        return
    g_columns = ", ".join(f'g."{c}"' for c in extract.column_names)
    if added and not replaced and not con.execute("SELECT count(*) FROM matched").fetchall()[0][0]:
        # Every record is new (a first load): no stored version to compare, re-date or remember as seen.
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id, as_of) SELECT {g_columns}, $load, $as_of FROM good g',
            {"load": load_id, "as_of": as_of},
        )
        return
    if added or replaced:
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id, as_of) '
            f"SELECT {g_columns}, $load, greatest($as_of, m.old_as_of) "
            f"FROM good g LEFT JOIN matched m ON {keys_on(extract, 'g', 'm')} WHERE m.same IS NOT TRUE",
            {"load": load_id, "as_of": as_of},
        )
    keys = ", ".join(f'"{k}"' for k in extract.key)
    con.execute(
        f'INSERT INTO "{table}_seen" ({keys}, load_id, version_load) SELECT {keys}, ?, old_load FROM {unchanged}',
        [load_id],
    )


def _redate(con, extract: ExtractType, as_of: date) -> None:
    """Re-date the unchanged records this load contained whose as-of date is earlier (`matched`'s
    `same` rows). DuckDB by rowid, while the rowids in `matched` still point at the rows they were
    read from; PostgreSQL by the key, through its index."""
    where = "m.same AND (m.old_as_of IS NULL OR m.old_as_of < $as_of)"
    if dialect_of(con).postgres:
        con.execute(
            f'UPDATE "{extract.table}" t SET as_of = $as_of FROM matched m WHERE {keys_on(extract, "t", "m")} '
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


def superseded(con, extract: ExtractType) -> set[tuple[str, str, str]]:
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

    metrics = [m.metric_id for m in catalogue().metrics if m.source == extract.name]
    [(given,)] = con.execute(
        "SELECT count(*) FROM kpi_values WHERE metric_id IN (SELECT unnest(CAST($metrics AS VARCHAR[])))",
        {"metrics": metrics},
    ).fetchall()
    if not given:  # nothing given upstream for these KPIs: nothing to supersede
        return set()
    covered = coverage(con, metrics)
    found: set[tuple[str, str, str]] = set()
    for metric in catalogue().metrics:
        if metric.source != extract.name:
            continue
        for first, last in covered.get(metric.metric_id, []):
            found |= set(
                con.execute(
                    f"SELECT metric_id, {_MONTH_TEXT}, team FROM kpi_values"
                    " WHERE metric_id = $metric AND period BETWEEN $first AND $last",
                    {"metric": metric.metric_id, "first": first, "last": last},
                ).fetchall()
            )
    return found


def report_superseded(
    con, stage: duckdb.DuckDBPyConnection, report: LoadReport, extract: ExtractType, before: set[tuple[str, str, str]]
) -> None:
    """Say which kpi_values rows these records now supersede (a warning on the file, in `stage`'s findings)."""
    now = sorted(superseded(con, extract) - before)
    if not now:
        return
    months = sorted({m for _, m, _ in now})
    metrics = ", ".join(sorted({metric for metric, _, _ in now}))
    shown = "; ".join(f"{metric} {month} {unit}" for metric, month, unit in now[:5])
    more = f" and {len(now) - 5:,} more" if len(now) > 5 else ""
    reason = (
        f"{counted(len(now), 'kpi_values row')} for {metrics} ({months[0]} to {months[-1]}) "
        f"{'is' if len(now) == 1 else 'are'} superseded: these {extract.name} records cover "
        f"{'its month' if len(now) == 1 else 'their months'}, so the figures are counted from them ({shown}{more})"
    )
    stage.execute("INSERT INTO findings VALUES (NULL, 2000, 'warning', NULL, NULL, ?)", [reason])
    report.findings.append(Finding("warning", None, None, None, reason))
    report.warnings += 1


def _table_columns(con, table: str) -> list[str]:
    return dialect_of(con).columns(con, table)


_SNAPSHOT_MONTH = "date_trunc('month', t.as_of) = date_trunc('month', CAST(? AS DATE))"


def compare_snapshot(con, extract: ExtractType, as_of: date) -> tuple[int, int, int, str | None]:
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
        f"SELECT count(*) FROM good g WHERE EXISTS (SELECT 1 FROM _month m WHERE {keys_on(extract, 'g', 'm')})"
    ).fetchall()
    return total - kept, earlier, 0, f"replaces the snapshot of {as_of:%Y-%m} loaded earlier ({earlier:,} records)"


def write_snapshot(con, extract: ExtractType, load_id: int, as_of: date) -> None:
    """The snapshot of the month of `as_of`: the month's earlier snapshot moves to `<table>_replaced` (so undo
    brings it back), then every record of this one goes in. Snapshots of other months stay."""
    table = extract.table
    touch(con, table, f"{table}_replaced")
    replaced = set(_table_columns(con, f"{table}_replaced"))
    kept = [c for c in _table_columns(con, table) if c in replaced]
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


def open_load(con, load_id: int, prepared: Prepared, *, as_of: date, who: str, batch: int | None = None) -> None:
    """The load's row in `loads`, before its records are written: a load in force speaks for its
    records while they are worked out (etl/ingest/resolve.py). `close_load` writes what it did."""
    touch(con, "loads", "load_findings")
    con.execute(
        "INSERT INTO loads (load_id, loaded_at, loaded_by, file_name, content_hash, extract_type, as_of, rows_read,"
        " rows_added, rows_replaced, rows_unchanged, rows_rejected, warnings, outcome, rows_redated, batch_id,"
        " rows_retired) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 'loaded', 0, ?, 0)",
        [
            load_id,
            datetime.now().replace(microsecond=0),
            who,
            prepared.name,
            prepared.hash,
            prepared.recognised.extract.name if prepared.recognised else prepared.extract_type,
            as_of,
            batch or load_id,
        ],
    )


def set_window(con, load_id: int, window, uncounted: list[str]) -> None:
    """The window the load is the whole truth for, and the KPIs its records cannot count."""
    con.execute(
        "UPDATE loads SET window_from = ?, window_to = ?, uncounted = ? WHERE load_id = ?",
        [
            window.first if window else None,
            window.last if window else None,
            ",".join(uncounted) or None,
            load_id,
        ],
    )


def close_load(
    con, stage: duckdb.DuckDBPyConnection | None, report: LoadReport, prepared: Prepared, *, batch: int
) -> None:
    """What the load did, on its row in `loads`, and its findings (staged in `stage`, or the report's own)."""
    con.execute(
        "UPDATE loads SET extract_type = ?, rows_read = ?, rows_added = ?, rows_replaced = ?, rows_unchanged = ?,"
        " rows_rejected = ?, warnings = ?, first_period = ?, last_period = ?, outcome = ?, rows_redated = ?,"
        " rows_retired = ?, batch_id = ? WHERE load_id = ?",
        [
            report.extract_type,
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
            report.retired,
            batch,
            report.load_id,
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


def report_retired(stage: duckdb.DuckDBPyConnection, report: LoadReport, extract: ExtractType) -> None:
    """Say how many records held from earlier loads this list retired, and name each (the load's findings)."""
    if not report.retired:
        return
    reason = (
        f"{counted(report.retired, record_noun(extract))} held from earlier loads "
        f"{'is' if report.retired == 1 else 'are'} not in this list, which covers {report.window_words()}: "
        "retired (in no figure and no child list)"
    )
    rows = [(None, 2001, "warning", None, None, reason)]
    label = " + ".join(extract.key)
    for key in report.retired_keys:
        value = " + ".join("" if v is None else str(v) for v in key)
        rows.append((None, 2002, "warning", label, value, "retired: not in this list, which covers its date"))
    stage.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", rows)
    report.findings += [Finding("warning", None, r[3], r[4], r[5]) for r in rows]
    report.warnings += 1


def next_load_id(con) -> int:
    return con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]


def keep_unsaid(con, extract: ExtractType, said: set[str]) -> None:
    """A return's record keeps what the return does not say: for a record the warehouse holds already,
    each column outside `said` (the census names no team and no seen date) takes the stored value, so a
    census over an extract changes only what the census gives. Works on `good` before it is compared."""
    unsaid = [c for c in extract.column_names if c not in said and c not in extract.key]
    if not unsaid:
        return
    table = extract.table
    if dialect_of(con).postgres:  # `good` is a temp table there (prepare.push_good)
        sets = ", ".join(f'"{c}" = t."{c}"' for c in unsaid)
        con.execute(f'UPDATE good SET {sets} FROM "{table}" t WHERE {keys_on(extract, "good", "t")}')
        return
    # DuckDB: `good` is the validator's view; the kept values go into a table it then reads.
    held = " AND ".join(f't."{k}" IS NOT NULL' for k in extract.key[:1])
    picked = ", ".join(
        f'CASE WHEN {held} THEN t."{c}" ELSE g."{c}" END AS "{c}"' if c in unsaid else f'g."{c}"'
        for c in extract.column_names
    )
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE _good_kept AS SELECT g.line, {picked} FROM good g LEFT JOIN "{table}" t '
        f"ON {keys_on(extract, 'g', 't')}"
    )
    con.execute("DROP VIEW good")
    con.execute("CREATE TEMP VIEW good AS SELECT * FROM _good_kept")


def log_load(
    con,
    stage: duckdb.DuckDBPyConnection | None,
    report: LoadReport,
    prepared: Prepared,
    *,
    as_of: date,
    who: str,
    batch: int | None = None,
) -> None:
    """A load's row in `loads` and its findings written at once (a return's, a refused list's): `open_load`
    then `close_load`."""
    open_load(con, report.load_id, prepared, as_of=as_of, who=who, batch=batch)
    close_load(con, stage, report, prepared, batch=batch or report.load_id)


def record_noun(extract: ExtractType) -> str:
    """`referral`, `section 47 enquiry`: one record of the type, in the type's own words."""
    words = extract.words.removesuffix(" extract").removesuffix(" list")
    return words[:-3] + "y" if words.endswith("ies") else words.removesuffix("s")
