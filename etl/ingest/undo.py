"""Undoing a load: its records go, those it replaced come back, as-of dates are worked out again."""

from __future__ import annotations

import os
from datetime import datetime

from etl.catalogue.contract import EXTRACT_TYPES, RETURNS, ExtractType
from etl.ingest import write
from etl.ingest.report import counted
from etl.ingest.write import keys_on
from etl.store import authority, warehouse
from etl.store.db import dialect_of, touch


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
        types = [EXTRACT_TYPES[t] for t in RETURNS.get(extract_type, (extract_type,))]
        # Every type first checked (a later load in force replaced none of this load's records), then undone.
        for extract in types:
            _refuse_if_replaced(con, extract, load_id, file_name)
        # Out of force before the as-of dates are worked out again from the loads that are.
        con.execute(
            "UPDATE loads SET outcome = 'undone', undone_at = ?, undone_by = ? WHERE load_id = ?",
            [datetime.now().replace(microsecond=0), who, load_id],
        )
        removed = restored = kept = redated = 0
        for extract in types:
            counts = _undo_type(con, extract, load_id)
            removed, restored, kept, redated = (
                a + b for a, b in zip((removed, restored, kept, redated), counts, strict=True)
            )
        sources: set[str] | None = set()
        for extract in types:
            moved = write.sources_for(extract.name)
            sources = None if sources is None or moved is None else sources | moved
        write.rebuild_kpis(con, sources)
    text = (
        f"load {load_id} ({file_name}, {extract_type}) undone: {counted(removed, 'record')} removed, "
        f"{restored:,} earlier {'record' if restored == 1 else 'records'} restored"
    )
    if kept:
        text += f", {kept:,} kept as a later load also contained {'it' if kept == 1 else 'them'}"
    if redated:
        text += f", {counted(redated, 'record')} back at {'its' if redated == 1 else 'their'} earlier as-of date"
    return text


def _refuse_if_replaced(con, extract: ExtractType, load_id: int, file_name: str) -> None:
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
