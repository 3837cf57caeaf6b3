"""RAG and direction of travel, over whole columns (numpy) for the scorecard and one value for a page."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from etl.catalogue.metrics import Metric, Polarity, catalogue
from etl.serve.common import _thresholds

GREEN, AMBER, RED, NO_DATA = "Green", "Amber", "Red", "No data"
SMALL = "Small numbers"  # a share over fewer records than metrics.yml's min_denominator: shown, not rated

# --- RAG and direction, vectorised and scalar ---------------------------------

# Values and thresholds are compared, and printed, at this many decimal places: far
# finer than any figure is read at, far coarser than floating-point noise.
PRECISION = 9


def exact(values: Iterable[float] | float) -> np.ndarray:
    """Values rounded to PRECISION decimal places, once, before any comparison or print."""
    return np.round(np.asarray(values, dtype=float), PRECISION)


def rag_array(
    values: Iterable[float],
    green: Iterable[float],
    amber: Iterable[float],
    polarity: Iterable[str],
    rated: Iterable[bool] | None = None,
) -> np.ndarray:
    """RAG for whole columns. Higher is better: Green at or above green, Amber at or
    above amber, else Red; lower is better the mirror; a value exactly on a threshold
    takes the better colour; no value "No data"; monitored metrics, and rows where
    `rated` is False (a level the metric is not rated at), ""."""
    # On a threshold is on it, whatever the arithmetic: 100 * 2.2 / 10 is 22.000000000000004.
    v, g, a = exact(values), exact(green), exact(amber)
    pol = np.asarray(polarity, dtype=object)
    higher = pol == str(Polarity.HIGHER)
    green_ok = np.where(higher, v >= g, v <= g)
    amber_ok = np.where(higher, v >= a, v <= a)
    out = np.where(green_ok, GREEN, np.where(amber_ok, AMBER, RED)).astype(object)
    out[np.isnan(v)] = NO_DATA
    out[pol == str(Polarity.MONITORED)] = ""
    if rated is not None:
        out[~np.asarray(rated, dtype=bool)] = ""
    return out


def small_numbers_array(rag: np.ndarray, denominators: Iterable[float], minimums: Iterable[float]) -> np.ndarray:
    """`rag` with Green, Amber and Red turned to "Small numbers" where the denominator is below
    the KPI's min_denominator (counts: give a minimum of 0, or NaN denominators)."""
    out = np.asarray(rag, dtype=object).copy()
    den = np.asarray(pd.to_numeric(pd.Series(list(denominators)), errors="coerce"), dtype=float)
    low = np.asarray(list(minimums), dtype=float)
    with np.errstate(invalid="ignore"):
        small = (den < low) & np.isin(out, [GREEN, AMBER, RED])
    out[small] = SMALL
    return out


def minimums_of(metric_ids: Iterable[str]) -> list[float]:
    """Each KPI's min_denominator (0 for a count: never small)."""
    metrics = {m.metric_id: m for m in catalogue().metrics}
    return [0.0 if metrics[m].unit == "count" else float(metrics[m].min_denominator) for m in metric_ids]


def direction_array(values: Iterable[float], previous: Iterable[float], polarity: Iterable[str]) -> np.ndarray:
    """Direction of travel against the previous month, in each metric's polarity:
    improving / worsening / no change; up / down / no change for monitored metrics;
    "" when either value is missing."""
    v = np.asarray(values, dtype=float)
    p = np.asarray(previous, dtype=float)
    pol = np.asarray(polarity, dtype=object)
    diff = v - p
    # Percentages of equal ratios are bit-identical (one correctly rounded division);
    # the tolerance only absorbs noise from non-integer upstream figures.
    same = np.abs(diff) <= 1e-9
    up = diff > 0
    better = np.where(pol == str(Polarity.LOWER), ~up, up)
    out = np.where(better, "improving", "worsening").astype(object)
    monitored = pol == str(Polarity.MONITORED)
    out[monitored] = np.where(up[monitored], "up", "down")
    out[same] = "no change"
    out[np.isnan(diff)] = ""
    return out


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rag_for(
    metric: Metric, value: float | None, period: str, level: str | None = None, denominator: float | None = None
) -> str:
    """RAG of one value with the thresholds in force in `period` (at `level`); "Small numbers"
    for a share whose `denominator` is below the KPI's min_denominator."""
    if not metric.rated_at(level):
        return ""
    if _is_missing(value):
        return NO_DATA
    _, green, amber = _thresholds(metric, period, level)
    rag = str(rag_array([value], [green], [amber], [str(metric.polarity)])[0])
    return SMALL if rag in (GREEN, AMBER, RED) and metric.small_numbers(denominator) else rag


def direction_for(metric: Metric, value: float | None, previous: float | None) -> str:
    """Direction of travel of one value against the previous month's."""
    if _is_missing(value) or _is_missing(previous):
        return ""
    return str(direction_array([value], [previous], [str(metric.polarity)])[0])
