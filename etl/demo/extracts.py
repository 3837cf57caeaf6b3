"""Deterministic demo extracts: a county-sized children's service, April 2020 to March 2024.

The data is made up, but shaped like the real thing: three areas, five services,
thirty teams; seasonality (referrals dip in August and at Christmas, fewer
missing episodes in winter); the first Covid lockdown; a dip in April 2023,
the month after the ILACS inspection of March 2023 (assessment timeliness,
visits, conferences), and recovery by the summer, as the scrutiny report
(../shared/seeds/003_9490b24cbffc02dc.txt) describes.

The authority-wide figures for July 2023 are the ones that report publishes,
to the record (assessments 375/425 within 45 working days, 22.2% re-referrals,
283 missing episodes, 9/14 initial health assessments, ...), and the audit
table reproduces its Q1 2023/24 row (78 audits, 71 moderated, 1/24/43/3) and
the 2022/23 quarters as closely as their rounded percentages allow. The rules
used to hit them are those of ../shared/spec/kpis.md, with the working days of
etl.rules.calendar and every record judged at the demo's as-of date, 5 April 2024.

No names, addresses or dates of birth: children are `C000123`. One fixed seed
per extract, so every run writes the same bytes.
"""

from __future__ import annotations

import calendar as month_calendar
import csv
import random
import zlib
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate, pairwise
from pathlib import Path

from etl.paths import ROOT
from etl.rules.calendar import add_working_days, is_working_day, months_between, parse_period, period_of

DEFAULT_FOLDER = ROOT / "data" / "demo"

SEED = 20230713
AS_OF = date(2024, 4, 5)  # the date the demo extracts were "taken"
FIRST_PERIOD, LAST_PERIOD = "2020-04", "2024-03"
START = date(2020, 4, 1)
# Nothing is dated after March 2024: a part-month of April would become the latest period on the scorecard.
END = date(2024, 3, 31)
END_AT = datetime(2024, 3, 31, 23, 59)
MONTHS = months_between(FIRST_PERIOD, LAST_PERIOD)
FOCUS = "2023-07"  # the month whose figures are the published ones

FILES = (
    "organisation.csv",
    "assessments.csv",
    "health_assessments.csv",
    "missing_episodes.csv",
    "case_audits.csv",
    "referrals.csv",
    "kpi_values.csv",
    "actions.csv",
)

# The seed report's Strategy Discussion Practice Action Plan (3.9: its six actions and their
# dates; roles in place of the people) and the Assessments plan (3.10). Statuses as a tracker
# might say them on the demo's as-of date: an action past its date and not done shows overdue.
_SD, _AS = (
    "Strategy discussions and child protection investigations",
    ("Assessments and plans for children in need and in need of protection"),
)
DEMO_ACTIONS = (
    ("SD-1", _SD, "Review practice guidance and process for convening strategy discussions",
     "Assistant Director, Safeguarding", "Head of Service, MASH", "2023-08-31", "done", "icpc_15wd"),
    ("SD-2", _SD, "Deliver bite-size training on strategy discussions and S47 enquiries, with partner agencies "
     "in the MASH, at team meetings", "Assistant Director, Safeguarding", "Head of Service, MASH", "2023-09-30",
     "done", "icpc_15wd;seen_5wd"),
    ("SD-3", _SD, "Review strategy discussions and S47 enquiries through collaborative and thematic audits and "
     "Back to the Floor", "Assistant Director, Safeguarding",
     "Head of Safeguarding and Head of Practice Improvement", "", "on track", "icpc_15wd;audits_good"),
    ("SD-4", _SD, "Safeguarding Partnership subgroup to include strategy discussions and S47 in its programme "
     "of partnership audits", "Assistant Director, Safeguarding",
     "Designated Nurse Safeguarding Children and Head of Safeguarding", "2024-01-31", "on track", "icpc_15wd"),
    ("SD-5", _SD, "Target child protection conferences for audit", "Assistant Director, Safeguarding",
     "Head of Safeguarding", "2023-07-31", "done", "icpc_15wd"),
    ("SD-6", _SD, "Principal Social Worker and Heads of Service observe strategy meetings for compliance and "
     "good practice", "Assistant Director, Safeguarding", "Head of Practice Improvement", "2023-10-31",
     "at risk", "icpc_15wd"),
    ("AS-1", _AS, "Review practice guidance on Child and Family Assessments: what a good assessment contains",
     "Assistant Director, Safeguarding", "Head of Service, Assessment and Intervention", "2023-08-31", "done",
     "assessments_45wd;assessment_audits_good"),
    ("AS-2", _AS, "Bite-size training on what makes a good assessment: genograms, chronologies, non-resident "
     "parents, initial visits", "Assistant Director, Safeguarding", "Head of Practice Improvement",
     "2023-09-30", "done", "assessment_audits_good"),
    ("AS-3", _AS, "Review the 2023/24 training offer for assessment skills", "Assistant Director, Safeguarding",
     "Head of Practice Improvement", "2023-09-30", "on track", "assessment_audits_good"),
    ("AS-4", _AS, "Use the Neglect Toolkit within Child and Family Assessments", "Assistant Director, Safeguarding",
     "Head of Service, Family Safeguarding", "2023-10-31", "not started", "assessments_45wd;seen_5wd"),
)  # fmt: skip
DEMO_NOTES_PERIOD = "2023-07"

AI, FS, CWCF, LC, CWD = (
    "Assessment and Intervention",
    "Family Safeguarding",
    "Children We Care For",
    "Leaving Care",
    "Children with Disabilities",
)
# area: the prefix its team names carry
AREAS = {"Northern": "North", "Central": "Central", "Western": "Coastal"}
AREA_WEIGHTS = {"Northern": 0.34, "Central": 0.37, "Western": 0.29}
# service: (abbreviation in team names, teams per area)
SERVICES = {AI: ("A&I", 3), FS: ("FS", 2), CWCF: ("CWCF", 2), LC: ("LC", 2), CWD: ("CWD", 1)}

GOOD, OUTSTANDING, RI, INADEQUATE = "Good", "Outstanding", "Requires Improvement", "Inadequate"
GRADES = (OUTSTANDING, GOOD, RI, INADEQUATE)

# The published July 2023 figures this data reproduces (kpis.md, from the seed report).
FOCUS_ASSESSMENTS_COMPLETED, FOCUS_ASSESSMENTS_ON_TIME = 425, 375  # 88.2%
FOCUS_SEEN_RATE = 670  # per mille: 67.0%
FOCUS_REFERRALS, FOCUS_REREFERRALS = 450, 100  # 22.2%
FOCUS_MISSING_EPISODES = 283
FOCUS_RHI_RATE = 770  # per mille: 77.0%
FOCUS_CARE_STARTS, FOCUS_IHA_ON_TIME = 14, 9  # 64.3%

# Q1 2023/24 of the published audit table: month -> (audits, moderated audits by moderated grade)
AUDIT_MONTHS = {
    "2023-04": (27, {OUTSTANDING: 1, GOOD: 6, RI: 17, INADEQUATE: 2}),
    "2023-05": (27, {GOOD: 10, RI: 14, INADEQUATE: 1}),
    "2023-06": (24, {GOOD: 8, RI: 12}),
}
# The earlier 2022/23 quarters of the same table: (months, audits per month, moderated by grade).
# Q2's 30% Good cannot be hit with 75 moderations next to 57% and 13% (22/75 = 29.3%); the rest are exact.
AUDIT_QUARTERS = (
    (("2022-07", "2022-08", "2022-09"), (31, 24, 32), {GOOD: 22, RI: 43, INADEQUATE: 10}),
    (("2022-10", "2022-11", "2022-12"), (32, 31, 23), {GOOD: 20, RI: 42, INADEQUATE: 12}),
    (("2023-01", "2023-02", "2023-03"), (20, 18, 16), {GOOD: 14, RI: 29, INADEQUATE: 8}),
)
# July 2023: (audit type, moderated grade or None, how many). A thematic month on management
# oversight and assessments, the CPIP's first: 7/17 = 41.2% (the closest a month's sample gets
# to the published 41%), 7/11 = 63.6%, and 3/3 leaving-care planning audits good.
FOCUS_AUDITS = (
    ("management_oversight", GOOD, 7),
    ("management_oversight", RI, 9),
    ("management_oversight", INADEQUATE, 1),
    ("management_oversight", None, 1),
    ("assessment", GOOD, 7),
    ("assessment", RI, 4),
    ("assessment", None, 1),
    ("leaving_care_planning", GOOD, 3),
    ("collaborative", GOOD, 1),
    ("collaborative", RI, 1),
    ("collaborative", None, 1),
)

# July 2023 aggregate values: metric -> (numerator, denominator or None for a count)
FOCUS_KPI_VALUES = {
    "mo_up_to_date": (1834, 2000),  # 91.7%
    "homeless_16_17": (19, None),
    "sdq_completed": (410, 1000),  # 41.0%
    "dental_up_to_date": (771, 1000),  # 77.1%
    "placements_3plus": (128, 1000),  # 12.8%
    "placed_20mi_out": (225, 1000),  # 22.5%
    "pathway_plans": (516, 600),  # 86.0%
}


@dataclass(frozen=True)
class Team:
    name: str
    service: str
    area: str


def teams() -> list[Team]:
    """The organisation reference: `North A&I 1` ... `Coastal CWD 1`, thirty teams."""
    out = []
    for service, (abbreviation, per_area) in SERVICES.items():
        for area, prefix in AREAS.items():
            for i in range(1, per_area + 1):
                out.append(Team(f"{prefix} {abbreviation} {i}", service, area))
    return out


# --- working days -----------------------------------------------------------------------------


class _Days:
    """Working-day arithmetic in constant time: the running count of working days that the
    warehouse's calendar table carries, built from etl.rules.calendar.is_working_day."""

    def __init__(self, first: date, last: date) -> None:
        self.first = first
        self.cum: list[int] = []
        self.nth: dict[int, date] = {}
        count, day = 0, first
        while day <= last:
            if is_working_day(day):
                count += 1
                self.nth[count] = day
            self.cum.append(count)
            day += timedelta(days=1)

    def number(self, day: date) -> int:
        return self.cum[(day - self.first).days]

    def between(self, start: date, end: date) -> int:
        """Working days after start up to and including end (etl.rules.calendar.working_days_between)."""
        return self.number(end) - self.number(start)

    def add(self, start: date, n: int) -> date:
        """The date n working days after start (etl.rules.calendar.add_working_days)."""
        return start if n == 0 else self.nth[self.number(start) + n]

    def back(self, end: date, n: int) -> date:
        """The working day that lies n working days before end."""
        return self.nth[self.number(end) - n]

    def month(self, period: str, working_only: bool = True) -> list[date]:
        first = parse_period(period)
        last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [d for d in days if is_working_day(d)] if working_only else days


# --- small helpers -------------------------------------------------------------------------------


class _Ids:
    """Child ids, `C000001` upwards, shared by every extract so a child is one child."""

    def __init__(self) -> None:
        self.count = 0

    def new(self) -> str:
        self.count += 1
        return f"C{self.count:06d}"


def _rng(name: str) -> random.Random:
    # One generator per extract: changing one extract's recipe leaves the others' bytes alone.
    return random.Random(f"{SEED}-{name}")


def _series(
    rng: random.Random,
    first: float,
    last: float,
    sd: float,
    events: dict[str, float] | None = None,
    lo: float = 0.0,
    hi: float = 1.0,
) -> dict[str, float]:
    """A monthly value drifting from first to last, with noise and named events (deltas)."""
    events = events or {}
    out = {}
    for i, period in enumerate(MONTHS):
        value = first + (last - first) * i / (len(MONTHS) - 1) + rng.gauss(0, sd) + events.get(period, 0.0)
        out[period] = min(hi, max(lo, value))
    return out


def _choose(rng: random.Random, weights: Sequence[float], k: int) -> set[int]:
    """k indices without replacement, in proportion to weights (Efraimidis-Spirakis keys)."""
    keys = sorted(((rng.random() ** (1.0 / w), i) for i, w in enumerate(weights)), reverse=True)
    return {i for _, i in keys[:k]}


def _nearest_feasible(n: int, per_mille: int) -> tuple[int, int]:
    """The (denominator, numerator) nearest n whose 1-dp percentage rounds to per_mille/10 (67.0%):
    10000 * k / n within [10 * per_mille - 5, 10 * per_mille + 5), in integers to avoid float edges."""
    for step in range(200):
        for candidate in (n - step, n + step):
            k = round(candidate * per_mille / 1000)
            if candidate > 0 and (10 * per_mille - 5) * candidate <= 10000 * k < (10 * per_mille + 5) * candidate:
                return candidate, k
    raise ValueError(f"no denominator near {n} gives {per_mille / 10}%")


def _months_back_12(day: date) -> date:
    """The date 12 calendar months earlier, clipped to the month's end as DuckDB's INTERVAL does."""
    year = day.year - 1
    return date(year, day.month, min(day.day, month_calendar.monthrange(year, day.month)[1]))


def _split(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """total split in proportion to weights (largest remainder; ties broken at random)."""
    raw = [total * w / sum(weights) for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - out[i], rng.random()), reverse=True)
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _numerators(rng: random.Random, k: int, denominators: Sequence[int], rates: Sequence[float]) -> list[int]:
    """Team numerators near rate * denominator that add up to exactly k."""
    out = [min(d, max(0, round(r * d))) for d, r in zip(denominators, rates, strict=True)]
    order = list(range(len(out)))
    rng.shuffle(order)
    while sum(out) != k:
        moved = False
        for i in order:
            gap = k - sum(out)
            if gap > 0 and out[i] < denominators[i]:
                out[i] += 1
                moved = True
            elif gap < 0 and out[i] > 0:
                out[i] -= 1
                moved = True
            if sum(out) == k:
                break
        if not moved:
            raise ValueError(f"numerator {k} does not fit denominators {list(denominators)}")
    return out


def _pick_team(
    rng: random.Random, by_service: dict[str, dict[str, list[Team]]], service: str, area: str | None = None
) -> Team:
    if area is None:
        area = rng.choices(list(AREA_WEIGHTS), weights=list(AREA_WEIGHTS.values()))[0]
    return rng.choice(by_service[service][area])


def _season(period: str, factors: dict[int, float]) -> float:
    return factors[parse_period(period).month]


def _daytime_after(rng: random.Random, t0: datetime, lo_hours: float, hi_hours: float) -> datetime | None:
    """A time in office hours, at a 5-minute mark, strictly more than lo and at most hi hours after t0."""
    hi_hours = min(hi_hours, (END_AT - t0).total_seconds() / 3600)
    if hi_hours <= lo_hours + 0.1:
        return None
    fallback = None
    for _ in range(30):
        t = t0 + timedelta(hours=rng.uniform(lo_hours, hi_hours))
        t = t.replace(minute=t.minute - t.minute % 5, second=0, microsecond=0)
        if not lo_hours < (t - t0).total_seconds() / 3600 <= hi_hours:
            continue
        fallback = fallback or t
        if 9 <= t.hour < 19:
            return t
    return fallback


# --- organisation --------------------------------------------------------------------------------


@dataclass
class _World:
    """What every extract shares: the teams, their strengths, the children."""

    teams: list[Team]
    by_service: dict[str, dict[str, list[Team]]]
    performance: dict[str, float]  # > 1: a team that does better than most
    size: dict[str, float]
    days: _Days
    ids: _Ids
    children_of: dict[str, list[tuple[date, str]]]  # team -> (date, child) of its records, for audits


def _world() -> _World:
    rng = _rng("organisation")
    all_teams = teams()
    by_service: dict[str, dict[str, list[Team]]] = defaultdict(lambda: defaultdict(list))
    for team in all_teams:
        by_service[team.service][team.area].append(team)
    performance = {t.name: rng.uniform(0.8, 1.25) for t in all_teams}
    # The report: performance "continues to be lower than it should" in Family Safeguarding.
    performance["Coastal FS 1"] = 0.6
    size = {t.name: rng.uniform(0.8, 1.2) for t in all_teams}
    return _World(
        all_teams,
        by_service,
        performance,
        size,
        _Days(date(2019, 10, 1), date(2024, 12, 31)),
        _Ids(),
        defaultdict(list),
    )


# --- referrals -------------------------------------------------------------------------------------

# Calendar month -> factor (January first): the August holidays and Christmas are quiet.
REFERRAL_SEASON = dict(enumerate((1.0, 1.0, 1.05, 0.94, 1.03, 1.06, 1.05, 0.8, 1.0, 1.06, 1.08, 0.86), start=1))
# The first lockdown and the winter one: schools shut, fewer referrals.
COVID = {"2020-04": 0.72, "2020-05": 0.8, "2020-06": 0.9, "2020-07": 0.96, "2021-01": 0.88, "2021-02": 0.93}


def _referral_day_weight(day: date) -> float:
    weight = 1.0 if is_working_day(day) else 0.08
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2):
        weight *= 0.45  # the Christmas holidays
    return weight


@dataclass
class _Referral:
    child: str
    team: Team
    day: date


def _referrals(world: _World) -> list[_Referral]:
    """Referrals day by day; each month an exact number of them are re-referrals (an earlier
    referral of the same child on or after the date 12 months before), the rest new children
    or children last referred more than a year ago."""
    rng = _rng("referrals")
    rate = _series(rng, 0.213, 0.224, 0.011)
    out: list[_Referral] = []
    recent: list[tuple[date, str]] = []  # every referral so far, in date order
    oldest = 0  # first entry of `recent` inside the 12-month window
    last_seen: dict[str, date] = {}
    last_team: dict[str, Team] = {}
    area_of: dict[str, str] = {}
    everyone: list[str] = []
    for period in MONTHS:
        if period == FOCUS:
            n, k = FOCUS_REFERRALS, FOCUS_REREFERRALS
        else:
            n = round(428 * _season(period, REFERRAL_SEASON) * COVID.get(period, 1.0) * (1 + rng.gauss(0, 0.025)))
            k = round(n * rate[period])
        month_days = world.days.month(period, working_only=False)
        days = sorted(rng.choices(month_days, weights=[_referral_day_weight(d) for d in month_days], k=n))
        rereferral = set(rng.sample(range(n), k))
        today, today_start, today_children = None, 0, set()
        for i, day in enumerate(days):
            if day != today:
                today, today_start, today_children = day, len(recent), set()
            cutoff = _months_back_12(day)
            while oldest < len(recent) and recent[oldest][0] < cutoff:
                oldest += 1
            child = None
            if i in rereferral and today_start > oldest:
                for _ in range(20):
                    candidate = recent[rng.randrange(oldest, today_start)][1]
                    if candidate not in today_children:
                        child = candidate
                        break
            elif i not in rereferral and everyone and rng.random() < 0.15:
                for _ in range(5):  # a child known long ago, back after more than a year
                    candidate = rng.choice(everyone)
                    if last_seen[candidate] < cutoff:
                        child = candidate
                        break
            if i in rereferral and child is None and period == FOCUS:
                raise ValueError(f"no child to re-refer on {day}")  # never with a county's numbers
            if child is None:
                child = world.ids.new()
                area_of[child] = rng.choices(list(AREA_WEIGHTS), weights=list(AREA_WEIGHTS.values()))[0]
                everyone.append(child)
            if child in last_team and rng.random() < 0.6:
                team = last_team[child]
            else:
                team = _pick_team(rng, world.by_service, AI, area_of[child])
            out.append(_Referral(child, team, day))
            recent.append((day, child))
            today_children.add(child)
            last_seen[child] = day
            last_team[child] = team
    return out


# --- assessments ----------------------------------------------------------------------------------

# Completions follow referrals by a few weeks: September is the quiet month.
ASSESSMENT_SEASON = dict(enumerate((0.95, 1.0, 1.04, 0.97, 0.98, 1.04, 1.04, 1.02, 0.88, 1.0, 1.06, 1.02), start=1))
ASSESSMENT_SERVICES = {AI: 0.8, FS: 0.12, CWD: 0.08}


@dataclass
class _Assessment:
    child: str
    team: Team
    start: date
    completed: date | None
    seen: date | None = None


def _ontime_length(rng: random.Random) -> int:
    return int(rng.triangular(3, 46, 36))  # 3..45 working days, most near the end of the clock


def _late_length(rng: random.Random) -> int:
    return 46 + min(int(rng.expovariate(1 / 11)), 90)


def _assessment_team(rng: random.Random, world: _World) -> Team:
    service = rng.choices(list(ASSESSMENT_SERVICES), weights=list(ASSESSMENT_SERVICES.values()))[0]
    return _pick_team(rng, world.by_service, service)


def _assessments(world: _World, referrals: list[_Referral]) -> list[_Assessment]:
    """Completed assessments month by month (an exact number late each month), the ones still
    open at the as-of date, then the date the child was seen (an exact number within 5
    working days per start month), then the child, from a referral a few days before."""
    rng = _rng("assessments")
    days = world.days
    ontime = _series(
        rng,
        0.835,
        0.905,
        0.012,
        {"2023-02": 0.01, "2023-03": 0.01, "2023-04": -0.085, "2023-05": -0.04, "2023-06": -0.012},
    )
    seen_rate = _series(
        rng,
        0.63,
        0.72,
        0.014,
        {"2020-04": -0.05, "2020-05": -0.03, "2023-04": -0.11, "2023-05": -0.06, "2023-06": -0.03},
    )
    records: list[_Assessment] = []
    for period in MONTHS:
        if period == FOCUS:
            n, late = FOCUS_ASSESSMENTS_COMPLETED, FOCUS_ASSESSMENTS_COMPLETED - FOCUS_ASSESSMENTS_ON_TIME
        else:
            n = round(412 * _season(period, ASSESSMENT_SEASON) * COVID.get(period, 1.0) * (1 + rng.gauss(0, 0.025)))
            late = round(n * (1 - ontime[period]))
        completions = sorted(rng.choices(days.month(period), k=n))
        month_teams = [_assessment_team(rng, world) for _ in range(n)]
        late_ones = _choose(rng, [1 / world.performance[t.name] for t in month_teams], late)
        for i, (completed, team) in enumerate(zip(completions, month_teams, strict=True)):
            length = _late_length(rng) if i in late_ones else _ontime_length(rng)
            room = days.between(START, completed)
            if length > room:
                # Nothing starts before April 2020: half of what would have are left out, half start in
                # the first weeks (so April and May 2020 have no late completions and many starts).
                if rng.random() < 0.5:
                    continue
                length = rng.randint(0, room)
            records.append(_Assessment("", team, days.back(completed, length), completed))
    # Still open at the as-of date: started recently, not finished by the end of March 2024.
    # Only those inside their 45 days, so the demo loads without "open too long" warnings.
    day = days.back(AS_OF, 45)
    while day <= END:
        if is_working_day(day):
            for _ in range(max(0, round(rng.gauss(20, 4)))):
                length = _late_length(rng) if rng.random() < 0.1 else _ontime_length(rng)
                if days.add(day, length) > END:
                    records.append(_Assessment("", _assessment_team(rng, world), day, None))
        day += timedelta(days=1)

    _settle_focus_starts(rng, world, records)
    _assign_seen(rng, world, records, seen_rate)
    _assign_assessment_children(rng, world, records, referrals)
    records.sort(key=lambda a: (a.start, a.completed or END, a.child))
    return records


def _settle_focus_starts(rng: random.Random, world: _World, records: list[_Assessment]) -> None:
    """Make July 2023's starts a number whose share seen within 5 days can be exactly 67.0%,
    by moving the starts of a few assessments completed in August or later across the
    month boundary (their lateness unchanged, July's completions untouched)."""
    days = world.days
    july = [a for a in records if period_of(a.start) == FOCUS]
    target, _ = _nearest_feasible(len(july), FOCUS_SEEN_RATE)
    first_august, first_july = date(2023, 8, 1), date(2023, 7, 3)

    def late(a: _Assessment, start: date) -> bool:
        return a.completed is not None and days.between(start, a.completed) > 45

    if len(july) > target:
        movable = [
            a
            for a in july
            if a.start >= date(2023, 7, 17)
            and a.completed
            and a.completed > date(2023, 8, 10)
            and late(a, a.start) == late(a, first_august)
        ]
        for a in rng.sample(movable, len(july) - target):
            a.start = days.add(first_august, rng.randrange(0, 4))
    elif len(july) < target:
        movable = [
            a
            for a in records
            if period_of(a.start) == "2023-06"
            and a.start >= date(2023, 6, 19)
            and a.completed
            and a.completed >= first_august
            and late(a, a.start) == late(a, first_july)
        ]
        for a in rng.sample(movable, target - len(july)):
            a.start = days.add(first_july, rng.randrange(0, 4))


def _assign_seen(rng: random.Random, world: _World, records: list[_Assessment], rate: dict[str, float]) -> None:
    days = world.days
    by_start: dict[str, list[_Assessment]] = defaultdict(list)
    for a in records:
        by_start[period_of(a.start)].append(a)
    # Visits are slower in Family Safeguarding (the report's 7.4).
    service_factor = {AI: 1.0, FS: 0.75, CWD: 1.1}
    for period, group in sorted(by_start.items()):
        if period == FOCUS:
            size, k = _nearest_feasible(len(group), FOCUS_SEEN_RATE)
            if size != len(group):
                raise ValueError(f"{len(group)} assessments started in {FOCUS}, {size} planned")
        else:
            k = round(len(group) * rate[period])
        met = _choose(rng, [world.performance[a.team.name] * service_factor[a.team.service] for a in group], k)
        for i, a in enumerate(group):
            room = days.between(a.start, a.completed or END)  # seen before the assessment ends
            if i in met:
                lag = min(room, rng.choices(range(6), weights=(15, 25, 20, 15, 13, 12))[0])
            elif room < 6 or rng.random() < 0.04:
                continue  # never seen: not met once the 5 days have passed
            else:
                lag = rng.randint(6, min(room, 25))
            seen = days.add(a.start, lag)
            a.seen = seen if seen <= END else None


def _assign_assessment_children(
    rng: random.Random, world: _World, records: list[_Assessment], referrals: list[_Referral]
) -> None:
    """Most assessments follow a referral of the same child in the days before."""
    referred: dict[date, list[_Referral]] = defaultdict(list)
    for r in referrals:
        referred[r.day].append(r)
    used: set[tuple[str, date]] = set()
    for a in sorted(records, key=lambda a: (a.start, a.completed or END)):
        candidates = [
            r.child
            for back in range(11)
            for r in referred.get(a.start - timedelta(days=back), ())
            if r.team.area == a.team.area
        ]
        child = None
        for _ in range(5):
            if candidates:
                candidate = rng.choice(candidates)
                if (candidate, a.start) not in used:
                    child = candidate
                    break
        if child is None:
            # No referral of the area in the ten days before: the child's referral came earlier (the census
            # puts every assessment in a referral's episode). An id is still drawn, so the ids after it
            # (children in care, missing episodes) stay as they were.
            earlier = [
                r.child
                for back in range(11, 91)
                for r in referred.get(a.start - timedelta(days=back), ())
                if r.team.area == a.team.area and (r.child, a.start) not in used
            ]
            fresh = world.ids.new()
            child = earlier[0] if earlier else fresh
        a.child = child
        used.add((a.child, a.start))
        world.children_of[a.team.name].append((a.start, a.child))


# --- health assessments ------------------------------------------------------------------------


@dataclass
class _CareStart:
    child: str
    team: Team
    start: date
    iha: date | None


def _health_assessments(world: _World) -> list[_CareStart]:
    """Children coming into care (about 15 a month) and their initial health assessments."""
    rng = _rng("health_assessments")
    days = world.days
    rate = _series(rng, 0.5, 0.7, 0.05, {"2023-04": -0.06})
    out: list[_CareStart] = []
    for period in MONTHS:
        if period == FOCUS:
            n, k = FOCUS_CARE_STARTS, FOCUS_IHA_ON_TIME
        else:
            n = max(6, round(rng.gauss(15, 3)))
            k = round(n * rate[period])
        month_days = days.month(period, working_only=False)
        starts = sorted(rng.choices(month_days, weights=[1.0 if is_working_day(d) else 0.5 for d in month_days], k=n))
        met = set(rng.sample(range(n), k))
        for i, start in enumerate(starts):
            team = _pick_team(rng, world.by_service, CWCF)
            room = days.between(start, END)  # nothing is dated after the extract's last month
            if i in met:
                # Too recent to have been done by the end of March: not recorded yet (not yet due).
                iha = days.add(start, rng.randint(4, min(20, room))) if room >= 4 else None
            elif rng.random() < 0.85:
                iha = days.add(start, rng.randint(21, 45))
            else:
                iha = None  # declined or never recorded: not met once 20 working days have passed
            child = world.ids.new()
            out.append(_CareStart(child, team, start, iha if iha and iha <= END else None))
            world.children_of[team.name].append((start, child))
    return out


# --- missing episodes ----------------------------------------------------------------------------

# Fewer children go missing in the dark months.
MISSING_SEASON = dict(enumerate((0.9, 0.9, 0.98, 1.02, 1.08, 1.08, 1.04, 1.05, 1.0, 1.0, 0.95, 0.9), start=1))
MISSING_SERVICES = {CWCF: 0.5, FS: 0.35, LC: 0.15}
# Hour of the day a child goes missing (0-23): mostly afternoon and evening.
MISSING_HOURS = (
    1,
    1,
    1,
    1,
    0.6,
    0.4,
    0.3,
    0.4,
    0.6,
    0.8,
    1,
    1.2,
    1.4,
    1.6,
    2,
    2.6,
    3,
    3.2,
    3.4,
    3.4,
    3.2,
    2.8,
    2.2,
    1.6,
)


@dataclass
class _Episode:
    child: str
    team: Team
    start: datetime
    returned: datetime | None
    rhi: datetime | None = None
    episode_id: str = ""


@dataclass
class _MissingChild:
    child: str
    team: Team
    propensity: float
    free_from: datetime  # back from the last episode


def _missing_episodes(world: _World, care_starts: list[_CareStart]) -> list[_Episode]:
    """Missing episodes by the month the child went missing (a few children go missing often),
    the return, and the return home interview (an exact number within 72 hours per return month)."""
    rng = _rng("missing_episodes")
    level = _series(rng, 308, 278, 0, lo=0, hi=1000)
    rhi_rate = _series(rng, 0.62, 0.8, 0.02, {"2023-04": -0.05, "2023-05": -0.02})
    pool: list[_MissingChild] = []
    episodes: list[_Episode] = []
    in_care = sorted(care_starts, key=lambda c: c.start)
    care_days = [c.start for c in in_care]

    def join(at: datetime) -> _MissingChild:
        service = rng.choices(list(MISSING_SERVICES), weights=list(MISSING_SERVICES.values()))[0]
        if service == CWCF and rng.random() < 0.5:
            # Often a child who came into care in the last two years.
            lo = bisect_left(care_days, at.date() - timedelta(days=730))
            hi = bisect_right(care_days, at.date())
            known = in_care[rng.randrange(lo, hi)] if hi > lo else None
        else:
            known = None
        if known:
            child, team = known.child, known.team
        else:
            child, team = world.ids.new(), _pick_team(rng, world.by_service, service)
        member = _MissingChild(child, team, min(rng.paretovariate(1.5), 12.0), datetime.min)
        pool.append(member)
        return member

    for period in MONTHS:
        n = (
            FOCUS_MISSING_EPISODES
            if period == FOCUS
            else round(
                level[period] * _season(period, MISSING_SEASON) * COVID.get(period, 1.0) * (1 + rng.gauss(0, 0.03))
            )
        )
        first = datetime.combine(parse_period(period), time())
        pool[:] = [m for m in pool if rng.random() > 0.12]  # children settle, leave care, turn 18
        while len(pool) < n / 2.1:
            join(first)
        cumulative = list(accumulate(m.propensity for m in pool))
        month_days = world.days.month(period, working_only=False)
        starts = sorted(
            datetime.combine(d, time(h, 5 * rng.randrange(12)))
            for d, h in zip(
                rng.choices(month_days, weights=[1.3 if d.weekday() in (4, 5) else 1.0 for d in month_days], k=n),
                rng.choices(range(24), weights=MISSING_HOURS, k=n),
                strict=True,
            )
        )
        for start in starts:
            member = None
            for _ in range(8):
                candidate = rng.choices(pool, cum_weights=cumulative)[0]
                if candidate.free_from < start:
                    member = candidate
                    break
            if member is None:
                member = join(start)
                cumulative.append(cumulative[-1] + member.propensity)
            hours = min(max(rng.lognormvariate(2.1, 1.05), 0.5), 240.0)
            returned = start + timedelta(minutes=5 * max(1, round(hours * 12)))
            if returned > END_AT:
                returned = None  # still missing when the extract was taken
            member.free_from = returned or datetime.max
            episodes.append(_Episode(member.child, member.team, start, returned))

    _settle_focus_returns(rng, episodes)
    by_return: dict[str, list[_Episode]] = defaultdict(list)
    for e in episodes:
        if e.returned:
            by_return[period_of(e.returned.date())].append(e)
    for period, group in sorted(by_return.items()):
        if period == FOCUS:
            size, k = _nearest_feasible(len(group), FOCUS_RHI_RATE)
            if size != len(group):
                raise ValueError(f"{len(group)} returns in {FOCUS}, {size} planned")
        else:
            k = round(len(group) * rhi_rate[period])
        met = _choose(rng, [world.performance[e.team.name] for e in group], k)
        for i, e in enumerate(group):
            if i in met:
                e.rhi = _daytime_after(rng, e.returned, 1.0, 71 + 50 / 60)
            elif rng.random() < 0.85:
                e.rhi = _daytime_after(rng, e.returned, 72 + 10 / 60, 14 * 24)
            # else: declined or not done, not met once 72 hours have passed
    episodes.sort(key=lambda e: (e.start, e.child))
    for i, e in enumerate(episodes, start=1):
        e.episode_id = f"M{i:06d}"
        world.children_of[e.team.name].append((e.start.date(), e.child))
    return episodes


def _settle_focus_returns(rng: random.Random, episodes: list[_Episode]) -> None:
    """Make July 2023's returns a number whose share of interviews within 72 hours can be
    exactly 77.0%, by moving a few returns around midnight on 31 July (the episodes still
    start where they did, so the 283 missing in July stay 283)."""
    july = [e for e in episodes if e.returned and period_of(e.returned.date()) == FOCUS]
    target, _ = _nearest_feasible(len(july), FOCUS_RHI_RATE)
    next_start: dict[int, datetime] = {}
    by_child: dict[str, list[_Episode]] = defaultdict(list)
    for e in episodes:
        by_child[e.child].append(e)
    for group in by_child.values():
        for a, b in pairwise(group):
            next_start[id(a)] = b.start
    midnight = datetime(2023, 8, 1)
    if len(july) > target:
        # Back after midnight instead, at most a day and a half later than they were.
        movable = [
            e
            for e in july
            if e.returned >= datetime(2023, 7, 30, 12)
            and e.start.month == 7
            and next_start.get(id(e), datetime.max) > midnight + timedelta(hours=12)
        ]
        for e in rng.sample(movable, len(july) - target):
            e.returned = midnight + timedelta(minutes=5 * rng.randint(1, 100))
    elif len(july) < target:
        # Back before midnight instead: episodes that began in July and ended in the first days of August.
        movable = [
            e
            for e in episodes
            if e.returned
            and midnight <= e.returned < midnight + timedelta(days=4)
            and e.start < datetime(2023, 7, 31, 20)
        ]
        for e in rng.sample(movable, target - len(july)):
            e.returned = datetime(2023, 7, 31, 20) + timedelta(minutes=5 * rng.randint(1, 47))


# --- case audits ------------------------------------------------------------------------------------

# Which teams each audit type reaches.
AUDIT_SERVICES = {
    "collaborative": {AI: 0.35, FS: 0.25, CWCF: 0.2, LC: 0.1, CWD: 0.1},
    "management_oversight": {AI: 0.55, FS: 0.45},
    "assessment": {AI: 0.7, FS: 0.2, CWD: 0.1},
    "leaving_care_planning": {LC: 1.0},
}
# The audit type, given the moderated grade: leaving-care planning is the strongest practice.
TYPE_BY_GRADE = {
    OUTSTANDING: {"collaborative": 0.55, "management_oversight": 0.1, "assessment": 0.15, "leaving_care_planning": 0.2},
    GOOD: {"collaborative": 0.55, "management_oversight": 0.15, "assessment": 0.15, "leaving_care_planning": 0.15},
    RI: {"collaborative": 0.62, "management_oversight": 0.18, "assessment": 0.15, "leaving_care_planning": 0.05},
    INADEQUATE: {"collaborative": 0.65, "management_oversight": 0.2, "assessment": 0.15, "leaving_care_planning": 0.0},
}
AUDIT_SEASON = dict(enumerate((1.0, 1.0, 1.0, 1.0, 1.05, 1.0, 1.0, 0.75, 1.0, 1.05, 1.05, 0.8), start=1))


def _grade_mix(period: str) -> dict[str, float]:
    """Moderated grades drift better as the improvement plan bites; no Outstanding before
    April 2023 (the report: April 2023 saw the first)."""
    if period < "2021-04":
        return {GOOD: 0.15, RI: 0.55, INADEQUATE: 0.3}
    if period < "2022-04":
        return {GOOD: 0.2, RI: 0.57, INADEQUATE: 0.23}
    if period < "2023-04":
        return {GOOD: 0.27, RI: 0.58, INADEQUATE: 0.15}
    return {OUTSTANDING: 0.02, GOOD: 0.36, RI: 0.55, INADEQUATE: 0.07}


@dataclass
class _Audit:
    day: date
    audit_type: str
    team: Team
    child: str
    grade: str
    moderated: str | None
    audit_id: str = ""


def _audit_plan(rng: random.Random) -> dict[str, list[tuple[str | None, str | None]]]:
    """Per month, (moderated grade or None, audit type or None = by grade) for every audit."""
    plan: dict[str, list[tuple[str | None, str | None]]] = {}
    for period, (total, grades) in AUDIT_MONTHS.items():
        moderated = [g for g, count in grades.items() for _ in range(count)]
        plan[period] = [(g, None) for g in moderated] + [(None, None)] * (total - len(moderated))
    for months, totals, grades in AUDIT_QUARTERS:
        moderated = [g for g, count in grades.items() for _ in range(count)]
        rng.shuffle(moderated)
        unmoderated = _split(rng, sum(totals) - len(moderated), [1.0] * len(months))
        at = 0
        for period, total, unmod in zip(months, totals, unmoderated, strict=True):
            plan[period] = [(g, None) for g in moderated[at : at + total - unmod]] + [(None, None)] * unmod
            at += total - unmod
    plan[FOCUS] = [(grade, audit_type) for audit_type, grade, count in FOCUS_AUDITS for _ in range(count)]
    for period in MONTHS:
        if period in plan:
            continue
        total = round(25 * _season(period, AUDIT_SEASON) * (1.15 if period > FOCUS else 1.0) * (1 + rng.gauss(0, 0.1)))
        mix = _grade_mix(period)
        moderated = round(total * rng.uniform(0.82, 0.94))
        grades = rng.choices(list(mix), weights=list(mix.values()), k=moderated)
        plan[period] = [(g, None) for g in grades] + [(None, None)] * (total - moderated)
    return plan


def _auditor_grade(rng: random.Random, moderated: str, period: str) -> str:
    """The auditor's own grade: usually the moderated one, sometimes a step more generous."""
    i = GRADES.index(moderated)
    roll = rng.random()
    if roll < 0.2 and i > 0 and (i > 1 or period >= "2023-04"):
        return GRADES[i - 1]
    if roll > 0.95 and i < len(GRADES) - 1:
        return GRADES[i + 1]
    return moderated


def _case_audits(world: _World) -> list[_Audit]:
    rng = _rng("case_audits")
    children = {team: sorted(records) for team, records in world.children_of.items()}
    out: list[_Audit] = []
    for period, entries in _audit_plan(rng).items():
        working = world.days.month(period)
        for moderated, audit_type in entries:
            grade_for_type = moderated or rng.choices([GOOD, RI, INADEQUATE], weights=(3, 6, 2))[0]
            if audit_type is None:
                weights = TYPE_BY_GRADE[grade_for_type]
                audit_type = rng.choices(list(weights), weights=list(weights.values()))[0]
            if moderated == OUTSTANDING and period == "2023-04":
                # The report: April 2023's was the first Outstanding, a Children with Disabilities child.
                audit_type, service = "collaborative", CWD
            else:
                services = AUDIT_SERVICES[audit_type]
                service = rng.choices(list(services), weights=list(services.values()))[0]
            team = _pick_team(rng, world.by_service, service)
            day = rng.choice(working)
            # A child the team worked with in the year before the audit.
            known = children.get(team.name, [])
            lo = bisect_left(known, (day - timedelta(days=365), ""))
            hi = bisect_right(known, (day, "~"))
            child = known[rng.randrange(lo, hi)][1] if hi > lo else world.ids.new()
            if moderated:
                grade = _auditor_grade(rng, moderated, period)
            else:
                mix = _grade_mix(period)
                grade = rng.choices(list(mix), weights=list(mix.values()))[0]
            out.append(_Audit(day, audit_type, team, child, grade, moderated))
    out.sort(key=lambda a: (a.day, a.team.name, a.child))
    for i, a in enumerate(out, start=1):
        a.audit_id = f"A{i:06d}"
    return out


# --- aggregate KPI values -----------------------------------------------------------------------


def _kpi_values(world: _World) -> list[tuple[str, str, str, int, int | None]]:
    """Team-level monthly values of the KPIs counted upstream: (period, metric, team, numerator, denominator)."""
    rng = _rng("kpi_values")
    inspection = {"2023-04": -0.1, "2023-05": -0.04}
    # metric: (services, denominator series or None for a count, rate or count series)
    children_cared_for = _series(rng, 890, 1015, 6, lo=0, hi=5000)
    care_leavers = _series(rng, 520, 620, 5, lo=0, hi=5000)
    open_cases = _series(rng, 1880, 2030, 20, lo=0, hi=10000)
    conferences = _series(rng, 44, 44, 5, {"2020-04": -8, "2020-05": -6}, lo=10, hi=500)
    dental_covid = {p: -0.32 * max(0.0, 1 - i / 14) for i, p in enumerate(MONTHS)}  # practices shut in 2020
    specs: dict[str, tuple[tuple[str, ...], dict[str, float] | None, dict[str, float]]] = {
        "icpc_15wd": ((AI, FS), conferences, _series(rng, 0.74, 0.87, 0.04, inspection)),
        "mo_up_to_date": ((AI, FS), open_cases, _series(rng, 0.86, 0.93, 0.01, {"2023-04": -0.06, "2023-05": -0.03})),
        "homeless_16_17": ((AI,), None, _series(rng, 18, 17, 3.5, lo=5, hi=100)),
        "sdq_completed": ((CWCF,), children_cared_for, _series(rng, 0.34, 0.45, 0.015)),
        "dental_up_to_date": ((CWCF,), children_cared_for, _series(rng, 0.74, 0.8, 0.012, dental_covid)),
        "placements_3plus": ((CWCF,), children_cared_for, _series(rng, 0.112, 0.126, 0.006)),
        "placed_20mi_out": ((CWCF,), children_cared_for, _series(rng, 0.205, 0.228, 0.006)),
        "pathway_plans": ((LC,), care_leavers, _series(rng, 0.8, 0.88, 0.012)),
    }
    # Added later: drawn after the others, so the earlier KPIs' demo figures stay as they were.
    cp_plans = _series(rng, 62, 58, 6, lo=10, hi=500)
    care_leavers_19_21 = _series(rng, 300, 330, 4, lo=0, hi=5000)
    specs |= {
        "repeat_cp_plans": ((AI, FS), cp_plans, _series(rng, 0.26, 0.28, 0.03)),
        "cla_health_assessments": ((CWCF,), children_cared_for, _series(rng, 0.86, 0.91, 0.01)),
        "care_leavers_accommodation": ((LC,), care_leavers_19_21, _series(rng, 0.9, 0.94, 0.012)),
    }
    rows: list[tuple[str, str, str, int, int | None]] = []
    shared_denominators: dict[tuple[int, str], list[int]] = {}
    for metric, (services, denominators, values) in specs.items():
        unit_teams = [t for t in world.teams if t.service in services]
        weights = [world.size[t.name] for t in unit_teams]
        # Strong teams do better; for a lower-is-better share, they have less of it.
        lower = metric in ("placements_3plus", "placed_20mi_out")
        shares = [
            (1 / world.performance[t.name]) ** 0.3 if lower else world.performance[t.name] ** 0.3 for t in unit_teams
        ]
        for period in MONTHS:
            focus = FOCUS_KPI_VALUES.get(metric) if period == FOCUS else None
            if denominators is None:
                total = focus[0] if focus else round(values[period])
                counts = _split(rng, total, [w * rng.uniform(0.5, 1.5) for w in weights])
                rows += [(period, metric, t.name, c, None) for t, c in zip(unit_teams, counts, strict=True)]
                continue
            total = focus[1] if focus else round(denominators[period])
            key = (id(denominators), period)  # the four children-we-care-for measures share one count
            if key not in shared_denominators:
                shared_denominators[key] = _split(rng, total, [w * rng.uniform(0.85, 1.15) for w in weights])
            team_denominators = shared_denominators[key]
            k = focus[0] if focus else round(total * values[period])
            rates = [min(1.0, values[period] * s) for s in shares]
            numerators = _numerators(rng, k, team_denominators, rates)
            rows += [
                (period, metric, t.name, n, d)
                for t, n, d in zip(unit_teams, numerators, team_denominators, strict=True)
                if d > 0  # a team with no conferences that month has no value, not 0%
            ]
    rows += _workforce_values(world)  # its own random stream: no earlier figure moves
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


def _workforce_values(world: _World) -> list[tuple[str, str, str, float, float | None]]:
    """The workforce KPIs (issue 25), month by month: each team's social workers (FTE, whole numbers here), the
    agency share, the leavers of the last 12 months and the vacant posts, drifting down after the inspection as
    the service recruits; each team's cases held over its FTE (the caseload, a rate). Every row is a team's: a
    service, an area and the authority pool their teams' cases and FTE, as the shares pool theirs."""
    rng = _rng("workforce")
    caseload = _series(rng, 18.6, 15.9, 0.3, lo=8, hi=40)
    agency = _series(rng, 0.21, 0.15, 0.008)
    turnover = _series(rng, 0.17, 0.14, 0.008)
    vacancy = _series(rng, 0.2, 0.15, 0.008)
    base = {t.name: rng.randint(7, 14) for t in world.teams}
    strain = {t.name: (1 / world.performance[t.name]) ** 0.3 for t in world.teams}  # weaker teams: more of each
    rows: list[tuple[str, str, str, float, float | None]] = []
    for period in MONTHS:
        for t in world.teams:
            fte = max(4, base[t.name] + rng.choice((-1, 0, 0, 0, 1)))
            on_agency = min(fte - 2, max(0, round(fte * agency[period] * strain[t.name] + rng.gauss(0, 0.6))))
            employed = fte - on_agency
            left = min(employed, max(0, round(employed * turnover[period] * strain[t.name] + rng.gauss(0, 0.6))))
            share = min(0.6, vacancy[period] * strain[t.name])
            vacant = max(0, round(fte * share / (1 - share) + rng.gauss(0, 0.6)))
            load = max(8.0, caseload[period] * strain[t.name] + rng.gauss(0, 1.0))
            rows += [
                (period, "caseload_per_sw", t.name, round(load * fte), fte),  # cases held, over FTE
                (period, "agency_rate", t.name, on_agency, fte),
                (period, "sw_turnover", t.name, left, employed),
                (period, "sw_vacancy", t.name, vacant, fte + vacant),
            ]
    return rows


# --- writing --------------------------------------------------------------------------------------


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


def _dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


# Each team's social workers, by number across the authority ("Worker 12"): invented, never a person's name.
WORKERS_PER_TEAM = 6


def _worker(team: Team, child: str, teams: Sequence[Team], open_record: bool) -> str:
    """The allocated worker of an open record (a closed one's is not needed on the due list): the same child
    in the same team has the same worker in every run and every load (a checksum, not the random streams,
    so no figure moves)."""
    if not open_record:
        return ""
    return f"Worker {teams.index(team) * WORKERS_PER_TEAM + zlib.crc32(child.encode()) % WORKERS_PER_TEAM + 1}"


def write_demo(folder: Path) -> list[Path]:
    """Write the demo extracts as CSV files into folder (organisation.csv first) and return
    their paths in loading order. Same bytes on every run."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    world = _world()
    referrals = _referrals(world)
    assessments = _assessments(world, referrals)
    care_starts = _health_assessments(world)
    episodes = _missing_episodes(world, care_starts)
    audits = _case_audits(world)
    kpi_values = _kpi_values(world)

    writers: dict[str, Callable[[Path], Path]] = {
        "organisation.csv": lambda p: _write(
            p, ("team", "service", "area"), ((t.name, t.service, t.area) for t in world.teams)
        ),
        "assessments.csv": lambda p: _write(
            p,
            ("child_id", "team", "assessment_start_date", "child_seen_date", "assessment_completed_date", "worker"),
            (
                (
                    a.child,
                    a.team.name,
                    _d(a.start),
                    _d(a.seen),
                    _d(a.completed),
                    _worker(a.team, a.child, world.teams, a.completed is None),
                )
                for a in assessments
            ),
        ),
        "health_assessments.csv": lambda p: _write(
            p,
            ("child_id", "team", "care_start_date", "iha_date", "worker"),
            (
                (c.child, c.team.name, _d(c.start), _d(c.iha), _worker(c.team, c.child, world.teams, c.iha is None))
                for c in care_starts
            ),
        ),
        "missing_episodes.csv": lambda p: _write(
            p,
            ("child_id", "team", "episode_id", "missing_start", "returned_at", "rhi_completed_at", "worker"),
            (
                (
                    e.child,
                    e.team.name,
                    e.episode_id,
                    _dt(e.start),
                    _dt(e.returned),
                    _dt(e.rhi),
                    _worker(e.team, e.child, world.teams, e.rhi is None),
                )
                for e in episodes
            ),
        ),
        "case_audits.csv": lambda p: _write(
            p,
            ("audit_id", "child_id", "team", "audit_date", "audit_type", "grade", "moderated_grade"),
            ((a.audit_id, a.child, a.team.name, _d(a.day), a.audit_type, a.grade, a.moderated) for a in audits),
        ),
        "referrals.csv": lambda p: _write(
            p,
            ("child_id", "team", "referral_date"),
            ((r.child, r.team.name, _d(r.day)) for r in sorted(referrals, key=lambda r: (r.day, r.child))),
        ),
        "kpi_values.csv": lambda p: _write(p, ("period", "metric_id", "team", "numerator", "denominator"), kpi_values),
        "actions.csv": lambda p: _write(
            p, ("action_id", "area", "action", "sponsor", "lead", "due_date", "status", "metrics"), DEMO_ACTIONS
        ),
    }
    return [writers[name](folder / name) for name in FILES]


# --- the CIN census -------------------------------------------------------------------------------


def write_census(folder: Path) -> list[Path]:
    """The demo authority's CIN census for 2022/23 and 2023/24 and its allocation history (etl/demo/census.py),
    made from the same records as the extracts: loaded over them, as of AS_OF, it changes no figure."""
    from etl.demo import census

    world = _world()
    referrals = _referrals(world)
    assessments = _assessments(world, referrals)
    given = _kpi_values(world)
    return census.write_census(
        folder, referrals=referrals, assessments=assessments, given=given, days=world.days, seed=f"{SEED}-census"
    )


# --- the Annex A workbook -------------------------------------------------------------------------

ANNEX_A_AS_OF = date(2023, 7, 31)  # the July 2023 lists, taken on the month's last day
ANNEX_A_FILE = "Annex_A_2023-07.xlsx"
_PERSONAL = ("Gender", "Ethnicity", "Date of Birth", "Age")  # kept blank: the demo has no personal data


def _annex_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[list[object]]:
    """A list as Ofsted's template lays it out: the personal columns after the child's ID, left blank."""
    return [["Child Unique ID", *_PERSONAL, *header[1:], "Allocated Worker"]] + [
        [row[0], *([None] * len(_PERSONAL)), *row[1:], None] for row in rows
    ]


def annex_a_lists(world: _World | None = None) -> dict[str, list[list[object]]]:
    """The demo authority's Annex A lists for July 2023, sheet name -> rows (header first), consistent with the
    demo extracts: Lists 3 and 4 hold exactly their records for the twelve months to July 2023 (as a July list
    would show them: nothing dated after 31 July); List 5 gives, team by team, the figures kpi_values.csv gives
    for icpc_15wd in each of its six months (February to July 2023); Lists 8 and 9 the July 2023 figures it
    gives for dental_up_to_date, placements_3plus and pathway_plans."""
    world = world or _world()
    referrals = _referrals(world)
    assessments = _assessments(world, referrals)
    given = _kpi_values(world)
    july = {(metric, team): (n, d) for period, metric, team, n, d in given if period == FOCUS}
    # List 5 holds every enquiry of its six months (docs/spec/windows.md): Feb to Jul 2023, as kpi_values gives them.
    icpc = {(period, team): (n, d) for period, metric, team, n, d in given if metric == "icpc_15wd"}
    icpc_months = [f"2023-{m:02d}" for m in range(2, 8)]
    first, last = date(2022, 8, 1), ANNEX_A_AS_OF

    def within(*days: date | None) -> bool:
        return all(day is None or day <= last for day in days)

    list3 = _annex_rows(
        ("Child Unique ID", "Date of Referral", "Referral Source", "Referral NFA?", "Allocated Team"),
        (
            (r.child, r.day, "q) 6: Police", "b) No", r.team.name)
            for r in sorted(referrals, key=lambda r: (r.day, r.child))
            if first <= r.day <= last
        ),
    )
    list4 = _annex_rows(
        ("Child Unique ID", "Continuous Assessment Start Date", "Child Seen During Continuous Assessment",
         "Continuous Assessment Date of Authorisation", "Allocated Team"),
        (
            (a.child, a.start, a.seen, a.completed, a.team.name)
            for a in sorted(assessments, key=lambda a: (a.start, a.child))
            if first <= a.start and within(a.start, a.seen, a.completed)
        ),
    )  # fmt: skip
    serial = iter(range(1, 100_000))
    enquiries, in_care, leavers = [], [], []
    for team in world.teams:
        for month in icpc_months:
            n, d = icpc.get((month, team.name), (0, 0))
            opening = add_working_days(date(2023, int(month[5:]), 1) - timedelta(days=1), 1)
            for k in range(int(d or 0)):
                # On time: started in the month's first three working days, held 10 working days later. Late:
                # started on its first working day, held 16 later (the limit is 15). Both held in the month,
                # whatever its bank holidays (April 2023: 3 Apr to 27 Apr).
                start = add_working_days(opening, k % 3 if k < n else 0)
                held = add_working_days(start, 10 if k < n else 16)
                enquiries.append((f"S{next(serial):06d}", start, "b) No", held, team.name))
            if (month, team.name) in icpc:
                enquiries.append((f"S{next(serial):06d}", add_working_days(opening, 7), "a) Yes", None, team.name))
        dental, cohort = july.get(("dental_up_to_date", team.name), (0, 0))
        placements, _ = july.get(("placements_3plus", team.name), (0, 0))
        for k in range(int(cohort or 0)):
            # Every child here has been in care over a year, so the dental cohort is every child in care.
            checked = date(2023, 3, 1) + timedelta(days=k % 90) if k < dental else date(2022, 6, 1)
            moves = 3 if (cohort - 1 - k) < placements else 1
            in_care.append((f"K{next(serial):06d}", date(2019, 9, 2) + timedelta(days=k % 700), checked, moves,
                            None, team.name))  # fmt: skip
        planned, leaving = july.get(("pathway_plans", team.name), (0, 0))
        for k in range(int(leaving or 0)):
            review = date(2023, 5, 2) + timedelta(days=k % 60) if k < planned else date(2022, 11, 30)
            leavers.append((f"L{next(serial):06d}", team.name, review))
    list5 = _annex_rows(
        ("Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date",
         "Was an Initial Child Protection Conference deemed unnecessary?",
         "Date of Initial Child Protection Conference", "Allocated Team"),
        enquiries,
    )  # fmt: skip
    list8 = _annex_rows(
        ("Child Unique ID", "Date Started to be Looked After", "Date of Last Dental Check",
         "Number of Placements in the Last 12 months", "Date Ceased to be Looked After", "Allocated Team"),
        in_care,
    )  # fmt: skip
    list9 = _annex_rows(("Child Unique ID", "Allocated Team", "Latest Pathway Plan Review Date"), leavers)
    return {
        "Front_Sheet": [["Ofsted Annex A"], ["Local authority", "Demo County Council"], ["Lists as at", last]],
        "List 3": list3,
        "List 4": list4,
        "List 5": list5,
        "List 8": list8,
        "List 9": list9,
    }


def write_annex_a(folder: Path, world: _World | None = None) -> Path:
    """The demo's Annex A workbook for July 2023 (`Annex_A_2023-07.xlsx`): load it with --as-of 2023-07-31."""
    import openpyxl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook(write_only=True)
    for name, rows in annex_a_lists(world).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path = folder / ANNEX_A_FILE
    book.save(path)
    return path


def _holds_loaded_data(db: str | Path | None) -> bool:
    from etl.store.warehouse import reading

    with reading(db) as con:
        loaded = con.execute(
            "SELECT count(*) FROM loads WHERE outcome IN ('loaded', 'loaded valid rows only')"
        ).fetchone()[0]
    return loaded > 0


def load_demo(if_empty: bool, who: str, db: str | Path | None = None, folder: str | Path | None = None) -> int:
    """Write the demo extracts (data/demo/ unless folder is given) and load them through the
    analysts' loader, as of 5 April 2024. With if_empty, do nothing when the warehouse already
    holds loaded data. Prints a line per file; returns the exit code (0 when every file loaded)."""
    from etl.catalogue.metrics import catalogue
    from etl.ingest.load import load_files

    if if_empty and _holds_loaded_data(db):
        print("Demo data not loaded: the warehouse already holds loaded data.")
        return 0
    folder = Path(folder) if folder else DEFAULT_FOLDER
    paths = write_demo(folder)
    workbook = write_annex_a(folder)
    print(f"Demo extracts for {catalogue().authority.name}, {FIRST_PERIOD} to {LAST_PERIOD}, written to {folder}")
    reports = load_files(paths, as_of=AS_OF, who=who, db=db)
    for report in reports:
        print(report.summary())
    if all(report.ok for report in reports):
        written = write_demo_notes(who=who, db=db)
        print(f"Demo notes: {written} written on the Red KPIs of {DEMO_NOTES_PERIOD}")
    returns = " ".join(str(p) for p in write_census(folder))
    print(
        f"Its CIN census for 2022/23 and 2023/24, with the children's allocation history, is in {folder}: loading"
        f" them too (cpip load --as-of {AS_OF} {returns}) changes no figure; then try cpip reconcile --year 2023/24"
    )
    print(
        f"The same authority's Annex A workbook for July 2023 is {workbook}: loading it too"
        f" (cpip load --as-of {ANNEX_A_AS_OF} {workbook}) changes no figure"
    )
    return 0 if all(report.ok for report in reports) else 1


def write_demo_notes(*, who: str, db: str | Path | None = None) -> int:
    """A note on each Red KPI of the authority for July 2023, unless it has one already.
    Returns how many were written."""
    from etl.people import notes
    from etl.privacy import access
    from etl.serve import queries

    frame = queries.scorecard(DEMO_NOTES_PERIOD, "la", db=db)
    written = 0
    with access.viewing(None):  # written as the command line, even inside the web app's process (tests)
        for row in frame[frame["rag"] == "Red"].itertuples():
            if notes.note_history(row.metric_id, DEMO_NOTES_PERIOD, "la", None, db=db):
                continue
            text = _DEMO_NOTE.get(row.metric_id, _DEMO_NOTE_DEFAULT).format(name=row.metric_name)
            notes.write_note(row.metric_id, DEMO_NOTES_PERIOD, "la", None, text, author=f"{who} (demo)", db=db)
            written += 1
    return written


_DEMO_NOTE_DEFAULT = (
    "{name} is Red this month.\n"
    "The head of service is reviewing the teams furthest from target and will report back to the Board next month."
)
_DEMO_NOTE = {
    "seen_5wd": (
        "Visits within 5 working days fell after the inspection, with high leave in the Family Safeguarding teams.\n"
        "Team managers now check every unvisited child daily; agency cover starts in August."
    ),
    "assessments_45wd": (
        "Assessment timeliness has not recovered from the drop after the inspection in April.\n"
        "Overdue assessments are reviewed weekly at service level; see the Assessments plan (AS-4)."
    ),
}
