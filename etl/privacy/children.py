"""From a figure to the children behind it: child lists and what falls due.

Both are selections from the one record-level query of each KPI source
(etl/rules/kpis/<source>.sql, `kpis.record_sql`), the same rows the mart
`kpi_monthly` is grouped from, so a list cannot disagree with its figure:

    metric_id, period (month), team, child_id, start, deadline, event_date, working_days, outcome, ...

`outcome` is `met`, `late`, `overdue` (no event, deadline passed on the day
judged) or `not yet due` (listed, outside the figure) for a timed KPI; `met`
(the numerator) or `not met` for a share without a deadline (re-referrals,
audit grades); empty for a count. A child list is the rows of its months
judged on each record's own as-of date, as the mart judges them; the due list
is the open rows of every timed KPI (metrics.yml `clock`) judged on its "now"
(the `on` argument, or the latest as-of date of the source's records).

Every list leaves this module through `child_list` or `due_list`, which ask
the access policy (etl/privacy/access.py) whether the current viewer may see those
teams' children, and record the view in the access log before returning it.
child_id is the only thing about a child in any list; nothing new is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from etl.catalogue.contract import EXTRACT_TYPES
from etl.catalogue.levels import LEVELS
from etl.catalogue.metrics import Metric, catalogue
from etl.privacy import access, access_log
from etl.rules import kpis
from etl.rules.calendar import financial_year_months, parse_period, quarter_months
from etl.store import authority
from etl.store.db import Db
from etl.store.warehouse import reading

# Every KPI source but kpi_values has records behind it, judged in etl/rules/kpis/<source>.sql.
RECORD_SOURCES = kpis.RECORD_SOURCES
LIST_COLUMNS = ["child_id", "team", "start", "deadline", "event_date", "working_days", "outcome"]
# `worker`: the allocated worker, where the extract gives one (etl/catalogue/contract.py), so a team manager
# sees whose each record is. The due list is a child list (access.CHILDREN), so no other role ever sees it.
DUE_COLUMNS = ["metric_id", "child_id", "team", "worker", "start", "deadline", "days_left", "days_overdue", "outcome"]
COUNTED = kpis.COUNTED  # the denominator's outcomes; `not yet due` is outside


def timed_metrics() -> list[Metric]:
    """The KPIs with a deadline (metrics.yml `clock`): their open records fall due."""
    return [m for m in catalogue().metrics if m.timed and is_record_level(m)]


def is_record_level(metric: Metric) -> bool:
    """A KPI counted from records in the warehouse (not given upstream as kpi_values)."""
    return metric.source in RECORD_SOURCES


def record_metric(metric_id: str) -> Metric:
    try:
        metric = catalogue().metric(metric_id)
    except KeyError:
        raise ValueError(f"{metric_id!r} is not a KPI in metrics.yml") from None
    if not is_record_level(metric):
        raise ValueError(f"{metric.label} is counted upstream (kpi_values): there are no records behind it")
    return metric


_FY = re.compile(r"^\d{4}/\d{2}$")
_QUARTER = re.compile(r"^\d{4}/\d{2} Q[1-4]$")


def period_months(period: str) -> list[str]:
    """The months of a period: `2023-07`, a financial-year quarter `2023/24 Q2`, or a year `2023/24`."""
    text = (period or "").strip()
    if _QUARTER.match(text):
        return quarter_months(text)
    if _FY.match(text):
        return financial_year_months(text)
    parse_period(text)  # raises ValueError with a readable message
    return [text]


def records_sql(source: str) -> str:
    """A source's record-level SELECT (etl/rules/kpis/<source>.sql), ready to run on a read-only
    connection; it takes `$on` (None: each record judged on its own as-of date)."""
    return kpis.record_sql(source)


def _unit_teams(con: duckdb.DuckDBPyConnection, level: str, unit: str) -> list[str]:
    if level == "team":
        # Unallocated: the records with no team (docs/spec/windows.md), a team wherever teams are listed.
        found = con.execute(
            "SELECT team FROM organisation WHERE team = $unit UNION SELECT 'Unallocated' WHERE $unit = 'Unallocated'",
            {"unit": unit},
        ).fetchall()
    else:
        sql = f"SELECT DISTINCT team FROM organisation WHERE {level} = ? ORDER BY team"  # level: one of LEVELS
        found = con.execute(sql, [unit]).fetchall()
    if not found:
        raise ValueError(f"{unit!r} is not a {level} in the organisation reference")
    return [t for (t,) in found]


def _scope(con: duckdb.DuckDBPyConnection) -> tuple[access.Viewer | None, set[str] | None]:
    """The current viewer (None: the command line) and the teams they may see (None: all)."""
    viewer = access.require(access.CHILDREN)
    if viewer is None or viewer.sees_every_child:
        return viewer, None
    org = con.execute("SELECT team, service FROM organisation").fetchall()
    return viewer, access.allowed_teams(viewer, org)


def _wanted_teams(con: duckdb.DuckDBPyConnection, level: str, unit: str | None) -> tuple[list[str], str]:
    """The teams behind a unit, and the unit in words."""
    if level not in LEVELS:
        raise ValueError(f"{level!r} is not a level (one of {', '.join(LEVELS)})")
    if level == "la":
        teams = [t for (t,) in con.execute("SELECT team FROM organisation").fetchall()]
        return [*teams, "Unallocated"], "the whole authority"
    if not unit:
        raise ValueError(f"name the {level} (a unit is needed below the authority as a whole)")
    return _unit_teams(con, level, unit), f"the {level} {unit}"


def check_scope(*, level: str | None = None, unit: str | None = None, team: str | None = None, db: Db = None) -> None:
    """Refuse (AccessDenied) a child list of `level`/`unit`, or the due list of
    `team` (None: every team the viewer may see), outside the current viewer's
    teams. The gate asks before a page is built; the lists ask again."""
    viewer = access.require(access.CHILDREN)  # a role without child lists: refused before any query
    if viewer is None or viewer.sees_every_child:
        return  # every team: nothing to look up (the list itself checks the unit exists)
    with reading(db) as con:
        viewer, allowed = _scope(con)
        if level is not None:
            wanted, what = _wanted_teams(con, level, unit)
        elif team:
            wanted, what = _unit_teams(con, "team", team), f"the team {team}"
        else:
            wanted, what = [], "every team"
        access.check_teams(viewer, wanted, allowed, what)


def may_list(level: str, unit: str | None, db: Db = None) -> bool:
    """Whether the current viewer may open the child lists of this unit (for links)."""
    try:
        check_scope(level=level, unit=unit, db=db)
    except (access.AccessDenied, ValueError):
        return False
    return True


@dataclass
class ChildList:
    """The records behind one figure, and the figure as the scorecard shows it."""

    metric: Metric
    period: str
    months: list[str]
    level: str
    unit: str
    rows: pd.DataFrame  # LIST_COLUMNS, soonest start first
    numerator: float | None  # the scorecard's (kpi_monthly, summed over the months)
    denominator: float | None
    given_upstream: list[str] = field(default_factory=list)  # months whose figure kpi_values gives

    @property
    def met(self) -> int:
        return int((self.rows["outcome"] == "met").sum())

    @property
    def counted(self) -> int:
        if self.metric.unit == "count":
            return len(self.rows)
        return int(self.rows["outcome"].isin(COUNTED).sum())

    @property
    def not_yet_due(self) -> int:
        return int((self.rows["outcome"] == "not yet due").sum())

    @property
    def ties(self) -> bool:
        """The rows add up to the scorecard's figure (where the figure is counted from
        records: a month outside the extract's cover may be given upstream instead)."""
        if self.given_upstream:
            return False
        if self.metric.unit == "count":
            return (self.numerator or 0) == self.counted
        return (self.numerator or 0) == self.met and (self.denominator or 0) == self.counted

    @property
    def children(self) -> int:
        return int(self.rows["child_id"].nunique())


def _list_rows(
    con: duckdb.DuckDBPyConnection, metric: Metric, months: list[str], level: str, unit: str
) -> pd.DataFrame:
    firsts = [parse_period(m) for m in months]
    params: dict = {"metric": metric.metric_id, "months": firsts}
    where = ""
    if level == "team":
        where = "AND team = $unit"  # Unallocated too: a team with no row in the organisation reference
        params["unit"] = unit
    elif level != "la":
        where = f"AND team IN (SELECT team FROM organisation WHERE {level} = $unit)"  # level: one of LEVELS
        params["unit"] = unit
    records = records_sql(metric.source)
    sql = f"""
        SELECT child_id, team, start, deadline, event_date, working_days, outcome
        FROM ({records}) AS r
        WHERE metric_id = $metric AND period IN (SELECT unnest(CAST($months AS DATE[]))) {where}
        ORDER BY start, team, child_id
    """
    frame = con.execute(sql, {**params, **kpis.record_params(records)}).df()
    frame["working_days"] = frame["working_days"].astype("Int64")
    return frame[LIST_COLUMNS]


def _figure(
    con: duckdb.DuckDBPyConnection, metric: Metric, months: list[str], level: str, unit: str
) -> tuple[float | None, float | None]:
    numerator, denominator, rows = con.execute(
        "SELECT sum(numerator) AS numerator, sum(denominator) AS denominator, count(*) AS months FROM kpi_monthly"
        " WHERE metric_id = ? AND level = ? AND org_unit = ? AND period IN (SELECT unnest(CAST(? AS DATE[])))",
        [metric.metric_id, level, unit, [parse_period(m) for m in months]],
    ).fetchone()
    if not rows:
        return None, None
    return numerator, (None if metric.unit == "count" else denominator)


def _given_upstream(con: duckdb.DuckDBPyConnection, metric: Metric, months: list[str]) -> list[str]:
    """The months whose figure kpi_values gives: those outside the months the
    metric's extract covers (etl.rules.kpis.coverage), where the mart takes them instead."""
    cover = kpis.coverage(con).get(metric.metric_id, [])  # per metric (docs/spec/windows.md)
    outside = [parse_period(m) for m in months]
    outside = [d for d in outside if not any(first <= d <= last for first, last in cover)]
    if not outside:
        return []
    found = con.execute(
        "SELECT DISTINCT CAST(date_trunc('month', period) AS DATE) AS month FROM kpi_values"
        " WHERE metric_id = ? AND CAST(date_trunc('month', period) AS DATE) IN (SELECT unnest(CAST(? AS DATE[])))",
        [metric.metric_id, outside],
    ).fetchall()
    given = {d for (d,) in found}
    return [m for m in months if parse_period(m) in given]


def _quote(text: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    """Spaces as %20 and the financial year's slash kept: `period=2023/24%20Q1`."""
    from urllib.parse import quote

    return quote(text, safe="/", encoding=encoding, errors=errors)


def list_address(metric_id: str, period: str, level: str, unit: str | None, *, csv: bool = False) -> str:
    """`/kpi/seen_5wd/children?period=2023-07&level=team&unit=Coastal%20FS%201` (the page or its .csv)."""
    from urllib.parse import urlencode

    params = {"period": period, "level": level}
    if unit and level != "la":
        params["unit"] = unit
    return f"/kpi/{metric_id}/children{'.csv' if csv else ''}?" + urlencode(params, quote_via=_quote)


def child_list(
    metric_id: str,
    period: str,
    level: str,
    unit: str | None = None,
    *,
    fmt: str = "cli",
    db: Db = None,
) -> ChildList:
    """The records behind one figure (any month, quarter or year; any level and
    unit), if the current viewer may see those teams' children; the view is
    recorded in the access log (`fmt`: page, csv, cli) before it is returned.
    AccessDenied if not allowed; ValueError for a KPI, period, level or unit
    that is not there."""
    metric = record_metric(metric_id)
    months = period_months(period)
    if level == "la":
        unit = authority.current().name
    with reading(db) as con:
        viewer, allowed = _scope(con)
        wanted, what = _wanted_teams(con, level, unit)
        access.check_teams(viewer, wanted, allowed, what)
        rows = _list_rows(con, metric, months, level, unit)
        numerator, denominator = _figure(con, metric, months, level, unit)
        upstream = _given_upstream(con, metric, months) if numerator is not None else []
    result = ChildList(metric, period, months, level, unit, rows, numerator, denominator, upstream)
    _record(viewer, list_address(metric_id, period, level, unit, csv=fmt == "csv"), fmt, result.children, db)
    return result


def _record(viewer: access.Viewer | None, address: str, fmt: str, children: int, db: Db) -> None:
    if viewer is None:
        who, role = access.os_user(), "command line"
    else:
        who, role = viewer.name, str(viewer.role)
    access_log.record(who=who, role=role, list_name=address, fmt=fmt, children=children, db=db)


# How far back an overdue record is listed by default: older ones are folded into a count (a team
# manager's week is what falls due and what went overdue lately, not an interview missed years ago).
DUE_CUTOFF_MONTHS = 3
CUTOFF_CHOICES = (1, 3, 6, 12, 0)  # 0: every overdue record listed


@dataclass
class DueList:
    rows: pd.DataFrame  # DUE_COLUMNS: due soonest first, then overdue most recent first
    days: int
    team: str | None
    teams: list[str] | None  # the teams covered (None: every team)
    on: date | None
    now: dict[str, date | None]  # the "now" of each extract type
    level: str = "team"  # the unit asked for: a team, a service, an area, or (with no unit) every team
    unit: str | None = None
    cutoff: int = DUE_CUTOFF_MONTHS  # months; overdue longer than this is counted, not listed (0: all listed)
    older: int = 0  # overdue records left out by the cut-off
    older_children: int = 0

    @property
    def children(self) -> int:
        return int(self.rows["child_id"].nunique())

    @property
    def overdue(self) -> int:
        """Overdue records listed (the cut-off's are in `older`)."""
        return int((self.rows["outcome"] == "overdue").sum())

    @property
    def due(self) -> int:
        return len(self.rows) - self.overdue

    @property
    def scope(self) -> str:
        """The unit in words: "Coastal FS 1", "the service Family Safeguarding", "every team"."""
        if self.level == "team" and self.unit:
            return self.unit
        if self.unit:
            return f"the {self.level} {self.unit}"
        if self.teams is None:
            return "every team"
        return f"{len(self.teams)} {'team' if len(self.teams) == 1 else 'teams'}"


def due_address(
    team: str | None,
    days: int,
    on: date | None,
    *,
    csv: bool = False,
    level: str | None = None,
    unit: str | None = None,
    cutoff: int = DUE_CUTOFF_MONTHS,
) -> str:
    """`/due?team=Coastal%20FS%201&days=5` (a team), `/due?level=service&unit=...&days=5` (a service or area)."""
    from urllib.parse import urlencode

    params: dict = {}
    if team:
        params["team"] = team
    elif level and level not in ("team", "la") and unit:
        params["level"] = level
        params["unit"] = unit
    params["days"] = days
    if on:
        params["on"] = on.isoformat()
    if cutoff != DUE_CUTOFF_MONTHS:
        params["cutoff"] = cutoff
    return f"/due{'.csv' if csv else ''}?" + urlencode(params, quote_via=_quote)


def due_list(
    *,
    team: str | None = None,
    days: int = 5,
    on: date | None = None,
    fmt: str = "cli",
    db: Db = None,
    level: str | None = None,
    unit: str | None = None,
    cutoff: int = DUE_CUTOFF_MONTHS,
) -> DueList:
    """Open records of every timed KPI whose deadline falls in the next `days`
    working days, and those overdue: for one team (`team`, or `level="team"`),
    a service or an area (`level`, `unit`), or every team the viewer may see.
    Due soonest first, then overdue most recent first, each with the days to its
    deadline or the days since it passed; overdue for more than `cutoff` months
    (0: none) is counted in `older`, not listed. "Now" is `on`, else each extract
    type's latest as-of."""
    if not 0 <= days <= 260:
        raise ValueError(f"days must be between 0 and 260 working days, not {days}")
    if not 0 <= cutoff <= 120:
        raise ValueError(f"the cut-off must be between 0 (none) and 120 months, not {cutoff}")
    if level == "team" and unit and not team:
        team = unit
    if team:
        level, unit = "team", team
    elif level in (None, "la") or not unit:
        level, unit = "team", None
    with reading(db) as con:
        viewer, allowed = _scope(con)
        if team:
            _unit_teams(con, "team", team)
            access.check_teams(viewer, [team], allowed, f"the team {team}")
            teams: list[str] | None = [team]
        elif unit:
            teams, what = _wanted_teams(con, level, unit)
            access.check_teams(viewer, teams, allowed, what)
        elif allowed is not None:
            access.check_teams(viewer, [], allowed, "every team")
            teams = sorted(allowed)
        else:
            teams = None
        now = _now(con, on)
        frame = _due_rows(con, now, days, teams)
    frame, older = _fold_older(frame, now, cutoff)
    result = DueList(
        frame[DUE_COLUMNS].reset_index(drop=True), days, team, teams, on, now, level, unit, cutoff,
        len(older), int(older["child_id"].nunique()),
    )  # fmt: skip
    address = due_address(team, days, on, csv=fmt == "csv", level=level, unit=unit, cutoff=cutoff)
    _record(viewer, address, fmt, result.children, db)
    return result


def _fold_older(frame: pd.DataFrame, now: dict[str, date | None], cutoff: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rows listed, the overdue rows older than `cutoff` months before their source's "now")."""
    if not cutoff or frame.empty:
        return frame, frame.iloc[0:0]
    sources = {m.metric_id: m.source for m in timed_metrics()}
    limits = {s: _months_before(d, cutoff) for s, d in now.items() if d is not None}
    limit = frame["metric_id"].map(lambda m: limits.get(sources.get(m)))
    deadline = frame["deadline"].astype(str).str.slice(0, 10)
    older = (frame["outcome"] == "overdue") & limit.notna() & (deadline < limit.fillna(""))
    return frame[~older], frame[older]


def _months_before(day: date, months: int) -> str:
    """The ISO date `months` calendar months before `day` (the 31st falls back to the month's last day)."""
    import calendar as _calendar

    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1])).isoformat()


def _now(con: duckdb.DuckDBPyConnection, on: date | None) -> dict[str, date | None]:
    """The "now" of each source with a timed KPI: `on`, else the latest as-of date of its records
    (that of the latest load that brought any of them), its table named by the contract."""
    sources = sorted({m.source for m in timed_metrics()}, key=kpis.SOURCES.index)
    if on is not None:
        return dict.fromkeys(sources, on)
    return {s: con.execute(f'SELECT max(as_of) FROM "{EXTRACT_TYPES[s].table}"').fetchone()[0] for s in sources}


def _due_rows(con: duckdb.DuckDBPyConnection, now: dict[str, date | None], days: int, teams: list[str] | None):
    """The open records of every timed KPI, judged on their source's "now": overdue, or due with a
    deadline at or before now + `days` working days. The same rows as the figures, so a record the
    figure leaves out (e.g. a Yes/No seen flag) is never due."""
    parts, params = [], {"days": days, "metrics": [m.metric_id for m in timed_metrics()]}
    for i, (source, today) in enumerate(now.items()):
        # Each source's query judges on its own "now" ($on renamed per source within the one statement).
        records = re.sub(r"\$on\b", f"$on_{i}", records_sql(source))
        params[f"on_{i}"] = today
        worker = "worker" if "worker" in EXTRACT_TYPES[source].column_names else "CAST(NULL AS VARCHAR)"
        parts.append(
            f"""SELECT metric_id, child_id, team, {worker} AS worker, start, deadline,
                       CASE WHEN outcome = 'overdue' THEN 'overdue' ELSE 'due' END AS outcome, due_at,
                       CAST(CAST(due_at AS DATE) - CAST($on_{i} AS DATE) AS INTEGER) AS days_to
                FROM ({records}) AS r_{i}
                WHERE outcome IN ('overdue', 'not yet due') AND deadline IS NOT NULL
                  AND deadline_wd <= (SELECT working_day_number FROM calendar
                                      WHERE day = CAST($on_{i} AS DATE)) + $days"""
        )
    if not parts:
        return pd.DataFrame(columns=DUE_COLUMNS)
    where = "WHERE metric_id IN (SELECT unnest(CAST($metrics AS VARCHAR[])))"
    if teams is not None:
        where += " AND team IN (SELECT unnest(CAST($teams AS VARCHAR[])))"
        params["teams"] = teams
    # Calendar days either side of the deadline's date: what a person counts on a wall calendar.
    sql = f"""SELECT metric_id, child_id, team, worker, start, deadline,
                     CASE WHEN outcome = 'due' THEN days_to END AS days_left,
                     CASE WHEN outcome = 'overdue' THEN -days_to END AS days_overdue, outcome
              FROM ({" UNION ALL ".join(parts)}) AS d {where}
              ORDER BY CASE WHEN outcome = 'overdue' THEN 1 ELSE 0 END,
                       CASE WHEN outcome = 'due' THEN due_at END, due_at DESC, metric_id, team, child_id"""
    frame = con.execute(sql, params).df()
    for name in ("days_left", "days_overdue"):
        frame[name] = frame[name].astype("Int64")
    return frame
