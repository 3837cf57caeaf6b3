"""Alembic's environment: runs on the connection etl.store.migrate hands over (never opens one itself)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
