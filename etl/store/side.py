"""The side stores: what people write (notes, actions and events, etl/people/notes.py) and who looked at which
child list (etl/privacy/access_log.py). Rows are only ever added, never changed or removed.

One interface (`SideStore`: `add` rows, `select` them), two stores:

- **DuckDB** warehouses keep them in SQLite files beside the warehouse (`SqliteStore`), because every load
  and undo swaps a new DuckDB file over the live one (a row written to the live file meanwhile would be
  lost) and the web workers open DuckDB read-only. SQLite in WAL mode takes short appends from many
  processes at once and is untouched by loads. `connect` and `opened` are the one opener of those files.
- **PostgreSQL** warehouses keep them in tables of their own in the same database (`PostgresStore`), made
  by migration 0005, so every web server sees the same notes and writes one access log. Each table carries
  `la_code` under the authority row-level security of the warehouse's tables; the app's roles may insert
  and read, never update or delete (grants), and a trigger refuses a change or removal by anyone else.

The tables are declared once (`SideTable`, below) and each store spells them in its own SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from etl.store.db import READER_ROLE, WRITER_ROLE, Db, is_postgres

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


# --- the tables ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideTable:
    """One append-only table. `columns`: (name, TEXT or INTEGER, required). `key`: the column that makes a
    row unique (a version's uuid: a row already held is skipped, so an export can be brought back twice),
    or None when the store numbers the rows itself (`numbered`). `order`: what rows are read in, oldest
    first (the order they were added breaks ties). `lookups`: the columns reads filter on (indexed)."""

    name: str
    columns: tuple[tuple[str, str, bool], ...]
    key: str | None = None
    numbered: str | None = None
    order: tuple[str, ...] = ()
    lookups: tuple[str, ...] = ()
    index: str = ""  # the SQLite lookup index's name, as files of earlier releases have it

    @property
    def column_names(self) -> list[str]:
        return [c for c, _type, _required in self.columns]


def _text(*names: str, required: bool = True) -> tuple[tuple[str, str, bool], ...]:
    return tuple((n, "TEXT", required) for n in names)


# A version brought back from an export keeps its author and time as history; who restored it, and when,
# say so (NULL for a save made here). Not in an export.
RESTORED_COLUMNS = ("restored_by", "restored_at")
_RESTORED = _text(*RESTORED_COLUMNS, required=False)


NOTE_VERSIONS = SideTable(
    "note_versions",
    # period YYYY-MM; level la | area | service | team; org_unit the authority's name for la; written_at ISO UTC
    (*_text("version_id", "metric_id", "period", "level", "org_unit", "text", "author", "written_at"), *_RESTORED),
    key="version_id",
    order=("written_at",),
    lookups=("metric_id", "period", "level", "org_unit"),
    index="note_key",
)
ACTION_VERSIONS = SideTable(
    "action_versions",
    (
        *_text("version_id", "action_id", "area", "action", "sponsor", "lead"),
        ("due_date", "TEXT", False),  # YYYY-MM-DD
        *_text("status", "notes", "metrics", "author", "written_at"),  # metrics: metric_ids joined by ";"
        *_RESTORED,
    ),
    key="version_id",
    order=("written_at",),
    lookups=("action_id",),
    index="action_key",
)
EVENT_VERSIONS = SideTable(
    "event_versions",
    (
        *_text("version_id", "event_id", "event_date", "label", "metric_id"),
        ("removed", "INTEGER", True),  # 1: this version takes the event off the charts
        *_text("author", "written_at"),
        *_RESTORED,
    ),
    key="version_id",
    order=("written_at",),
    lookups=("metric_id",),
)
ACCESS_LOG = SideTable(
    "access_log",
    (
        ("entry_id", "INTEGER", True),
        # viewed_at ISO UTC; list the list's address; format page | csv | cli; children how many it showed
        *_text("viewed_at", "who", "role", "list", "format"),
        ("children", "INTEGER", True),
    ),
    numbered="entry_id",
)
PEOPLE_TABLES = (NOTE_VERSIONS, ACTION_VERSIONS, EVENT_VERSIONS)
TABLES = (*PEOPLE_TABLES, ACCESS_LOG)


# --- the interface ------------------------------------------------------------------------------------------


class SideStore(Protocol):
    """What notes and the access log ask of a store, whichever engine holds it."""

    def add(self, table: SideTable, rows: Sequence[Mapping[str, object]]) -> list[int | None]:
        """Append `rows` in one transaction (all or none); for each, the number the store gave it, or None
        when a row with its key is already held (and is left as it is)."""
        ...

    def add_each(self, rows: Sequence[tuple[SideTable, Mapping[str, object]]]) -> list[int | None]:
        """`add` for rows of several tables, in one transaction (an export brought back whole or not at all)."""
        ...

    def select(
        self,
        table: SideTable,
        where: Mapping[str, object] | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        """The rows whose columns equal `where`'s values, oldest first (or newest first), as dicts of
        the table's columns."""
        ...


def store(db: Db, sqlite_file: Path, tables: Sequence[SideTable]) -> SideStore:
    """The store of the warehouse `db`: its PostgreSQL database, or the SQLite file `sqlite_file` holding
    `tables` beside a DuckDB warehouse."""
    from etl.store.warehouse import target

    named = target(db)
    if is_postgres(named):
        return PostgresStore(named)
    return SqliteStore(sqlite_file, tables)


def store_errors() -> tuple[type[Exception], ...]:
    """What either store raises when a row cannot be written or read (a full disk, a lost server)."""
    import psycopg

    return (sqlite3.Error, psycopg.Error, OSError)


def _order(table: SideTable, insertion: str, newest_first: bool) -> str:
    direction = " DESC" if newest_first else ""
    return ", ".join(f'"{c}"{direction}' for c in (*table.order, insertion))


def _added_columns(table: SideTable) -> list[str]:
    """The columns an insert names: all but the one the store numbers."""
    return [c for c in table.column_names if c != table.numbered]


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in names)


def _where(table: SideTable, where: Mapping[str, object] | None, placeholder: str) -> tuple[str, list]:
    if not where:
        return "", []
    unknown = set(where) - set(table.column_names)
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    return "WHERE " + " AND ".join(f'"{c}" = {placeholder}' for c in where), list(where.values())


# --- SQLite, beside a DuckDB warehouse ----------------------------------------------------------------------


def sqlite_schema(table: SideTable) -> list[str]:
    """CREATE statements for `table` in a SQLite side file (harmless on a file that has it)."""
    columns = []
    for name, kind, required in table.columns:
        if name == table.numbered:
            columns.append(f"{name} INTEGER PRIMARY KEY AUTOINCREMENT")
        elif name == table.key:
            columns.append(f"{name} TEXT PRIMARY KEY")
        else:
            columns.append(f"{name} {kind}" + (" NOT NULL" if required else ""))
    statements = [f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"]
    if table.lookups:
        index = table.index or f"{table.name}_lookup"
        statements.append(f"CREATE INDEX IF NOT EXISTS {index} ON {table.name} ({', '.join(table.lookups)})")
    return statements


class SqliteStore:
    """The side tables in one SQLite file (WAL) beside a DuckDB warehouse."""

    def __init__(self, path: Path, tables: Sequence[SideTable]) -> None:
        self.path = path
        self.tables = tuple(tables)

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        with opened(self.path, [s for t in self.tables for s in sqlite_schema(t)]) as con:
            _add_missing_columns(con, self.tables)
            yield con

    def add(self, table: SideTable, rows: Sequence[Mapping[str, object]]) -> list[int | None]:
        return self.add_each([(table, row) for row in rows])

    def add_each(self, rows: Sequence[tuple[SideTable, Mapping[str, object]]]) -> list[int | None]:
        out: list[int | None] = []
        with self._open() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                for table, row in rows:
                    names = _added_columns(table)
                    marks = ", ".join("?" * len(names))
                    # Only a held key is passed over (INSERT OR IGNORE would also drop a row missing a required
                    # value without a word), as on PostgreSQL.
                    conflict = f" ON CONFLICT ({table.key}) DO NOTHING" if table.key else ""
                    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}){conflict}"
                    cursor = con.execute(sql, [row.get(c) for c in names])
                    out.append(int(cursor.lastrowid) if cursor.rowcount == 1 else None)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return out

    def select(
        self,
        table: SideTable,
        where: Mapping[str, object] | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        if not self.path.exists():
            return []  # nothing written yet: reading makes no file
        clause, params = _where(table, where, "?")
        sql = f"SELECT {', '.join(table.column_names)} FROM {table.name} {clause} "
        sql += "ORDER BY " + _order(table, table.numbered or "rowid", newest_first)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        try:
            with self._open() as con:
                found = con.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            # A full disk stops SQLite making its write-ahead files, and a page that only reads must still show:
            # read the file as last checkpointed.
            con = checkpointed(self.path)
            try:
                found = con.execute(sql, params).fetchall()
            finally:
                con.close()
        return [dict(zip(table.column_names, r, strict=True)) for r in found]


def _add_missing_columns(con: sqlite3.Connection, tables: Sequence[SideTable]) -> None:
    """A file written by an earlier release gains the optional columns declared since."""
    for table in tables:
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table.name})")}
        for name, kind, _required in table.columns:
            if name not in have:
                try:
                    con.execute(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it a moment ago
                    if "duplicate column" not in str(exc):
                        raise


# --- PostgreSQL, in the warehouse's database ----------------------------------------------------------------

# The row number that keeps PostgreSQL's rows in the order they were added (SQLite's rowid); not exported.
SEQ = "seq"


class PostgresStore:
    """The side tables in the warehouse's PostgreSQL database (migration 0005), each transaction confined
    to the authorities in hand by row-level security: written for the one in hand, read for those in hand."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextmanager
    def _transaction(self, role: str, codes: Sequence[str]) -> Iterator:
        from etl.store import db, warehouse

        warehouse.ensure_warehouse(self.url)  # the tables exist once the schema is current (once per process)
        # The pool's connection, not warehouse.writer(): a note saved while a load runs must not queue behind it.
        with db.pool(self.url).connection() as raw:
            try:
                raw.execute("SELECT set_config('app.la_codes', %s, true)", [",".join(codes)])
                raw.execute(f"SET LOCAL ROLE {role}")
                yield raw
                raw.commit()
            except BaseException:
                raw.rollback()
                raise

    def add(self, table: SideTable, rows: Sequence[Mapping[str, object]]) -> list[int | None]:
        return self.add_each([(table, row) for row in rows])

    def add_each(self, rows: Sequence[tuple[SideTable, Mapping[str, object]]]) -> list[int | None]:
        from etl.store import authority

        out: list[int | None] = []
        with self._transaction(WRITER_ROLE, (authority.current_code(),)) as raw:
            for table, row in rows:
                names = _added_columns(table)
                conflict = f' ON CONFLICT (la_code, "{table.key}") DO NOTHING' if table.key else ""
                sql = (
                    f"INSERT INTO {table.name} ({_quoted(names)}) "
                    f"VALUES ({', '.join(['%s'] * len(names))}){conflict} RETURNING {table.numbered or SEQ}"
                )
                found = raw.execute(sql, [row.get(c) for c in names]).fetchone()
                out.append(int(found[0]) if found else None)
        return out

    def select(
        self,
        table: SideTable,
        where: Mapping[str, object] | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        from etl.store import authority

        clause, params = _where(table, where, "%s")
        sql = f"SELECT {_quoted(table.column_names)} FROM {table.name} {clause} ORDER BY "
        sql += _order(table, table.numbered or SEQ, newest_first)
        if limit is not None:
            sql += " LIMIT %s"
            params.append(int(limit))
        with self._transaction(READER_ROLE, authority.codes()) as raw:
            found = raw.execute(sql, params).fetchall()
        return [dict(zip(table.column_names, r, strict=True)) for r in found]


APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION cpip_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'what people write and the access log are kept as written: % on % is refused',"
    " TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
)


def postgres_schema(table: SideTable) -> list[str]:
    """The statements that make `table` in the warehouse's PostgreSQL database with its authority column,
    row-level security, grants (insert and read only) and the trigger that refuses a change or removal by
    anyone, the tables' owner included (idempotent: migration 0005 runs them)."""
    from etl.store.migrate import POLICY

    columns = ["la_code VARCHAR NOT NULL DEFAULT current_setting('app.la_codes', true)"]
    for name, kind, required in table.columns:
        if name == table.numbered:
            columns.append(f'"{name}" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY')
        else:
            columns.append(f'"{name}" {kind}' + (" NOT NULL" if required else ""))
    if table.numbered is None:
        columns.append(f"{SEQ} BIGINT GENERATED ALWAYS AS IDENTITY")
    if table.key:
        columns.append(f'PRIMARY KEY (la_code, "{table.key}")')  # the same version may be held by two authorities
    lookups = ", ".join(("la_code", *table.lookups, *table.order, table.numbered or SEQ))
    using, check = POLICY
    name = table.name
    return [
        f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(columns)})",
        f"CREATE INDEX IF NOT EXISTS ix_{name}_lookup ON {name} ({lookups})",
        f"REVOKE ALL ON {name} FROM {READER_ROLE}, {WRITER_ROLE}",
        f"GRANT SELECT ON {name} TO {READER_ROLE}",
        f"GRANT SELECT, INSERT ON {name} TO {WRITER_ROLE}",
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS authority ON {name}",
        f"CREATE POLICY authority ON {name} USING ({using}) WITH CHECK ({check})",
        f"DROP TRIGGER IF EXISTS append_only ON {name}",
        f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {name} FOR EACH ROW "
        "EXECUTE FUNCTION cpip_append_only()",
        f"DROP TRIGGER IF EXISTS append_only_truncate ON {name}",
        f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {name} FOR EACH STATEMENT "
        "EXECUTE FUNCTION cpip_append_only()",
    ]
