"""The running app's own inbox pass, on a schedule, when configured to.

Set CPIP_INBOX_INTERVAL (seconds) and the app runs `etl.ingest.inbox.process_inbox`
every so often in a daemon thread, as `cpip inbox` would from cron. Under
gunicorn every worker calls `start`, so an exclusive file lock (held for the
life of the process) elects one of them; the others do nothing. If that
worker dies its lock goes with it, and the next worker to start takes over.
CPIP_INBOX (a folder) overrides data/inbox/.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any

from etl.ingest.inbox import DEFAULT_INBOX, process_inbox

log = logging.getLogger(__name__)
MIN_INTERVAL = 5.0  # seconds: a pass over an empty folder is cheap, but not free

# Module state: the lock handle must stay open for as long as the thread runs.
_lock_handle: IO[str] | None = None
_thread: threading.Thread | None = None
_stop = threading.Event()


def interval() -> float | None:
    """Seconds between passes from CPIP_INBOX_INTERVAL, or None when it is off (unset, 0, or not a number)."""
    text = os.environ.get("CPIP_INBOX_INTERVAL", "").strip()
    try:
        seconds = float(text)
    except ValueError:
        if text:
            log.warning("CPIP_INBOX_INTERVAL=%r is not a number of seconds; the inbox scheduler is off", text)
        return None
    if seconds <= 0:
        return None
    return max(seconds, MIN_INTERVAL)


def inbox_folder() -> Path:
    return Path(os.environ.get("CPIP_INBOX") or DEFAULT_INBOX)


def _take_lock(folder: Path) -> IO[str] | None:
    """The scheduler's lock (one per inbox folder), or None if another process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".scheduler.lock", "a")  # held open on purpose: the lock lasts as long as the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def run_once(folder: Path | None = None) -> list[str]:
    """One pass, logged; a failure is logged, never raised (the app keeps serving)."""
    from etl.privacy.access import os_user

    try:
        result = process_inbox(folder or inbox_folder(), who=f"inbox scheduler ({os_user()})")
    except Exception:
        log.exception("inbox pass failed")
        return []
    lines = result.lines()
    if result.outcomes:
        for line in lines:
            log.info("inbox: %s", line)
    return lines


def _loop(seconds: float, folder: Path) -> None:
    while not _stop.is_set():
        run_once(folder)
        _stop.wait(seconds)


def start(server: Any = None) -> bool:
    """Start the scheduled inbox pass in this process if CPIP_INBOX_INTERVAL asks
    for it and no other process already runs it. True when this process runs it.

    `server` (the Flask server) is accepted so app.py can call `start(server)`;
    the thread needs nothing from it.
    """
    global _lock_handle, _thread
    seconds = interval()
    if seconds is None:
        return False
    if _thread is not None and _thread.is_alive():
        return True
    folder = inbox_folder()
    handle = _take_lock(folder)
    if handle is None:
        return False
    _lock_handle = handle
    _stop.clear()
    _thread = threading.Thread(target=_loop, args=(seconds, folder), name="cpip-inbox", daemon=True)
    _thread.start()
    log.info("inbox scheduler: a pass over %s every %s s", folder, seconds)
    return True


def stop() -> None:
    """Stop the thread and release the lock (for tests and a clean shutdown)."""
    global _lock_handle, _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=30)
    _thread = None
    if _lock_handle is not None:
        fcntl.flock(_lock_handle, fcntl.LOCK_UN)
        _lock_handle.close()
        _lock_handle = None
