"""DfE's published figures beside ours: comparators for a month, the authority's neighbours, a KPI's
comparison year by year (etl.catalogue.reference holds the rules)."""

from __future__ import annotations

import threading

import pandas as pd

from etl.catalogue import reference
from etl.catalogue.metrics import catalogue
from etl.rules.calendar import financial_year_of, period_of
from etl.serve.common import _authority_code, _first, _metric
from etl.store.db import Connection, Db
from etl.store.warehouse import reading


def published_year_for(period: str) -> int:
    """The published year matching a month: the year ending 31 March inside its
    financial year (2023-07 is in 2023/24, so 2024)."""
    return int(financial_year_of(period)[:4]) + 1


def _comparators(con: Connection, period: str) -> pd.DataFrame:
    """etl.catalogue.reference comparators for every metric with a benchmark, for the period's published year."""
    year = published_year_for(period)
    wanted = [(m.metric_id, m.benchmark, str(m.polarity), year) for m in catalogue().metrics if m.benchmark]
    # DfE's figures change only when the shipped files are reloaded (settings' reference_hash), so each
    # authority's comparators are worked out once per year asked for, not on every scorecard (about 45 ms).
    found = con.execute("SELECT value FROM settings WHERE key = 'reference_hash'").fetchall()
    key = (_authority_code(), tuple(wanted), found[0][0] if found else None)
    with _COMPARATORS_LOCK:
        cached = _COMPARATORS.get(key)
    if cached is None:
        cached = reference.comparator_frame(con, _authority_code(), wanted)
        with _COMPARATORS_LOCK:
            if len(_COMPARATORS) > 512:
                _COMPARATORS.clear()
            _COMPARATORS[key] = cached
    return cached.copy()


_COMPARATORS: dict[tuple, pd.DataFrame] = {}
_COMPARATORS_LOCK = threading.Lock()


def comparators(period: str, *, db: Db = None) -> pd.DataFrame:
    """The published comparators of every KPI with a counterpart, for the month's
    published year (etl.catalogue.reference.COMPARATOR_COLUMNS; the scorecard carries the same)."""
    with reading(db) as con:
        return _comparators(con, period_of(_first(period)))


def reference_authority(db: Db = None) -> dict | None:
    """The authority whose published figures are the comparators (the authority of the
    work in hand, by default metrics.yml's `authority.la_code`): {la_code, la_name,
    region_name, neighbours: [names, closest first]}; la_name None when DfE's files do
    not know the code; None when no code is set."""
    code = _authority_code()
    if not code:
        return None
    with reading(db) as con:
        found = con.execute("SELECT la_name, region_name FROM authorities WHERE la_code = ?", [code]).fetchall()
        neighbours = con.execute(
            "SELECT a.la_name FROM neighbours n JOIN authorities a ON a.la_code = n.neighbour_code "
            "WHERE n.la_code = ? ORDER BY n.rank",
            [code],
        ).fetchall()
    name, region = found[0] if found else (None, None)
    return {"la_code": code, "la_name": name, "region_name": region, "neighbours": [n for (n,) in neighbours]}


def comparison(metric_id: str, *, db: Db = None) -> pd.DataFrame:
    """A KPI's published counterpart year by year: the authority, each of its ten
    neighbours (closest first) and England (etl.catalogue.reference.comparison_frame); empty
    when the KPI has no counterpart."""
    metric = _metric(metric_id)
    with reading(db) as con:
        if not metric.benchmark:
            return pd.DataFrame(columns=reference.COMPARISON_COLUMNS)
        return reference.comparison_frame(con, _authority_code(), metric.benchmark)


def england_by_year(metric_id: str, *, db: Db = None) -> dict[int, float]:
    """England's published figure of a KPI's counterpart by year (to 31 March); {} when none."""
    frame = comparison(metric_id, db=db)
    england = frame[(frame["role"] == "england") & frame["value"].notna()]
    return {int(y): float(v) for y, v in zip(england["year"], england["value"], strict=True)}
