"""Windows (docs/spec/windows.md): each load records the window it is the whole truth for
(`window_from`, `window_to`), the file it came in (`batch_id`: a workbook's lists undo together), how
many records it retired and the KPIs it cannot count (a Yes/No seen column); `<type>_seen` records
which stored version each load that held a record unchanged held (`version_load`), so the version
that counts can be worked out again from the loads in force.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from etl.catalogue.contract import EXTRACT_TYPES

    bind = op.get_bind()
    # 0001 creates a new warehouse's tables from today's schema, columns and all: adding is idempotent.
    for column, kind in (
        ("window_from", "DATE"),
        ("window_to", "DATE"),
        ("batch_id", "INTEGER"),
        ("rows_retired", "INTEGER DEFAULT 0"),
        ("uncounted", "VARCHAR"),
    ):
        bind.execute(sa.text(f"ALTER TABLE loads ADD COLUMN IF NOT EXISTS {column} {kind}"))
    # Each load was its own file until now.
    bind.execute(sa.text("UPDATE loads SET batch_id = load_id WHERE batch_id IS NULL"))
    bind.execute(sa.text("UPDATE loads SET rows_retired = 0 WHERE rows_retired IS NULL"))
    for extract in EXTRACT_TYPES.values():
        if not extract.record_level:
            continue
        table = extract.table
        found = bind.execute(
            sa.text("SELECT count(*) FROM information_schema.tables WHERE table_name = :t"), {"t": f"{table}_seen"}
        ).scalar()
        if not found:
            continue
        bind.execute(sa.text(f'ALTER TABLE "{table}_seen" ADD COLUMN IF NOT EXISTS version_load INTEGER'))
        # Until now a load that saw a record unchanged saw the version in force.
        keys = " AND ".join(f's."{k}" = t."{k}"' for k in extract.key)
        bind.execute(
            sa.text(
                f'UPDATE "{table}_seen" s SET version_load = t.load_id FROM "{table}" t '
                f"WHERE {keys} AND s.version_load IS NULL"
            )
        )
