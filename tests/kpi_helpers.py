"""Hand-made records straight into a temporary warehouse, for KPI and query tests.

Each call is one load: a `loads` row carrying the as-of date, then the records
with that load_id, written through `etl.store.warehouse.writer` (the same atomic
copy-and-swap the loader uses), then the KPI mart rebuilt. The loader itself
(validation, replacement by record key) is not involved: these tests are about
the counting rules, so the records go in exactly as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from etl.catalogue.contract import EXTRACT_TYPES
from etl.rules import kpis
from etl.store.warehouse import writer

# Two services and two areas that cut across each other, so a test can tell a
# service roll-up from an area roll-up.
ORG = (
    ("Team A", "Assessment and Intervention", "Northern"),
    ("Team B", "Assessment and Intervention", "Central"),
    ("Team C", "Children We Care For", "Northern"),
    ("Team D", "Children We Care For", "Central"),
)
AUTHORITY = "Demo County Council"  # metrics.yml's authority.name


def new_warehouse(folder: Path | str, org: Iterable[tuple[str, str, str]] = ORG) -> Path | str:
    """A warehouse with the organisation reference loaded: a DuckDB file in `folder`, or the
    PostgreSQL database `folder` names (a URL: conftest's `new_target`)."""
    db = folder if str(folder).startswith("postgresql://") else Path(folder) / "warehouse.duckdb"
    add_records(
        db,
        "organisation",
        [dict(zip(("team", "service", "area"), row, strict=True)) for row in org],
        as_of=date(2023, 4, 1),
    )
    return db


def add_records(
    db: Path, extract_type: str, rows: Iterable[Mapping[str, Any]], *, as_of: date, rebuild: bool = True
) -> int:
    """Write `rows` (dicts by contract column; missing columns are blank) as one
    load with the given as-of date; returns its load_id."""
    extract = EXTRACT_TYPES[extract_type]
    columns = extract.column_names
    rows = list(rows)
    with writer(db) as con:
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
        con.execute(
            "INSERT INTO loads (load_id, loaded_at, loaded_by, file_name, content_hash, extract_type, as_of,"
            " rows_read, rows_added, rows_replaced, rows_unchanged, rows_rejected, warnings, outcome)"
            " VALUES (?, ?, 'test', ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 'loaded')",
            [
                load_id,
                datetime(2024, 1, 1),
                f"{extract_type}-{load_id}.csv",
                f"hash{load_id}",
                extract_type,
                as_of,
                len(rows),
                len(rows),
            ],
        )
        if rows:
            # A record-level record carries its own as-of date (here, its load's).
            extra, values = (
                (["load_id", "as_of"], [load_id, as_of]) if extract.record_level else (["load_id"], [load_id])
            )
            placeholders = ", ".join("?" for _ in range(len(columns) + len(extra)))
            con.executemany(
                f"INSERT INTO {extract.table} ({', '.join(columns + extra)}) VALUES ({placeholders})",
                [[row.get(c) for c in columns] + values for row in rows],
            )
        if rebuild:
            kpis.rebuild(con)
    return load_id


def mart(db: Path, metric_id: str, level: str, org_unit: str) -> dict[str, tuple[float, float | None]]:
    """{period 'YYYY-MM': (numerator, denominator)} of one metric and unit in kpi_monthly."""
    from etl.store.warehouse import reading

    with reading(db) as con:
        rows = con.execute(
            "SELECT substr(CAST(period AS VARCHAR), 1, 7), numerator, denominator FROM kpi_monthly"
            " WHERE metric_id = ? AND level = ? AND org_unit = ? ORDER BY period",
            [metric_id, level, org_unit],
        ).fetchall()
    return {p: (n, d) for p, n, d in rows}
