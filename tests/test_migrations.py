"""The schema's migrations (etl/store/migrations/) on both engines: from an empty database, and from the
previous release's schema (revision 0001, the tables before authorities) holding data."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import psycopg
import pytest

from etl.catalogue.contract import EXTRACT_TYPES
from etl.serve import queries
from etl.store import db, migrate, warehouse
from etl.store.schema import AUTHORITY_TABLES

# What people write and the access log: PostgreSQL tables of their own since 0005.
PEOPLE = {"note_versions", "action_versions", "event_versions", "access_log"}


def _previous_release(con) -> None:
    """What the release before authorities held: its tables (revision 0001), the calendar, one load of one
    assessment, and that load's figures."""
    migrate.upgrade(con, "938", revision="0001")
    warehouse.fill_calendar(con)
    con.execute(
        "INSERT INTO loads (load_id, loaded_at, loaded_by, file_name, content_hash, extract_type, as_of, rows_read,"
        " rows_added, rows_replaced, rows_unchanged, rows_rejected, warnings, outcome, rows_redated)"
        " VALUES (1, ?, 'old', 'a.csv', 'h', 'assessments', ?, 1, 1, 0, 0, 0, 0, 'loaded', 0)",
        [datetime(2023, 8, 1), date(2023, 7, 31)],
    )
    con.execute(
        "INSERT INTO assessments (child_id, team, assessment_start_date, assessment_completed_date, load_id, as_of)"
        " VALUES ('OLD1', 'Team A', ?, ?, 1, ?)",
        [date(2023, 7, 3), date(2023, 7, 10), date(2023, 7, 31)],
    )
    con.execute("INSERT INTO organisation (team, service, area, load_id) VALUES ('Team A', 'Service S', 'North', 1)")


def test_duckdb_from_the_previous_release(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    _previous_release(con)
    con.close()
    warehouse.ensure_warehouse(path)  # the first read upgrades it
    with warehouse.reading(path) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(warehouse.HEAD,)]
        assert con.execute("SELECT child_id, la_code FROM assessments").fetchall() == [("OLD1", "938")]
        assert con.execute("SELECT load_id, la_code FROM loads").fetchall() == [(1, "938")]
        assert con.execute("SELECT count(*) FROM published").fetchone()[0] > 1000
    # Every authority table has its la_code, on the file's authority by default.
    with warehouse.reading(path) as con:
        missing = [t for t in AUTHORITY_TABLES if "la_code" not in db.dialect_of(con).columns(con, t)]
    assert missing == []


def test_postgresql_from_an_empty_database(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path))
    warehouse.ensure_warehouse(pg_url)
    db.close_pool(pg_url)
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(warehouse.HEAD,)]
        secured = dict(
            con.execute(
                "SELECT relname, relrowsecurity FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            ).fetchall()
        )
        assert {t for t in AUTHORITY_TABLES if not secured.get(t)} == set()  # every authority table
        assert {t for t in ("calendar", "published", "authorities", "neighbours", "settings") if secured[t]} == set()
        forced = {t for (t,) in con.execute("SELECT relname FROM pg_class WHERE relforcerowsecurity")}
        # The owner too, unless a transaction names the authority; what people write (0005) likewise.
        assert forced == set(AUTHORITY_TABLES) | PEOPLE
        assert {t for (t,) in con.execute("SELECT tablename FROM pg_indexes WHERE indexname LIKE 'ix_%'")} >= {
            "published",
            "neighbours",
        }
        policies = {t for (t,) in con.execute("SELECT tablename FROM pg_policies WHERE policyname = 'authority'")}
        assert policies == set(AUTHORITY_TABLES) | PEOPLE
        # The loader's key lookups are indexed, led by the authority.
        indexed = {t for (t,) in con.execute("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%(la_code, %'")}
        assert {e.table for e in EXTRACT_TYPES.values()} <= indexed
        assert con.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'loads'::regclass AND i.indisprimary ORDER BY 1"
        ).fetchall() == [("la_code",), ("load_id",)]
    # Migrating again changes nothing (a second process, a second start).
    warehouse.forget(pg_url)
    warehouse.ensure_warehouse(pg_url)
    db.close_pool(pg_url)


def test_postgresql_from_the_previous_release(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path))
    with psycopg.connect(pg_url) as raw:
        con = db.PgConnection(raw)
        _previous_release(con)
        raw.commit()
    warehouse.ensure_warehouse(pg_url)
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(warehouse.HEAD,)]
        assert con.execute("SELECT child_id, la_code FROM assessments").fetchall() == [("OLD1", "938")]
        assert con.execute("SELECT load_id, la_code FROM loads").fetchall() == [(1, "938")]
    # The old rows read through the app's role, and the KPIs rebuild from them: 5 working days, met.
    with warehouse.writer(pg_url) as con:
        from etl.rules import kpis

        kpis.rebuild(con)
    frame = queries.scorecard("2023-07", "la", None, db=pg_url)
    row = frame[frame["metric_id"] == "assessments_45wd"].iloc[0]
    assert (row["numerator"], row["denominator"]) == (1, 1)
    db.close_pool(pg_url)


def _before_the_worker(con) -> None:
    """A warehouse at 0006, the revision before the allocated worker, holding one open assessment."""
    migrate.upgrade(con, "938", revision="0006")
    warehouse.fill_calendar(con)
    for table in ("assessments", "health_assessments", "missing_episodes", "s47_enquiries"):
        for name in (table, f"{table}_replaced"):
            con.execute(f'ALTER TABLE "{name}" DROP COLUMN worker')  # 0001 made today's tables; 0006 had none
    if db.engine_of(con) == "postgresql":  # row-level security: the rows are the authority's
        con.execute("SELECT set_config('app.la_codes', '938', false)")
    con.execute(
        "INSERT INTO assessments (child_id, team, assessment_start_date, load_id, as_of, la_code)"
        " VALUES ('OLD2', 'Team A', ?, 1, ?, '938')",
        [date(2023, 7, 3), date(2023, 7, 31)],
    )


def test_the_worker_column_comes_with_0007_on_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    _before_the_worker(con)
    assert "worker" not in db.dialect_of(con).columns(con, "assessments")
    con.close()
    warehouse.ensure_warehouse(path)
    with warehouse.reading(path) as con:
        for table in ("assessments", "health_assessments", "missing_episodes", "s47_enquiries"):
            assert "worker" in db.dialect_of(con).columns(con, table)
            assert "worker" in db.dialect_of(con).columns(con, f"{table}_replaced")
        assert con.execute("SELECT child_id, worker FROM assessments").fetchall() == [("OLD2", None)]


def test_the_worker_column_comes_with_0007_on_postgresql(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path))
    with psycopg.connect(pg_url) as raw:
        _before_the_worker(db.PgConnection(raw))
        raw.commit()
    warehouse.ensure_warehouse(pg_url)
    db.close_pool(pg_url)
    with psycopg.connect(pg_url) as con:
        found = con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'worker' ORDER BY 1"
        ).fetchall()
        assert [t for (t,) in found] == sorted(
            [t for name in ("assessments", "health_assessments", "missing_episodes", "s47_enquiries")
             for t in (name, f"{name}_replaced")]
        )  # fmt: skip
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(warehouse.HEAD,)]
        con.execute("SELECT set_config('app.la_codes', '938', false)")
        assert con.execute("SELECT child_id, worker FROM assessments").fetchall() == [("OLD2", None)]
