"""Undoing a load: its records go, those it replaced come back, as-of dates are worked out again."""

from __future__ import annotations

import os
from datetime import datetime

from etl.catalogue.contract import EXTRACT_TYPES, RETURNS, ExtractType
from etl.ingest import write
from etl.ingest.report import counted
from etl.ingest.resolve import IN_FORCE_SQL, keys_on, resolve
from etl.store import authority, warehouse
from etl.store.db import dialect_of, touch


@authority.scoped
def undo_load(load_id: int, *, who: str, db: str | os.PathLike | None = None) -> str:
    """Undo the file load `load_id` came in (a workbook's lists together), as if it had never been
    loaded: its records go, and which version of each record counts is worked out again from the
    loads left in force (etl/ingest/resolve.py): replaced versions return, retired records come back,
    as-of dates are recomputed. A "no change" load that held this file's records unchanged is undone
    with it. Refused (ValueError) when a later load still in force replaced some of its records, or
    when it is already undone."""
    with warehouse.writer(db) as con:
        touch(con, "loads")
        row = con.execute(
            "SELECT file_name, extract_type, outcome, undone_at, undone_by, coalesce(batch_id, load_id) FROM loads "
            "WHERE load_id = ?",
            [load_id],
        ).fetchall()
        if not row:
            raise ValueError(f"there is no load {load_id}")
        [(file_name, _, outcome, undone_at, undone_by, batch)] = row
        if outcome == "undone":
            raise ValueError(
                f"load {load_id} ({file_name}) was already undone on {undone_at:%Y-%m-%d %H:%M} by {undone_by}"
            )
        if outcome in ("refused", "no change"):
            raise ValueError(f"load {load_id} ({file_name}) changed nothing ({outcome}): there is nothing to undo")
        loads = con.execute(
            f"SELECT load_id, file_name, extract_type FROM loads WHERE coalesce(batch_id, load_id) = ? "
            f"AND outcome IN {IN_FORCE_SQL} AND outcome <> 'no change' ORDER BY load_id DESC",
            [batch],
        ).fetchall()
        for one, name, kind in loads:
            if kind in RETURNS:  # a return of several tables (an SSDA903) is one load: each table checked
                for extract in (EXTRACT_TYPES[t] for t in RETURNS[kind]):
                    _refuse_return_replaced(con, extract, one, name)
            else:
                _refuse_if_replaced(con, one, name, kind, [i for i, _, _ in loads])
        texts, sources = [], set()
        for one, name, kind in loads:
            if kind in RETURNS:
                texts.append(_undo_return(con, one, name, kind, who))
                sources.update(RETURNS[kind])
            else:
                texts.append(_undo_one(con, one, name, kind, who))
                sources.add(kind)
        moved = [write.sources_for(kind) for kind in sources]
        write.rebuild_kpis(con, None if None in moved else set().union(*moved))
    return "; ".join(texts)


def _refuse_if_replaced(con, load_id: int, file_name: str, extract_type: str, batch: list[int]) -> None:
    extract = EXTRACT_TYPES[extract_type]
    table = extract.table
    touch(con, table, f"{table}_replaced")
    inside = ", ".join(str(i) for i in batch)
    later = [
        r[0]
        for r in con.execute(
            f'SELECT DISTINCT replaced_by FROM "{table}_replaced" r JOIN loads l ON l.load_id = r.replaced_by '
            f"WHERE r.load_id = ? AND r.replaced_by > ? AND r.replaced_by NOT IN ({inside}) "
            f"AND l.outcome IN {IN_FORCE_SQL} ORDER BY 1",
            [load_id, load_id],
        ).fetchall()
    ]
    if later:
        which = ", ".join(str(i) for i in later)
        raise ValueError(
            f"load {load_id} ({file_name}) cannot be undone: later load {which} replaced some of its records;"
            f" undo load {which} first"
        )


def _mark_undone(con, load_id: int, who: str) -> None:
    con.execute(
        "UPDATE loads SET outcome = 'undone', undone_at = ?, undone_by = ? WHERE load_id = ?",
        [datetime.now().replace(microsecond=0), who, load_id],
    )


def _undo_one(con, load_id: int, file_name: str, extract_type: str, who: str) -> str:
    extract = EXTRACT_TYPES[extract_type]
    table = extract.table
    touch(con, table, f"{table}_replaced", f"{table}_seen" if extract.record_level else table)
    by_key = extract.record_level and not extract.snapshot
    if not by_key:
        return _undo_whole(con, extract, load_id, file_name, who)
    keys = ", ".join(f'"{k}"' for k in extract.key)
    temp = dialect_of(con).temp_table
    # "No change" loads that held this load's records unchanged go with it: they brought nothing of their own.
    riders = [
        r[0]
        for r in con.execute(
            f'SELECT DISTINCT s.load_id FROM "{table}_seen" s JOIN loads l ON l.load_id = s.load_id '
            "WHERE s.version_load = ? AND l.outcome = 'no change' ORDER BY 1",
            [load_id],
        ).fetchall()
    ]
    gone = [load_id, *riders]
    listed = ", ".join(str(i) for i in gone)
    temp(
        con,
        "_touched",
        f'SELECT {keys} FROM "{table}" WHERE load_id IN ({listed}) '
        f'UNION SELECT {keys} FROM "{table}_replaced" WHERE load_id IN ({listed}) OR replaced_by IN ({listed}) '
        f'UNION SELECT {keys} FROM "{table}_seen" WHERE load_id IN ({listed}) OR version_load IN ({listed})',
    )
    for rider in riders:
        con.execute(f'DELETE FROM "{table}_seen" WHERE load_id = ?', [rider])
        _mark_undone(con, rider, who)
    # A version this load brought that a later load in force also held stays, as the earliest such load's.
    s_keys = ", ".join(f's."{k}"' for k in extract.key)
    temp(
        con,
        "_heir",
        f'SELECT {s_keys}, min(s.load_id) AS heir FROM "{table}_seen" s JOIN loads l ON l.load_id = s.load_id '
        f"WHERE s.version_load = $load AND s.load_id <> $load AND l.outcome IN {IN_FORCE_SQL} GROUP BY {s_keys}",
        {"load": load_id},
    )
    [(kept,)] = con.execute("SELECT count(*) FROM _heir").fetchall()
    if kept:
        for stored in (table, f"{table}_replaced"):
            con.execute(
                f'UPDATE "{stored}" t SET load_id = h.heir FROM _heir h '
                f"WHERE {keys_on(extract, 't', 'h')} AND t.load_id = ?",
                [load_id],
            )
        con.execute(
            f'UPDATE "{table}_seen" s SET version_load = h.heir FROM _heir h '
            f"WHERE {keys_on(extract, 's', 'h')} AND s.version_load = ?",
            [load_id],
        )
        con.execute(
            f'DELETE FROM "{table}_seen" s USING _heir h WHERE {keys_on(extract, "s", "h")} AND s.load_id = h.heir'
        )
    temp(
        con,
        "_before",
        f'SELECT {", ".join(f"t.{chr(34)}{k}{chr(34)}" for k in extract.key)}, t.load_id, t.as_of FROM "{table}" t '
        f"WHERE EXISTS (SELECT 1 FROM _touched k WHERE {keys_on(extract, 't', 'k')})",
    )
    [(removed,)] = con.execute("SELECT count(*) FROM _before WHERE load_id = ?", [load_id]).fetchall()
    con.execute(f'DELETE FROM "{table}" WHERE load_id = ?', [load_id])
    con.execute(f'DELETE FROM "{table}_replaced" WHERE load_id = ?', [load_id])
    con.execute(f'DELETE FROM "{table}_seen" WHERE load_id = ?', [load_id])
    _mark_undone(con, load_id, who)
    resolve(con, extract, "_touched")
    [(restored, redated)] = con.execute(
        f"SELECT count(*) FILTER (WHERE b.load_id IS NULL OR b.load_id <> t.load_id), "
        f"count(*) FILTER (WHERE b.load_id = t.load_id AND t.as_of IS DISTINCT FROM b.as_of) "
        f'FROM "{table}" t JOIN _touched k ON {keys_on(extract, "t", "k")} '
        f"LEFT JOIN _before b ON {keys_on(extract, 't', 'b')}"
    ).fetchall()
    for name in ("_touched", "_heir", "_before"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    text = (
        f"load {load_id} ({file_name}, {extract_type}) undone: {counted(removed, 'record')} removed, "
        f"{restored:,} earlier {'record' if restored == 1 else 'records'} restored"
    )
    if kept:
        text += f", {kept:,} kept as a later load also contained {'it' if kept == 1 else 'them'}"
    if redated:
        text += f", {counted(redated, 'record')} back at {'its' if redated == 1 else 'their'} earlier as-of date"
    if riders:
        which = ", ".join(str(i) for i in riders)
        text += (
            f"; load {which} (the same records again, no change) undone with it"
            if len(riders) == 1
            else f"; loads {which} (the same records again, no change) undone with it"
        )
    return text


def _undo_whole(con, extract: ExtractType, load_id: int, file_name: str, who: str) -> str:
    """A snapshot's month, or a type without versions by key (kpi_values, the organisation, the
    action plans): its records go, and those it replaced come back."""
    table = extract.table
    columns = ", ".join(f'"{c}"' for c in extract.column_names)
    removed = con.execute(f'SELECT count(*) FROM "{table}" WHERE load_id = ?', [load_id]).fetchall()[0][0]
    con.execute(f'DELETE FROM "{table}" WHERE load_id = ?', [load_id])
    [(restored,)] = con.execute(f'SELECT count(*) FROM "{table}_replaced" WHERE replaced_by = ?', [load_id]).fetchall()
    as_of_col = ", as_of" if extract.record_level else ""
    con.execute(
        f'INSERT INTO "{table}" ({columns}, load_id{as_of_col}) SELECT {columns}, load_id{as_of_col} '
        f'FROM "{table}_replaced" WHERE replaced_by = ?',
        [load_id],
    )
    con.execute(f'DELETE FROM "{table}_replaced" WHERE replaced_by = ?', [load_id])
    _mark_undone(con, load_id, who)
    return (
        f"load {load_id} ({file_name}, {extract.name}) undone: {counted(removed, 'record')} removed, "
        f"{restored:,} earlier {'record' if restored == 1 else 'records'} restored"
    )


def _undo_return(con, load_id: int, file_name: str, extract_type: str, who: str) -> str:
    """A return's one load (an SSDA903: etl/ingest/bundle.py) undone table by table: its records go, those it
    replaced or retired for its year come back, as-of dates worked out again."""
    types = [EXTRACT_TYPES[t] for t in RETURNS[extract_type]]
    # Out of force before the as-of dates are worked out again from the loads that are.
    _mark_undone(con, load_id, who)
    removed = restored = kept = redated = 0
    for extract in types:
        counts = _undo_type(con, extract, load_id)
        removed, restored, kept, redated = (
            a + b for a, b in zip((removed, restored, kept, redated), counts, strict=True)
        )
    text = (
        f"load {load_id} ({file_name}, {extract_type}) undone: {counted(removed, 'record')} removed, "
        f"{restored:,} earlier {'record' if restored == 1 else 'records'} restored"
    )
    if kept:
        text += f", {kept:,} kept as a later load also contained {'it' if kept == 1 else 'them'}"
    if redated:
        text += f", {counted(redated, 'record')} back at {'its' if redated == 1 else 'their'} earlier as-of date"
    return text


def _recompute_as_of(con, extract: ExtractType, touched: str) -> None:
    """Set each touched record's as_of to the latest as-of date of the loads still in force
    that contained it: the one that brought its version, those that saw it unchanged, and
    those whose earlier versions it replaced."""
    table = extract.table
    keys = ", ".join(f'"{k}"' for k in extract.key)
    contained = " UNION ALL ".join(
        f'SELECT {keys}, load_id FROM "{t}" x '
        f"WHERE EXISTS (SELECT 1 FROM {touched} k WHERE {keys_on(extract, 'x', 'k')})"
        for t in (table, f"{table}_seen", f"{table}_replaced")
    )
    con.execute(
        f"""
        UPDATE "{table}" t SET as_of = d.as_of
        FROM (
            SELECT {keys}, max(l.as_of) AS as_of FROM ({contained}) c JOIN loads l USING (load_id)
            WHERE l.outcome <> 'undone' GROUP BY {keys}
        ) d
        WHERE {keys_on(extract, "t", "d")}
        """
    )


def _refuse_return_replaced(con, extract: ExtractType, load_id: int, file_name: str) -> None:
    """ValueError when a later load still in force replaced some of this load's records of this type."""
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


def _undo_type(con, extract: ExtractType, load_id: int) -> tuple[int, int, int, int]:
    """Undo one type's part of a load: (removed, restored, kept, re-dated)."""
    table = extract.table
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
              AND EXISTS (SELECT 1 FROM "{table}" t WHERE {keys_on(extract, "s", "t")} AND t.load_id = $load)
            GROUP BY {s_keys}
            """,
            {"load": load_id},
        )
        [(kept,)] = con.execute("SELECT count(*) FROM _heir").fetchall()
        if kept:
            con.execute(
                f'UPDATE "{table}" t SET load_id = h.heir FROM _heir h '
                f"WHERE {keys_on(extract, 't', 'h')} AND t.load_id = ?",
                [load_id],
            )
            con.execute(
                f'UPDATE "{table}_replaced" r SET replaced_by = h.heir FROM _heir h '
                f"WHERE {keys_on(extract, 'r', 'h')} AND r.replaced_by = ?",
                [load_id],
            )
            con.execute(
                f'DELETE FROM "{table}_seen" s USING _heir h WHERE {keys_on(extract, "s", "h")} AND s.load_id = h.heir'
            )
    removed = con.execute(f'SELECT count(*) FROM "{table}" WHERE load_id = ?', [load_id]).fetchall()[0][0]
    con.execute(f'DELETE FROM "{table}" WHERE load_id = ?', [load_id])
    [(restored,)] = con.execute(f'SELECT count(*) FROM "{table}_replaced" WHERE replaced_by = ?', [load_id]).fetchall()
    as_of_col = ", as_of" if extract.record_level else ""
    con.execute(
        f'INSERT INTO "{table}" ({columns}, load_id{as_of_col}) SELECT {columns}, load_id{as_of_col} '
        f'FROM "{table}_replaced" WHERE replaced_by = ?',
        [load_id],
    )
    con.execute(f'DELETE FROM "{table}_replaced" WHERE replaced_by = ?', [load_id])
    if by_key:
        con.execute(f'DELETE FROM "{table}_seen" WHERE load_id = ?', [load_id])
        dialect_of(con).temp_table(
            con,
            "_before",
            f'SELECT {keys}, as_of FROM "{table}" t '
            f"WHERE EXISTS (SELECT 1 FROM _touched k WHERE {keys_on(extract, 't', 'k')})",
        )
        _recompute_as_of(con, extract, "_touched")
        [(redated,)] = con.execute(
            f'SELECT count(*) FROM "{table}" t JOIN _before b ON {keys_on(extract, "t", "b")} '
            "WHERE t.as_of IS DISTINCT FROM b.as_of AND t.load_id <> ?",
            [load_id],
        ).fetchall()
        for temp in ("_touched", "_heir", "_before"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return removed, restored, kept, redated
