"""The one check of what people author: notes, actions and events, written in the app or on the
command line, or brought back from a `cpip notes export` file.

Every write goes through here (etl/people/notes.py and etl/people/plans.py), so a restored file
meets exactly the rules a form does:

- a KPI of metrics.yml, a level of `LEVELS`, a unit of the organisation reference;
- a month inside the data's range or the 12 months after it (a note for 2099-12, or an event
  dated 0001-01-01, is a typing slip or a forgery, and sorts above everything real);
- bounded text: notes and actions 10,000 characters, titles 300 (an event's label 120);
- no control characters but line breaks and tabs (they break the Excel pack) and no
  bidirectional override characters (they reorder what a reader sees).

Each check raises ValueError with a sentence for the person who wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

from etl.catalogue.contract import ACTION_STATUSES, name_key
from etl.catalogue.levels import LEVELS
from etl.rules.calendar import add_months, parse_period, period_of
from etl.store.db import Db

MAX_TEXT = 10_000  # a note, an action, an action's notes
MAX_TITLE = 300  # a name: a unit, a sponsor, a lead, an author
MAX_LABEL = 120  # an event's label: it is drawn on a chart
AHEAD_MONTHS = 12  # how far past the data a note or event may look
EVENT_BEFORE = 24  # months before the data an event may be dated
EARLIEST_MONTH = "2000-01"  # before any data: no children's services record this project reads is older
# U+202A-202E (embeddings and overrides) and U+2066-2069 (isolates) reorder the text around them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0 and C1 controls and DEL, but tab and line feed (a carriage return is made a line feed first).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: object, *, what: str, limit: int = MAX_TEXT, required: bool = True) -> str:
    """`text` stripped, its line breaks made `\\n`; ValueError if it is empty (when `required`),
    longer than `limit`, or holds a control or bidirectional override character."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not text:
        raise ValueError(f"{what} needs some text")
    if len(text) > limit:
        raise ValueError(f"{what} is at most {limit:,} characters ({len(text):,} given)")
    if bad := _CONTROL.search(text):
        raise ValueError(f"{what} holds a control character ({_named(bad.group())}); only line breaks and tabs may")
    if bad := _BIDI.search(text):
        raise ValueError(f"{what} holds a character that reorders the text around it ({_named(bad.group())})")
    return text


def printable(text: str) -> str:
    """`text` without control characters (but line breaks and tabs) or bidirectional overrides: for
    what was stored before these checks, on its way to a page, a pack or a CSV."""
    return _BIDI.sub("", _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))


def _named(char: str) -> str:
    return f"U+{ord(char):04X}" + (f" {unicodedata.name(char)}" if unicodedata.name(char, "") else "")


def check_metric(metric_id: object) -> str:
    from etl.catalogue.metrics import catalogue

    ids = catalogue().ids
    if not isinstance(metric_id, str) or metric_id not in ids:
        raise ValueError(f"{metric_id!r} is not a KPI in metrics.yml (known: {', '.join(ids)})")
    return metric_id


def check_level(level: object) -> str:
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    return str(level)


def month_window(db: Db = None) -> tuple[str, str]:
    """(first, last) month a note or event may be for: the data's first month to 12 months after
    its last (with no data yet: from 2000 to 12 months after this one)."""
    from etl.serve import queries

    try:
        months = queries.periods(db)
    except Exception:  # no warehouse yet (a fresh install): the window below still stops 2099
        months = []
    this_month = period_of(datetime.now(UTC).date())
    if not months:
        return EARLIEST_MONTH, add_months(this_month, AHEAD_MONTHS)
    return months[0], add_months(months[-1], AHEAD_MONTHS)


def check_period(period: object, db: Db = None, *, what: str = "the month", before: int = 0) -> str:
    """A `YYYY-MM` inside `month_window` (reaching `before` months further back)."""
    if not isinstance(period, str):
        raise ValueError(f"{what} {period!r} is not a month like 2023-07")
    parse_period(period)
    first, last = month_window(db)
    first = add_months(first, -before) if first != EARLIEST_MONTH else first
    if not first <= period <= last:
        raise ValueError(f"{what} {period} is outside the months it may be for ({first} to {last})")
    return period


def check_day(day: object, db: Db = None, *, what: str = "the date") -> date:
    """A date (or `YYYY-MM-DD`) whose month is inside `month_window`, or up to `EVENT_BEFORE` months
    before it (what happened before the data can explain its first months)."""
    try:
        value = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    except ValueError:
        raise ValueError(f"{what} {day!r} is not a date like 2023-07-31") from None
    check_period(period_of(value), db, what=what, before=EVENT_BEFORE)
    return value


def check_due(day: object) -> date | None:
    """An action's due date: none, or a real date within 20 years of today."""
    if day in (None, ""):
        return None
    try:
        value = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    except ValueError:
        raise ValueError(f"the due date {day!r} is not a date like 2024-03-31") from None
    today = datetime.now(UTC).date()
    if abs(value.year - today.year) > 20:
        raise ValueError(f"the due date {value.isoformat()} is not within 20 years of today")
    return value


def check_written_at(value: object) -> str:
    """A recorded time from a file: ISO 8601, and not in the future (a version dated 9999 would
    stay above every later real save)."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"written_at {value!r} is not a time like 2023-08-12T14:05:00+00:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > datetime.now(UTC):
        raise ValueError(f"written_at {value} is in the future")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def check_author(author: object) -> str:
    return clean_text(author, what="the author", limit=MAX_TITLE)


def area_named(name: str) -> str:
    """An improvement area as metrics.yml spells it (matched whatever its case and spacing), else `name`."""
    from etl.catalogue.metrics import catalogue

    wanted = name_key(name)
    return next((a for a in catalogue().areas if name_key(a) == wanted), name)


def metric_ids(text: str | None) -> tuple[str, ...]:
    """An action's KPIs, stored as ids separated by semicolons."""
    return tuple(m.strip() for m in (text or "").split(";") if m.strip())


def checked_action(row: dict) -> dict:
    """One version of an action as it may be stored: known area, status and KPIs, bounded text.
    ValueError with a sentence otherwise. `plans.save_action` and the restore of an export both
    come here (here, not in plans, which reads the notes store: notes need it without a circle)."""
    from etl.catalogue.metrics import catalogue

    cat = catalogue()
    area = area_named(clean_text(row.get("area"), what="the improvement area", limit=MAX_TITLE))
    if area not in cat.areas:
        raise ValueError(f"{area!r} is not an improvement area in metrics.yml")
    status = row.get("status") if isinstance(row.get("status"), str) else ""
    status = " ".join(status.lower().replace("_", " ").split())
    if status not in ACTION_STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(ACTION_STATUSES)} (overdue is worked out)")
    if not isinstance(row.get("action"), str) or not row["action"].strip():
        raise ValueError("an action needs its text (what will be done)")
    action = " ".join(clean_text(row["action"], what="an action").split())
    metrics = row.get("metrics") or ""
    if not isinstance(metrics, str):
        raise ValueError("an action's KPIs must be text (ids separated by semicolons)")
    ids = metric_ids(metrics)
    unknown = [m for m in ids if m not in cat.ids]
    if unknown:
        raise ValueError(f"unknown KPI {', '.join(unknown)}: not in metrics.yml")
    due = check_due(row.get("due_date"))
    return {
        "action_id": clean_text(row.get("action_id"), what="the action's id", limit=MAX_TITLE),
        "area": area,
        "action": action,
        "sponsor": clean_text(row.get("sponsor"), what="the sponsor", limit=MAX_TITLE, required=False),
        "lead": clean_text(row.get("lead"), what="the lead", limit=MAX_TITLE, required=False),
        "due_date": due.isoformat() if due else None,
        "status": status,
        "notes": clean_text(row.get("notes"), what="an action's notes", required=False),
        "metrics": ";".join(ids),
        "author": check_author(row.get("author")),
    }
