"""What people write lives in PostgreSQL: notes, actions and events (the app's versions) and the access log
in tables of their own, each under the authority row-level security of the warehouse's tables, insert and
read only for the app's roles, and a change or removal refused by a trigger (etl/store/side.py).

On DuckDB nothing changes: those stay SQLite files beside the warehouse, which loads never touch. A
PostgreSQL warehouse of the previous release kept them in SQLite files in CPIP_STATE_DIR; `cpip notes
import-sqlite` brings those notes across, once, on request.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl.store import side

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.execute(sa.text(side.APPEND_ONLY))
    for table in side.TABLES:
        for statement in side.postgres_schema(table):
            bind.execute(sa.text(statement))
