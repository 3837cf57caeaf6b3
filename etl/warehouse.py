"""The embedded DuckDB warehouse: where it is, its tables, and how to open it.

DuckDB allows one writer or many read-only readers across processes, never
both. So the web app only ever opens the file read-only, per request, and the
ETL never writes the live file: it copies it to `<file>.tmp`, writes the copy
in one go, closes it (no WAL left) and swaps it over the live file with
`os.replace`, which is atomic. A failed or interrupted write leaves the live
file exactly as it was, and readers never see half a load.

Tables are defined explicitly with SQLAlchemy Core (duckdb-engine cannot
reflect on SQLAlchemy 2.1) and compiled to DuckDB DDL; bulk data moves
through DuckDB's own API.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import sqlalchemy as sa
from duckdb_engine import Dialect
from sqlalchemy.schema import CreateTable

from etl.calendar import CALENDAR_END, CALENDAR_START, bank_holidays
from etl.contract import EXTRACT_TYPES, ExtractType

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "data" / "warehouse.duckdb"
SCHEMA_VERSION = 3

_SQL_TYPES = {
    "text": sa.Text,
    "date": sa.Date,
    "datetime": sa.DateTime,
    "grade": sa.Text,
    "status": sa.Text,
    "month": sa.Date,  # first day of the month
    "number": sa.Double,
    "flag": sa.Boolean,
}

metadata = sa.MetaData()


def _extract_columns(extract: ExtractType) -> list[sa.Column]:
    return [sa.Column(c.name, _SQL_TYPES[c.type], nullable=not c.required) for c in extract.columns]


def _as_of_column(extract: ExtractType) -> list[sa.Column]:
    return [sa.Column("as_of", sa.Date)] if extract.record_level else []


# One table per extract type holds the records in force; `<type>_replaced`
# keeps every record a later load replaced, so that load can be undone.
# A record-level table also carries `as_of`: the latest as-of date of any load
# still in force that contained the record (changed or not), the date its
# deadlines are judged at. `<type>_seen` records each later load that contained
# a record unchanged (its key and that load), so undoing that load restores the
# earlier date exactly.
for _extract in EXTRACT_TYPES.values():
    sa.Table(
        _extract.table,
        metadata,
        *_extract_columns(_extract),
        sa.Column("load_id", sa.Integer, nullable=False),
        *_as_of_column(_extract),
    )
    sa.Table(
        f"{_extract.table}_replaced",
        metadata,
        *_extract_columns(_extract),
        sa.Column("load_id", sa.Integer, nullable=False),
        sa.Column("replaced_by", sa.Integer, nullable=False),
        *_as_of_column(_extract),
    )
    if _extract.record_level:
        sa.Table(
            f"{_extract.table}_seen",
            metadata,
            *[c for c in _extract_columns(_extract) if c.name in _extract.key],
            sa.Column("load_id", sa.Integer, nullable=False),
        )

loads = sa.Table(
    "loads",
    metadata,
    sa.Column("load_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("loaded_at", sa.DateTime, nullable=False),
    sa.Column("loaded_by", sa.Text, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("extract_type", sa.Text),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("rows_added", sa.Integer, nullable=False),
    sa.Column("rows_replaced", sa.Integer, nullable=False),
    sa.Column("rows_unchanged", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("first_period", sa.Text),
    sa.Column("last_period", sa.Text),
    # loaded | loaded valid rows only | re-dated | no change | refused | undone
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("undone_at", sa.DateTime),
    sa.Column("undone_by", sa.Text),
    # Unchanged records whose as-of date this load moved later.
    sa.Column("rows_redated", sa.Integer, nullable=False, server_default="0"),
)

load_findings = sa.Table(
    "load_findings",
    metadata,
    sa.Column("load_id", sa.Integer, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),  # error | warning
    sa.Column("line", sa.Integer),
    sa.Column("column_name", sa.Text),
    sa.Column("value", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
)

calendar = sa.Table(
    "calendar",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("is_working_day", sa.Boolean, nullable=False),
    sa.Column("working_day_number", sa.Integer, nullable=False),  # working days up to and including `day`
)

# The KPI mart: numerator and denominator per metric, month and org unit at
# every level, rebuilt by etl.kpis after each load. Pages read it; they never
# compute a KPI themselves.
kpi_monthly = sa.Table(
    "kpi_monthly",
    metadata,
    sa.Column("metric_id", sa.Text, nullable=False),
    sa.Column("period", sa.Date, nullable=False),
    sa.Column("level", sa.Text, nullable=False),  # la | area | service | team
    sa.Column("org_unit", sa.Text, nullable=False),
    sa.Column("numerator", sa.Double, nullable=False),
    sa.Column("denominator", sa.Double),
    # Why a figure is pooled the way it is, where a reader needs telling (an area
    # that cannot take a row given for a whole service).
    sa.Column("note", sa.Text),
)

# DfE's published figures for every authority (etl.reference, from data/reference/dfe/):
# one row per indicator, year and geography (England, a region, an authority by its DfE code).
published = sa.Table(
    "published",
    metadata,
    sa.Column("indicator", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),  # the year ending 31 March
    sa.Column("level", sa.Text, nullable=False),  # national | regional | la
    sa.Column("code", sa.Text, nullable=False),  # "England", the region's name, or the DfE code (938)
    sa.Column("name", sa.Text),
    sa.Column("value", sa.Double),  # the published percentage; NULL where DfE gives a symbol
    sa.Column("marker", sa.Text),  # c, k, u, x, z or "" when there is no value
)

# DfE's 2025 statistical-neighbour model: each authority, its region, its ten neighbours.
authorities = sa.Table(
    "authorities",
    metadata,
    sa.Column("la_code", sa.Text, primary_key=True),
    sa.Column("la_name", sa.Text, nullable=False),
    sa.Column("region_name", sa.Text),
)

neighbours = sa.Table(
    "neighbours",
    metadata,
    sa.Column("la_code", sa.Text, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),  # 1 = closest
    sa.Column("neighbour_code", sa.Text, nullable=False),
    sa.Column("closeness", sa.Text),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
)


def warehouse_path(path: str | os.PathLike | None = None) -> Path:
    """The warehouse file: `path`, else $CPIP_DB, else data/warehouse.duckdb."""
    return Path(path or os.environ.get("CPIP_DB") or DEFAULT_PATH)


def warehouse_url(path: str | os.PathLike | None = None, *, read_only: bool = True) -> str:
    """SQLAlchemy URL of the warehouse, for tools that speak SQLAlchemy."""
    return f"duckdb:///{warehouse_path(path)}" + ("?read_only=true" if read_only else "")


def _ddl() -> list[str]:
    dialect = Dialect()
    return [str(CreateTable(t, if_not_exists=True).compile(dialect=dialect)) for t in metadata.sorted_tables]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table (idempotent), fill the working-day calendar if it is empty
    and DfE's published figures when the shipped files have changed."""
    for statement in _ddl():
        con.execute(statement)
    _upgrade(con)
    _add_contract_columns(con)
    if con.execute("SELECT count(*) FROM calendar").fetchone()[0] == 0:
        _fill_calendar(con)
    _refresh_reference(con)
    con.execute("INSERT OR REPLACE INTO settings VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def _refresh_reference(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)load data/reference/dfe/ when its files differ from those last loaded."""
    from etl import reference

    if not reference.REFERENCE_DIR.exists():
        return
    current = reference.reference_hash()
    found = con.execute("SELECT value FROM settings WHERE key = 'reference_hash'").fetchall()
    if found and found[0][0] == current:
        return
    reference.load_reference(con)
    con.execute("INSERT OR REPLACE INTO settings VALUES ('reference_hash', ?)", [current])


def _upgrade(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a warehouse written by an earlier release up to this schema. Version 2 added
    each record's `as_of` (filled from the load that brought it) and kpi_monthly's note;
    version 3 DfE's published figures (`published`, `authorities`, `neighbours`), which
    create_schema creates and fills, so a warehouse of version 2 gets them on first read."""
    found = con.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchall()
    if not found or int(found[0][0]) >= SCHEMA_VERSION:
        return
    for extract in EXTRACT_TYPES.values():
        if not extract.record_level:
            continue
        for table in (extract.table, f"{extract.table}_replaced"):
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS as_of DATE')
            con.execute(
                f'UPDATE "{table}" t SET as_of = l.as_of FROM loads l WHERE l.load_id = t.load_id AND t.as_of IS NULL'
            )
    con.execute("ALTER TABLE kpi_monthly ADD COLUMN IF NOT EXISTS note VARCHAR")
    con.execute("ALTER TABLE loads ADD COLUMN IF NOT EXISTS rows_redated INTEGER DEFAULT 0")


def _add_contract_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A column the contract gained since the warehouse was made (assessments' child_seen) is added, empty."""
    have = set(con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal").fetchall())
    dialect = Dialect()
    for extract in EXTRACT_TYPES.values():
        for table in (extract.table, f"{extract.table}_replaced"):
            for column in extract.columns:
                if (table, column.name) not in have:
                    kind = _SQL_TYPES[column.type]().compile(dialect=dialect)
                    con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column.name}" {kind}')


def _fill_calendar(con: duckdb.DuckDBPyConnection) -> None:
    """Every day with its running count of working days, built in SQL from
    the `holidays` package's bank holidays."""
    days = ", ".join(f"(DATE '{d.isoformat()}')" for d in bank_holidays())
    con.execute(
        f"""
        INSERT INTO calendar
        WITH bank_holidays(day) AS (VALUES {days}),
        days AS (
            SELECT CAST(d AS DATE) AS day FROM generate_series(DATE '{CALENDAR_START}', DATE '{CALENDAR_END}',
                INTERVAL 1 DAY) AS t(d)
        ),
        flagged AS (
            SELECT day, isodow(day) <= 5 AND day NOT IN (SELECT day FROM bank_holidays) AS is_working_day FROM days
        )
        SELECT day, is_working_day,
               CAST(sum(CAST(is_working_day AS INTEGER)) OVER (ORDER BY day) AS INTEGER)
        FROM flagged ORDER BY day
        """
    )


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


@contextmanager
def writer(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a private copy of the warehouse; on a clean exit the
    copy replaces the live file atomically, on an exception it is thrown away."""
    live = warehouse_path(path)
    tmp = live.with_name(live.name + ".tmp")
    with _lock(live):
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            stale.unlink(missing_ok=True)
        if live.exists():
            shutil.copyfile(live, tmp)
        con = duckdb.connect(str(tmp))
        try:
            create_schema(con)
            con.execute("BEGIN TRANSACTION")
            yield con
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
            raise
        os.replace(tmp, live)


# The files (by path, inode and modification time) already known to be at SCHEMA_VERSION,
# so a reader pays for the check once per file a load swaps in, not per request.
_CURRENT: set[tuple[str, int, int]] = set()


def ensure_warehouse(path: str | os.PathLike | None = None) -> Path:
    """Create an empty warehouse with its schema if there is none yet, and bring one
    written by an earlier release up to this schema (one write, the first time it is
    read), so the readers' queries find the columns they expect."""
    live = warehouse_path(path)
    if not live.exists():
        with writer(live):
            pass
        return live
    stat = live.stat()
    key = (str(live), stat.st_ino, stat.st_mtime_ns)
    if key in _CURRENT:
        return live
    con = duckdb.connect(str(live), read_only=True)
    try:
        found = con.execute(
            "SELECT value FROM settings WHERE key = 'schema_version'"
            " AND EXISTS (SELECT 1 FROM duckdb_tables() WHERE table_name = 'settings')"
        ).fetchall()
    except duckdb.CatalogException:
        found = []
    finally:
        con.close()
    if not found or int(found[0][0]) < SCHEMA_VERSION:
        with writer(live):
            pass  # create_schema upgrades it
        stat = live.stat()
        key = (str(live), stat.st_ino, stat.st_mtime_ns)
    _CURRENT.add(key)
    return live


def reader(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection, opened per request (about 25 ms). Because the
    ETL swaps a new file in rather than writing the live one, a reader opened
    after a load sees the new data without a restart."""
    live = ensure_warehouse(path)
    return duckdb.connect(str(live), read_only=True)


@contextmanager
def reading(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = reader(path)
    try:
        yield con
    finally:
        con.close()
