"""Uploaded extracts, from the browser to a staged file the loader can read.

The browser sends each file as a base64 data URL (dcc.Upload). Before the
loader sees it we check what we can cheaply and say so plainly: only the suffixes a reader
takes (etl/readers/registry.py), under the size cap (CPIP_UPLOAD_MAX_MB, 50 MB by default), not a binary or
a spreadsheet saved under a .csv name, UTF-8 text. The bytes are then written
to the app's own staging folder (mode 0700, files 0600; CPIP_UPLOAD_DIR, else
beside the warehouse, never the shared system temp folder) under a random token; the uploaded file name is
only ever used after `safe_file_name`, and the browser only ever names a
staged file by its token, which must be 32 hex digits, so nothing the browser
sends can point the server at another path.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import shutil
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from etl.ingest.inbox import safe_file_name
from etl.readers import registry

DEFAULT_MAX_MB = 50
STALE_SECONDS = 3600  # staged files nobody loaded or cancelled are swept after an hour: they hold personal data
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def max_upload_mb() -> float:
    """The size cap in MB (env CPIP_UPLOAD_MAX_MB; 50 when unset or not a positive number)."""
    try:
        value = float(os.environ.get("CPIP_UPLOAD_MAX_MB", DEFAULT_MAX_MB))
    except ValueError:
        return DEFAULT_MAX_MB
    return value if value > 0 else DEFAULT_MAX_MB


def max_upload_bytes() -> int:
    return int(max_upload_mb() * 1024 * 1024)


def format_size(size: int) -> str:
    """1536 -> "1.5 KB"; 52428800 -> "50.0 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def staging_root() -> Path:
    """Where uploads wait between "check" and "load": env CPIP_UPLOAD_DIR, else `uploads` beside the
    warehouse (its state folder on PostgreSQL). Not the system temp folder, which every user shares."""
    named = os.environ.get("CPIP_UPLOAD_DIR", "").strip()
    if named:
        return Path(named)
    from etl.store.warehouse import warehouse_path

    return warehouse_path().parent / "uploads"


def private_root(root: Path | None = None) -> Path:
    """The staging folder, made if need be and kept at mode 0700 (only the app's user may list or read it)."""
    base = root or staging_root()
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(base.stat().st_mode) != 0o700:
        base.chmod(0o700)  # made before, or by mkdir under a umask: tightened
    return base


@dataclass
class StagedFile:
    """One uploaded file: its token and name, or why it was refused before any check."""

    token: str
    name: str  # the sanitised name, as shown and logged
    size: int
    refused: str | None = None  # a plain-English reason; None when it was staged

    def to_dict(self) -> dict:
        return asdict(self)


_SAVE_AS = (
    'Save the extract as "CSV UTF-8 (comma delimited)" and upload the .csv file, or upload the .xlsx workbook'
    " (an Annex A workbook loads as it is)."
)


def decode_data_url(contents: str) -> bytes:
    """The bytes of a `data:<type>;base64,<data>` URL, as dcc.Upload gives them."""
    _, _, data = contents.partition(",") if contents.startswith("data:") else ("", "", contents)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the upload was damaged on the way (not valid base64); please try again") from None


def precheck(name: str, data: bytes, *, limit: int | None = None) -> str | None:
    """Why this file cannot even be offered to the loader, or None if it can."""
    limit = max_upload_bytes() if limit is None else limit
    reader = registry.by_suffix(name)
    if reader is None:
        return f"it is not {registry.accepted_words()}. {_SAVE_AS}"
    if len(data) > limit:
        return f"it is {format_size(len(data))}, over the {format_size(limit)} limit for one file."
    if not data.strip():
        return "it is empty."
    head = data[:4096]
    if reader.magic:
        suffix = Path(name).suffix.lower()
        return None if head.startswith(reader.magic) else f"it is not {reader.words} ({suffix}), whatever its name."
    if reader is not registry.CSV:
        return None  # the reader's own checks say what is wrong with it
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        return 'it is an Excel workbook renamed to .csv. Open it in Excel and save as "CSV UTF-8".'
    if b"\x00" in head:
        return "it is not text (it looks like a binary file)."
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return (
            f"it is not UTF-8 text (an unreadable character on line {line}). "
            'Save it from Excel as "CSV UTF-8 (comma delimited)".'
        )
    return None


def staged_path(token: str, name: str, *, root: Path | None = None) -> Path:
    """The staged file for a token; refuses anything that is not a token we made."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise ValueError("unknown upload")
    return (root or staging_root()) / token / safe_file_name(name)


def stage_upload(name: str, contents: str | None, *, root: Path | None = None, limit: int | None = None) -> StagedFile:
    """Decode one upload, check it, and write it to the staging folder."""
    safe = safe_file_name(name or "")
    token = secrets.token_hex(16)
    if contents is None:
        return StagedFile(token, safe, 0, refused="it was not sent (refused in the browser).")
    try:
        data = decode_data_url(contents)
    except ValueError as exc:
        return StagedFile(token, safe, 0, refused=str(exc))
    reason = precheck(name or "", data, limit=limit)
    if reason:
        return StagedFile(token, safe, len(data), refused=reason)
    path = staged_path(token, safe, root=private_root(root))
    path.parent.mkdir(mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return StagedFile(token, safe, len(data))


def discard(tokens: list[str], *, root: Path | None = None) -> None:
    """Remove staged uploads (after a load, or on Cancel)."""
    base = root or staging_root()
    for token in tokens:
        if isinstance(token, str) and _TOKEN.match(token):
            shutil.rmtree(base / token, ignore_errors=True)


def sweep(*, root: Path | None = None, older_than: float = STALE_SECONDS) -> int:
    """Remove staged uploads left behind (a closed tab); returns how many went."""
    base = root or staging_root()
    if not base.is_dir():
        return 0
    cutoff = time.time() - older_than
    gone = 0
    for entry in base.iterdir():
        if _TOKEN.match(entry.name) and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            gone += 1
    return gone


# Runs in the browser when files are dropped: refuses what is not a CSV or is
# over the cap before anything is sent (a 500 MB file never leaves the
# browser), and says at once what is happening. The server checks again.
_FILTER_UPLOADS_JS = """
function(contents, names, limit) {
    const nu = window.dash_clientside.no_update;
    if (!contents) { return [nu, nu, nu]; }
    if (!Array.isArray(contents)) { contents = [contents]; names = [names]; }
    const files = [];
    let total = 0, sent = 0;
    for (let i = 0; i < contents.length; i++) {
        const c = contents[i] || "";
        const name = (names && names[i]) || "file";
        const comma = c.indexOf(",");
        const size = Math.floor((comma >= 0 ? c.length - comma - 1 : c.length) * 3 / 4);
        let refused = null;
        if (!/\\.(__SUFFIXES__)$/i.test(name)) {
            refused = __REFUSAL__;
        } else if (size > limit) {
            refused = "it is " + (size / 1048576).toFixed(1) + " MB, over the " + (limit / 1048576).toFixed(1)
                + " MB limit for one file.";
        }
        files.push({name: name, contents: refused ? null : c, refused: refused});
        if (!refused) { total += size; sent += 1; }
    }
    const status = sent
        ? "Sending " + sent + (sent === 1 ? " file" : " files") + " (" + (total / 1048576).toFixed(1)
            + " MB) to be read and checked…"
        : "Nothing to check.";
    return [files, status, null];
}
"""


def filter_uploads_js() -> str:
    """The browser's filter, taking exactly the suffixes the readers take (etl/readers/registry.py)."""
    suffixes = "|".join(re.escape(s.lstrip(".")) for s in registry.suffixes())
    refusal = json.dumps(f"it is not {registry.accepted_words()}. {_SAVE_AS}")
    return _FILTER_UPLOADS_JS.replace("__SUFFIXES__", suffixes).replace("__REFUSAL__", refusal)


FILTER_UPLOADS_JS = filter_uploads_js()

# Gives dcc.Upload's hidden file input an accessible name (WCAG 4.1.2).
LABEL_INPUT_JS = """
function(id) {
    const name = function() {
        const input = document.querySelector("#" + id + " input[type=file]");
        if (input) { input.setAttribute("aria-label", "Choose CSV extract files or Excel workbooks to upload"); }
        return !!input;
    };
    if (!name()) { setTimeout(name, 500); }
    return window.dash_clientside.no_update;
}
"""
