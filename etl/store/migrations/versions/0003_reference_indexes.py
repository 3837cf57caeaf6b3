"""DfE's published figures indexed for the comparators (PostgreSQL: the scorecard's ranking of every
authority took a sequential scan per KPI), and row-level security forced on the authority tables, so even
the tables' owner reads an authority's rows only when a transaction names it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl.store.migrate import REFERENCE_INDEXES, secure

    bind = op.get_bind()
    for name, table, columns in REFERENCE_INDEXES:
        bind.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"))
    if bind.dialect.name == "postgresql":
        secure(bind)
