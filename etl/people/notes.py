"""What people write: notes on a KPI, actions edited in the app, and events.

Everything here is written by a person, so nothing is ever lost or overwritten:
every save is a new row (a version), and what a page shows is the latest
version of each note, action or event. Earlier versions stay readable.

    write_note("seen_5wd", "2023-07", "team", "Coastal FS 1", "Two workers on leave...", author="j.smith")
    current_notes(period="2023-07")          # the latest version of each note
    note_history("seen_5wd", "2023-07", "team", "Coastal FS 1")

Why a SQLite file beside the warehouse, not a table in it (as the access log,
etl/privacy/access_log.py): every load and undo writes a private copy of the DuckDB
file and swaps it over the live one, so a row written to the live file while a
load runs would be lost with the old file, and the web workers open DuckDB
read-only. SQLite in WAL mode takes short appends from many processes at once
and is untouched by loads, failed loads and undo. The file is
`<warehouse>.notes.sqlite` (env CPIP_NOTES names another); back it up with the
warehouse, or write everything to one file with `cpip notes export FILE`,
which `cpip load FILE` brings back (rows already held are skipped).

Who may write is the access policy's decision (`etl.privacy.access.check_note`,
`check_plans`), asked here, so a page never tests a role.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from etl.catalogue.levels import LEVELS
from etl.people import authored
from etl.privacy import access
from etl.store import authority, side
from etl.store.db import Db
from etl.store.warehouse import warehouse_path

EXPORT_FORMAT = "cpip-notes-export"
MAX_TEXT = authored.MAX_TEXT  # characters in a note

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS note_versions (
        version_id TEXT PRIMARY KEY,      -- one save; a uuid, so an export can be brought back twice safely
        metric_id TEXT NOT NULL,
        period TEXT NOT NULL,             -- YYYY-MM
        level TEXT NOT NULL,              -- la | area | service | team
        org_unit TEXT NOT NULL,           -- the authority's name for la
        text TEXT NOT NULL,
        author TEXT NOT NULL,
        written_at TEXT NOT NULL          -- ISO 8601, UTC
    )""",
    "CREATE INDEX IF NOT EXISTS note_key ON note_versions (metric_id, period, level, org_unit)",
    """CREATE TABLE IF NOT EXISTS action_versions (
        version_id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL,
        area TEXT NOT NULL,
        action TEXT NOT NULL,
        sponsor TEXT NOT NULL,
        lead TEXT NOT NULL,
        due_date TEXT,                    -- YYYY-MM-DD
        status TEXT NOT NULL,
        notes TEXT NOT NULL,
        metrics TEXT NOT NULL,            -- metric_ids separated by semicolons
        author TEXT NOT NULL,
        written_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS action_key ON action_versions (action_id)",
    """CREATE TABLE IF NOT EXISTS event_versions (
        version_id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        event_date TEXT NOT NULL,         -- YYYY-MM-DD
        label TEXT NOT NULL,
        metric_id TEXT NOT NULL,          -- the KPI it belongs to
        removed INTEGER NOT NULL,         -- 1: this version takes the event off the charts
        author TEXT NOT NULL,
        written_at TEXT NOT NULL
    )""",
)
TABLES = {
    "note": (
        "note_versions",
        ["version_id", "metric_id", "period", "level", "org_unit", "text", "author", "written_at"],
    ),
    "action": (
        "action_versions",
        [
            "version_id",
            "action_id",
            "area",
            "action",
            "sponsor",
            "lead",
            "due_date",
            "status",
            "notes",
            "metrics",
            "author",
            "written_at",
        ],
    ),
    "event": (
        "event_versions",
        ["version_id", "event_id", "event_date", "label", "metric_id", "removed", "author", "written_at"],
    ),
}


def store_path(db: Db = None) -> Path:
    """The notes file of the authority in hand: $CPIP_NOTES (another authority's beside it, `.<code>`),
    else beside the authority's warehouse."""
    named = os.environ.get("CPIP_NOTES", "").strip()
    if named and db is None:
        return authority.own_file(Path(named))  # each authority's notes are its own
    live = warehouse_path(db)
    return live.with_name(live.name + ".notes.sqlite")


@contextmanager
def _store(db: Db) -> Iterator[sqlite3.Connection]:
    with side.opened(store_path(db), _SCHEMA) as con:
        _add_restored_columns(con)
        yield con


RESTORED_COLUMNS = ("restored_by", "restored_at")


def _add_restored_columns(con: sqlite3.Connection) -> None:
    """A version brought back from an export keeps its author and time as history; who restored
    it, and when, say so (NULL for a save made here). Added to a store made before they were."""
    for table, _columns in TABLES.values():
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        for column in RESTORED_COLUMNS:
            if column not in have:
                try:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
                except sqlite3.OperationalError as exc:  # another process added it a moment ago
                    if "duplicate column" not in str(exc):
                        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _insert(con: sqlite3.Connection, kind: str, row: dict) -> bool:
    table, columns = TABLES[kind]
    columns = columns + [c for c in RESTORED_COLUMNS if c in row]
    cursor = con.execute(
        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [row[c] for c in columns],
    )
    return cursor.rowcount == 1


def _rows(db: Db, kind: str, where: str = "", params: tuple = ()) -> list[dict]:
    table, columns = TABLES[kind]
    path = store_path(db)
    if not path.exists():
        return []
    sql = f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY written_at, rowid"
    try:
        with _store(db) as con:
            found = con.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        # A full disk stops SQLite making its write-ahead files, and a page that only reads must still show:
        # read the file as last checkpointed.
        con = side.checkpointed(path)
        try:
            found = con.execute(sql, params).fetchall()
        finally:
            con.close()
    # Rows stored before the checks (or by hand) may hold control characters: never passed on.
    return [
        {c: authored.printable(v) if isinstance(v, str) else v for c, v in zip(columns, r, strict=True)} for r in found
    ]


# --- notes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """One version of a note on a KPI for a month and an org unit."""

    metric_id: str
    period: str
    level: str
    org_unit: str
    text: str
    author: str
    written_at: str
    version: int = 1  # 1 for the first save
    versions: int = 1  # how many saves the note has had

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.text.splitlines() if line.strip()), "")

    @property
    def written_text(self) -> str:
        """ "12 Aug 2023, 14:05 UTC" for a person."""
        return datetime.fromisoformat(self.written_at).strftime("%-d %b %Y, %H:%M UTC")


def _unit_for(level: str, unit: str | None) -> str:
    from etl.catalogue.metrics import catalogue

    authored.check_level(level)
    authority = catalogue().authority.name
    if level == "la":
        return authority
    if not isinstance(unit, str) or not unit.strip():
        raise ValueError(f"name the {level} (--unit) the note is about")
    return authored.clean_text(unit, what=f"the {level}", limit=authored.MAX_TITLE)


def _check_metric(metric_id: str) -> None:
    authored.check_metric(metric_id)


def _known_unit(level: str, unit: str, db: Db) -> str:
    """The unit as the organisation reference spells it; ValueError naming the known ones."""
    if level == "la":
        return unit
    from etl.serve import queries

    return queries.resolve_unit(level, unit, db=db)


def write_note(
    metric_id: str,
    period: str,
    level: str,
    unit: str | None,
    text: str,
    *,
    author: str,
    db: Db = None,
) -> Note:
    """Save a note (a first version, or a new version of the note already there).
    Raises ValueError for a KPI, month or unit that does not exist or empty text,
    AccessDenied when the viewer may not write notes for this unit."""
    from etl.serve import queries

    _check_metric(metric_id)
    authored.check_period(period, db)
    unit = _known_unit(level, _unit_for(level, unit), db)
    text = authored.clean_text(text, what="a note")
    author = authored.check_author(author)
    org = queries.org_units(db)
    access.check_note(access.current_viewer(), level, unit, org[["team", "service", "area"]].itertuples(index=False))
    row = {
        "version_id": uuid.uuid4().hex,
        "metric_id": metric_id,
        "period": period,
        "level": level,
        "org_unit": unit,
        "text": text,
        "author": author,
        "written_at": _now(),
    }
    with _store(db) as con:
        _insert(con, "note", row)
    return note_history(metric_id, period, level, unit, db=db)[-1]


def _numbered(rows: list[dict]) -> dict[tuple, list[Note]]:
    by_key: dict[tuple, list[dict]] = {}
    for r in rows:
        by_key.setdefault((r["metric_id"], r["period"], r["level"], r["org_unit"]), []).append(r)
    out = {}
    for key, versions in by_key.items():
        n = len(versions)
        out[key] = [
            Note(**{k: r[k] for k in ("metric_id", "period", "level", "org_unit", "text", "author", "written_at")},
                 version=i, versions=n)
            for i, r in enumerate(versions, start=1)
        ]  # fmt: skip
    return out


def note_history(metric_id: str, period: str, level: str, unit: str | None, *, db: Db = None) -> list[Note]:
    """Every version of one note, oldest first (empty when there is none)."""
    unit = _unit_for(level, unit)
    rows = _rows(
        db,
        "note",
        "WHERE metric_id = ? AND period = ? AND level = ? AND org_unit = ?",
        (metric_id, period, level, unit),
    )
    return next(iter(_numbered(rows).values()), [])


def current_notes(
    period: str | None = None,
    *,
    level: str | None = None,
    unit: str | None = None,
    metric_id: str | None = None,
    db: Db = None,
) -> list[Note]:
    """The latest version of each note, filtered; in KPI-catalogue order, then month and unit."""
    from etl.catalogue.metrics import catalogue

    clauses, params = [], []
    for column, value in (("period", period), ("level", level), ("metric_id", metric_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if unit is not None and level is not None:
        clauses.append("org_unit = ?")
        params.append(_unit_for(level, unit))
    rows = _rows(db, "note", ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(params))
    order = {m: i for i, m in enumerate(catalogue().ids)}
    latest = [versions[-1] for versions in _numbered(rows).values()]
    return sorted(
        latest, key=lambda n: (n.period, order.get(n.metric_id, len(order)), LEVELS.index(n.level), n.org_unit)
    )


def notes_by_metric(period: str, level: str, unit: str | None, *, db: Db = None) -> dict[str, Note]:
    """metric_id -> the latest note for one month and unit (the scorecard and the pack)."""
    return {n.metric_id: n for n in current_notes(period, level=level, unit=unit, db=db)}


NOTE_COLUMNS = ["period", "metric_id", "level", "org_unit", "text", "author", "written_at", "version", "versions"]


def notes_frame(period: str | None = None, *, db: Db = None) -> pd.DataFrame:
    """The latest version of every note (of one month, or all), for `cpip comments`."""
    found = current_notes(period, db=db)
    return pd.DataFrame([asdict(n) for n in found], columns=NOTE_COLUMNS)[NOTE_COLUMNS]


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A dated event drawn on the charts: authority-wide (metrics.yml) or one KPI's (added in the app)."""

    event_date: date
    label: str
    metric_id: str | None = None  # None: authority-wide
    event_id: str = ""
    author: str = ""

    @property
    def period(self) -> str:
        return self.event_date.strftime("%Y-%m")

    @property
    def scope_words(self) -> str:
        return "authority-wide" if self.metric_id is None else "this KPI"


def add_event(
    metric_id: str,
    event_date: date | str,
    label: str,
    *,
    author: str,
    event_id: str | None = None,
    removed: bool = False,
    db: Db = None,
) -> str:
    """Add a KPI's event (or a new version of it; `removed` takes it off the charts). Returns its id."""

    _check_metric(metric_id)
    day = authored.check_day(event_date, db, what="the event's date")
    if not (label or "").strip():
        raise ValueError("an event needs a label (what happened)")
    label = authored.clean_text(label, what="an event's label", limit=authored.MAX_LABEL)
    author = authored.check_author(author)
    access.check_plans(access.current_viewer())
    event_id = event_id or uuid.uuid4().hex[:12]
    row = {
        "version_id": uuid.uuid4().hex,
        "event_id": event_id,
        "event_date": day.isoformat(),
        "label": label,
        "metric_id": metric_id,
        "removed": 1 if removed else 0,
        "author": author,
        "written_at": _now(),
    }
    with _store(db) as con:
        _insert(con, "event", row)
    return event_id


def events_for(metric_id: str | None, *, db: Db = None) -> list[Event]:
    """The events to draw on a KPI's charts: the authority's (metrics.yml), then
    the KPI's own (latest version of each, unless removed), by date."""
    from etl.catalogue.metrics import catalogue

    found = [Event(e.date, e.label, None, f"yml-{i}") for i, e in enumerate(catalogue().events)]
    if metric_id is not None:
        latest: dict[str, dict] = {}
        for r in _rows(db, "event", "WHERE metric_id = ?", (metric_id,)):
            latest[r["event_id"]] = r
        found += [
            Event(date.fromisoformat(r["event_date"]), r["label"], r["metric_id"], r["event_id"], r["author"])
            for r in latest.values()
            if not r["removed"]
        ]
    return sorted(found, key=lambda e: (e.event_date, e.label))


# --- actions (the app's versions; etl.people.plans merges them with the loaded tracker) -----


def action_rows(db: Db = None) -> list[dict]:
    """Every version of every action saved in the app, oldest first."""
    return _rows(db, "action")


def save_action_version(row: dict, *, db: Db = None) -> None:
    """Append one version of an action (etl.people.plans.save_action checks it first)."""
    with _store(db) as con:
        _insert(con, "action", {**row, "version_id": uuid.uuid4().hex, "written_at": _now()})


# --- export and restore ----------------------------------------------------------


def export(path: str | os.PathLike, *, db: Db = None) -> dict[str, int]:
    """Write every version of every note, action and event to one JSON file."""
    body: dict = {"format": EXPORT_FORMAT, "version": 1, "exported_at": _now()}
    counts = {}
    for kind in TABLES:
        rows = _rows(db, kind)
        body[kind + "s"] = rows
        counts[kind + "s"] = len(rows)
    Path(path).write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def is_export(path: str | os.PathLike) -> bool:
    """Whether a file is a `cpip notes export` file (read from its first bytes)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(200)
    except OSError:
        return False
    return start.lstrip().startswith(b"{") and EXPORT_FORMAT.encode() in start


def _checked_note(row: dict, db: Db) -> dict:
    authored.check_metric(row["metric_id"])
    authored.check_period(row["period"], db)
    unit = _unit_for(row["level"], row["org_unit"])
    if row["level"] == "la" and row["org_unit"] != unit:
        raise ValueError(f"the authority is named {row['org_unit']!r}, not {unit!r}")
    return {
        **row,
        "org_unit": _known_unit(row["level"], unit, db),
        "text": authored.clean_text(row["text"], what="a note"),
    }


def _checked_event(row: dict, db: Db) -> dict:
    authored.check_metric(row["metric_id"])
    day = authored.check_day(row["event_date"], db, what="the event's date")
    label = authored.clean_text(row["label"], what="an event's label", limit=authored.MAX_LABEL)
    if row["removed"] not in (0, 1, True, False):
        raise ValueError(f"removed is {row['removed']!r}, not 0 or 1")
    event_id = authored.clean_text(row["event_id"], what="the event's id", limit=authored.MAX_TITLE)
    return {**row, "event_id": event_id, "event_date": day.isoformat(), "label": label, "removed": int(row["removed"])}


def _checked_row(kind: str, row: object, db: Db) -> dict:
    """One row of an export as it may be stored (the checks every save meets), or ValueError."""
    columns = TABLES[kind][1]
    if not isinstance(row, dict):
        raise ValueError("not a record")
    missing = [c for c in columns if c not in row]
    if missing:
        raise ValueError(f"has no {', '.join(missing)}")
    row = {c: row[c] for c in columns}  # anything else in the file is left behind
    version_id = row["version_id"]
    if not isinstance(version_id, str) or not re.fullmatch(r"[0-9a-f]{1,64}", version_id):
        raise ValueError(f"version_id {version_id!r} is not a version's id")
    history = {
        "author": authored.check_author(row["author"]),
        "written_at": authored.check_written_at(row["written_at"]),
    }
    if kind == "note":
        checked = _checked_note(row, db)
    elif kind == "event":
        checked = _checked_event(row, db)
    else:
        checked = authored.checked_action(row)
    return {**checked, "version_id": version_id, **history}


def restore(path: str | os.PathLike, *, db: Db = None) -> tuple[int, int]:
    """Bring an export back: (versions added, versions already held). Nothing held is changed.
    Every row meets the checks a save does, or nothing of the file is restored (ValueError naming
    the row). A restored version keeps its author and time as history, marked with who restored it
    and when; its time is never in the future, so a later save here is always the current one."""
    name = Path(path).name
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{name}: not a notes export ({exc})") from None
    if not isinstance(body, dict) or body.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{name}: not a notes export (no 'format': '{EXPORT_FORMAT}')")
    restored = {"restored_by": authored.check_author(current_author()), "restored_at": _now()}
    rows: list[tuple[str, dict]] = []
    for kind in TABLES:
        found = body.get(kind + "s") or []
        if not isinstance(found, list):
            raise ValueError(f"{name}: '{kind}s' is not a list; nothing was restored")
        for i, row in enumerate(found):
            try:
                rows.append((kind, {**_checked_row(kind, row, db), **restored}))
            except (ValueError, KeyError, TypeError) as exc:
                why = str(exc)
                joint = " " if why.startswith("has no") else ": "  # "note 3 has no period", "note 3: the month ..."
                raise ValueError(f"{name}: {kind} {i + 1}{joint}{why}; nothing was restored") from None
    added = held = 0
    with _store(db) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            for kind, row in rows:
                if _insert(con, kind, row):
                    added += 1
                else:
                    held += 1
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return added, held


# --- what the viewer may do (for pages deciding whether to offer a form; the writes check again) ---


def current_author() -> str:
    """Who is writing: the signed-in viewer, else the operating-system user (the command line)."""
    viewer = access.current_viewer()
    if viewer is not None:
        return viewer.name
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def may_write(level: str, unit: str | None, *, db: Db = None) -> bool:
    """Whether the current viewer may write a note for this unit (the access policy's answer)."""
    from etl.serve import queries

    try:
        viewer = access.current_viewer()
    except access.AccessDenied:
        return False
    org = queries.org_units(db)
    return access.may_write_note(
        viewer, level, _unit_for(level, unit), org[["team", "service", "area"]].itertuples(index=False)
    )


def may_edit_plans() -> bool:
    """Whether the current viewer may edit actions and chart events."""
    try:
        access.check_plans(access.current_viewer())
    except access.AccessDenied:
        return False
    return True
