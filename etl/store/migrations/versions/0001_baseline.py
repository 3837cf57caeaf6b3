"""The schema of the release before authorities (version 3), from an empty database or any earlier release.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl.catalogue.contract import EXTRACT_TYPES
    from etl.store.migrate import create_tables

    bind = op.get_bind()
    # A DuckDB warehouse of release 1 or 2 (PostgreSQL never had them) lacks these; adding is idempotent.
    existing = set(bind.execute(sa.text("SELECT table_name FROM information_schema.tables")).scalars())
    old = "loads" in existing and bind.dialect.name == "duckdb"
    create_tables(bind)
    if not old:
        return
    for extract in EXTRACT_TYPES.values():
        if not extract.record_level:
            continue
        for table in (extract.table, f"{extract.table}_replaced"):
            bind.execute(sa.text(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS as_of DATE'))
            bind.execute(
                sa.text(
                    f'UPDATE "{table}" t SET as_of = l.as_of FROM loads l '
                    "WHERE l.load_id = t.load_id AND t.as_of IS NULL"
                )
            )
    bind.execute(sa.text("ALTER TABLE kpi_monthly ADD COLUMN IF NOT EXISTS note VARCHAR"))
    bind.execute(sa.text("ALTER TABLE loads ADD COLUMN IF NOT EXISTS rows_redated INTEGER DEFAULT 0"))
