"""Where the data page's background work (check and load) runs.

Without CPIP_REDIS_URL: on this machine, as today. Dash's DiskcacheManager
starts each job in a process of its own and keeps its progress and result in
a disk cache (CPIP_CACHE_DIR) that every gunicorn worker of this machine
shares. `make run` needs nothing more.

With CPIP_REDIS_URL (redis://host:6379/0): through Dash's CeleryManager. The
web servers put each job on a Celery queue in Redis, any `cpip worker` on any
machine runs it, and its progress and result come back through Redis, so
whichever web server the browser's next poll reaches can answer it. The staged
uploads the jobs read must then sit in a folder every machine mounts
(CPIP_UPLOAD_DIR, dashboard/components/upload.py).
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

import dash


def redis_url() -> str | None:
    """The Redis that carries the jobs (env CPIP_REDIS_URL), or None to run them on this machine."""
    return os.environ.get("CPIP_REDIS_URL", "").strip() or None


def cache_dir() -> Path:
    """The background callbacks' disk cache: one folder every worker shares (env CPIP_CACHE_DIR)."""
    default = Path(tempfile.gettempdir()) / f"cpip-dash-cache-{os.getuid()}"
    return Path(os.environ.get("CPIP_CACHE_DIR") or default)


@lru_cache(maxsize=1)
def celery_app():
    """The Celery application on CPIP_REDIS_URL (broker and result store both)."""
    from celery import Celery

    url = redis_url()
    if url is None:
        raise RuntimeError("CPIP_REDIS_URL is not set: the jobs run on this machine, without Celery")
    app = Celery("cpip", broker=url, backend=url)
    app.conf.update(
        broker_connection_retry_on_startup=True,
        worker_prefetch_multiplier=1,  # a load can take minutes: a worker takes one job at a time
        worker_hijack_root_logger=False,
        result_expires=24 * 3600,  # as long as a staged upload waits (upload.STALE_SECONDS)
    )
    return app


def manager() -> dash.DiskcacheManager | dash.CeleryManager:
    """The background callback manager: Celery on Redis when CPIP_REDIS_URL is set, else the disk cache."""
    if redis_url():
        return dash.CeleryManager(celery_app())
    import diskcache

    return dash.DiskcacheManager(diskcache.Cache(str(cache_dir())))


def run_worker(*, concurrency: int = 2, loglevel: str = "INFO") -> None:
    """Run a Celery worker for the data page's jobs until it is stopped (`cpip worker`).

    The caller must have built the Dash app first: each background callback becomes
    a Celery task when its page module is imported."""
    celery_app().worker_main(
        ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "--without-gossip", "--without-mingle"]
    )
