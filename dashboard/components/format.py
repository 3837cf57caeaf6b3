"""Numbers as a reader sees them, shared by the dashboard and the board pack.

A percentage has one decimal place ("88.2%"), a count none ("283"), a rate one
decimal place and no % sign ("16.7" cases per FTE); a missing value is "No data",
never 0 or "nan".
"""

from __future__ import annotations

import math
from typing import Any

NO_DATA = "No data"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def format_value(value: float | None, unit: str) -> str:
    """88.2 with unit "percent" -> "88.2%"; 283 with "count" -> "283"; 16.7 with "rate" -> "16.7"
    (15 -> "15.0"); None -> "No data"."""
    if _missing(value):
        return NO_DATA
    number = float(value)
    if unit == "percent":
        return f"{number:.1f}%"
    if unit == "rate":
        return f"{number:,.1f}"
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.1f}"


def format_count(value: float | None) -> str:
    """A whole count with thousands separators; missing -> "–"."""
    if _missing(value):
        return "–"
    number = float(value)
    return f"{int(number):,}" if number == int(number) else f"{number:,.1f}"


def format_denominator(value: float | None, unit: str) -> str:
    """A denominator as its unit counts it: records for a percentage ("425"), FTE for a rate, with one
    decimal place ("10.0", "4.5"); missing -> "–"."""
    if unit == "rate" and not _missing(value):
        return f"{float(value):,.1f}"
    return format_count(value)


def format_fraction(numerator: float | None, denominator: float | None, unit: str) -> str:
    """The counts behind a value: "375 / 425" for a percentage, "167 / 10.0" (cases / FTE) for a
    rate, "283" for a count, "" when there is nothing to show."""
    if unit == "count":
        return "" if _missing(numerator) else format_count(numerator)
    if _missing(denominator) or float(denominator) == 0:
        return ""
    return f"{format_count(numerator)} / {format_denominator(denominator, unit)}"


def format_target(value: float | None, unit: str) -> str:
    """The target as printed in the scorecard; no target -> "–"."""
    return "–" if _missing(value) else format_value(value, unit)


def month_label(period: str) -> str:
    """`2023-07` -> `Jul 2023`."""
    import calendar as _calendar

    year, month = period[:4], int(period[5:7])
    return f"{_calendar.month_abbr[month]} {year}"


def long_month_label(period: str) -> str:
    """`2023-07` -> `July 2023`."""
    import calendar as _calendar

    year, month = period[:4], int(period[5:7])
    return f"{_calendar.month_name[month]} {year}"
