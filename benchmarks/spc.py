"""Speed of the SPC icons for a whole scorecard: 600 series (metrics x org units) of 60 months.

Baseline in the same run: numpy computing just the mean and moving-range limits of the same series,
the least any SPC must do. Goal: the icons for a whole scorecard within 200 ms.

    .venv/bin/python benchmarks/spc.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etl.rules.spc import spc_for_scorecard


def _time(fn, repeats: int = 7) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    rng = np.random.default_rng(7)
    series = [rng.normal(50, 5, 60).tolist() for _ in range(600)]
    dens = [rng.integers(5, 40, 60).astype(float).tolist() for _ in range(600)]

    def baseline() -> None:
        for values in series:
            a = np.asarray(values)
            mr = np.abs(np.diff(a)).mean()
            _ = (a.mean() - 2.66 * mr, a.mean() + 2.66 * mr)

    def xmr() -> None:
        for values in series:
            spc_for_scorecard(values, None, "higher_is_better", 52, "xmr", [30])

    def pchart() -> None:
        for values, den in zip(series, dens, strict=True):
            spc_for_scorecard(values, den, "higher_is_better", 52, "p", [30])

    base = _time(baseline)
    for name, fn in (("XmR", xmr), ("p-chart", pchart)):
        t = _time(fn)
        print(
            f"SPC icons, 600 series x 60 months, {name}: best {min(t) * 1000:.0f} ms, "
            f"median {statistics.median(t) * 1000:.0f} ms (numpy limits only: {min(base) * 1000:.1f} ms); "
            f"goal < 200 ms: {'met' if statistics.median(t) < 0.2 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
