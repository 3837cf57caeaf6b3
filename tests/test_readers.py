"""Reading the DuckDB warehouse: one open database per file version and process, a cursor per request,
and the version a load swaps in seen by the next read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from kpi_helpers import add_records, new_warehouse

from etl.store import warehouse


def count(db: Path) -> int:
    with warehouse.reading(db) as con:
        return con.execute("SELECT count(*) FROM assessments").fetchone()[0]


def test_each_version_is_opened_once_and_a_load_is_seen_by_the_next_read(tmp_path: Path, monkeypatch) -> None:
    db = new_warehouse(tmp_path)
    opened: list[str] = []
    real_connect = duckdb.connect

    def connect(database: str = ":memory:", *args, **kwargs):
        opened.append(Path(database).name)
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(warehouse.duckdb, "connect", connect)
    assert [count(db) for _ in range(5)] == [0] * 5
    inode = db.stat().st_ino
    assert opened == [f".warehouse.duckdb.r{inode}"]  # once, through the version's link
    # A cursor still open on the old version while a load swaps the new one in.
    with warehouse.reading(db) as old:
        record = {"child_id": "A1", "team": "Team A", "assessment_start_date": date(2023, 7, 3)}
        add_records(db, "assessments", [record], as_of=date(2023, 7, 31))
        assert old.execute("SELECT count(*) FROM assessments").fetchone()[0] == 0  # its own version, whole
        assert count(db) == 1  # the next read: the new version
    new_inode = db.stat().st_ino
    assert new_inode != inode
    assert opened[-1] == f".warehouse.duckdb.r{new_inode}"
    assert [count(db) for _ in range(5)] == [1] * 5
    # The old version's link is gone; only the current one is left beside the file.
    assert sorted(p.name for p in tmp_path.glob(".warehouse.duckdb.r*")) == [f".warehouse.duckdb.r{new_inode}"]


def test_without_hard_links_every_read_opens_the_file(tmp_path: Path, monkeypatch) -> None:
    db = new_warehouse(tmp_path)

    def no_links(*_args, **_kwargs):
        raise OSError("this file system has no hard links")

    monkeypatch.setattr(warehouse.os, "link", no_links)
    for p in tmp_path.glob(".warehouse.duckdb.r*"):
        p.unlink()
    warehouse._ROOTS.clear()
    assert count(db) == 0
    add_records(db, "assessments", [{"child_id": "A1", "team": "Team A", "assessment_start_date": date(2023, 7, 3)}],
                as_of=date(2023, 7, 31))  # fmt: skip
    assert count(db) == 1


def test_a_cursor_of_the_old_version_keeps_reading_after_the_next_version_is_opened(tmp_path: Path) -> None:
    """gunicorn's threads: one request still reading the old version (between two queries, or in one) while
    another opens the version a load swapped in. The old version is let go, not closed under it."""
    db = new_warehouse(tmp_path)
    assert count(db) == 0
    record = {"child_id": "A1", "team": "Team A", "assessment_start_date": date(2023, 7, 3)}
    with warehouse.reading(db) as old:
        add_records(db, "assessments", [record], as_of=date(2023, 7, 31))
        assert count(db) == 1  # the next request opens the new version
        # The first request's next query: its own version, still open.
        assert old.execute("SELECT count(*) FROM assessments").fetchone()[0] == 0
