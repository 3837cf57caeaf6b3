"""Who looked at whom: every view or download of a child-level list.

One row per view: when (UTC), who, their role, which list (its address, e.g.
`/kpi/seen_5wd/children?period=2023-07&level=team&unit=Coastal%20FS%201`), how
(`page`, `csv`, `cli`) and how many children it showed. Nothing about a child
is stored here, not even a child_id.

Where it is kept (etl/store/side.py, one interface over two stores): on
PostgreSQL, in the warehouse's own database (table access_log, under the
authority row-level security; the app may add entries, never change or remove
them), so every web server writes the one log. Beside a DuckDB warehouse, in a
SQLite file, not a table in it: every load and undo writes a private copy of the
DuckDB file and swaps it over the live one (etl/store/warehouse.py), so a row
written to the live file while a load runs would be lost with the old file; and
the web workers open DuckDB read-only (one writer or many readers across
processes, never both). SQLite in WAL mode takes short appends from many
processes at once (each waits its turn on a lock, up to
`etl.store.side.BUSY_SECONDS`), is untouched by loads and undo, and comes with
Python. The file is `<warehouse>.access-log.sqlite` (env CPIP_ACCESS_LOG names
another), so the web workers need write access to that folder.

A list is recorded before it is shown: if the entry cannot be written, the list
is not shown (`record` raises).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from etl.store import authority, side
from etl.store.db import Db
from etl.store.warehouse import warehouse_path

COLUMNS = side.ACCESS_LOG.column_names


def log_path(db: Db = None) -> Path:
    """The access log file beside a DuckDB warehouse: $CPIP_ACCESS_LOG, else beside the warehouse (`db`,
    or $CPIP_DB)."""
    named = os.environ.get("CPIP_ACCESS_LOG", "").strip()
    if named:
        return authority.own_file(Path(named))  # each authority's log is its own
    live = warehouse_path(db)
    return live.with_name(live.name + ".access-log.sqlite")


def _store(db: Db) -> side.SideStore:
    return side.store(db, log_path(db), [side.ACCESS_LOG])


class AccessLogUnavailable(RuntimeError):
    """The access log cannot be written: the list is not shown (every view of a child list is recorded)."""


def record(*, who: str, role: str, list_name: str, fmt: str, children: int, db: Db = None) -> int:
    """Append one entry; returns its id. Raises AccessLogUnavailable (a sentence) if it cannot be written."""
    row = {
        "viewed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "who": who,
        "role": role,
        "list": list_name,
        "format": fmt,
        "children": int(children),
    }
    try:
        (entry_id,) = _store(db).add(side.ACCESS_LOG, [row])
    except side.store_errors() as exc:
        if isinstance(exc, (sqlite3.Error, OSError)):  # a file beside the warehouse: most likely a full disk
            why, then = f"{exc}; is the disk full?", "once the administrator has made room"
        else:  # the database server refused or was out of reach
            why, then = f"the database said: {str(exc).strip()}", "in a moment, or ask the administrator"
        raise AccessLogUnavailable(
            "this child list cannot be shown just now: the access log, which records every view of a child list,"
            f" cannot be written ({why}). Try again {then}."
        ) from None
    return int(entry_id)


def entries(db: Db = None, *, limit: int | None = None) -> pd.DataFrame:
    """The access log of the authorities in hand, newest first (every entry, or the latest `limit`)."""
    rows = _store(db).select(side.ACCESS_LOG, newest_first=True, limit=limit)
    return pd.DataFrame([[r[c] for c in COLUMNS] for r in rows], columns=COLUMNS)
