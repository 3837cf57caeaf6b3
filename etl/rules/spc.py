"""Statistical process control in the NHS England "Making Data Count" style.

Pure functions: a monthly series in, means, limits and flags out. No Dash, no
warehouse. Two charts:

- ``xmr`` (individuals chart): centre = segment mean; process limits at
  mean +/- 2.66 x mean moving range; "two-sigma" lines at mean +/- (2/3) x 2.66 x
  mean moving range (sigma = mean moving range / 1.128).
- ``p`` (proportions with small denominators): centre = pooled proportion
  (sum of numerators / sum of denominators) per segment; limits for each month
  from that month's denominator: p +/- 3 sqrt(p(1 - p) / n), clipped to 0-100%.

Special-cause rules, as NHSRplotthedots (the NHS-R "plot the dots" package)
applies them, each within one segment (a rebase is a wall no rule crosses):

1. a point beyond the process limits (strictly);
2. a shift: 7 or more consecutive points on the same side of the mean; all of
   them are marked; a point exactly on the mean ends the run;
3. a trend: 7 consecutive points each strictly higher (or each strictly lower)
   than the one before, i.e. 6 increases in a row; all 7 are marked; a point
   equal to the one before ends the trend. Its direction is the trend's, not
   the side of the mean (NHSRplotthedots issue #167);
4. two in three: in 3 consecutive points, at least 2 lie beyond a two-sigma
   line (and inside the process limits) and all 3 lie on the same side of the
   mean; only the points beyond two sigma are marked (the third is not), and a
   pair on opposite sides never fires (NHSRplotthedots issue #143).

When more than one rule marks a point, its direction comes from the first in
the order above (as NHSRplotthedots's case_when does).

Like NHSRplotthedots (``screen_outliers = TRUE``, the Making Data Count
advice), moving ranges at or above 3.267 x the mean moving range are left out
and the mean moving range taken again, so one wild month does not widen the
limits for the whole segment; ``screen_outliers=False`` turns that off.

Gaps (None, NaN) are left out: the rules and moving ranges run over the months
that have a value, in order. A p-chart month with no denominator is a gap.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

XMR_LIMIT = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two points
XMR_TWO_SIGMA = 2 * XMR_LIMIT / 3
MR_SCREEN = 3.267  # upper range limit (D4 x mean moving range) for screening outliers
SHIFT_RUN = 7
TREND_RUN = 7
MIN_POINTS_FOR_ICONS = 12

POLARITIES = ("higher_is_better", "lower_is_better", "monitored")
CHARTS = ("xmr", "p")

COMMON_CAUSE = "common cause"
IMPROVING = "special cause improving"
CONCERNING = "special cause concerning"
NEUTRAL = "special cause neutral"
NO_DATA = ""  # the classification of a month without a value
POINT_CLASSES = (COMMON_CAUSE, IMPROVING, CONCERNING, NEUTRAL)

PASSING = "consistently passing"
FAILING = "consistently failing"
HIT_AND_MISS = "hit and miss"
ASSURANCES = (PASSING, FAILING, HIT_AND_MISS)

RULE_OUTSIDE = "outside limits"
RULE_SHIFT = "shift"
RULE_TREND = "trend"
RULE_TWO_IN_THREE = "two in three"
# Each rule as a reader is told it (the chart's hover and the table under it).
RULE_DESCRIPTIONS = {
    RULE_OUTSIDE: "beyond a process limit",
    RULE_SHIFT: "7 or more in a row on one side of the mean",
    RULE_TREND: "7 or more rising or falling in a row",
    RULE_TWO_IN_THREE: "2 of 3 close to a limit, on one side",
}

_CLASS_BY_CODE = (COMMON_CAUSE, IMPROVING, CONCERNING, NEUTRAL)


@dataclass(frozen=True)
class SPCResult:
    """One chart: per-point arrays (all the same length as the input) and the icons.

    Numbers are float arrays with NaN where there is nothing (a gap, or a
    segment too short for limits). ``point_class`` is one of ``POINT_CLASSES``
    or "" for a gap; ``point_side`` is "high"/"low" for a special cause, else
    "". ``rules`` names the rules that marked each point.

    ``variation``/``variation_side`` and ``assurance`` describe the latest
    point; they are "" / None (and ``reason`` says why) when the latest segment
    has fewer than 12 points. ``assurance_reason`` says why there is no
    assurance icon when there are variation icons but no assurance (no target,
    or a monitored metric).
    """

    chart: str
    polarity: str
    target: float | None
    period: tuple[str, ...]
    value: np.ndarray
    denominator: np.ndarray | None
    mean: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    upper_2s: np.ndarray
    lower_2s: np.ndarray
    segment: np.ndarray  # int, 0 for the first segment, +1 at each rebase
    rebase_positions: tuple[int, ...]  # where each new segment starts
    point_class: tuple[str, ...]
    point_side: tuple[str, ...]
    rules: tuple[tuple[str, ...], ...]
    outside_limits: np.ndarray  # bool per point: one array per rule
    shift: np.ndarray
    trend: np.ndarray
    two_in_three: np.ndarray
    variation: str = ""
    variation_side: str | None = None
    assurance: str = ""
    reason: str = ""
    assurance_reason: str = ""
    latest_index: int | None = None  # the point the icons describe
    points_in_latest_segment: int = 0

    @property
    def special_cause(self) -> np.ndarray:
        """True where any rule marked the point."""
        return self.outside_limits | self.shift | self.trend | self.two_in_three

    def __len__(self) -> int:
        return len(self.period)


@dataclass(frozen=True)
class _Core:
    """What the rules need, over the observed points only (gaps removed)."""

    obs: np.ndarray  # positions in the full series
    y: np.ndarray
    seg: np.ndarray
    seg_full: np.ndarray
    n_seg: int
    counts: np.ndarray  # observed points per segment
    mean_full: np.ndarray
    upper_full: np.ndarray
    lower_full: np.ndarray
    upper2_full: np.ndarray
    lower2_full: np.ndarray
    outside: np.ndarray
    shift: np.ndarray
    trend: np.ndarray
    two_in_three: np.ndarray
    code: np.ndarray  # 0 common, 1 improving, 2 concerning, 3 neutral
    direction: np.ndarray  # +1 high, -1 low, 0 common cause


def _as_float(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        out = values.astype(float, copy=True)
    else:
        out = np.array([np.nan if v is None else v for v in values], dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


def _check(polarity: str, chart: str) -> None:
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {', '.join(POLARITIES)}; got {polarity!r}")
    if chart not in CHARTS:
        raise ValueError(f"chart must be 'xmr' or 'p'; got {chart!r}")


def rebase_positions_for(rebase: Sequence[int | str] | None, periods: Sequence[str] | None, n: int) -> tuple[int, ...]:
    """Rebase points as positions where a new segment starts.

    An int is a position; a string is a period such as "2023-04" and starts the
    new segment at the first period on or after it (periods must be in order),
    so a change point in a month with no row still takes effect. Change points
    at or before the first point, or after the last, change nothing.
    """
    positions: set[int] = set()
    for r in rebase or ():
        if isinstance(r, str):
            if periods is None:
                raise ValueError(f"rebase period {r!r} given without period labels")
            pos = bisect.bisect_left(periods, r)
        else:
            pos = int(r)
        if 0 < pos < n:
            positions.add(pos)
    return tuple(sorted(positions))


def _segment_sums(seg: np.ndarray, weights: np.ndarray, n_seg: int) -> np.ndarray:
    return np.bincount(seg, weights=weights, minlength=n_seg)


def _run_length(starts: np.ndarray) -> np.ndarray:
    """Length of the run each element belongs to; ``starts`` marks the first of each run (and
    the first element starts one). From the runs' starting positions: a running count costs more."""
    first = np.flatnonzero(starts)
    lengths = np.diff(first, append=starts.size)
    return np.repeat(lengths, lengths)


def _core(
    values: np.ndarray,
    denominators: np.ndarray | None,
    polarity: str,
    chart: str,
    breaks: tuple[int, ...],
    screen_outliers: bool,
) -> _Core:
    n = values.size
    seg_full = np.searchsorted(np.asarray(breaks, dtype=int), np.arange(n), side="right")
    return _core_segments(
        values, denominators, _POLARITY_SIGN[polarity], chart, seg_full, len(breaks) + 1, screen_outliers
    )


# +1: high is good; -1: low is good; 0: monitored (special causes are neutral).
_POLARITY_SIGN = {"higher_is_better": 1, "lower_is_better": -1, "monitored": 0}


def _core_segments(
    values: np.ndarray,
    denominators: np.ndarray | None,
    sign: int | np.ndarray,
    chart: str,
    seg_full: np.ndarray,
    n_seg: int,
    screen_outliers: bool,
) -> _Core:
    """The rules over segments. Segments never share a mean, limits or a run, so many
    series can be concatenated, each with its own segment numbers, and judged in one pass
    (scorecard_icons_many)."""
    sign_full = np.broadcast_to(np.asarray(sign), values.shape)
    present = ~np.isnan(values)
    if chart == "p":
        present &= ~np.isnan(denominators) & (denominators > 0)
    obs = np.flatnonzero(present)
    y = values[obs]
    seg = seg_full[obs]
    counts = np.bincount(seg, minlength=n_seg)
    m = y.size

    with np.errstate(invalid="ignore", divide="ignore"):
        if chart == "xmr":
            mean_seg = _segment_sums(seg, y, n_seg) / counts
            mr = np.abs(np.diff(y))
            same = seg[1:] == seg[:-1]  # no moving range across a rebase
            mr_seg = seg[1:][same]
            mr_val = mr[same]
            amr = _segment_sums(mr_seg, mr_val, n_seg) / np.bincount(mr_seg, minlength=n_seg)
            if screen_outliers and mr_val.size:
                keep = mr_val < MR_SCREEN * amr[mr_seg]
                amr = _segment_sums(mr_seg[keep], mr_val[keep], n_seg) / np.bincount(mr_seg[keep], minlength=n_seg)
            mean_full = mean_seg[seg_full]
            half = XMR_LIMIT * amr[seg_full]
            half2 = XMR_TWO_SIGMA * amr[seg_full]
            upper_full, lower_full = mean_full + half, mean_full - half
            upper2_full, lower2_full = mean_full + half2, mean_full - half2
        else:
            den = denominators[obs]
            num = y / 100.0 * den
            pbar = _segment_sums(seg, num, n_seg) / _segment_sums(seg, den, n_seg)
            p_full = pbar[seg_full]
            den_full = np.where(present, denominators, np.nan)
            sigma = np.sqrt(p_full * (1 - p_full) / den_full) * 100.0
            mean_full = p_full * 100.0
            upper_full = np.minimum(mean_full + 3 * sigma, 100.0)
            lower_full = np.maximum(mean_full - 3 * sigma, 0.0)
            upper2_full = np.minimum(mean_full + 2 * sigma, 100.0)
            lower2_full = np.maximum(mean_full - 2 * sigma, 0.0)

    mean = mean_full[obs]
    upper, lower = upper_full[obs], lower_full[obs]
    upper2, lower2 = upper2_full[obs], lower2_full[obs]
    side = np.sign(y - mean)  # NaN only where the mean is NaN, which cannot happen for an observed point

    # Rule 1: beyond the process limits (NaN limits, e.g. a one-point segment, never fire).
    outside = (y > upper) | (y < lower)

    new_seg = np.ones(m, dtype=bool)
    new_seg[1:] = seg[1:] != seg[:-1]

    # Rule 2: runs of the same side of the mean, 7 or more long, all marked.
    starts = new_seg.copy()
    starts[1:] |= side[1:] != side[:-1]
    shift = (side != 0) & (_run_length(starts) >= SHIFT_RUN) if m else np.zeros(0, dtype=bool)

    # Rule 3: 6 equal-signed differences in a row (7 points); a difference across a rebase counts as 0.
    if m >= 2:
        d = np.sign(np.diff(y))
        d[new_seg[1:]] = 0
        d_starts = np.ones(m - 1, dtype=bool)
        d_starts[1:] = d[1:] != d[:-1]
        d_in_trend = (d != 0) & (_run_length(d_starts) >= TREND_RUN - 1)
        left = np.concatenate(([False], d_in_trend))  # the difference ending at the point
        right = np.concatenate((d_in_trend, [False]))  # the difference starting at it
        trend = left | right
        d_left = np.concatenate(([0.0], d))
        d_right = np.concatenate((d, [0.0]))
        # A point shared by two trends (a peak) takes the one to its right, as NHSRplotthedots does.
        trend_dir = np.where(right, d_right, d_left)
    else:
        trend = np.zeros(m, dtype=bool)
        trend_dir = np.zeros(m)

    # Rule 4: 2 of 3 beyond two sigma (but inside the limits), all 3 on the same side of the mean.
    close = ~outside & ((y > upper2) | (y < lower2))
    if m >= 3:
        c3 = close[:-2].astype(int) + close[1:-1] + close[2:]
        s3 = side[:-2] + side[1:-1] + side[2:]
        window = (c3 >= 2) & (np.abs(s3) == 3) & (seg[:-2] == seg[2:])
        wp = np.concatenate(([False, False], window, [False, False]))
        two_in_three = close & (wp[:m] | wp[1 : m + 1] | wp[2 : m + 2])
    else:
        two_in_three = np.zeros(m, dtype=bool)

    # Direction: first rule that fired, in NHSRplotthedots's order.
    # (Whole-array arithmetic on exclusive masks: nested np.where costs several times as much.)
    by_side = outside | (~trend & (two_in_three | shift))
    by_trend = ~outside & trend
    direction = np.where(by_side, side, 0.0).astype(int) + by_trend * trend_dir.astype(int)
    point_sign = sign_full[obs]
    oriented = direction * point_sign
    # 0 common cause, 1 improving, 2 concerning; 3 neutral (a monitored metric's special cause).
    code = (oriented > 0) + 2 * (oriented < 0) + 3 * ((point_sign == 0) & (direction != 0))

    return _Core(
        obs=obs, y=y, seg=seg, seg_full=seg_full, n_seg=n_seg, counts=counts,
        mean_full=mean_full, upper_full=upper_full, lower_full=lower_full,
        upper2_full=upper2_full, lower2_full=lower2_full,
        outside=outside, shift=shift, trend=trend, two_in_three=two_in_three,
        code=code, direction=direction,
    )  # fmt: skip


def _icons(
    core: _Core,
    polarity: str,
    chart: str,
    target: float | None,
    denominators: np.ndarray | None,
) -> tuple[str, str | None, str, str, str, int | None, int]:
    """(variation, side, assurance, reason, assurance_reason, latest index, points in latest segment)."""
    if core.obs.size == 0:
        return "", None, "", "no data", "", None, 0
    last = core.obs.size - 1
    last_seg = int(core.seg[last])
    has = int(core.counts[last_seg])
    latest = int(core.obs[last])
    if has < MIN_POINTS_FOR_ICONS:
        since = " since the last rebase" if last_seg > 0 else ""
        return "", None, "", f"needs at least {MIN_POINTS_FOR_ICONS} points{since}; has {has}", "", latest, has
    code = int(core.code[last])
    direction = int(core.direction[last])
    variation = _CLASS_BY_CODE[code]
    side = None if code == 0 else ("high" if direction > 0 else "low")

    if polarity == "monitored":
        return variation, side, "", "", "a monitored metric has no target", latest, has
    if target is None or not math.isfinite(target):
        return variation, side, "", "", "no target", latest, has
    if chart == "p":
        # Limits differ month by month; judge the process at the segment's average denominator,
        # so one small month does not turn a passing process into "hit and miss".
        mask = core.seg_full == last_seg
        dens = denominators[mask]
        dens = dens[np.isfinite(dens) & (dens > 0)]
        upper, lower = _p_limits_at(float(core.mean_full[latest]), float(dens.mean()))
    else:
        upper, lower = float(core.upper_full[latest]), float(core.lower_full[latest])
    return variation, side, _assurance(polarity, target, upper, lower), "", "", latest, has


def _p_limits_at(mean_pct: float, denominator: float) -> tuple[float, float]:
    """p-chart process limits (percent) at a given denominator."""
    p = mean_pct / 100.0
    sigma = math.sqrt(p * (1 - p) / denominator) * 100.0
    return min(mean_pct + 3 * sigma, 100.0), max(mean_pct - 3 * sigma, 0.0)


def _assurance(polarity: str, target: float, upper: float, lower: float) -> str:
    """Where the target sits against the process limits (NHSRplotthedots)."""
    higher = polarity == "higher_is_better"
    if target > upper:
        return FAILING if higher else PASSING
    if target < lower:
        return PASSING if higher else FAILING
    return HIT_AND_MISS


def _prepare(
    values: Sequence[float | None] | np.ndarray,
    denominators: Sequence[float | None] | np.ndarray | None,
    polarity: str,
    chart: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    polarity = str(polarity)
    _check(polarity, chart)
    y = _as_float(values)
    den = None
    if chart == "p":
        if denominators is None:
            raise ValueError("a p-chart needs the denominators")
        den = _as_float(denominators)
        if den.size != y.size:
            raise ValueError(f"{y.size} values but {den.size} denominators")
    elif denominators is not None:
        den = _as_float(denominators)
    return y, den


def spc(
    values: Sequence[float | None] | np.ndarray,
    *,
    polarity: str,
    denominators: Sequence[float | None] | np.ndarray | None = None,
    target: float | None = None,
    chart: str = "xmr",
    periods: Sequence[str] | None = None,
    rebase: Sequence[int | str] | None = None,
    screen_outliers: bool = True,
) -> SPCResult:
    """The SPC chart of a monthly series.

    values: one per month, oldest first; None for a month with no value. For a
    p-chart, percentages (0-100) and ``denominators`` (the month's count).
    polarity: "higher_is_better", "lower_is_better" or "monitored".
    rebase: change points, as positions or periods ("2023-04"); each starts a
    segment with its own centre and limits.
    """
    polarity = str(polarity)
    y, den = _prepare(values, denominators, polarity, chart)
    n = y.size
    if periods is None:
        period = tuple(str(i + 1) for i in range(n))
    else:
        period = tuple(str(p) for p in periods)
        if len(period) != n:
            raise ValueError(f"{n} values but {len(period)} periods")
    breaks = rebase_positions_for(rebase, period if periods is not None else None, n)
    core = _core(y, den, polarity, chart, breaks, screen_outliers)
    variation, side, assurance, reason, assurance_reason, latest, has = _icons(core, polarity, chart, target, den)

    def full(a: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[core.obs] = a
        return out

    point_class = [NO_DATA] * n
    point_side = [""] * n
    rules: list[tuple[str, ...]] = [()] * n
    for i, pos in enumerate(core.obs.tolist()):
        point_class[pos] = _CLASS_BY_CODE[core.code[i]]
        if core.direction[i]:
            point_side[pos] = "high" if core.direction[i] > 0 else "low"
        fired = tuple(
            name
            for name, hit in (
                (RULE_OUTSIDE, core.outside[i]),
                (RULE_SHIFT, core.shift[i]),
                (RULE_TREND, core.trend[i]),
                (RULE_TWO_IN_THREE, core.two_in_three[i]),
            )
            if hit
        )
        rules[pos] = fired

    value = np.full(n, np.nan)
    value[core.obs] = core.y  # a p-chart month without a denominator is a gap too
    return SPCResult(
        chart=chart,
        polarity=polarity,
        target=target,
        period=period,
        value=value,
        denominator=den,
        mean=core.mean_full,
        upper=core.upper_full,
        lower=core.lower_full,
        upper_2s=core.upper2_full,
        lower_2s=core.lower2_full,
        segment=core.seg_full,
        rebase_positions=breaks,
        point_class=tuple(point_class),
        point_side=tuple(point_side),
        rules=tuple(rules),
        outside_limits=full(core.outside),
        shift=full(core.shift),
        trend=full(core.trend),
        two_in_three=full(core.two_in_three),
        variation=variation,
        variation_side=side,
        assurance=assurance,
        reason=reason,
        assurance_reason=assurance_reason,
        latest_index=latest,
        points_in_latest_segment=has,
    )


def spc_for_scorecard(
    values: Sequence[float | None] | np.ndarray,
    denominators: Sequence[float | None] | np.ndarray | None = None,
    polarity: str = "higher_is_better",
    target: float | None = None,
    chart: str = "xmr",
    rebase_positions: Sequence[int | str] | None = None,
    *,
    periods: Sequence[str] | None = None,
    screen_outliers: bool = True,
) -> tuple[str, str]:
    """(variation, assurance) for the latest point, for the scorecard's columns.

    variation: "common cause", "special cause improving", "special cause
    concerning", "special cause neutral" or "" (fewer than 12 points since the
    last rebase); assurance: "consistently passing", "consistently failing",
    "hit and miss" or "" (no target, monitored, or too few points). The latest
    point is the last month with a value. Rebase points are positions, or
    periods when ``periods`` labels the values. Skips the per-point labels
    ``spc`` builds, so it is cheap enough to call for every metric and unit on
    a scorecard (600 series of 60 months in about 50 ms).
    """
    variation, _side, assurance, *_ = _latest_icons(
        values, denominators, polarity, target, chart, rebase_positions, periods, screen_outliers
    )
    return variation, assurance


def _latest_icons(
    values: Sequence[float | None] | np.ndarray,
    denominators: Sequence[float | None] | np.ndarray | None,
    polarity: str,
    target: float | None,
    chart: str,
    rebase: Sequence[int | str] | None,
    periods: Sequence[str] | None,
    screen_outliers: bool,
) -> tuple[str, str | None, str, str, str, int | None, int]:
    """The icons for the latest point only (no per-point labels): _icons of _core."""
    polarity = str(polarity)
    y, den = _prepare(values, denominators, polarity, chart)
    breaks = rebase_positions_for(rebase, periods, y.size)
    core = _core(y, den, polarity, chart, breaks, screen_outliers)
    return _icons(core, polarity, chart, target, den)


def scorecard_icons(
    values: Sequence[float | None] | np.ndarray,
    denominators: Sequence[float | None] | np.ndarray | None,
    polarity: str,
    target: float | None,
    chart: str,
    periods: Sequence[str],
    rebase: Sequence[str] = (),
) -> tuple[str, str, str, str]:
    """(variation, variation icon kind, assurance, reason) for a scorecard row:
    spc_for_scorecard plus what the page needs to draw the icon and say why
    there is none."""
    variation, side, assurance, reason, *_ = _latest_icons(
        values, denominators, polarity, target, chart, list(rebase) or None, periods, True
    )
    return variation, variation_icon_kind(variation, side), assurance, reason


# Icon kinds, named as Making Data Count names its icons; the UI picks the arrow from high/low.
VARIATION_ICON_KINDS = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neither_high",
    "neither_low",
)
ASSURANCE_ICON_KINDS = ("pass", "fail", "hit_and_miss")


def variation_icon_kind(variation: str, side: str | None) -> str:
    """The Making Data Count variation icon for (variation, side); "" when there is none."""
    if variation == COMMON_CAUSE:
        return "common_cause"
    prefix = {IMPROVING: "improvement", CONCERNING: "concern", NEUTRAL: "neither"}.get(variation)
    if prefix is None or side not in ("high", "low"):
        return ""
    return f"{prefix}_{side}"


_ASSURANCE_ICON = {PASSING: "pass", FAILING: "fail", HIT_AND_MISS: "hit_and_miss"}


def assurance_icon_kind(assurance: str) -> str:
    """The Making Data Count assurance icon for an assurance string; "" when there is none."""
    return _ASSURANCE_ICON.get(assurance, "")


def scorecard_icons_many(
    rows: Sequence[
        tuple[
            Sequence[float | None], Sequence[float | None] | None, str, float | None, str, Sequence[str], Sequence[str]
        ]
    ],
) -> list[tuple[str, str, str, str]]:
    """scorecard_icons for many series at once: (values, denominators, polarity, target,
    chart, periods, rebase) in, (variation, icon kind, assurance, reason) out, in order.

    The series are laid on one grid of months (the union of their periods, each series'
    periods in order) and judged by scorecard_icons_grid."""
    if not rows:
        return []
    months = sorted({str(p) for row in rows for p in row[5]})
    column = {m: i for i, m in enumerate(months)}
    shape = (len(rows), max(len(months), 1))
    values, denominators = np.full(shape, np.nan), np.full(shape, np.nan)
    has_row = np.zeros(shape, dtype=bool)
    for i, (v, d, polarity, _target, chart, periods, _rebase) in enumerate(rows):
        y, den = _prepare(v, d, polarity, chart)
        if len(periods) != y.size:
            raise ValueError(f"{y.size} values but {len(periods)} periods")
        at = [column[str(p)] for p in periods]
        values[i, at] = y
        if den is not None:
            denominators[i, at] = den
        has_row[i, at] = True
    icons = scorecard_icons_grid(
        values,
        denominators,
        has_row,
        polarity=[row[2] for row in rows],
        target=[row[3] for row in rows],
        chart=[row[4] for row in rows],
        periods=months,
        rebase=[row[6] for row in rows],
    )
    return list(zip(icons["variation"], icons["variation_icon"], icons["assurance"], icons["spc_note"], strict=True))


# Variation icon kinds by point code (0 common, 1 improving, 2 concerning, 3 neutral) and side (low, high).
_ICON_BY_CODE = (
    ("common_cause", "common_cause"),
    ("improvement_low", "improvement_high"),
    ("concern_low", "concern_high"),
    ("neither_low", "neither_high"),
)


def scorecard_icons_grid(
    values: np.ndarray,
    denominators: np.ndarray | None,
    has_row: np.ndarray,
    *,
    polarity: Sequence[str],
    target: Sequence[float | None] | np.ndarray,
    chart: Sequence[str],
    periods: Sequence[str],
    rebase: Sequence[Sequence[str]],
) -> dict[str, np.ndarray]:
    """The scorecard's icons for many series on one grid of months, judged in one pass.

    values, denominators, has_row: (series, months) arrays, months oldest first and
    labelled by ``periods`` ("2023-07", in order); NaN where a month has no value, and
    has_row False where the series has no row at all (a month without a row is no month
    of the series: a rebase counts only between two of its rows, as in ``spc``). Per
    series: polarity, target (None or NaN for none), chart and rebase periods.

    Returns the columns ``variation``, ``variation_icon``, ``assurance``,
    ``assurance_icon`` and ``spc_note`` (why there is no icon), one object array each,
    exactly what ``scorecard_icons`` gives each series alone: every series is concatenated
    with its own segment numbers and the rules run once over all of them (_core_segments),
    so a 100-team scorecard (2,100 series) costs a few numpy calls, not 2,100 sets of them."""
    y = np.asarray(values, dtype=float)
    if y.ndim != 2:
        raise ValueError("values must be a (series, months) grid")
    n_series, n_months = y.shape
    den = np.full(y.shape, np.nan) if denominators is None else np.asarray(denominators, dtype=float)
    rows = np.asarray(has_row, dtype=bool) | ~np.isnan(y)
    polarities = [str(p) for p in polarity]
    chart_names = [str(c) for c in chart]
    for p in set(polarities):
        _check(p, "xmr")
    for c in set(chart_names):
        _check(POLARITIES[0], c)
    charts = np.asarray(chart_names, dtype=object)
    sign = np.asarray([_POLARITY_SIGN[p] for p in polarities], dtype=int)
    targets = (
        target.astype(float)
        if isinstance(target, np.ndarray)
        else np.asarray([np.nan if t is None else t for t in target], dtype=float)
    )
    if not (len(polarities) == len(charts) == targets.size == len(rebase) == n_series == den.shape[0]):
        raise ValueError("one polarity, target, chart and rebase list per series")

    # Segments: a rebase starts one where the series has a row before it and one on or after it.
    seen = rows.any(axis=1)
    first_row = np.where(seen, np.argmax(rows, axis=1), n_months)
    last_row = np.where(seen, n_months - 1 - np.argmax(rows[:, ::-1], axis=1), -1)
    local = np.zeros(y.shape, dtype=np.int64)
    by_rebase: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(rebase):
        if r:
            by_rebase.setdefault(tuple(str(p) for p in r), []).append(i)
    for changes, chosen in by_rebase.items():
        idx = np.asarray(chosen)
        for at in sorted({bisect.bisect_left(periods, p) for p in changes}):
            starts = (first_row[idx] < at) & (last_row[idx] >= at)
            local[idx, at:] += starts[:, None]

    variation = np.full(n_series, "", dtype=object)
    icon = np.full(n_series, "", dtype=object)
    assurance = np.full(n_series, "", dtype=object)
    note = np.full(n_series, "no data", dtype=object)
    for kind in CHARTS:
        chosen = np.flatnonzero(charts == kind)
        if chosen.size == 0:
            continue
        latest = _latest_point(y[chosen], den[chosen], local[chosen], sign[chosen], kind)
        rows_k = chosen[latest.count > 0]
        count, last_seg = latest.count[latest.count > 0], latest.segment[latest.count > 0]
        enough = count >= MIN_POINTS_FOR_ICONS
        short = ~enough
        for i, n, seg in zip(rows_k[short].tolist(), count[short].tolist(), last_seg[short].tolist(), strict=True):
            since = " since the last rebase" if seg else ""
            note[i] = f"needs at least {MIN_POINTS_FOR_ICONS} points{since}; has {n}"
        judged_rows = latest.count >= MIN_POINTS_FOR_ICONS
        rows_k = chosen[judged_rows]
        note[rows_k] = ""
        code, direction = latest.code[judged_rows], latest.direction[judged_rows]
        variation[rows_k] = np.asarray(_CLASS_BY_CODE, dtype=object)[code]
        icon[rows_k] = np.asarray(_ICON_BY_CODE, dtype=object)[code, (direction > 0).astype(int)]
        upper, lower = latest.upper[judged_rows], latest.lower[judged_rows]
        assured = (sign[rows_k] != 0) & np.isfinite(targets[rows_k])
        t = targets[rows_k]
        higher = sign[rows_k] > 0
        with np.errstate(invalid="ignore"):
            judged = np.where(
                t > upper,
                np.where(higher, FAILING, PASSING),
                np.where(t < lower, np.where(higher, PASSING, FAILING), HIT_AND_MISS),
            ).astype(object)
        assurance[rows_k[assured]] = judged[assured]
    return {
        "variation": variation,
        "variation_icon": icon,
        "assurance": assurance,
        "assurance_icon": np.asarray([_ASSURANCE_ICON.get(a, "") for a in assurance.tolist()], dtype=object),
        "spc_note": note,
    }


@dataclass(frozen=True)
class _Latest:
    """Per series of a grid: the latest point's judgement (code and direction as _Core's), the
    observed points in its segment, that segment's number within the series, and the process
    limits the assurance icon is judged against (a p-chart's at the segment's average denominator)."""

    count: np.ndarray
    segment: np.ndarray
    code: np.ndarray
    direction: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def _latest_point(y: np.ndarray, den: np.ndarray, local: np.ndarray, sign: np.ndarray, chart: str) -> _Latest:
    """The rules of _core_segments at each series' latest point only, series in rows.

    Only the latest segment of a series bears on its latest point, and of the rules only the
    runs and the window of three that end there: the segment's points are taken in order (so
    every sum adds the same numbers in the same order as _core_segments, and the limits are the
    same to the last bit), and the runs are measured back from the end. Far fewer whole-series
    arrays than judging every point, which is what a scorecard of 2,100 series pays for."""
    k, n_months = y.shape
    present = ~np.isnan(y)
    if chart == "p":
        with np.errstate(invalid="ignore"):
            present &= ~np.isnan(den) & (den > 0)
    seen = present.any(axis=1)
    last_col = n_months - 1 - np.argmax(present[:, ::-1], axis=1)
    last_seg = np.where(seen, local[np.arange(k), last_col], 0)
    in_last = present & (local == last_seg[:, None])
    r, c = np.nonzero(in_last)  # row-major: each series' points in month order
    vals = y[r, c]
    count = np.bincount(r, minlength=k)
    ends = np.cumsum(count) - 1  # each series' latest point in r, c, vals (where count > 0)
    nan = np.full(k, np.nan)
    same = r[1:] == r[:-1]  # consecutive points of one series
    with np.errstate(invalid="ignore", divide="ignore"):
        if chart == "xmr":
            mean = np.bincount(r, weights=vals, minlength=k) / count
            mr_r, mr_val = r[1:][same], np.abs(np.diff(vals))[same]
            amr = np.bincount(mr_r, weights=mr_val, minlength=k) / np.bincount(mr_r, minlength=k)
            if mr_val.size:
                keep = mr_val < MR_SCREEN * amr[mr_r]
                amr = np.bincount(mr_r[keep], weights=mr_val[keep], minlength=k) / np.bincount(mr_r[keep], minlength=k)
            half, half2 = XMR_LIMIT * amr, XMR_TWO_SIGMA * amr
            upper, lower = mean + half, mean - half

            def limits(at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
                rows = r[at]
                return upper[rows], lower[rows], (mean + half2)[rows], (mean - half2)[rows]

            assured_upper, assured_lower = upper, lower
        else:
            den_pts = den[r, c]
            pbar = np.bincount(r, weights=vals / 100.0 * den_pts, minlength=k) / np.bincount(
                r, weights=den_pts, minlength=k
            )
            mean = pbar * 100.0

            def limits(at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
                p = pbar[r[at]]
                sigma = np.sqrt(p * (1 - p) / den_pts[at]) * 100.0
                m = mean[r[at]]
                return (
                    np.minimum(m + 3 * sigma, 100.0),
                    np.maximum(m - 3 * sigma, 0.0),
                    np.minimum(m + 2 * sigma, 100.0),
                    np.maximum(m - 2 * sigma, 0.0),
                )

            # As _icons: the process judged at the segment's average denominator (every month of
            # the segment with a denominator, a value or not).
            valid = ~np.isnan(den) & (den > 0) & (local == last_seg[:, None])
            vr, vc = np.nonzero(valid)
            mean_den = np.bincount(vr, weights=den[vr, vc], minlength=k) / np.maximum(np.bincount(vr, minlength=k), 1)
            sigma_at = np.sqrt(pbar * (1 - pbar) / mean_den) * 100.0
            assured_upper = np.minimum(mean + 3 * sigma_at, 100.0)
            assured_lower = np.maximum(mean - 3 * sigma_at, 0.0)

    code = np.zeros(k, dtype=np.int64)
    direction = np.zeros(k, dtype=np.int64)
    judged = np.flatnonzero(count > 0)
    if judged.size == 0:
        return _Latest(count, last_seg, code, direction, nan, nan)
    side = np.sign(vals - mean[r])
    first = np.ones(vals.size, dtype=bool)
    first[1:] = ~same
    e = ends[judged]

    # Rule 1 at the latest point, and "close" (beyond two sigma, inside the limits) at the last three.
    def beyond(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        up, lo, up2, lo2 = limits(at)
        v = vals[at]
        out = (v > up) | (v < lo)
        return out, ~out & ((v > up2) | (v < lo2))

    outside, close_0 = beyond(e)
    # Rule 2: the run on one side of the mean that the latest point ends.
    starts = first.copy()
    starts[1:] |= side[1:] != side[:-1]
    shift = (side[e] != 0) & (_run_ending_at(starts, e) >= SHIFT_RUN)
    # Rule 3: the run of equal-signed differences ending at the latest point (the difference
    # into a segment's first point counts as 0).
    trend = np.zeros(e.size, dtype=bool)
    trend_dir = np.zeros(e.size)
    if vals.size >= 2:
        d = np.sign(np.diff(vals))
        d[first[1:]] = 0
        d_starts = np.ones(d.size, dtype=bool)
        d_starts[1:] = d[1:] != d[:-1]
        has_d = count[judged] >= 2
        de = e[has_d] - 1  # the difference ending at the latest point
        trend[has_d] = (d[de] != 0) & (_run_ending_at(d_starts, de) >= TREND_RUN - 1)
        trend_dir[has_d] = d[de]
    # Rule 4: the window of the last three points, all on one side, two or more close to a limit.
    two_in_three = np.zeros(e.size, dtype=bool)
    three = count[judged] >= 3
    if three.any():
        e3 = e[three]
        _, close_1 = beyond(e3 - 1)
        _, close_2 = beyond(e3 - 2)
        c3 = close_0[three].astype(int) + close_1 + close_2
        s3 = side[e3] + side[e3 - 1] + side[e3 - 2]
        two_in_three[three] = close_0[three] & (c3 >= 2) & (np.abs(s3) == 3)

    last_side = side[e]
    dir_judged = np.where(
        outside, last_side, np.where(trend, trend_dir, np.where(two_in_three | shift, last_side, 0.0))
    ).astype(int)
    point_sign = sign[judged]
    oriented = dir_judged * point_sign
    code[judged] = np.where(
        point_sign == 0,
        np.where(dir_judged != 0, 3, 0),
        np.where(oriented > 0, 1, np.where(oriented < 0, 2, 0)),
    )
    direction[judged] = dir_judged
    return _Latest(count, last_seg, code, direction, assured_upper, assured_lower)


def _run_ending_at(starts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """_run_length(starts)[at] for the last element of each run asked about (the elements
    from the run's start up to `at`; `at` ascending)."""
    first = np.flatnonzero(starts)
    return at - first[np.searchsorted(first, at, side="right") - 1] + 1
