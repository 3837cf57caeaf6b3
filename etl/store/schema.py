"""The warehouse's tables, defined once with SQLAlchemy Core for both engines.

These are the tables of the release before authorities (schema version 3), which
the first migration (etl/store/migrations/versions/0001_baseline.py) creates; the
second adds `la_code` to every table in AUTHORITY_TABLES (and, on PostgreSQL,
row-level security). Imported only by the migrations, so a load that finds the
schema current never pays for importing SQLAlchemy.
"""

from __future__ import annotations

import sqlalchemy as sa

from etl.catalogue.contract import EXTRACT_TYPES, ExtractType
from etl.store.db import SHARED_TABLES

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
            # The load whose stored version (in the table or `_replaced`) this load held unchanged.
            sa.Column("version_load", sa.Integer),
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
    # The span of window dates the load is the whole truth for (docs/spec/windows.md); NULL: no window.
    sa.Column("window_from", sa.Date),
    sa.Column("window_to", sa.Date),
    # The file the load came in (its first load's id): a workbook's lists undo together.
    sa.Column("batch_id", sa.Integer),
    # Records held from earlier loads that this load's window covers and it does not contain.
    sa.Column("rows_retired", sa.Integer, server_default="0"),
    # The KPIs (comma-separated) its records cannot count, so it covers none of their months (a List 4
    # whose seen column says only Yes/No cannot time a visit).
    sa.Column("uncounted", sa.Text),
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
# every level, rebuilt by etl.rules.kpis after each load. Pages read it; they never
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

# DfE's published figures for every authority (etl.catalogue.reference, from data/reference/dfe/):
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


# Every other table belongs to an authority: each row carries its la_code.
AUTHORITY_TABLES = tuple(t.name for t in metadata.sorted_tables if t.name not in SHARED_TABLES)


def ddl(engine: str = "duckdb") -> list[str]:
    """CREATE TABLE statements for every table (without la_code: the migrations add it), for a scratch
    database (tests that want the tables and nothing else)."""
    from sqlalchemy.schema import CreateTable

    if engine == "duckdb":
        from duckdb_engine import Dialect

        dialect = Dialect()
    else:
        from sqlalchemy.dialects import postgresql

        dialect = postgresql.dialect()
    return [str(CreateTable(t, if_not_exists=True).compile(dialect=dialect)) for t in metadata.sorted_tables]
