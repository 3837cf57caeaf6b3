"""Who may see what: the access file (CPIP_ACCESS) as one policy object.

    default_role: viewer          # for a signed-in user not listed; "none" refuses them
    users:
      a.khan:   {role: head_of_service, services: [Family Safeguarding]}
      j.smith:  {role: team_manager, teams: [Coastal FS 1]}
      dlt.chair: {role: board}
      p.analyst: {role: analyst}
      r.lead:   {role: board, authorities: ["938", "846", "845"]}   # a regional service: several councils

`authorities` (DfE codes) are the councils a user may see; without it, the
authority of metrics.yml. A user with several chooses one at a time for the
scorecard and the other pages, and sees all of them side by side on /regional.
On PostgreSQL each request's transaction is confined to them by row-level
security (etl/store/warehouse.py), whatever a query asks for.

Roles and what each may do (`Role.CAPABILITIES`): every role sees the
aggregates; `team_manager`, `head_of_service`, `board` and `analyst` see child
lists (the first two only for their own teams and their services' teams);
only `analyst` uses the data page (check, load, undo) and reads the access log.

Without CPIP_ACCESS the dashboard is single-user: the person at the keyboard is
an analyst, and every page says so. The web app's gate (dashboard/gate.py)
names the viewer of each request (`viewing`); the query layer for child-level
data asks `current_viewer()` and `check_teams()` here, so a page or a callback
never tests a role itself. Outside the web app (the `cpip` command, scripts,
tests) there is no viewer and no role: the command line is the analyst's.

Dash-free and Flask-free: the ETL side may import it.
"""

from __future__ import annotations

import contextvars
import difflib
import getpass
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from etl.store.db import Db


class Role(StrEnum):
    VIEWER = "viewer"
    TEAM_MANAGER = "team_manager"
    HEAD_OF_SERVICE = "head_of_service"
    BOARD = "board"
    ANALYST = "analyst"


# What a role may do. `aggregates`: every figure, page and the board pack;
# `children`: child-level lists (within the role's scope); `data`: the data
# page (check, load, undo) and the access log.
# `notes`: write commentary on a KPI (within the role's units: `check_note`);
# `plans`: add and edit Practice Action Plan actions and a KPI's chart events.
AGGREGATES, CHILDREN, DATA = "aggregates", "children", "data"
NOTES, PLANS = "notes", "plans"
CAPABILITIES: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset({AGGREGATES}),
    Role.TEAM_MANAGER: frozenset({AGGREGATES, CHILDREN, NOTES}),
    Role.HEAD_OF_SERVICE: frozenset({AGGREGATES, CHILDREN, NOTES}),
    Role.BOARD: frozenset({AGGREGATES, CHILDREN, NOTES, PLANS}),
    Role.ANALYST: frozenset({AGGREGATES, CHILDREN, NOTES, PLANS, DATA}),
}
ROLE_WORDS = {
    Role.VIEWER: "viewer",
    Role.TEAM_MANAGER: "team manager",
    Role.HEAD_OF_SERVICE: "head of service",
    Role.BOARD: "board member",
    Role.ANALYST: "analyst",
}
WHAT_IS_REFUSED = {
    CHILDREN: "child-level lists",
    DATA: "the data page (check, load, undo and the access log)",
    NOTES: "writing notes on KPIs",
    PLANS: "editing the Practice Action Plans and chart events",
    AGGREGATES: "this dashboard",
}


class AccessError(ValueError):
    """The access file is not valid; the message is one line naming the user and the field."""


class AccessDenied(PermissionError):
    """The viewer may not see this; the message is a plain sentence for them."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserEntry(_Strict):
    role: Role
    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    authorities: tuple[str, ...] = ()

    @field_validator("authorities", mode="before")
    @classmethod
    def _codes(cls, value: object) -> object:
        from etl.store import authority

        if isinstance(value, list | tuple):
            return tuple(authority.check_code(str(v)) for v in value)
        return value

    @model_validator(mode="after")
    def _scope_fits_role(self) -> UserEntry:
        if self.role is Role.TEAM_MANAGER and not self.teams:
            raise ValueError("a team_manager needs 'teams' (at least one)")
        if self.role is Role.HEAD_OF_SERVICE and not self.services:
            raise ValueError("a head_of_service needs 'services' (at least one)")
        if self.teams and self.role is not Role.TEAM_MANAGER:
            raise ValueError(f"'teams' is for a team_manager only (this user is {self.role})")
        if self.services and self.role is not Role.HEAD_OF_SERVICE:
            raise ValueError(f"'services' is for a head_of_service only (this user is {self.role})")
        return self


class AccessFile(_Strict):
    default_role: Role | Literal["none"] = Field(...)
    users: dict[str, UserEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_role_has_no_scope(self) -> AccessFile:
        if self.default_role in (Role.TEAM_MANAGER, Role.HEAD_OF_SERVICE):
            raise ValueError(
                "a team_manager or head_of_service needs its teams or services, so it cannot be the default"
            )
        names = [n.casefold() for n in self.users]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"user {twice[0]!r} is listed twice (names are matched ignoring case)")
        return self


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, with the role the access file gives them."""

    name: str
    role: Role
    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    single_user: bool = False
    # The authorities (DfE codes) this viewer may see; () = metrics.yml's (and, single-user, any).
    authorities: tuple[str, ...] = ()

    @property
    def permitted(self) -> tuple[str, ...] | None:
        """The codes this viewer may see; None in single-user mode (the analyst's own machine: any)."""
        if self.single_user:
            return None
        if self.authorities:
            return self.authorities
        from etl.store import authority

        return (authority.default_code(),)

    def may(self, capability: str) -> bool:
        return capability in CAPABILITIES[self.role]

    @property
    def sees_every_child(self) -> bool:
        return self.may(CHILDREN) and self.role in (Role.BOARD, Role.ANALYST)

    def describe(self) -> str:
        """ "a.khan, head of service (Family Safeguarding)" for the page header."""
        scope = self.teams or self.services
        return f"{self.name}, {ROLE_WORDS[self.role]}" + (f" ({', '.join(scope)})" if scope else "")

    @property
    def home(self) -> tuple[str, str] | None:
        """(level, unit) of the scorecard this viewer opens on: a team manager's (first) team, a head
        of service's (first) service; None for everyone else (the authority's)."""
        if self.role is Role.TEAM_MANAGER and self.teams:
            return "team", self.teams[0]
        if self.role is Role.HEAD_OF_SERVICE and self.services:
            return "service", self.services[0]
        return None

    def refusal(self, capability: str) -> str:
        """The plain sentence a refused request gets."""
        return (
            f"You are signed in as {self.describe()}, and your role does not give access to "
            f"{WHAT_IS_REFUSED.get(capability, capability)}. Ask the performance team if you need it."
        )


@dataclass(frozen=True)
class Policy:
    """The access file, read once. `file` is None in single-user mode."""

    file: AccessFile | None
    source: str | None = None
    _by_name: dict[str, tuple[str, UserEntry]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def single_user(self) -> bool:
        return self.file is None

    def viewer_for(self, user: str | None, local_user: str = "local user") -> Viewer | None:
        """The viewer for a signed-in user name. In single-user mode, the local
        user as an analyst. With an access file: None when nobody is signed in;
        raises AccessDenied for a user who is not listed when the default role is "none"."""
        if self.file is None:
            return Viewer(name=user or local_user, role=Role.ANALYST, single_user=True)
        if not user:
            return None
        found = self._by_name.get(user.casefold())
        if found is not None:
            name, entry = found
            return Viewer(
                name=name, role=entry.role, services=entry.services, teams=entry.teams, authorities=entry.authorities
            )
        if self.file.default_role == "none":
            raise AccessDenied(
                f"You are signed in as {user}, but you have not been given access to this dashboard. "
                "Ask the performance team."
            )
        return Viewer(name=user, role=Role(self.file.default_role))


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(p) for p in first["loc"] if "[" not in str(p)]  # drop pydantic's union-branch tags
    if loc == ["default_role"] and first["type"] != "missing":
        return "field default_role: must be viewer, board, analyst or none (who a signed-in user not listed is)"
    where = ""
    if len(loc) >= 2 and loc[0] == "users":
        where = f"user {loc[1]}" + (f", field {'.'.join(loc[2:])}" if loc[2:] else "")
    elif loc:
        where = "field " + ".".join(loc)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "enum" or "literal" in first["type"]:
        message += f" (roles: {', '.join(r.value for r in Role)})"
    return f"{where or 'top level'}: {message}"


def load_policy(path: Db) -> Policy:
    """The policy of an access file; None or "" gives single-user mode."""
    if not path:
        return Policy(None)
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccessError(f"{path}: the access file named by CPIP_ACCESS is missing") from None
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise AccessError(f"{path}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise AccessError(f"{path}: expected a mapping with 'default_role' and 'users'")
    if raw.get("users") is None:
        raw["users"] = {}
    try:
        parsed = AccessFile.model_validate(raw)
    except ValidationError as exc:
        raise AccessError(f"{path}: {_describe(exc)}") from None
    by_name = {name.casefold(): (name, entry) for name, entry in parsed.users.items()}
    return Policy(parsed, str(path), by_name)


@lru_cache(maxsize=4)
def _cached(path: str) -> Policy:
    return load_policy(path)


def policy() -> Policy:
    """The policy in force (CPIP_ACCESS), read once per process."""
    return _cached(os.environ.get("CPIP_ACCESS", "").strip())


def require_policy() -> Policy:
    """The policy, or stop the program with one line (for the app at start-up)."""
    try:
        return policy()
    except AccessError as exc:
        raise SystemExit(f"CPIP_ACCESS is not valid: {exc}") from None


# --- the viewer of the current request ---------------------------------------------

_UNSET = object()
_viewer: contextvars.ContextVar = contextvars.ContextVar("cpip_viewer", default=_UNSET)
_web = {"gated": False}


def gate_installed() -> None:
    """Called by the web app's gate: from now on child-level data is only given to
    a request whose viewer the gate named (fail closed, even in a worker thread)."""
    _web["gated"] = True


@contextmanager
def viewing(viewer: Viewer | None) -> Iterator[None]:
    """Run a block as `viewer`; None runs it as the command line (no roles: scripts, tests)."""
    token = _viewer.set(viewer)
    try:
        yield
    finally:
        _viewer.reset(token)


def set_viewer(viewer: Viewer | None) -> contextvars.Token:
    return _viewer.set(viewer)


def reset_viewer(token: contextvars.Token) -> None:
    _viewer.reset(token)


def current_viewer() -> Viewer | None:
    """The viewer the gate named for this request; None outside the web app (the
    command line and scripts, which have no roles). Inside the web app, a call
    with no viewer named (a thread the gate never saw) is refused."""
    value = _viewer.get()
    if value is _UNSET:
        if _web["gated"]:
            raise AccessDenied("This request was not checked by the dashboard's gate, so nothing is shown.")
        return None
    return value


def require(capability: str) -> Viewer | None:
    """The current viewer, if they may use `capability`; AccessDenied otherwise."""
    viewer = current_viewer()
    if viewer is None:  # the command line, or a block run explicitly as it (`viewing(None)`)
        return None
    if not viewer.may(capability):
        raise AccessDenied(viewer.refusal(capability))
    return viewer


def allowed_teams(viewer: Viewer | None, org: Iterable[tuple[str, str]]) -> set[str] | None:
    """The teams whose children `viewer` may see, from (team, service) pairs of the
    organisation reference; None means every team (board, analyst, the command line)."""
    if viewer is None or viewer.sees_every_child:
        return None
    if not viewer.may(CHILDREN):
        return set()
    if viewer.role is Role.TEAM_MANAGER:
        wanted = {t.casefold() for t in viewer.teams}
        return {team for team, _ in org if team.casefold() in wanted}
    services = {s.casefold() for s in viewer.services}
    return {team for team, service in org if service and service.casefold() in services}


def check_teams(viewer: Viewer | None, wanted: Iterable[str], allowed: set[str] | None, what: str) -> None:
    """Refuse (AccessDenied) unless every team of `wanted` is in `allowed`."""
    if allowed is None:
        return
    outside = sorted(set(wanted) - allowed)
    if outside or not allowed:
        scope = ", ".join(viewer.teams or viewer.services) if viewer else ""
        raise AccessDenied(
            f"You are signed in as {viewer.describe() if viewer else 'nobody'}: you may see the child lists "
            f"of {scope or 'no team'} only, and {what} is outside them."
        )


def may_write_note(viewer: Viewer | None, level: str, unit: str, org: Iterable[tuple[str, str, str]]) -> bool:
    """Whether `viewer` may write a note for a KPI of `unit` at `level`: analysts and
    the board anywhere; a head of service for their services and those services'
    teams; a team manager for their teams; the command line (None) anywhere.
    `org` gives (team, service, area) rows of the organisation reference."""
    if viewer is None or viewer.role in (Role.BOARD, Role.ANALYST):
        return viewer is None or viewer.may(NOTES)
    if not viewer.may(NOTES):
        return False
    key = unit.casefold()
    if viewer.role is Role.TEAM_MANAGER:
        return level == "team" and key in {t.casefold() for t in viewer.teams}
    services = {s.casefold() for s in viewer.services}
    if level == "service":
        return key in services
    if level == "team":
        return any(team.casefold() == key and (service or "").casefold() in services for team, service, _ in org)
    return False


def check_note(viewer: Viewer | None, level: str, unit: str, org: Iterable[tuple[str, str, str]]) -> None:
    """Refuse (AccessDenied) a note `viewer` may not write."""
    if may_write_note(viewer, level, unit, org):
        return
    assert viewer is not None
    if not viewer.may(NOTES):
        raise AccessDenied(viewer.refusal(NOTES))
    scope = ", ".join(viewer.teams or viewer.services)
    raise AccessDenied(
        f"You are signed in as {viewer.describe()}: you may write notes for {scope} only, and {unit} is outside it."
    )


def check_plans(viewer: Viewer | None) -> None:
    """Refuse (AccessDenied) unless `viewer` may edit actions and events (analysts, the board, the command line)."""
    if viewer is not None and not viewer.may(PLANS):
        raise AccessDenied(viewer.refusal(PLANS))


# --- the access file against the organisation reference ----------------------------

log = logging.getLogger("cpip.access")


def unknown_scope(file: AccessFile | None, org: Iterable[tuple[str, str, str]]) -> list[str]:
    """A sentence for each team or service the access file names that the organisation
    reference (team, service, area rows) does not, with the closest known names: that
    user would otherwise see only refusals. Names match as the policy matches them (case aside)."""
    if file is None:
        return []
    rows = list(org)
    known = {"team": sorted({t for t, _, _ in rows if t}), "service": sorted({s for _, s, _ in rows if s})}
    found = []
    for user, entry in file.users.items():
        for kind, names in (("team", entry.teams), ("service", entry.services)):
            folded = {k.casefold() for k in known[kind]}
            for name in names:
                if name.casefold() in folded:
                    continue
                close = difflib.get_close_matches(name, known[kind], n=2, cutoff=0.6)
                hint = f" (closest: {' or '.join(close)})" if close else ""
                found.append(
                    f"The access file gives {user} the {kind} {name!r}, which the organisation reference does not "
                    f"name{hint}: {user} sees only refusals until the access file or the reference is corrected."
                )
    return found


def check_access_file(db: Db = None) -> list[str]:
    """The access file's unknown teams and services against the organisation reference in the
    warehouse, each logged as a warning; [] in single-user mode or before any organisation is loaded."""
    current = policy()
    if current.single_user:
        return []
    from etl.store.warehouse import reading

    with reading(db) as con:
        org = con.execute("SELECT team, service, area FROM organisation").fetchall()
    if not org:
        return []
    found = unknown_scope(current.file, org)
    for sentence in found:
        log.warning("%s", sentence)
    return found


def os_user() -> str:
    """The operating-system user running a command (the CLI, the inbox, an app with no sign-on)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")
