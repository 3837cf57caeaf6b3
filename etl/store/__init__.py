"""The warehouse: engines (DuckDB, PostgreSQL), schema and migrations, the authority in hand, writers and readers."""
