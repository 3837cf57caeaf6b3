"""A throwaway PostgreSQL server for the tests.

`PgServer().start()` makes a temporary folder under /tmp, runs `initdb` there
and starts a server on a free port that listens on 127.0.0.1 only (and on a
Unix socket in the same folder). Authentication is `trust`, the superuser is
`postgres`, and durability is switched off (fsync, synchronous_commit,
full_page_writes) because nothing in it needs to survive. `stop()` stops the
server at once and deletes the folder; it is also registered with `atexit`, so
a session that ends early leaves nothing running.

As root (initdb refuses to run as root) the folder is given to Debian's
`postgres` user and the server runs as that user through `runuser`; as anyone
else it runs as the current user.

To use a server you already have instead, set `CPIP_TEST_PG_URL` to its URL,
for example `postgresql://me:secret@db.example:5432/postgres`:
`server_for_tests()` then starts nothing, and the tests create and drop their
databases on that server. The role needs CREATEDB, and the server must be
PostgreSQL 13 or newer (for `DROP DATABASE ... WITH (FORCE)`).

`create_database(server_url)` makes an empty database with a unique name and
returns its URL; `drop_database(server_url, name)` drops it, ending any
connections to it first.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ENV_URL = "CPIP_TEST_PG_URL"
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=200"
    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # nothing here needs to survive a crash
)
PORT_ATTEMPTS = 5


class PgServerError(RuntimeError):
    """The server could not be set up; the message carries the tools' output and the log's tail."""


def find_bindir() -> Path:
    """The folder holding initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin
    that has initdb, otherwise what `pg_config --bindir` says."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions = [(int(m.group()), d) for d in found if (m := re.fullmatch(r"\d+", d.parent.name))]
    if versions:
        return max(versions)[1]
    if shutil.which("pg_config"):
        result = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and (bindir / "initdb").is_file():
            return bindir
    raise PgServerError(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
        "run scripts/system-deps.sh (or `make install-test`), which installs Debian's postgresql package"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(server_url: str, name: str) -> str:
    """`server_url` with its database replaced by `name`."""
    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


class PgServer:
    """One PostgreSQL server. With `url`, it stands for a server someone else runs,
    and `start` and `stop` do nothing; without, `start` starts a server of its own."""

    def __init__(self, url: str | None = None) -> None:
        self.external = url is not None
        self.url: str | None = url  # postgresql://postgres@127.0.0.1:PORT/postgres once started
        self.dir: Path | None = None  # data folder, Unix socket folder and log (`dir / "log"`)
        self.port: int | None = None
        self.seconds: dict[str, float] = {}  # how long "initdb" and "start" took
        self._bindir: Path | None = None

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        # cwd: the postgres user may not be allowed into the caller's folder.
        return subprocess.run(
            [*prefix, *command], cwd=self.dir, capture_output=True, text=True, timeout=120, check=False
        )

    def _fail(self, what: str, result: subprocess.CompletedProcess[str]) -> PgServerError:
        log = self.dir / "log" if self.dir else None
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else "(no log)"
        message = f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}\nserver log tail:\n{tail}"
        self.stop()
        return PgServerError(message)

    def start(self) -> PgServer:
        """Run initdb and start the server; raises PgServerError with the reason when it cannot."""
        if self.external or self.dir is not None:
            return self
        bindir = self._bindir = find_bindir()
        # /tmp, not $TMPDIR: the postgres user must be able to reach it, and a Unix
        # socket's path must stay under 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="cpip-pg-", dir="/tmp"))
        atexit.register(self.stop)
        if os.geteuid() == 0:
            try:
                shutil.chown(self.dir, "postgres", "postgres")
            except LookupError:
                self.stop()
                raise PgServerError(
                    "there is no postgres user to run the server as: Debian's postgresql package makes it "
                    "(scripts/system-deps.sh installs that package)"
                ) from None
        began = time.perf_counter()
        result = self._run(
            str(bindir / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
            "--locale=C",
        )  # fmt: skip
        if result.returncode != 0:
            raise self._fail("initdb", result)
        self.seconds["initdb"] = time.perf_counter() - began
        began = time.perf_counter()
        for _ in range(PORT_ATTEMPTS):
            port = _free_port()
            log = self.dir / "log"
            seen = log.stat().st_size if log.exists() else 0
            result = self._run(
                str(bindir / "pg_ctl"), "-D", str(self.dir), "-o", f"-p {port} -k {self.dir} {SERVER_OPTIONS}",
                "-w", "-l", str(log), "start",
            )  # fmt: skip
            if result.returncode == 0:
                break
            # Someone took the port between our probe and the server's bind: try another.
            if "could not bind" not in log.read_text(errors="replace")[seen:]:
                raise self._fail("pg_ctl start", result)
        else:
            raise self._fail(f"pg_ctl start ({PORT_ATTEMPTS} ports were all taken)", result)
        self.seconds["start"] = time.perf_counter() - began
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        return self

    def stop(self) -> None:
        """Stop the server at once (no checkpoint) and delete its folder. Safe to call twice."""
        if self.external or self.dir is None:
            return
        atexit.unregister(self.stop)
        pid_file = self.dir / "postmaster.pid"
        if pid_file.exists():
            result = self._run(str(self._bindir / "pg_ctl"), "-D", str(self.dir), "-m", "immediate", "-w", "stop")
            if result.returncode != 0 and pid_file.exists():  # pg_ctl could not stop it: kill it
                try:
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
                except (ValueError, IndexError, ProcessLookupError):
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def server_for_tests() -> PgServer:
    """The server at CPIP_TEST_PG_URL when that is set, otherwise a new one of our own, started."""
    return PgServer(os.environ.get(ENV_URL) or None).start()


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection to `url`."""
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def create_database(server_url: str, name: str | None = None, *, template: str | None = None) -> str:
    """Create a database (a unique name unless `name` is given) on the server at `server_url`,
    empty or a copy of the database `template`, and return its URL."""
    name = name or f"cpip_test_{uuid.uuid4().hex[:12]}"
    with connect(server_url) as conn:
        if template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop the database `name` on the server at `server_url`, ending its connections first.
    Does nothing if it is already gone."""
    with connect(server_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
