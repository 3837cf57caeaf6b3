"""Fixtures shared by the whole suite.

- `pg_server` (session) -> pg_server.PgServer: a throwaway PostgreSQL server, started
  the first time a test asks for it (directly or through `pg_url`) and stopped when
  the session ends; a session that never asks starts none. Its `url` is
  `postgresql://postgres@127.0.0.1:<port>/postgres`. With CPIP_TEST_PG_URL set, that
  server is used instead and nothing is started (see tests/pg_server.py). If the server
  cannot start, every test that needs it fails with initdb's or pg_ctl's output and the
  server log's tail; none is skipped.
- `pg_url` (per test) -> str: the URL of a new, empty database on `pg_server`, dropped
  after the test (its open connections are ended first).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from pg_server import PgServer, PgServerError, create_database, drop_database, server_for_tests


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = server_for_tests()
    except PgServerError as error:
        # Fail, never skip: a suite that quietly skips its database tests proves nothing.
        message = f"could not start the test PostgreSQL server: {error}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    url = create_database(pg_server.url)
    yield url
    drop_database(pg_server.url, urlsplit(url).path.lstrip("/"))
