"""Alembic migrations of the warehouse, on DuckDB and PostgreSQL (run by etl.store.migrate)."""
