"""The throwaway PostgreSQL server the tests start (tests/pg_server.py, fixtures in tests/conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from pg_server import PgServer, connect, create_database, drop_database


@pytest.fixture
def own_server(pg_server: PgServer) -> Iterator[PgServer]:
    """A server this harness started: the session's, unless CPIP_TEST_PG_URL points elsewhere."""
    if not pg_server.external:
        yield pg_server
        return
    server = PgServer().start()
    yield server
    server.stop()


def database_names(server_url: str) -> set[str]:
    with connect(server_url) as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie. (The postmaster's parent is
    PID 1 once pg_ctl exits, and this machine's PID 1 reaps only every second or two.)"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_fresh_database_takes_a_connection_and_a_query(pg_url):
    name = urlsplit(pg_url).path.lstrip("/")
    with connect(pg_url) as conn:
        assert conn.execute("SELECT current_database(), 6 * 7").fetchone() == (name, 42)
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (3,)


def test_two_databases_are_distinct(pg_server, pg_url):
    other = create_database(pg_server.url)
    try:
        assert other != pg_url
        with connect(pg_url) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
        with connect(other) as conn:
            assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
    finally:
        drop_database(pg_server.url, urlsplit(other).path.lstrip("/"))


def test_drop_database_ends_open_connections(pg_server):
    url = create_database(pg_server.url, "cpip_test_drop_me")
    held = connect(url)
    try:
        assert "cpip_test_drop_me" in database_names(pg_server.url)
        drop_database(pg_server.url, "cpip_test_drop_me")
        assert "cpip_test_drop_me" not in database_names(pg_server.url)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")
    finally:
        held.close()
    drop_database(pg_server.url, "cpip_test_drop_me")  # already gone: does nothing


def test_listens_on_its_socket_folder_and_loopback_only(own_server):
    with connect(own_server.url) as conn:
        assert conn.execute("SELECT host(inet_server_addr())").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    with psycopg.connect(host=str(own_server.dir), port=own_server.port, user="postgres", dbname="postgres") as conn:
        assert conn.execute("SELECT inet_server_addr()").fetchone() == (None,)  # None: a Unix socket
    # Linux routes all of 127.0.0.0/8 to the loopback device, so a server bound to
    # every address would answer on 127.0.0.2; one bound to 127.0.0.1 refuses.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", own_server.port), timeout=5).close()


def test_stop_stops_the_server_and_removes_its_folder():
    server = PgServer().start()
    try:
        folder, port = server.dir, server.port
        pid = int((folder / "postmaster.pid").read_text().split()[0])
        with connect(server.url) as conn:
            assert conn.execute("SELECT pg_backend_pid() <> %s", (pid,)).fetchone() == (True,)
    finally:
        server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert not folder.exists()
    assert not alive(pid)
    server.stop()  # twice is harmless
