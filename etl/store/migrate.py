"""Run the Alembic migrations (etl/store/migrations/) on a warehouse connection, either engine.

`upgrade(con, code)` runs in the caller's transaction (PostgreSQL's DDL is
transactional, so a failed migration leaves the database as it was; DuckDB's
runs on the private copy etl.store.warehouse swaps in only on success). `code` is the
authority that rows already there belong to (the DuckDB file's, or the default
authority's on PostgreSQL).

After the revisions, `sync(...)` makes what the contract declares (a table per
extract type, its columns, `la_code`, and on PostgreSQL its indexes and its
row-level-security policy) where it is missing: a new extract type or column in
etl/catalogue/contract.py needs no migration of its own. A change of structure does:
`alembic -c etl/store/migrations/alembic.ini revision -m "..."` writes the next one.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl
from sqlalchemy.pool import StaticPool

from etl.store import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
POLICY = (
    "la_code = ANY (string_to_array(current_setting('app.la_codes', true), ','))",
    "la_code = current_setting('app.la_codes', true)",
)


# DfE's figures, looked up by indicator and year for every comparator (etl/catalogue/reference.py).
REFERENCE_INDEXES = (
    ("ix_published_lookup", "published", "indicator, year, level, code"),
    ("ix_neighbours_la", "neighbours", "la_code, rank"),
)


class DuckDBImpl(DefaultImpl):
    """Alembic's operations on duckdb-engine (DuckDB speaks PostgreSQL's DDL where we use it)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


class _InTransaction:
    """The caller's DBAPI connection, whose transaction SQLAlchemy may not end: the caller commits."""

    def __init__(self, raw) -> None:
        self._raw = raw

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __getattr__(self, name):
        return getattr(self._raw, name)


def _engine(con: db.Connection) -> sa.Engine:
    if db.engine_of(con) == "postgresql":
        return sa.create_engine(
            "postgresql+psycopg://",
            creator=lambda: _InTransaction(con.raw),
            poolclass=StaticPool,
            use_native_hstore=False,
        )
    from duckdb_engine import ConnectionWrapper

    return sa.create_engine("duckdb://", creator=lambda: ConnectionWrapper(_InTransaction(con)), poolclass=StaticPool)


def current_revision(con: db.Connection) -> str | None:
    from alembic.migration import MigrationContext

    with _engine(con).connect() as sa_con:
        return MigrationContext.configure(sa_con).get_current_revision()


def upgrade(con: db.Connection, code: str, revision: str = "head") -> None:
    """Every revision up to `revision` (the head), then, at the head, the contract's tables and columns
    (`sync`)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["authority"] = code
    engine = _engine(con)
    with engine.connect() as sa_con:
        config.attributes["connection"] = sa_con
        command.upgrade(config, revision)
        if revision == "head":
            sync(sa_con, code)
        sa_con.commit()
    engine.dispose()


# --- what the contract declares ------------------------------------------------------


def create_tables(bind: sa.Connection) -> None:
    """Every table of etl/store/schema.py that is missing (CREATE TABLE IF NOT EXISTS)."""
    from sqlalchemy.schema import CreateTable

    from etl.store.schema import metadata

    for table in metadata.sorted_tables:
        bind.execute(CreateTable(table, if_not_exists=True))


def _columns(bind: sa.Connection) -> set[tuple[str, str]]:
    rows = bind.execute(
        sa.text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
    ).fetchall()
    return {(t, c) for t, c in rows}


def sync(bind: sa.Connection, code: str) -> None:
    """Make what the contract declares where it is missing (idempotent; see the module's docstring)."""
    from etl.catalogue.contract import EXTRACT_TYPES
    from etl.store.schema import AUTHORITY_TABLES

    postgres = bind.dialect.name == "postgresql"
    create_tables(bind)
    have = _columns(bind)
    for extract in EXTRACT_TYPES.values():
        for table in (extract.table, f"{extract.table}_replaced"):
            for column in extract.columns:
                if (table, column.name) not in have:
                    bind.execute(
                        sa.text(f'ALTER TABLE "{table}" ADD COLUMN "{column.name}" {db.column_type(column.type)}')
                    )
    for table in AUTHORITY_TABLES:
        if (table, "la_code") not in have:
            add_authority_column(bind, table, code)
    if postgres:
        secure(bind)


def add_authority_column(bind: sa.Connection, table: str, code: str) -> None:
    """`la_code` on `table`, the rows already there given `code`. PostgreSQL's default is the
    transaction's authority (so an INSERT that names none gets it, and one with several is refused);
    DuckDB's, the file's."""
    if not (code.isdigit() and len(code) == 3):
        raise ValueError(f"{code!r} is not an authority's DfE code")
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text(f"ALTER TABLE \"{table}\" ADD COLUMN la_code VARCHAR NOT NULL DEFAULT '{code}'"))
        bind.execute(
            sa.text(f"ALTER TABLE \"{table}\" ALTER COLUMN la_code SET DEFAULT current_setting('app.la_codes', true)")
        )
    else:
        bind.execute(sa.text(f"ALTER TABLE \"{table}\" ADD COLUMN la_code VARCHAR DEFAULT '{code}'"))


def _indexes() -> dict[str, list[str]]:
    """{table: [column lists]}: what the reads and the loader's joins look up, each led by la_code."""
    from etl.catalogue.contract import EXTRACT_TYPES

    out: dict[str, list[str]] = {
        "kpi_monthly": ["la_code, metric_id, level, org_unit, period", "la_code, level, period"],
        "load_findings": ["la_code, load_id"],
    }
    for extract in EXTRACT_TYPES.values():
        keys = ", ".join(f'"{k}"' for k in extract.key)
        out[extract.table] = [f"la_code, {keys}", "la_code, load_id"]
        out[f"{extract.table}_replaced"] = ["la_code, replaced_by", "la_code, load_id"]
        if extract.record_level:
            out[f"{extract.table}_seen"] = [f"la_code, {keys}", "la_code, load_id"]
    return out


def secure(bind: sa.Connection) -> None:
    """PostgreSQL: the roles, their grants, the indexes and every authority table's policy."""
    from etl.store.schema import AUTHORITY_TABLES, SHARED_TABLES

    READER_ROLE, WRITER_ROLE = db.READER_ROLE, db.WRITER_ROLE

    for role in (READER_ROLE, WRITER_ROLE):
        bind.execute(
            sa.text(f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        )
        # The connecting role takes these roles for each transaction (SET LOCAL ROLE).
        bind.execute(
            sa.text(
                f"DO $$ BEGIN EXECUTE format('GRANT {role} TO %I', current_user); "
                "EXCEPTION WHEN OTHERS THEN NULL; END $$"
            )
        )
    shared = ", ".join(SHARED_TABLES)
    owned = ", ".join(f'"{t}"' for t in AUTHORITY_TABLES)
    bind.execute(sa.text(f"GRANT SELECT ON {shared}, {owned} TO {READER_ROLE}"))
    bind.execute(sa.text(f"GRANT SELECT ON {shared} TO {WRITER_ROLE}"))
    bind.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {owned} TO {WRITER_ROLE}"))
    for table, indexes in _indexes().items():
        for i, columns in enumerate(indexes):
            bind.execute(sa.text(f'CREATE INDEX IF NOT EXISTS "ix_{table}_{i}" ON "{table}" ({columns})'))
    using, check = POLICY
    for table in AUTHORITY_TABLES:
        bind.execute(sa.text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
        # Forced: the tables' owner too sees an authority's rows only in a transaction that names it.
        bind.execute(sa.text(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY'))
        bind.execute(sa.text(f'DROP POLICY IF EXISTS authority ON "{table}"'))
        bind.execute(sa.text(f'CREATE POLICY authority ON "{table}" USING ({using}) WITH CHECK ({check})'))
