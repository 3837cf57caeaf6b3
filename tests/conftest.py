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
- `pg_warehouse` (per test) -> str: the URL of a new database holding an empty warehouse
  (migrated once per session into a template database, then copied: about 0.1 s a test).
- `engine` (per test, parametrised `duckdb` and `postgresql`) and `new_target(folder)`:
  a module that asks for `engine` runs each of its tests on both engines; `new_target`
  gives that engine's empty warehouse (a DuckDB path in `folder`, or a database URL).
  `module_engine` and `module_target(folder)` do the same for a module-scoped warehouse.
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


TEMPLATE = "cpip_template"


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A database holding an empty, migrated warehouse, the template of `pg_warehouse`'s."""
    from etl.store import db, warehouse

    drop_database(pg_server.url, TEMPLATE)
    url = create_database(pg_server.url, TEMPLATE)
    warehouse.ensure_warehouse(url)
    db.close_pool(url)  # a template must have no connections while it is copied
    return TEMPLATE


@pytest.fixture
def pg_warehouse(pg_server: PgServer, pg_template: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from etl.store import db

    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path / "state"))  # the notes and access log beside it
    url = create_database(pg_server.url, template=pg_template)
    yield url
    db.close_pool(url)
    drop_database(pg_server.url, urlsplit(url).path.lstrip("/"))


@pytest.fixture(params=["duckdb", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def module_engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def module_target(module_engine: str, request: pytest.FixtureRequest, tmp_path_factory):
    """`module_target(folder)`: like `new_target`, for a module-scoped warehouse (one database per module
    and engine; the module's tests run once on each engine)."""
    import os
    from pathlib import Path

    made: list[tuple[str, str]] = []
    state = tmp_path_factory.mktemp("state")
    previous = os.environ.get("CPIP_STATE_DIR")

    def make(folder) -> str | Path:
        if module_engine != "postgresql":
            return Path(folder) / "warehouse.duckdb"
        server = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("pg_template")
        os.environ["CPIP_STATE_DIR"] = str(state)
        url = create_database(server.url, template=template)
        made.append((server.url, url))
        return url

    yield make
    from etl.store import db

    for server_url, url in made:
        db.close_pool(url)
        drop_database(server_url, urlsplit(url).path.lstrip("/"))
    if made:
        if previous is None:
            os.environ.pop("CPIP_STATE_DIR", None)
        else:
            os.environ["CPIP_STATE_DIR"] = previous


@pytest.fixture
def new_target(engine: str, request: pytest.FixtureRequest):
    """`new_target(folder)`: an empty warehouse on the test's engine (see the module docstring)."""
    from pathlib import Path

    def make(folder) -> str | Path:
        if engine == "postgresql":
            return request.getfixturevalue("pg_warehouse")
        return Path(folder) / "warehouse.duckdb"

    return make
