"""What every query of the read side shares: names checked against what is known, the catalogue as a
frame, month arithmetic in SQL, the authority in hand."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

import pandas as pd

from etl.catalogue.contract import match_name, name_key
from etl.catalogue.levels import LEVELS
from etl.catalogue.metrics import SCALE, Metric, catalogue
from etl.rules.calendar import parse_period
from etl.store import authority

# Record sources of metrics that councils counted upstream (kpi_values) before these extracts existed: while a
# source holds no record, freshness names kpi_values as the metric's source.
_COUNTED_UPSTREAM_UNTIL_NOW = (
    "s47_enquiries", "children_in_care", "care_leavers", "care_episodes", "health_outcomes", "care_leaver_outcomes",
)  # fmt: skip
# The units one level below, for drill-down (la -> services; area, service -> teams).
CHILD_LEVEL = {"la": "service", "area": "team", "service": "team"}

# --- catalogue helpers -------------------------------------------------------


class UnknownName(ValueError):
    """A filter names something the warehouse does not hold; the message names what it does."""


def _known(values: Iterable[str]) -> str:
    values = list(values)
    if not values:
        return "there are none yet"
    shown = ", ".join(values[:30])
    return f"known: {shown}" + (f" and {len(values) - 30} more" if len(values) > 30 else "")


def _resolve(what: str, name: str, known: Iterable[str], *, key=name_key) -> str:
    known = list(known)
    found = match_name(name, known, key=key)
    if found is None:
        raise UnknownName(f"{name!r} is not {'an' if what[0] in 'aeiou' else 'a'} {what} ({_known(known)})")
    return found


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise UnknownName(f"{level!r} is not a level (one of {', '.join(LEVELS)})")


def _metric(metric_id: str) -> Metric:
    try:
        return catalogue().metric(metric_id)
    except KeyError:
        known = [m.metric_id for m in catalogue().metrics]
        found = match_name(metric_id, known)
        if found is None:
            raise UnknownName(f"{metric_id!r} is not a metric in metrics.yml ({_known(known)})") from None
        return catalogue().metric(found)


def _unit_or_authority(level: str, unit: str | None) -> str:
    _check_level(level)
    if unit:
        return unit
    if level == "la":
        return authority.current().name
    raise ValueError(f"name the {level} (a unit is needed below the authority as a whole)")


def _first(period: str | date) -> date:
    """`2023-07` (or a date) -> date(2023, 7, 1)."""
    if isinstance(period, date):
        return period.replace(day=1)
    return parse_period(period)


def _months_sql(first: str, last: str) -> str:
    """A SELECT of every month from `first` to `last` (SQL expressions of first days of months), as `period` DATEs."""
    return (
        "SELECT CAST(g.period AS DATE) AS period FROM generate_series("
        f"CAST({first} AS TIMESTAMP), CAST({last} AS TIMESTAMP), INTERVAL '1 month') AS g(period)"
    )


def _month_text(date_sql: str) -> str:
    """`2023-07`, the month of a DATE (or TIMESTAMP) expression, as text."""
    return f"substr(CAST({date_sql} AS VARCHAR), 1, 7)"


def _authority_code() -> str | None:
    """The DfE code of the authority of the work in hand (None when metrics.yml names none)."""
    code = authority.current().code
    return None if code == authority.UNNAMED else code


def _thresholds(metric: Metric, period: str, level: str | None = None) -> tuple[float, float, float]:
    """(target, green, amber) in force in the period; NaN for a monitored metric, or
    at a level the metric is not rated at (metrics.yml `rated_levels`)."""
    t = metric.thresholds_for(period) if metric.rated_at(level) else None
    if t is None:
        return (math.nan, math.nan, math.nan)
    return (math.nan if t.target is None else t.target, t.green, t.amber)


def _metrics_frame(period: str, level: str | None = None) -> pd.DataFrame:
    """The catalogue as a frame, in catalogue order, with the thresholds in force in
    `period` at `level`; `rated` says whether the metric carries a RAG there."""
    rows = []
    for order, m in enumerate(catalogue().metrics):
        target, green, amber = _thresholds(m, period, level)
        rows.append(
            {
                "ord": order,
                "metric_id": m.metric_id,
                "metric_name": m.name,
                "short_name": m.label,
                "area": m.area,
                "unit": m.unit,
                "polarity": str(m.polarity),
                "rated": m.rated_at(level),
                "target": target,
                "green": green,
                "amber": amber,
                "benchmark_kpi": m.benchmark,
            }
        )
    return pd.DataFrame(rows)


def _metrics_values_sql() -> str:
    """The catalogue as a VALUES list (ord, metric_id, scale): scale 100 for a percentage, 1 for a rate, NULL
    for a count (its value is its numerator). Metric ids are validated by metrics.yml's model
    (`^[a-z][a-z0-9_]*$`), so they are safe inline."""
    return ", ".join(
        f"({i}, '{m.metric_id}', CAST({SCALE.get(m.unit, 'NULL')} AS DOUBLE PRECISION))"
        for i, m in enumerate(catalogue().metrics)
    )
