"""What a KPI's trend chart shows, worked out once for the page's chart (figures.trend_figure) and the board
pack's (export/svg.trend_svg): the target of each month and the value axis both draw."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from etl.catalogue.metrics import Metric


@dataclass(frozen=True)
class TrendModel:
    targets: list[float | None]  # the target in force each month (None where there is none)
    y_low: float
    y_high: float


def _num(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def trend_model(
    metric: Metric, periods: Sequence[str], values: Iterable[object], *, also: Iterable[object] = ()
) -> TrendModel:
    """The targets of `periods` and a value axis that holds the values, the targets, each month's RAG
    thresholds and `also` (benchmarks, England's line), with 12% of the span (at least 2 points of a
    percentage, 1 of a count or a rate) to spare either side; never below 0, nor above 100 for a percentage."""
    targets = [t.target if (t := metric.thresholds_for(p)) is not None else None for p in periods]
    known = [v for v in (_num(x) for x in [*values, *also]) if v is not None]
    known += [t for t in targets if t is not None]
    for p in periods if metric.rated else []:
        if (t := metric.thresholds_for(p)) is not None:
            known += [t.green, t.amber]
    lo, hi = min(known), max(known)
    pad = max((hi - lo) * 0.12, 2.0 if metric.unit == "percent" else 1.0)
    y_low, y_high = max(0.0, lo - pad), hi + pad
    if metric.unit == "percent":
        y_high = min(100.0, y_high)
    return TrendModel(targets=targets, y_low=y_low, y_high=y_high)
