"""The allocated worker (issue 25): an optional `worker` column on the extract types whose open records fall
due (assessments, initial health assessments, missing episodes, section 47 enquiries), and on their
`_replaced` tables, so the due list can say whose each record is. Records loaded before it have none.

`etl.store.migrate.sync` would add a contract column by itself; this revision says when it came and adds it
where the tables are already there, idempotently (0001 creates a new warehouse's tables with it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("assessments", "health_assessments", "missing_episodes", "s47_enquiries")


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(bind.execute(sa.text("SELECT table_name FROM information_schema.tables")).scalars())
    for table in TABLES:
        for name in (table, f"{table}_replaced"):
            if name in existing:
                bind.execute(sa.text(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS worker VARCHAR'))
