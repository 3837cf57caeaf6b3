"""Which engine holds the warehouse, and one connection interface over both.

`CPIP_DB` (or a `db=` argument) is either a path, for the embedded DuckDB file
(the default, `data/warehouse.duckdb`), or a `postgresql://` URL. Everything
above this module (loader, KPI SQL, queries, pages) talks to a connection with
DuckDB's small interface: `con.execute(sql, params)` returning something with
`fetchall()`, `fetchone()`, `df()` and `fetchnumpy()`, and `con.executemany`.
On DuckDB that is DuckDB's own connection, untouched; on PostgreSQL it is
`PgConnection`, which turns DuckDB's placeholders (`?` and `$name`) into
psycopg's and escapes a literal `%`.

So the SQL is written once, in the dialect both engines share: explicit GROUP
BY lists, EXISTS rather than SEMI/ANTI JOIN, quoted intervals
(`INTERVAL '1 month'`), `CAST(date_trunc('month', d) AS DATE)`, division
only of DOUBLE PRECISION values, information_schema rather than
duckdb_tables(). Where an engine needs a statement of its own, `Dialect`
holds the two side by side.

Connections to PostgreSQL come from one pool per process and URL
(psycopg_pool), so no request pays for opening the database.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeAlias, runtime_checkable

# What every function that touches the warehouse takes as `db`: a DuckDB file's path, a `postgresql://` URL,
# or None for $CPIP_DB (else data/warehouse.duckdb).
Db: TypeAlias = str | os.PathLike | None


@runtime_checkable
class Result(Protocol):
    """A statement's rows, as DuckDB's result and `PgResult` both give them."""

    def fetchall(self) -> list[tuple]: ...

    def fetchone(self) -> tuple | None: ...

    def df(self) -> Any: ...

    def fetchnumpy(self) -> dict: ...


@runtime_checkable
class Connection(Protocol):
    """The connection interface the loader, the KPI SQL and the queries use: DuckDB's own connection
    satisfies it untouched, `PgConnection` by translating placeholders (see the module's docstring)."""

    def execute(self, sql: str, params: Any = None, /) -> Any: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def commit(self) -> Any: ...

    def rollback(self) -> Any: ...

    def close(self) -> None: ...


# The roles a PostgreSQL transaction takes (SET LOCAL ROLE): readers see, the writer loads.
READER_ROLE, WRITER_ROLE = "cpip_reader", "cpip_writer"

# The SQL type of each contract column type, the same on both engines.
_SQL_TYPES = {
    "text": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "grade": "VARCHAR",
    "status": "VARCHAR",
    "month": "DATE",
    "number": "DOUBLE PRECISION",
    "flag": "BOOLEAN",
}


def column_type(kind: str) -> str:
    """The SQL type of a contract column type (text, date, ...), the same on both engines."""
    return _SQL_TYPES[kind]


# The tables every authority shares (no la_code, no row-level security): the working-day calendar,
# DfE's published figures for all authorities, and the settings. Every other table is an authority's.
SHARED_TABLES = ("calendar", "published", "authorities", "neighbours", "settings")

POSTGRES_PREFIXES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgres(db: object) -> bool:
    """True when `db` (a path, a URL, or None for $CPIP_DB) names a PostgreSQL server."""
    target = db if db is not None else os.environ.get("CPIP_DB", "")
    return str(target).startswith(POSTGRES_PREFIXES)


def libpq_url(url: str) -> str:
    """The URL as libpq takes it (SQLAlchemy's `postgresql+psycopg://` spelled `postgresql://`)."""
    return "postgresql://" + url.split("://", 1)[1]


def sqlalchemy_url(url: str) -> str:
    """The URL as SQLAlchemy takes it, with the psycopg 3 driver."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


# --- placeholders --------------------------------------------------------------

# String literals, quoted names and comments are passed over; `?`, `$name` and `%` are translated.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|\$[A-Za-z_]\w*|%")


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """DuckDB's placeholders in `sql` as psycopg's: `?` -> `%s`, `$name` -> `%(name)s`, `%` -> `%%`."""

    def swap(match: re.Match) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith("$"):
            return f"%({token[1:]})s"
        return token.replace("%", "%%") if token.startswith(("'", "--")) else token

    return _TOKENS.sub(swap, sql)


# --- PostgreSQL connections ----------------------------------------------------


class PgResult:
    """A finished statement's rows, read as DuckDB's result is read."""

    def __init__(self, cursor) -> None:
        self._cursor = cursor

    @property
    def columns(self) -> list[str]:
        return [d.name for d in self._cursor.description or []]

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def df(self):
        import pandas as pd

        columns = self.columns
        rows = self.fetchall()
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
        return _duck_types(frame, self._cursor.description)

    def fetchnumpy(self) -> dict:
        import numpy as np

        columns = self.columns
        rows = self.fetchall()
        return {c: np.array([r[i] for r in rows]) for i, c in enumerate(columns)}


# PostgreSQL type OIDs whose values pandas should see as DuckDB's .df() gives them.
_FLOAT_OIDS = {700, 701, 1700}  # real, double precision, numeric
_DATE_OIDS = {1082, 1114, 1184}  # date, timestamp, timestamptz


def _duck_types(frame, description):
    """Floats as float64 (NULL -> NaN) and dates as datetime64, as DuckDB's .df() gives them."""
    import pandas as pd

    for d in description:
        if d.type_code in _FLOAT_OIDS:
            frame[d.name] = pd.to_numeric(frame[d.name], errors="coerce").astype("float64")
        elif d.type_code in _DATE_OIDS:
            frame[d.name] = pd.to_datetime(frame[d.name])
    return frame


class PgConnection:
    """A psycopg connection with DuckDB's `execute` interface (see the module's docstring)."""

    engine = "postgresql"

    def __init__(self, raw) -> None:
        self.raw = raw
        # Tables a write changed: analysed after it commits (etl.store.warehouse), so the planner knows their size.
        self.touched: set[str] = set()

    def execute(self, sql: str, params: Sequence | dict | None = None) -> PgResult:
        import psycopg

        cursor = psycopg.ClientCursor(self.raw)
        # Params always given (empty when none), so psycopg reads the `%%` that translate() wrote as `%`.
        cursor.execute(translate(sql), _params(params) if params is not None else [])
        return PgResult(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        import psycopg

        with psycopg.ClientCursor(self.raw) as cursor:
            cursor.executemany(translate(sql), [_params(r) for r in rows])

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Rows into `table` through COPY (a bulk insert many times faster than INSERT). PostgreSQL
        refuses COPY into a table under row-level security, so an authority's table is filled
        through a temp table (its policy still checks every row on the INSERT)."""
        names = ", ".join(f'"{c}"' for c in columns)
        into = table
        if table not in SHARED_TABLES:
            into = f"_copy_{table}"
            self.execute(f"DROP TABLE IF EXISTS {into}")
            self.execute(f'CREATE TEMP TABLE {into} AS SELECT {names} FROM "{table}" WHERE false')
        with self.raw.cursor() as cursor, cursor.copy(f'COPY "{into}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        if into != table:
            self.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {into}')
            self.execute(f"DROP TABLE {into}")

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def close(self) -> None:
        self.raw.close()


def _params(params):
    if params is None:
        return None
    if isinstance(params, dict):
        return {k: _value(v) for k, v in params.items()}
    return [_value(v) for v in params]


def _value(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    return value


_POOLS: dict[tuple[int, str], Any] = {}
_POOLS_LOCK = threading.Lock()


def pool(url: str):
    """This process's connection pool for `url` (made on first use; a forked worker makes its own)."""
    key = (os.getpid(), url)
    found = _POOLS.get(key)
    if found is not None:
        return found
    with _POOLS_LOCK:
        found = _POOLS.get(key)
        if found is None:
            from psycopg_pool import ConnectionPool

            size = int(os.environ.get("CPIP_DB_POOL", "4"))
            found = ConnectionPool(
                libpq_url(url), min_size=1, max_size=size, open=True, timeout=30, name="cpip", configure=_configure
            )
            _POOLS[key] = found
    return found


def _configure(raw) -> None:
    """Each new pooled connection: no JIT compilation. The planner's guess at a month series (1,000 rows)
    makes a scorecard look costly enough to compile, which takes 65 ms to save nothing on 7,560 cells."""
    raw.execute("SET jit = off")
    raw.commit()


def close_pool(url: str) -> None:
    """Close this process's pool for `url`, if it has one (before the database is dropped or copied)."""
    with _POOLS_LOCK:
        found = _POOLS.pop((os.getpid(), url), None)
    if found is not None:
        found.close()
    forget(url)


# PostgreSQL databases this process found at the current schema (etl.store.warehouse checks once per process).
_CURRENT: set[tuple[int, str]] = set()


def is_current(url: str) -> bool:
    return (os.getpid(), url) in _CURRENT


def mark_current(url: str) -> None:
    _CURRENT.add((os.getpid(), url))


def forget(url: str) -> None:
    """Check `url`'s schema again next time (its database was dropped or replaced)."""
    _CURRENT.discard((os.getpid(), url))


def touch(con: Connection, *tables: str) -> None:
    """Note that a write changed `tables` (PostgreSQL analyses them once it commits; DuckDB needs nothing)."""
    touched = getattr(con, "touched", None)
    if touched is not None:
        touched.update(tables)


def engine_of(con: Connection) -> str:
    """`duckdb` or `postgresql` for a connection this module handed out."""
    return getattr(con, "engine", "duckdb")


class Dialect:
    """The few statements each engine spells its own way, side by side."""

    def __init__(self, engine: str) -> None:
        self.engine = engine

    @property
    def postgres(self) -> bool:
        return self.engine == "postgresql"

    def temp_table(self, con: Connection, name: str, select: str, params=None) -> None:
        """(Re)create temp table `name` as the result of `select`."""
        con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute(f"CREATE TEMP TABLE {name} AS {select}", params)

    def columns(self, con: Connection, table: str) -> list[str]:
        """A table's columns, in order."""
        return [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]

    def has_table(self, con: Connection, table: str) -> bool:
        return bool(
            con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')",
                [table],
            ).fetchone()[0]
        )


def dialect_of(con: Connection) -> Dialect:
    return Dialect(engine_of(con))
