"""The real app in its own process, for the tests that talk to it over HTTP.

`running_app` starts it on a free port against a given warehouse, the way
production does (gunicorn with several workers, `app:server`) or with Dash's
own server, waits until it answers, yields its base URL, stops it, and fails
the test if it logged a traceback: no traceback may ever reach a user.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(
    db: Path,
    log_path: Path,
    *,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
    ready_headers: Mapping[str, str] | None = None,
    startup_seconds: float = 90,  # a busy 2-core machine can take a minute to start three workers
) -> Iterator[str]:
    """The app serving `db` on a free port: gunicorn with `workers` workers, or
    Dash's development server when `workers` is None. Yields the base URL.
    `ready_headers` go with the readiness probe (a signed-in user, under CPIP_ACCESS)."""
    port = free_port()
    environment = {**os.environ, "CPIP_DB": str(db), "PYTHONUNBUFFERED": "1", **(env or {})}
    environment.pop("CPIP_INBOX_INTERVAL", None)  # no test wants a scheduled inbox pass it did not ask for
    if workers is None:
        command = [sys.executable, "-c", f"import app; app.app.run(host='127.0.0.1', port={port}, debug=False)"]
    else:
        command = [sys.executable, "-m", "gunicorn", "app:server", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
        command += ["--timeout", "60"]
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + startup_seconds
            while True:
                try:
                    probe = urllib.request.Request(url + ready_path, headers=dict(ready_headers or {}))
                    with urllib.request.urlopen(probe, timeout=10) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):  # not listening yet, or still starting
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start:\n{log_path.read_text(encoding='utf-8')[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    text = log_path.read_text(encoding="utf-8")
    assert "Traceback" not in text, f"the app logged an error:\n{text[-4000:]}"
