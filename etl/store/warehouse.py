"""The warehouse: where it is, how its schema is kept current, and how to open it.

Two engines, one interface (etl/store/db.py):

- **DuckDB** (the default: a path, or nothing for `data/warehouse.duckdb`).
  DuckDB allows one writer or many read-only readers across processes, never
  both. So the web app only ever opens the file read-only, per request, and the
  ETL never writes the live file: it copies it to `<file>.tmp`, writes the copy
  in one go, closes it (no WAL left) and swaps it over the live file with
  `os.replace`, which is atomic. A failed or interrupted write leaves the live
  file exactly as it was, and readers never see half a load. Each authority is
  a file of its own (etl/store/authority.py).
- **PostgreSQL** (`CPIP_DB=postgresql://...`). A load is one transaction in
  place (MVCC: readers keep reading the committed data while it runs); loads of
  one authority queue on an advisory lock, other authorities' run alongside.
  Connections come from a pool. Every transaction sets `app.la_codes` and takes
  the role `cpip_reader` (pages) or `cpip_writer` (loads), which row-level
  security confines to those authorities.

The schema is made and upgraded by Alembic migrations (etl/store/migrations/), from
the SQLAlchemy tables in etl/store/schema.py, on both engines; a warehouse written by
an earlier release is brought up to date the first time anything opens it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from etl.catalogue.contract import EXTRACT_TYPES
from etl.paths import ROOT
from etl.rules.calendar import CALENDAR_END, CALENDAR_START, bank_holidays
from etl.store import authority, db
from etl.store.db import Db

DEFAULT_PATH = ROOT / "data" / "warehouse.duckdb"
# The Alembic revision this release's code expects (etl/store/migrations/versions/).
HEAD = "0007"
# Kept for tools that read it: the release before migrations wrote 3.
SCHEMA_VERSION = 4

# Defined with the engines (etl.store.db), named here too for the loader that asks the warehouse.
READER_ROLE, WRITER_ROLE, column_type = db.READER_ROLE, db.WRITER_ROLE, db.column_type


def target(path: Db = None) -> str:
    """The warehouse named by `path`, else $CPIP_DB, else data/warehouse.duckdb: a path or a URL."""
    return str(path or os.environ.get("CPIP_DB") or DEFAULT_PATH)


def is_postgres(path: Db = None) -> bool:
    return db.is_postgres(target(path))


def warehouse_path(path: Db = None, code: str | None = None) -> Path:
    """The DuckDB file of the authority `code` (default: the work in hand's). The default authority's
    is the file named; another's sits beside it, `<name>.<code>.duckdb`. On PostgreSQL, the local
    path the notes and access log are kept beside: $CPIP_STATE_DIR (else data/), named by the database."""
    named = target(path)
    if db.is_postgres(named):
        parts = urlsplit(db.libpq_url(named))
        folder = Path(os.environ.get("CPIP_STATE_DIR") or ROOT / "data")
        base = folder / f"{parts.hostname or 'local'}-{parts.port or 5432}-{parts.path.strip('/') or 'postgres'}.pg"
    else:
        base = Path(named)
    return authority.own_file(base, code)


def warehouse_url(path: Db = None, *, read_only: bool = True) -> str:
    """SQLAlchemy URL of the warehouse, for tools that speak SQLAlchemy."""
    if is_postgres(path):
        return db.sqlalchemy_url(target(path))
    return f"duckdb:///{warehouse_path(path)}" + ("?read_only=true" if read_only else "")


# --- the schema ------------------------------------------------------------------


def _contract_digest() -> str:
    """Identifies the contract's tables and columns: a change runs the schema step again."""
    text = "|".join(f"{e.table}:{','.join(f'{c.name}/{c.type}' for c in e.columns)}" for e in EXTRACT_TYPES.values())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _schema_key() -> str:
    return f"{HEAD}:{_contract_digest()}"


def _settings_value(con: db.Connection, key: str) -> str | None:
    """A value from `settings`, or None (also when there is no settings table yet)."""
    if not db.dialect_of(con).has_table(con, "settings"):
        return None
    found = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    return found[0][0] if found else None


def set_setting(con: db.Connection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def _migrate(con: db.Connection, code: str) -> None:
    """Run the migrations (and the contract's tables and columns) on `con`, then note the schema key."""
    from etl.store import migrate

    migrate.upgrade(con, code)
    if con.execute("SELECT count(*) FROM calendar").fetchone()[0] == 0:
        fill_calendar(con)
    set_setting(con, "schema", _schema_key())
    set_setting(con, "schema_version", str(SCHEMA_VERSION))


def _refresh_reference(con: db.Connection) -> None:
    """(Re)load data/reference/dfe/ when its files differ from those last loaded."""
    from etl.catalogue import reference

    if not reference.REFERENCE_DIR.exists():
        return
    current = reference.reference_hash()
    if _settings_value(con, "reference_hash") == current:
        return
    reference.load_reference(con)
    set_setting(con, "reference_hash", current)
    if db.engine_of(con) == "postgresql":
        con.execute("ANALYZE published, authorities, neighbours")  # planner statistics for the comparators


def fill_calendar(con: db.Connection) -> None:
    """Every day with its running count of working days, built in SQL from
    the `holidays` package's bank holidays."""
    days = ", ".join(f"(DATE '{d.isoformat()}')" for d in bank_holidays())
    con.execute(
        f"""
        INSERT INTO calendar (day, is_working_day, working_day_number)
        WITH bank_holidays(day) AS (VALUES {days}),
        days AS (
            SELECT CAST(d AS DATE) AS day FROM generate_series(DATE '{CALENDAR_START}', DATE '{CALENDAR_END}',
                INTERVAL '1 day') AS t(d)
        ),
        flagged AS (
            SELECT day, extract(isodow FROM day) <= 5 AND day NOT IN (SELECT day FROM bank_holidays) AS is_working_day
            FROM days
        )
        SELECT day, is_working_day,
               CAST(sum(CAST(is_working_day AS INTEGER)) OVER (ORDER BY day) AS INTEGER)
        FROM flagged ORDER BY day
        """
    )


# --- DuckDB ----------------------------------------------------------------------


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One writer at a time, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _duckdb_schema(con: duckdb.DuckDBPyConnection, code: str) -> None:
    """Bring a private copy up to this release's schema (migrations only when it is behind)."""
    if _settings_value(con, "schema") != _schema_key():
        _migrate(con, code)
    _refresh_reference(con)


class DiskFull(OSError):
    """Not enough room on the warehouse's disk for a load's copy: one sentence, the sizes in it."""


# Room a load needs beyond the copy of the live file: what it writes into the copy (the records, their log,
# the KPI mart) and DuckDB's write-ahead log before its checkpoint.
_HEADROOM = 16 * 1024 * 1024


def _disk_full(live: Path, needed: int | None = None) -> DiskFull:
    size = live.stat().st_size if live.exists() else 0
    needed = needed or size + max(size // 4, _HEADROOM)
    free = shutil.disk_usage(live.parent).free
    mb = 1024 * 1024
    return DiskFull(
        f"not enough disk space for the load: about {-(-needed // mb):,} MB needed, {free // mb:,} MB free"
        f" on {live.parent}; the warehouse is unchanged"
    )


def _check_room(live: Path) -> None:
    """Before copying: a full disk stops here, not half way through the copy."""
    size = live.stat().st_size if live.exists() else 0
    needed = size + max(size // 4, _HEADROOM)
    if shutil.disk_usage(live.parent).free < needed:
        raise _disk_full(live, needed)


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    # DuckDB reports a full disk as its own IOException, with the system's words in it.
    return isinstance(exc, duckdb.Error) and "no space left on device" in str(exc).lower()


@contextmanager
def _duckdb_writer(path: Db) -> Iterator[duckdb.DuckDBPyConnection]:
    code = authority.current_code()
    live = warehouse_path(path, code)
    tmp = live.with_name(live.name + ".tmp")
    with _lock(live):
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            stale.unlink(missing_ok=True)
        _check_room(live)
        con = None
        try:
            # Inside the try: a copy cut short by a full disk is removed like any other failed write.
            if live.exists():
                shutil.copyfile(live, tmp)
            con = duckdb.connect(str(tmp))
            _duckdb_schema(con, code)
            con.execute("BEGIN TRANSACTION")
            yield con
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            os.replace(tmp, live)
        except BaseException as exc:
            if con is not None:
                try:
                    con.close()
                except duckdb.Error:
                    pass  # a connection the full disk already broke: the copy goes below all the same
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            if _is_disk_full(exc):
                raise _disk_full(live) from None
            raise
        stat = live.stat()
        _CURRENT.add((str(live), stat.st_ino, stat.st_mtime_ns))  # this process just wrote it at this schema
        _link_for_readers(live, stat.st_ino)


# The files (by path, inode and modification time) and servers already known to be current,
# so a reader pays for the check once per file a load swaps in (once per process on PostgreSQL).
_CURRENT: set[tuple] = set()


def _ensure_duckdb(path: Db) -> Path:
    live = warehouse_path(path)
    if not live.exists():
        with _duckdb_writer(path):
            pass
        return live
    stat = live.stat()
    key = (str(live), stat.st_ino, stat.st_mtime_ns)
    if key in _CURRENT:
        return live
    con = duckdb.connect(str(live), read_only=True)
    try:
        found = _settings_value(con, "schema")
    finally:
        con.close()
    if found != _schema_key():
        with _duckdb_writer(path):
            pass  # the schema step upgrades it
        stat = live.stat()
        key = (str(live), stat.st_ino, stat.st_mtime_ns)
    _CURRENT.add(key)
    return live


# --- PostgreSQL ------------------------------------------------------------------


def _ensure_postgres(url: str) -> None:
    """Migrate the server's database when it is behind this release, and reload DfE's published
    figures when the shipped files changed (once per process; one process at a time)."""
    if db.is_current(url):
        return
    from etl.catalogue import reference

    with db.pool(url).connection() as raw:
        con = db.PgConnection(raw)
        behind = _settings_value(con, "schema") != _schema_key()
        if behind or _settings_value(con, "reference_hash") != reference.reference_hash():
            # One migrator at a time (the lock lasts the transaction); the others wait, then find it done.
            con.execute("SELECT pg_advisory_xact_lock(hashtext('cpip-migrate'))")
            if _settings_value(con, "schema") != _schema_key():
                _migrate(con, authority.default_code())
            _refresh_reference(con)  # only when the files differ from those loaded
            raw.commit()
        else:
            raw.rollback()
    db.mark_current(url)


forget = db.forget  # tests and tools that drop a database call it here


def _scope(con: db.PgConnection, role: str, codes: tuple[str, ...]) -> None:
    """Confine this transaction to `codes`, as `role` (row-level security does the rest)."""
    con.execute("SELECT set_config('app.la_codes', ?, true)", [",".join(codes)])
    con.execute(f"SET LOCAL ROLE {role}")


@contextmanager
def _postgres_writer(url: str) -> Iterator[db.PgConnection]:
    _ensure_postgres(url)
    code = authority.current_code()
    with db.pool(url).connection() as raw:
        con = db.PgConnection(raw)
        try:
            # Loads of one authority queue here; another authority's go ahead.
            con.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"cpip-load:{code}"])
            _scope(con, WRITER_ROLE, (code,))
            yield con
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            # The load's temp tables (good, matched, ...) go with it: the pooled connection carries nothing on.
            raw.execute("DISCARD TEMP")
            raw.commit()
        _analyse(raw, con.touched)


def _analyse(raw, tables: set[str]) -> None:
    """Fresh planner statistics for the tables a load changed (as the connecting role, which owns them; a
    role that does not is told so in the server's log and autovacuum analyses them later). Without them a
    first load's tables look empty to the planner, and a scorecard takes nested loops: 100 ms, not 10."""
    if not tables:
        return
    try:
        # The mart every page reads, and the other tables only while never analysed or still small (cheap): a
        # big record table's statistics hold, and autovacuum refreshes them as it grows. Analysing every table
        # after every load made a national load 1.7x slower.
        stale = [
            name
            for (name,) in raw.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'"
                " AND (reltuples < 20000 OR relname = 'kpi_monthly')",
                [sorted(tables)],
            ).fetchall()
        ]
        if stale:
            raw.execute("ANALYZE " + ", ".join(f'"{t}"' for t in sorted(stale)))
        raw.commit()
    except Exception:
        raw.rollback()


@contextmanager
def _postgres_reading(url: str) -> Iterator[db.PgConnection]:
    _ensure_postgres(url)
    with db.pool(url).connection() as raw:
        con = db.PgConnection(raw)
        try:
            _scope(con, READER_ROLE, authority.codes())
            yield con
        finally:
            raw.rollback()


# --- the interface ---------------------------------------------------------------


@contextmanager
def writer(path: Db = None) -> Iterator[db.Connection]:
    """A connection for one load of the authority in hand: everything it writes is committed on a
    clean exit, and nothing on an exception (DuckDB: a private copy swapped in; PostgreSQL: one
    transaction)."""
    named = target(path)
    if db.is_postgres(named):
        with _postgres_writer(named) as con:
            yield con
    else:
        with _duckdb_writer(path) as con:
            yield con


def ensure_warehouse(path: Db = None) -> Path | str:
    """Create an empty warehouse with its schema if there is none yet, and bring one written by an
    earlier release up to this schema (the first time it is read), so readers find the columns they
    expect. Returns the DuckDB file, or the PostgreSQL URL."""
    named = target(path)
    if db.is_postgres(named):
        _ensure_postgres(named)
        return named
    return _ensure_duckdb(path)


def reader(path: Db = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection for one request. Because the ETL swaps a new file in rather than
    writing the live one, a reader opened after a load sees the new data.

    Opening the file costs about 16 ms, so each process keeps one read-only connection per file version
    and hands out a cursor of it (a connection to the same open database: well under a millisecond).
    DuckDB keeps one open database per path in a process, so a new version could not be opened under
    the old path while a cursor of the old one is still in use: each version is opened through a hard
    link named by its inode (`.<name>.r<inode>`), which the writer makes beside the file when it swaps
    it in. Without a link (a file system that has none), every request opens the file, as before."""
    if is_postgres(path):
        raise ValueError("reader() is DuckDB's: use reading() on PostgreSQL")
    live = _ensure_duckdb(path)
    try:
        stat = live.stat()
    except FileNotFoundError:  # swapped this very moment: open whatever is there now
        return duckdb.connect(str(live), read_only=True)
    version = (stat.st_ino, stat.st_mtime_ns)
    key = (os.getpid(), str(live))
    with _ROOTS_LOCK:
        found = _ROOTS.get(key)
        if found is not None and found[0] == version:
            return found[1].cursor()
        link = _link_for_readers(live, stat.st_ino)
        if link is None:
            return duckdb.connect(str(live), read_only=True)
        try:
            root = duckdb.connect(str(link), read_only=True)
        except duckdb.Error:  # the link went with a newer swap: this request opens the file itself
            return duckdb.connect(str(live), read_only=True)
        # The old version's connection is let go, never closed: closing a DuckDB connection closes every
        # cursor of it, and refuses while one is running a query in another thread (gunicorn's threads).
        # Cursors still reading the old version keep it open; it closes with the last of them.
        _ROOTS[key] = (version, root)
        return root.cursor()


# (process, live file) -> ((inode, mtime), the read-only connection to that version).
_ROOTS: dict[tuple[int, str], tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}
_ROOTS_LOCK = threading.Lock()


def _reader_link(live: Path, inode: int) -> Path:
    return live.with_name(f".{live.name}.r{inode}")


def _link_for_readers(live: Path, inode: int | None = None) -> Path | None:
    """The hard link readers open the current version of `live` through (made if missing), after
    removing the links of earlier versions; None where hard links cannot be made."""
    try:
        inode = inode if inode is not None else live.stat().st_ino
        link = _reader_link(live, inode)
        try:
            os.link(live, link)
        except FileExistsError:
            pass
        if link.stat().st_ino != inode:  # an older version's link under a reused inode number
            link.unlink()
            os.link(live, link)
    except OSError:
        return None
    for old in live.parent.glob(f".{live.name}.r*"):
        if old != link:
            old.unlink(missing_ok=True)
    return link


@contextmanager
def reading(path: Db = None) -> Iterator[db.Connection]:
    """A read-only connection for the authorities in hand (etl.store.authority.codes())."""
    named = target(path)
    if db.is_postgres(named):
        with _postgres_reading(named) as con:
            yield con
        return
    con = reader(path)
    try:
        yield con
    finally:
        con.close()


def data_version(path: Db = None) -> tuple:
    """Changes exactly when the data of the authorities in hand does (a load, an undo): the file's
    inode and time on DuckDB (a load swaps a new file in), the load log's latest change on PostgreSQL."""
    named = target(path)
    if db.is_postgres(named):
        with reading(path) as con:
            row = con.execute("SELECT count(*), max(load_id), max(undone_at), max(loaded_at) FROM loads").fetchone()
        return (named, authority.codes(), *row)
    live = warehouse_path(path)
    try:
        st = os.stat(live)
    except OSError:
        return (str(live), None)
    return (str(live), st.st_ino, st.st_mtime_ns, st.st_size)
