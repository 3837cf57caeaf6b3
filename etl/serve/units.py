"""The months the warehouse can report and the organisation's units at each level."""

from __future__ import annotations

import pandas as pd

from etl.rules.calendar import period_of
from etl.serve.common import _check_level, _resolve
from etl.store import authority
from etl.store.db import Connection, Db
from etl.store.warehouse import reading

# --- periods and organisation --------------------------------------------------


# A month is one the scorecard offers when some figure in it is more than a count of 0:
# an extract covers the days up to its as-of date, so the month it was taken in holds
# zero counts (no missing episodes yet) long before it can be reported.
_REPORTED = "(denominator IS NOT NULL OR numerator <> 0)"


def latest_period(db: Db = None) -> str | None:
    """The latest month with any KPI in the warehouse, or None when it is empty."""
    with reading(db) as con:
        latest = con.execute(f"SELECT max(period) AS latest FROM kpi_monthly WHERE {_REPORTED}").fetchone()[0]
    return period_of(latest) if latest else None


def periods(db: Db = None) -> list[str]:
    """Every month with any KPI, oldest first."""
    with reading(db) as con:
        rows = con.execute(f"SELECT DISTINCT period FROM kpi_monthly WHERE {_REPORTED} ORDER BY period").fetchall()
    return [period_of(p) for (p,) in rows]


def org_units(db: Db = None) -> pd.DataFrame:
    """The organisation reference: team, service, area (by area, service, team)."""
    with reading(db) as con:
        return con.execute("SELECT team, service, area FROM organisation ORDER BY area, service, team").df()


# Records with no team count as the team Unallocated (docs/spec/windows.md): listed wherever teams are,
# once there are any, so the teams add up to the authority.
_UNALLOCATED = (
    "SELECT 'Unallocated' WHERE EXISTS (SELECT 1 FROM kpi_monthly WHERE level = 'team' AND org_unit = 'Unallocated')"
)
_UNITS_SQL = {
    "team": f"SELECT DISTINCT team AS org_unit FROM organisation UNION {_UNALLOCATED}",
    "service": "SELECT DISTINCT service AS org_unit FROM organisation",
    "area": "SELECT DISTINCT area AS org_unit FROM organisation",
    "la": "SELECT CAST($authority AS VARCHAR) AS org_unit",
}


def _units_at(con: Connection, level: str) -> list[str]:
    _check_level(level)
    params = {"authority": authority.current().name} if level == "la" else {}
    rows = con.execute(f"SELECT org_unit FROM ({_UNITS_SQL[level]}) AS units ORDER BY org_unit", params).fetchall()
    return [u for (u,) in rows]


def units_at(level: str, db: Db = None) -> list[str]:
    """Every org unit at a level (alphabetical); `la` is the authority alone."""
    with reading(db) as con:
        return _units_at(con, level)


def _teams_under(con: Connection, level: str, unit: str) -> list[str]:
    """The teams of a unit: all of them for the authority, the unit itself for a team."""
    if level == "team":
        return [unit]
    where = {"la": "true", "area": "area = $unit", "service": "service = $unit"}[level]
    params = {"unit": unit} if level != "la" else {}
    rows = con.execute(f"SELECT DISTINCT team FROM organisation WHERE {where} ORDER BY team", params).fetchall()
    teams = [t for (t,) in rows]
    if level == "la" and con.execute(_UNALLOCATED).fetchall():
        teams.append("Unallocated")
    return teams


def _children(con: Connection, level: str, unit: str) -> list[str]:
    """The units one level below `unit` (empty for a team)."""
    if level == "team":
        return []
    if level == "la":
        return _units_at(con, "service")
    return _teams_under(con, level, unit)


def _resolve_unit(con: Connection, level: str, unit: str) -> str:
    """The org unit `unit` names at `level`, as the organisation reference spells it."""
    return _resolve(
        {"la": "authority", "area": "area", "service": "service", "team": "team"}[level], unit, _units_at(con, level)
    )


def resolve_unit(level: str, unit: str, db: Db = None) -> str:
    """The org unit `unit` names at `level` (matched as the loader matches); UnknownName
    naming the known units when there is none."""
    _check_level(level)
    with reading(db) as con:
        return _resolve_unit(con, level, unit)
