"""The Practice Action Plans: one per improvement area, its actions and the KPIs each is meant to move.

Actions come from two places, and a page never needs to know which:

- the council's tracker spreadsheet, loaded as an `actions` extract
  (etl/catalogue/contract.py) into the warehouse like any other extract: a later load
  replaces an action by its `action_id`, undo brings the earlier one back;
- the app (analysts and the board), saved as versions in the notes store
  (etl/people/notes.py), which loads, failed loads and undo never touch.

An action's current version is the later of its tracker row (by its load's
time) and its latest version saved in the app, so a status changed in the app
stays until a newer tracker is loaded. Every version stays readable
(`action_history`).

An action past its due date and not done is `overdue`, whatever its status
says. "Past" is judged at the data's as-of date (the latest load in force), as
the due list judges deadlines, or at the date given (`on`).

Report builders (Dash-free): `plan_sections` for the /plans page, the board
pack and `cpip plans`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date

import duckdb

from etl.catalogue.contract import ACTION_STATUSES, name_key
from etl.catalogue.metrics import catalogue
from etl.people import authored, notes
from etl.privacy import access
from etl.store.db import Db, dialect_of
from etl.store.warehouse import reading

OVERDUE = "overdue"
STATES = (OVERDUE, *ACTION_STATUSES)


@dataclass(frozen=True)
class Action:
    action_id: str
    area: str
    action: str
    sponsor: str
    lead: str
    due_date: date | None
    status: str  # as written: not started | on track | at risk | done
    notes: str = ""
    metrics: tuple[str, ...] = ()
    source: str = "tracker"  # tracker (a loaded extract) | app
    author: str = ""
    written_at: str = ""  # ISO 8601, UTC
    versions: int = 1

    def state(self, on: date) -> str:
        """The status a reader is shown: `overdue` when past its date and not done."""
        if self.status != "done" and self.due_date is not None and self.due_date < on:
            return OVERDUE
        return self.status

    def due_in(self, period: str) -> bool:
        return self.due_date is not None and self.due_date.strftime("%Y-%m") == period

    @property
    def leads(self) -> list[str]:
        """The responsible leads as the council writes them ("A; B", "Head of X and Head of Y"). A comma
        or an "and" inside one title stays ("Head of Service, Assessment and Intervention"): a piece
        split off on "and" must be a title of several words, never a fragment such as "Intervention"."""
        leads = []
        for part in (p.strip() for p in self.lead.replace("\n", ";").split(";")):
            pieces = [p.strip() for p in part.split(" and ")]
            if len(pieces) > 1 and all(len(p.split()) >= 2 and "," not in p for p in pieces):
                leads.extend(pieces)
            elif part:
                leads.append(part)
        return leads

    @property
    def due_text(self) -> str:
        return self.due_date.strftime("%-d %b %Y") if self.due_date else "no date"


_area = authored.area_named
_metrics = authored.metric_ids


def _tracker(db: Db) -> list[Action]:
    sql = (
        "SELECT a.action_id, a.area, a.action, a.sponsor, a.lead, a.due_date, a.status, a.metrics, l.loaded_at, "
        "l.loaded_by FROM actions a LEFT JOIN loads l USING (load_id) ORDER BY a.action_id"
    )
    with reading(db) as con:
        if not dialect_of(con).has_table(con, "actions"):
            return []  # a warehouse written before the action plans existed
        rows = con.execute(sql).fetchall()
    out = []
    for action_id, area, text, sponsor, lead, due, status, metrics, loaded_at, loaded_by in rows:
        written = loaded_at.astimezone(UTC).isoformat(timespec="microseconds") if loaded_at else ""
        out.append(
            Action(action_id, _area(area), text, sponsor or "", lead or "", due, status, "", _metrics(metrics),
                   "tracker", loaded_by or "", written)
        )  # fmt: skip
    return out


def _from_app(row: dict) -> Action:
    return Action(
        row["action_id"], row["area"], row["action"], row["sponsor"], row["lead"],
        date.fromisoformat(row["due_date"]) if row["due_date"] else None, row["status"], row["notes"],
        _metrics(row["metrics"]), "app", row["author"], row["written_at"],
    )  # fmt: skip


def action_history(action_id: str, *, db: Db = None) -> list[Action]:
    """Every version of one action, oldest first: its tracker row (as loaded now), then the app's."""
    found = [a for a in _tracker(db) if a.action_id == action_id]
    found += [_from_app(r) for r in notes.action_rows(db) if r["action_id"] == action_id]
    return sorted(found, key=lambda a: a.written_at)


def action_histories(*, db: Db = None) -> dict[str, list[Action]]:
    """`action_history` of every action at once (one read of the tracker and of the app's versions,
    where a page listing every action's history would otherwise read both per action)."""
    found: dict[str, list[Action]] = {}
    for action in [*_tracker(db), *(_from_app(r) for r in notes.action_rows(db))]:
        found.setdefault(action.action_id, []).append(action)
    return {k: sorted(v, key=lambda a: a.written_at) for k, v in found.items()}


def actions(*, db: Db = None) -> list[Action]:
    """Every action in its current version, in the catalogue's order of areas, then by due date."""
    current: dict[str, Action] = {a.action_id: a for a in _tracker(db)}
    counts = dict.fromkeys(current, 1)
    for row in notes.action_rows(db):  # oldest first
        version = _from_app(row)
        counts[version.action_id] = counts.get(version.action_id, 0) + 1
        held = current.get(version.action_id)
        if held is None or version.written_at >= held.written_at:
            current[version.action_id] = version
    order = {a: i for i, a in enumerate(catalogue().areas)}
    out = [replace(a, versions=counts[a.action_id]) for a in current.values()]
    return sorted(out, key=lambda a: (order.get(a.area, len(order)), a.due_date or date.max, a.action_id))


def _database_errors() -> tuple[type[Exception], ...]:
    """What either engine raises when a statement fails."""
    import psycopg

    return (duckdb.Error, psycopg.Error)


def judged_on(db: Db = None) -> date:
    """The day `overdue` is judged at: the data's as-of date (the latest load in force), else today."""
    try:
        with reading(db) as con:
            (found,) = con.execute(
                "SELECT max(as_of) AS as_of FROM loads WHERE extract_type NOT IN ('organisation', 'actions') "
                "AND outcome NOT IN ('refused', 'preview', 'undone')"
            ).fetchone()
    except _database_errors():
        found = None
    return found or date.today()


def save_action(
    *,
    action_id: str | None,
    area: str,
    action: str,
    sponsor: str = "",
    lead: str = "",
    due_date: date | str | None = None,
    status: str = "not started",
    notes_text: str = "",
    metrics: tuple[str, ...] | list[str] | str = (),
    author: str,
    db: Db = None,
) -> Action:
    """Add an action (action_id None gives the next `APP-n`) or a new version of one.
    ValueError for an unknown area, status or KPI; AccessDenied unless the viewer may edit plans."""
    access.check_plans(access.current_viewer())
    if not action_id:
        taken = {a.action_id for a in actions(db=db)}
        n = 1
        while f"APP-{n}" in taken:
            n += 1
        action_id = f"APP-{n}"
    if not isinstance(metrics, str):
        if not all(isinstance(m, str) for m in metrics or ()):
            raise ValueError("an action's KPIs must be KPI ids")
        metrics = ";".join(metrics)
    row = authored.checked_action(
        {
            "action_id": action_id,
            "area": area,
            "action": action,
            "sponsor": sponsor,
            "lead": lead,
            "due_date": due_date,
            "status": status,
            "notes": notes_text,
            "metrics": metrics,
            "author": author,
        }
    )
    notes.save_action_version(row, db=db)
    return next(a for a in actions(db=db) if a.action_id == row["action_id"])


# --- report builders -----------------------------------------------------------------


@dataclass
class PlanSection:
    """One Practice Action Plan: its area, what it means, its actions (filtered) and its KPIs."""

    area: str
    meaning: str
    owner: str
    actions: list[Action] = field(default_factory=list)
    metric_ids: list[str] = field(default_factory=list)  # the area's KPIs, then others its actions name
    overdue: int = 0  # of all the area's actions, before filters


def plan_sections(
    *,
    on: date | None = None,
    overdue_only: bool = False,
    due_in: str | None = None,
    lead: str | None = None,
    area: str | None = None,
    db: Db = None,
) -> tuple[date, list[PlanSection]]:
    """(the day judged at, one section per improvement area that has a plan or an action).
    Filters: only overdue actions, only those due in a month (YYYY-MM), a lead (words in
    the lead's text, ignoring case), one area."""
    on = on or judged_on(db)
    cat = catalogue()
    every = actions(db=db)
    sections = []
    for name in cat.areas:
        if area is not None and name_key(area) != name_key(name):
            continue
        plan = cat.plan(name)
        mine = [a for a in every if a.area == name]
        if plan is None and not mine:
            continue
        shown = [
            a
            for a in mine
            if (not overdue_only or a.state(on) == OVERDUE)
            and (due_in is None or a.due_in(due_in))
            and (not lead or lead.casefold() in a.lead.casefold())
        ]
        ids = [m.metric_id for m in cat.metrics if m.area == name]
        ids += [m for a in mine for m in a.metrics if m not in ids]
        sections.append(
            PlanSection(
                area=name,
                meaning=plan.meaning if plan else "",
                owner=plan.owner if plan else "",
                actions=shown,
                metric_ids=ids,
                overdue=sum(1 for a in mine if a.state(on) == OVERDUE),
            )
        )
    return on, sections


def overdue_by_area(*, on: date | None = None, db: Db = None) -> dict[str, int]:
    """Improvement area -> how many of its actions are overdue (for the scorecard's headings)."""
    on = on or judged_on(db)
    out: dict[str, int] = {}
    for a in actions(db=db):
        if a.state(on) == OVERDUE:
            out[a.area] = out.get(a.area, 0) + 1
    return out


def actions_for_metric(metric_id: str, *, db: Db = None) -> list[Action]:
    """The actions meant to move one KPI (the KPI page lists them)."""
    return [a for a in actions(db=db) if metric_id in a.metrics]


def leads(*, db: Db = None) -> list[str]:
    """Every responsible lead named, for the /plans page's filter."""
    return sorted({lead for a in actions(db=db) for lead in a.leads}, key=str.casefold)
