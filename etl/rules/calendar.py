"""Periods, financial years and England and Wales working days.

Bank holidays come from the maintained `holidays` package (one-off holidays
such as 19 September 2022 and 8 May 2023 included), never a hand-typed list.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

CALENDAR_START = date(2000, 1, 1)
CALENDAR_END = date(2040, 12, 31)

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_FY = re.compile(r"^(\d{4})/(\d{2})$")


def parse_period(period: str) -> date:
    """`2023-07` -> date(2023, 7, 1)."""
    m = _PERIOD.match(period or "")
    if not m:
        raise ValueError(f"{period!r} is not a month like 2023-07")
    return date(int(m[1]), int(m[2]), 1)


def period_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def add_months(period: str, n: int) -> str:
    d = parse_period(period)
    index = d.year * 12 + d.month - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from first to last inclusive."""
    out, p = [], first
    while p <= last:
        out.append(p)
        p = add_months(p, 1)
    return out


def parse_financial_year(year: str) -> int:
    """`2023/24` -> 2023 (the calendar year it starts in)."""
    m = _FY.match(year or "")
    if not m or (int(m[1]) + 1) % 100 != int(m[2]):
        raise ValueError(f"{year!r} is not a financial year like 2023/24")
    return int(m[1])


def financial_year_of(period: str) -> str:
    """`2023-07` and `2024-03` -> `2023/24`."""
    d = parse_period(period)
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def quarter_of(period: str) -> str:
    """`2023-07` -> `2023/24 Q2` (Q1 April-June ... Q4 January-March)."""
    d = parse_period(period)
    q = (d.month - 4) % 12 // 3 + 1
    return f"{financial_year_of(period)} Q{q}"


def quarter_months(quarter: str) -> list[str]:
    """`2023/24 Q1` -> ['2023-04', '2023-05', '2023-06']."""
    m = re.match(r"^(\d{4}/\d{2}) Q([1-4])$", quarter)
    if not m:
        raise ValueError(f"{quarter!r} is not a quarter like 2023/24 Q1")
    first = add_months(f"{parse_financial_year(m[1])}-04", 3 * (int(m[2]) - 1))
    return [first, add_months(first, 1), add_months(first, 2)]


def financial_year_months(year: str) -> list[str]:
    start = parse_financial_year(year)
    return months_between(f"{start}-04", f"{start + 1}-03")


@lru_cache(maxsize=1)
def bank_holidays() -> dict[date, str]:
    """England and Wales bank holidays, from the `holidays` package (imported here: only a new calendar
    needs it, and it is slow to import)."""
    import holidays

    years = range(CALENDAR_START.year, CALENDAR_END.year + 1)
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=years))


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in bank_holidays()


def calendar_rows() -> list[tuple[date, bool, int]]:
    """(date, is_working_day, working days up to and including date) for the
    whole calendar. Working days after S up to and including E are then
    cum(E) - cum(S): two equi-joins in SQL instead of counting rows per case."""
    rows, cum, d = [], 0, CALENDAR_START
    while d <= CALENDAR_END:
        working = is_working_day(d)
        cum += working
        rows.append((d, working, cum))
        d += timedelta(days=1)
    return rows


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (start is day 0).
    Python twin of the SQL, for tests and the demo generator."""
    if end <= start:
        return -sum(is_working_day(start - timedelta(days=i)) for i in range(0, (start - end).days))
    return sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))


def add_working_days(start: date, n: int) -> date:
    """The date that is n working days after start (n >= 0)."""
    d, left = start, n
    while left > 0:
        d += timedelta(days=1)
        left -= is_working_day(d)
    return d
