"""Many authorities: every authority table gains `la_code`; on PostgreSQL row-level security keeps
authorities apart (roles cpip_reader and cpip_writer, policy `authority` on each table), loads are
numbered per authority, and the lookups are indexed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl.store.migrate import add_authority_column, secure
    from etl.store.schema import AUTHORITY_TABLES

    bind = op.get_bind()
    code = context.config.attributes["authority"]
    have = {
        t
        for (t,) in bind.execute(
            sa.text("SELECT table_name FROM information_schema.columns WHERE column_name = 'la_code'")
        )
    }
    for table in AUTHORITY_TABLES:
        if table not in have:
            add_authority_column(bind, table, code)
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("ALTER TABLE loads DROP CONSTRAINT IF EXISTS loads_pkey"))
        bind.execute(sa.text("ALTER TABLE loads ADD PRIMARY KEY (la_code, load_id)"))
        secure(bind)
