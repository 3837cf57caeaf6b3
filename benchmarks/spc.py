"""Speed of the SPC icons for a whole scorecard: 2,100 series (21 metrics x 100 teams) of 60 months.

Baseline in the same run: numpy computing just the mean and moving-range limits of the same series,
one series at a time (the least a per-series SPC must do). Measured: `spc_for_scorecard` series by
series (what the KPI page's single chart uses), and `scorecard_icons_grid`, every series on one grid
at once (what the scorecard and the icon matrix use). Each timed in turn, medians compared.
Goal: the whole grid's icons in less time than the baseline's limits alone (under 1x).

    .venv/bin/python benchmarks/spc.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etl.rules.spc import scorecard_icons_grid, spc_for_scorecard

SERIES = 2100
MONTHS = 60
REPEATS = 7


def _alternate(fns: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Every function timed once per round, in turn, so a busy machine slows each alike."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(REPEATS):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(50, 5, (SERIES, MONTHS))
    values[rng.random(values.shape) < 0.03] = np.nan  # some months without a figure
    dens = rng.integers(5, 40, (SERIES, MONTHS)).astype(float)
    has_row = np.ones(values.shape, dtype=bool)
    periods = [f"{2021 + i // 12}-{i % 12 + 1:02d}" for i in range(MONTHS)]
    each = {
        "polarity": ["higher_is_better"] * SERIES,
        "target": [52.0] * SERIES,
        "periods": periods,
        "rebase": [["2023-07"]] * SERIES,
    }

    def baseline() -> None:
        for row in values:
            a = row[~np.isnan(row)]
            mr = np.abs(np.diff(a)).mean()
            _ = (a.mean() - 2.66 * mr, a.mean() + 2.66 * mr)

    def one_by_one(chart: str) -> Callable[[], None]:
        def run() -> None:
            for row, den in zip(values, dens, strict=True):
                spc_for_scorecard(row, den, "higher_is_better", 52, chart, ["2023-07"], periods=periods)

        return run

    def grid(chart: str) -> Callable[[], None]:
        return lambda: scorecard_icons_grid(values, dens, has_row, chart=[chart] * SERIES, **each)

    times = _alternate(
        {
            "numpy limits only, series by series": baseline,
            "XmR, series by series": one_by_one("xmr"),
            "XmR, one grid": grid("xmr"),
            "p-chart, series by series": one_by_one("p"),
            "p-chart, one grid": grid("p"),
        }
    )
    base = statistics.median(times["numpy limits only, series by series"])
    print(
        f"SPC icons, {SERIES:,} series x {MONTHS} months (a rebase in each); {REPEATS} rounds, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for name, t in times.items():
        median = statistics.median(t)
        goal = f"; goal < 1x: {'met' if median < base else 'NOT met'}" if "grid" in name else ""
        print(f"  {name:<36} best {min(t):7.1f} ms, median {median:7.1f} ms ({median / base:5.2f}x the baseline){goal}")


if __name__ == "__main__":
    main()
