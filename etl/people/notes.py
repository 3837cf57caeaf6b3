"""What people write: notes on a KPI, actions edited in the app, and events.

Everything here is written by a person, so nothing is ever lost or overwritten:
every save is a new row (a version), and what a page shows is the latest
version of each note, action or event. Earlier versions stay readable.

    write_note("seen_5wd", "2023-07", "team", "Coastal FS 1", "Two workers on leave...", author="j.smith")
    current_notes(period="2023-07")          # the latest version of each note
    note_history("seen_5wd", "2023-07", "team", "Coastal FS 1")

Where they are kept (etl/store/side.py, one interface over two stores): on
PostgreSQL, in the warehouse's own database (tables note_versions,
action_versions, event_versions, under the authority row-level security; the
app may add rows, never change or remove them), so every web server shares
them. Beside a DuckDB warehouse, in a SQLite file, not a table in it: every load
and undo writes a private copy of the DuckDB file and swaps it over the live
one, so a row written to the live file while a load runs would be lost with the
old file, and the web workers open DuckDB read-only. SQLite in WAL mode takes
short appends from many processes at once and is untouched by loads, failed
loads and undo. The file is `<warehouse>.notes.sqlite` (env CPIP_NOTES names
another); back it up with the warehouse. Either way, `cpip notes export FILE`
writes everything to one file which `cpip load FILE` brings back, into either
engine (rows already held are skipped); `cpip notes import-sqlite` brings an
earlier release's SQLite notes into PostgreSQL.

Who may write is the access policy's decision (`etl.privacy.access.check_note`,
`check_plans`), asked here, so a page never tests a role.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
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

# Each kind of version and its table (etl/store/side.py declares the tables once, for both stores).
# An export holds every column but who restored a version and when (side.RESTORED_COLUMNS, kept in the store).
_SIDE_TABLES = {"note": side.NOTE_VERSIONS, "action": side.ACTION_VERSIONS, "event": side.EVENT_VERSIONS}
TABLES = {
    kind: (table.name, [c for c in table.column_names if c not in side.RESTORED_COLUMNS])
    for kind, table in _SIDE_TABLES.items()
}


def store_path(db: Db = None) -> Path:
    """The SQLite notes file of the authority in hand (a DuckDB warehouse's notes; on PostgreSQL, where
    an earlier release kept them, for `import_sqlite`): $CPIP_NOTES (another authority's beside it,
    `.<code>`), else beside the authority's warehouse."""
    named = os.environ.get("CPIP_NOTES", "").strip()
    if named and db is None:
        return authority.own_file(Path(named))  # each authority's notes are its own
    live = warehouse_path(db)
    return live.with_name(live.name + ".notes.sqlite")


def _store(db: Db) -> side.SideStore:
    """The warehouse's PostgreSQL tables, or the SQLite file beside a DuckDB warehouse."""
    return side.store(db, store_path(db), side.PEOPLE_TABLES)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _insert(db: Db, kind: str, row: dict) -> bool:
    (added,) = _store(db).add(_SIDE_TABLES[kind], [row])
    return added is not None


def _rows(db: Db, kind: str, where: dict | None = None) -> list[dict]:
    """Every version of `kind` whose columns equal `where`'s values, oldest first (the export's columns)."""
    columns = TABLES[kind][1]
    found = _store(db).select(_SIDE_TABLES[kind], where)
    # Rows stored before the checks (or by hand) may hold control characters: never passed on.
    return [{c: authored.printable(r[c]) if isinstance(r[c], str) else r[c] for c in columns} for r in found]


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
    _insert(db, "note", row)
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
    rows = _rows(db, "note", {"metric_id": metric_id, "period": period, "level": level, "org_unit": unit})
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

    where = {c: v for c, v in (("period", period), ("level", level), ("metric_id", metric_id)) if v is not None}
    if unit is not None and level is not None:
        where["org_unit"] = _unit_for(level, unit)
    rows = _rows(db, "note", where)
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
    _insert(db, "event", row)
    return event_id


def events_for(metric_id: str | None, *, db: Db = None) -> list[Event]:
    """The events to draw on a KPI's charts: the authority's (metrics.yml), then
    the KPI's own (latest version of each, unless removed), by date."""
    from etl.catalogue.metrics import catalogue

    found = [Event(e.date, e.label, None, f"yml-{i}") for i, e in enumerate(catalogue().events)]
    if metric_id is not None:
        latest: dict[str, dict] = {}
        for r in _rows(db, "event", {"metric_id": metric_id}):
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
    _insert(db, "action", {**row, "version_id": uuid.uuid4().hex, "written_at": _now()})


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
    return _add_all(rows, db)


def _add_all(rows: list[tuple[str, dict]], db: Db) -> tuple[int, int]:
    """Add versions of every kind in one transaction, all or nothing: (versions added, versions already held)."""
    found = _store(db).add_each([(_SIDE_TABLES[kind], row) for kind, row in rows])
    added = sum(1 for f in found if f is not None)
    return added, len(found) - added


def import_sqlite(path: str | os.PathLike | None = None, *, db: Db = None) -> tuple[Path, int, int]:
    """Bring the notes, actions and events of an earlier release's SQLite notes file (default: the one
    the authority in hand had beside this PostgreSQL warehouse, `store_path`) into the warehouse's
    tables: (the file, versions added, versions already held). Versions already held, by their id, are
    skipped, so running it twice adds nothing. Rows come across as they were written."""
    from etl.store.warehouse import is_postgres

    if not is_postgres(db):
        raise ValueError(
            "the notes are already in SQLite on a DuckDB warehouse: import-sqlite is for a PostgreSQL one (CPIP_DB)"
        )
    source = Path(path) if path else store_path(db)
    if not source.is_file():
        raise ValueError(f"{source}: no such notes file")
    try:
        # Read only, and never made: a wrong name is reported, not created empty.
        con = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ValueError(f"{source}: cannot be opened ({exc})") from None
    rows: list[tuple[str, dict]] = []
    try:
        for kind, table in _SIDE_TABLES.items():
            # A file of an earlier release may lack a kind of version, or who restored one (read as NULL).
            have = {row[1] for row in con.execute(f"PRAGMA table_info({table.name})")}
            columns = [c for c in table.column_names if c in have]
            if not columns:
                continue
            found = con.execute(f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY rowid").fetchall()
            rows += [(kind, dict(zip(columns, r, strict=True))) for r in found]
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{source}: not a notes file ({exc})") from None
    finally:
        con.close()
    added, held = _add_all(rows, db)
    return source, added, held


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
