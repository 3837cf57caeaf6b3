"""The side stores: SQLite files beside the warehouse for what must survive a load's swap of it (the notes,
actions and events people write; the access log). One opener, so both wait for a busy writer the same way."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_SECONDS = 30  # how long a save waits for another worker's save before giving up


def connect(path: Path, schema: Iterable[str] = ()) -> sqlite3.Connection:
    """A connection to the side store at `path` (made, with its folder and `schema`, when missing): WAL, so
    readers never wait for a writer and several web workers can append at once; autocommit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")  # durable across a process crash, which is what WAL needs here
        for statement in schema:
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def opened(path: Path, schema: Iterable[str] = ()) -> Iterator[sqlite3.Connection]:
    """`connect`, closed when the block ends."""
    con = connect(path, schema)
    try:
        yield con
    finally:
        con.close()


def checkpointed(path: Path) -> sqlite3.Connection:
    """The side store as last checkpointed, read only: what a page that only reads falls back on when SQLite
    cannot make its write-ahead files (a full disk). Every writer checkpoints as it closes."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
