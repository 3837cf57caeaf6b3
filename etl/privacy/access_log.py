"""Who looked at whom: every view or download of a child-level list.

One row per view: when (UTC), who, their role, which list (its address, e.g.
`/kpi/seen_5wd/children?period=2023-07&level=team&unit=Coastal%20FS%201`), how
(`page`, `csv`, `cli`) and how many children it showed. Nothing about a child
is stored here, not even a child_id.

Why a SQLite file beside the warehouse, not a table in it: every load and undo
writes a private copy of the DuckDB file and swaps it over the live one
(etl/store/warehouse.py), so a row written to the live file while a load runs would be
lost with the old file; and the web workers open DuckDB read-only (one writer
or many readers across processes, never both). SQLite in WAL mode takes short
appends from many processes at once (each waits its turn on a lock, up to
`etl.store.side.BUSY_SECONDS`), is untouched by loads and undo, and comes with Python. The
file is `<warehouse>.access-log.sqlite` (env CPIP_ACCESS_LOG names another),
so the web workers need write access to that folder.

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

COLUMNS = ["entry_id", "viewed_at", "who", "role", "list", "format", "children"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    viewed_at TEXT NOT NULL,      -- ISO 8601, UTC
    who TEXT NOT NULL,
    role TEXT NOT NULL,
    list TEXT NOT NULL,           -- the list's address
    format TEXT NOT NULL,         -- page | csv | cli
    children INTEGER NOT NULL     -- how many children the list showed
)
"""


def log_path(db: Db = None) -> Path:
    """The access log file: $CPIP_ACCESS_LOG, else beside the warehouse (`db`, or $CPIP_DB)."""
    named = os.environ.get("CPIP_ACCESS_LOG", "").strip()
    if named:
        return authority.own_file(Path(named))  # each authority's log is its own
    live = warehouse_path(db)
    return live.with_name(live.name + ".access-log.sqlite")


def _connect(path: Path) -> sqlite3.Connection:
    return side.connect(path, [_SCHEMA])


class AccessLogUnavailable(RuntimeError):
    """The access log cannot be written: the list is not shown (every view of a child list is recorded)."""


def record(*, who: str, role: str, list_name: str, fmt: str, children: int, db: Db = None) -> int:
    """Append one entry; returns its id. Raises AccessLogUnavailable (a sentence) if it cannot be written."""
    try:
        con = _connect(log_path(db))
        try:
            cursor = con.execute(
                "INSERT INTO access_log (viewed_at, who, role, list, format, children) VALUES (?, ?, ?, ?, ?, ?)",
                [datetime.now(UTC).isoformat(timespec="seconds"), who, role, list_name, fmt, int(children)],
            )
            return int(cursor.lastrowid)
        finally:
            con.close()
    except (sqlite3.Error, OSError) as exc:
        raise AccessLogUnavailable(
            f"this child list cannot be shown just now: the access log, which records every view of a child list,"
            f" cannot be written ({exc}; is the disk full?). Try again once the administrator has made room."
        ) from None


def entries(db: Db = None, *, limit: int | None = None) -> pd.DataFrame:
    """The access log, newest first (every entry, or the latest `limit`)."""
    path = log_path(db)
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    try:
        con = _connect(path)
    except sqlite3.OperationalError:
        # A full disk stops SQLite making its write-ahead files: read the file as last checkpointed.
        con = side.checkpointed(path)
    try:
        sql = f"SELECT {', '.join(COLUMNS)} FROM access_log ORDER BY entry_id DESC"
        params: list = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = con.execute(sql, params).fetchall()
    finally:
        con.close()
    return pd.DataFrame(rows, columns=COLUMNS)
