"""Which version of a record counts (docs/spec/windows.md), worked out from the loads in force.

For each record key, the loads that speak for it are those that contain it (a version row in the table
or in `<type>_replaced`, or a `<type>_seen` row naming the version it held) and those whose window
covers the record's window date. The one with the latest as-of date decides (a tie goes to the later
load): if it contains the record, its version is in the table, judged at its as-of date; if not, the
record is retired. Every other version waits in `<type>_replaced`, `replaced_by` the deciding load, so
undo, a late list or a correction need no rule of their own: each is a `resolve` of the keys it touched.

One rule for every record-level type and every format; the KPI SQL and the child lists read the table
as they always have. Whole-set SQL the two engines share, over the keys in hand only (never the history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from etl.catalogue.contract import ExtractType
from etl.store.db import dialect_of

# The outcomes of a load that still speaks for its records.
IN_FORCE = ("loaded", "loaded valid rows only", "re-dated", "no change")
IN_FORCE_SQL = "(" + ", ".join(f"'{o}'" for o in IN_FORCE) + ")"


@dataclass(frozen=True)
class Pending:
    """The load being written: it speaks before its row is in `loads`."""

    load_id: int
    as_of: date
    window_from: date | None
    window_to: date | None


def keys_on(extract: ExtractType, left: str, right: str) -> str:
    return " AND ".join(f'{left}."{k}" = {right}."{k}"' for k in extract.key)


def _keys(extract: ExtractType, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{k}"' for k in extract.key)


def _drop(con, *tables: str) -> None:
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def alone(con, extract: ExtractType, pending: Pending) -> bool:
    """Whether the load being written is the only one that speaks for any record of its type: the type's
    tables hold only its rows and no other load in force has a window (a first load, the usual case of a
    new warehouse). Then each of its versions counts, as written, and there is nothing to resolve."""
    table = extract.table
    [(others,)] = con.execute(
        f'SELECT (SELECT count(*) FROM (SELECT 1 FROM "{table}" WHERE load_id <> $pid LIMIT 1) AS a)'
        f' + (SELECT count(*) FROM (SELECT 1 FROM "{table}_replaced" LIMIT 1) AS b)'
        f' + (SELECT count(*) FROM (SELECT 1 FROM "{table}_seen" LIMIT 1) AS c)'
        " + (SELECT count(*) FROM (SELECT 1 FROM loads WHERE extract_type = $type AND load_id <> $pid"
        f" AND outcome IN {IN_FORCE_SQL} AND window_from IS NOT NULL LIMIT 1) AS d)",
        {"pid": pending.load_id, "type": extract.name},
    ).fetchall()
    return not others


def resolve(con, extract: ExtractType, keys_table: str, pending: Pending | None = None) -> bool:
    """Put, for each key in `keys_table` (it has the type's key columns), the version that counts in
    the table at its decider's as-of date, and every other version in `_replaced`. Returns True when
    the pending load speaks alone (`alone`): its versions count, judged at its as-of date."""
    table = extract.table
    if pending is not None and alone(con, extract, pending):
        con.execute(
            f'UPDATE "{table}" SET as_of = $as_of WHERE load_id = $pid AND as_of IS DISTINCT FROM $as_of',
            {"as_of": pending.as_of, "pid": pending.load_id},
        )
        return True
    keys, k_keys = _keys(extract), _keys(extract, "k")
    temp = dialect_of(con).temp_table
    wd = extract.window_date
    if wd is None:
        temp(con, "_rk", f"SELECT {k_keys}, CAST(NULL AS DATE) AS _wd FROM {keys_table} k GROUP BY {k_keys}")
    elif wd in extract.key:
        temp(con, "_rk", f'SELECT {k_keys}, k."{wd}" AS _wd FROM {keys_table} k GROUP BY {k_keys}')
    else:
        # The window date is not part of the key (an episode, an audit): the versions say it.
        temp(
            con,
            "_rk",
            f'SELECT {k_keys}, max(CAST(v."{wd}" AS DATE)) AS _wd '
            f"FROM (SELECT {keys} FROM {keys_table} GROUP BY {keys}) AS k "
            f'LEFT JOIN (SELECT {keys}, "{wd}" FROM "{table}" UNION ALL SELECT {keys}, "{wd}" FROM "{table}_replaced")'
            f" AS v ON {keys_on(extract, 'v', 'k')} GROUP BY {k_keys}",
        )
    params: dict = {"type": extract.name}
    pending_sql = ""
    if pending is not None:
        pending_sql = (
            " UNION ALL SELECT CAST($pid AS INTEGER), CAST($pas_of AS DATE), CAST($pfrom AS DATE), CAST($pto AS DATE)"
        )
        params |= {
            "pid": pending.load_id,
            "pas_of": pending.as_of,
            "pfrom": pending.window_from,
            "pto": pending.window_to,
        }
    temp(
        con,
        "_inforce",
        "SELECT load_id, as_of, window_from, window_to FROM loads "
        f"WHERE extract_type = $type AND outcome IN {IN_FORCE_SQL}{pending_sql}",
        params,
    )
    held = " UNION ALL ".join(
        f'SELECT {_keys(extract, "x")}, x.load_id FROM "{t}" x '
        f"WHERE EXISTS (SELECT 1 FROM _rk k WHERE {keys_on(extract, 'x', 'k')})"
        for t in (table, f"{table}_replaced", f"{table}_seen")
    )
    temp(
        con,
        "_speak",
        f"SELECT {_keys(extract, 'c')}, l.load_id, l.as_of, 1 AS holds FROM ({held}) AS c "
        "JOIN _inforce l ON l.load_id = c.load_id "
        f"UNION ALL SELECT {k_keys}, l.load_id, l.as_of, 0 AS holds FROM _rk k "
        "JOIN _inforce l ON l.window_from IS NOT NULL AND k._wd BETWEEN l.window_from AND l.window_to",
    )
    temp(
        con,
        "_decide",
        f"SELECT {keys}, load_id AS decider, as_of, holds FROM ("
        f"SELECT s.*, row_number() OVER (PARTITION BY {_keys(extract, 's')} "
        "ORDER BY s.as_of DESC, s.load_id DESC, s.holds DESC) AS n FROM _speak s) AS d WHERE n = 1",
    )
    # The version the decider holds: its own row, or the stored version its `_seen` row names.
    temp(
        con,
        "_current",
        f"SELECT {_keys(extract, 'd')}, d.decider, d.as_of, coalesce(v.version_load, d.decider) AS version_load "
        f'FROM _decide d LEFT JOIN "{table}_seen" v ON {keys_on(extract, "v", "d")} AND v.load_id = d.decider '
        "WHERE d.holds = 1",
    )
    columns = ", ".join(f'"{c}"' for c in extract.column_names)
    t_columns = ", ".join(f't."{c}"' for c in extract.column_names)
    # Out of the table: versions that no longer count (replaced by a version that does, or retired).
    temp(
        con,
        "_out",
        f'SELECT {_keys(extract, "t")}, t.load_id, d.decider FROM "{table}" t '
        f"JOIN _decide d ON {keys_on(extract, 't', 'd')} "
        f"WHERE NOT EXISTS (SELECT 1 FROM _current c WHERE {keys_on(extract, 'c', 't')} "
        "AND c.version_load = t.load_id)",
    )
    if con.execute("SELECT count(*) FROM _out").fetchall()[0][0]:
        con.execute(
            f'INSERT INTO "{table}_replaced" ({columns}, load_id, replaced_by, as_of) '
            f'SELECT {t_columns}, t.load_id, o.decider, t.as_of FROM "{table}" t '
            f"JOIN _out o ON {keys_on(extract, 't', 'o')} AND o.load_id = t.load_id"
        )
        con.execute(
            f'DELETE FROM "{table}" t USING _out o WHERE {keys_on(extract, "t", "o")} AND o.load_id = t.load_id'
        )
    # Into the table: the version that counts, where it waited in `_replaced`.
    [(back,)] = con.execute(
        f'SELECT count(*) FROM "{table}_replaced" r JOIN _current c '
        f"ON {keys_on(extract, 'r', 'c')} AND r.load_id = c.version_load"
    ).fetchall()
    if back:
        r_columns = ", ".join(f'r."{c}"' for c in extract.column_names)
        con.execute(
            f'INSERT INTO "{table}" ({columns}, load_id, as_of) SELECT {r_columns}, r.load_id, c.as_of '
            f'FROM "{table}_replaced" r JOIN _current c ON {keys_on(extract, "r", "c")} AND r.load_id = c.version_load'
        )
        con.execute(
            f'DELETE FROM "{table}_replaced" r USING _current c '
            f"WHERE {keys_on(extract, 'r', 'c')} AND r.load_id = c.version_load"
        )
    # Who decided against each waiting version (a later load's undo is refused while it stands).
    con.execute(
        f'UPDATE "{table}_replaced" r SET replaced_by = d.decider FROM _decide d '
        f"WHERE {keys_on(extract, 'r', 'd')} AND r.replaced_by IS DISTINCT FROM d.decider"
    )
    # A record is judged at the latest as-of date of the loads in force that contain it: its decider's.
    con.execute(
        f'UPDATE "{table}" t SET as_of = c.as_of FROM _current c '
        f"WHERE {keys_on(extract, 't', 'c')} AND t.load_id = c.version_load AND t.as_of IS DISTINCT FROM c.as_of"
    )
    _drop(con, "_rk", "_inforce", "_speak", "_decide", "_current", "_out")
    return False
