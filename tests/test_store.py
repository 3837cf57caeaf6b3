"""The store's shared pieces: one connection interface over both engines, one opener of the side stores."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
from pg_server import connect

from etl.store import db, side


def test_duckdb_and_postgresql_connections_both_satisfy_the_connection_protocol(pg_url):
    duck = duckdb.connect()
    pg = db.PgConnection(connect(pg_url))
    try:
        assert isinstance(duck, db.Connection) and isinstance(pg, db.Connection)
        # The same statement, DuckDB's `?` placeholder, one answer from each: 2 + 3 = 5.
        for con in (duck, pg):
            result = con.execute("SELECT CAST(? AS INTEGER) + 3", [2])
            assert isinstance(result, db.Result)
            assert result.fetchall() == [(5,)]
    finally:
        duck.close()
        pg.close()


def test_a_side_store_is_made_with_its_folder_and_schema_in_wal_mode(tmp_path: Path):
    path = tmp_path / "new folder" / "x.sqlite"
    with side.opened(path, ["CREATE TABLE IF NOT EXISTS t (n INTEGER)"]) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        con.execute("INSERT INTO t VALUES (1)")
    # Opened again (the schema statement is harmless a second time): the row is still there.
    with side.opened(path, ["CREATE TABLE IF NOT EXISTS t (n INTEGER)"]) as con:
        assert con.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_side_store_appends_from_several_threads_all_arrive(tmp_path: Path):
    path = tmp_path / "x.sqlite"
    side.connect(path, ["CREATE TABLE t (n INTEGER)"]).close()

    def append(start: int) -> None:
        with side.opened(path) as con:
            for n in range(start, start + 50):
                con.execute("INSERT INTO t VALUES (?)", [n])

    threads = [threading.Thread(target=append, args=(k * 50,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with side.opened(path) as con:
        # Four writers of 50 rows each, numbered 0..199: every one of them, none twice.
        assert sorted(n for (n,) in con.execute("SELECT n FROM t")) == list(range(200))
