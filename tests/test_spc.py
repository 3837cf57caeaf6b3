"""Statistical process control (etl.rules.spc) on small series worked out by hand.

Conventions in the comments: positions are 0-based; "mrbar" is the mean moving
range (after screening: moving ranges >= 3.267 x mrbar are left out, as
NHSRplotthedots and Making Data Count do); limits are mean +/- 2.66 x mrbar and
two-sigma lines mean +/- (2/3) x 2.66 x mrbar = mean +/- 1.7733 x mrbar.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from etl.rules.spc import (
    COMMON_CAUSE,
    CONCERNING,
    FAILING,
    HIT_AND_MISS,
    IMPROVING,
    NEUTRAL,
    PASSING,
    assurance_icon_kind,
    rebase_positions_for,
    spc,
    spc_for_scorecard,
    variation_icon_kind,
)

HIGHER = "higher_is_better"
LOWER = "lower_is_better"
MONITORED = "monitored"


def flagged(result) -> list[int]:
    """Positions of the special-cause points."""
    return [i for i, c in enumerate(result.point_class) if c not in (COMMON_CAUSE, "")]


# 10 points alternating 12, 8 (ending on 8), then 7 points of 11/12: the shift.
# Sum 100 + (4 x 11 + 3 x 12 = 80) = 180 over 17 points: mean 10.588, so every 12
# is above, every 8 below, and the last 7 points (11s and 12s) are all above.
# Moving ranges: 9 x 4 (alternation) + 3 (8 -> 11) + 6 x 1 = 45 over 16: mrbar 2.8125
# (none >= 3.267 x 2.8125 = 9.19). Limits 10.588 +/- 7.481 = 3.107 .. 18.070;
# two sigma 10.588 +/- 4.988 = 5.600 .. 15.576: nothing beyond either.
SHIFT_7 = [12, 8] * 5 + [11, 12, 11, 12, 11, 12, 11]

# 10 points alternating 8, 12 (ending on 12), then 7, 8, 9, 10, 11, 12, 13: six rises.
# Sum 100 + 70 = 170 over 17: mean 10 (7, 8, 9 below, 10 on the mean, 11-13 above:
# no run of 7 on one side). Moving ranges 36 + 5 (12 -> 7) + 6 = 47 over 16: mrbar
# 2.9375; limits 10 +/- 7.814 = 2.186 .. 17.814; two sigma 4.791 .. 15.209.
TREND_7 = [8, 12] * 5 + [7, 8, 9, 10, 11, 12, 13]


def test_xmr_limits_match_the_nhsrplotthedots_vignette() -> None:
    # NHSRplotthedots's outlier-screening vignette: 1, 2, 1, 2, 10, 1, 2, ... (18 points).
    # Sum 35 over 18: mean 1.944. Moving ranges: fifteen 1s, plus 8 (2 -> 10) and 9 (10 -> 1):
    # 32 over 17 = 1.882; 3.267 x 1.882 = 6.15 screens out 8 and 9, leaving 15 / 15 = 1.0.
    # Limits 1.944 +/- 2.66 = -0.716 .. 4.604 (the vignette's caption: 4.6, 1.94, -0.72).
    values = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    r = spc(values, polarity=HIGHER)
    assert r.mean[0] == pytest.approx(35 / 18)
    assert r.upper[0] == pytest.approx(35 / 18 + 2.66)
    assert r.lower[0] == pytest.approx(35 / 18 - 2.66)
    assert r.upper_2s[0] == pytest.approx(35 / 18 + 2 * 2.66 / 3)
    assert flagged(r) == [4]  # 10 is beyond 4.604
    assert r.rules[4] == ("outside limits",)


def test_shift_of_seven_flags_all_seven() -> None:
    r = spc(SHIFT_7, polarity=HIGHER)
    assert r.mean[0] == pytest.approx(180 / 17)
    assert r.upper[0] == pytest.approx(180 / 17 + 2.66 * 45 / 16)
    assert flagged(r) == list(range(10, 17))
    assert all(r.rules[i] == ("shift",) for i in range(10, 17))
    assert r.point_class[10] == IMPROVING and r.point_side[10] == "high"
    # The latest point is in the shift, above the mean, and higher is better.
    assert (r.variation, r.variation_side) == (IMPROVING, "high")
    assert r.reason == ""


def test_run_of_six_does_not_flag() -> None:
    # The same alternation, then only 6 points above: 11, 12, 11, 12, 11, 12.
    # Sum 169 over 16: mean 10.5625; mrbar (36 + 3 + 5) / 15 = 2.933; limits 2.76 .. 18.37,
    # two sigma 5.36 .. 15.76. A run of 6 is not a shift, so nothing is special.
    r = spc([12, 8] * 5 + [11, 12, 11, 12, 11, 12], polarity=HIGHER)
    assert r.mean[0] == pytest.approx(169 / 16)
    assert flagged(r) == []
    assert r.variation == COMMON_CAUSE


def test_point_on_the_mean_breaks_a_run() -> None:
    # 8, 12, 8, 12, 8 | 11, 11, 11, 10, 11, 11, 11 | 9, 9, 8, 12, 8, 12, 8.
    # Sum 48 + 33 + 10 + 33 + 66 = 190 over 19: mean exactly 10, so the 10 lies on the mean
    # and splits the 11s into two runs of 3 above. Moving ranges 16 + 3 + 0 + 0 + 1 + 1 + 0 + 0
    # + 2 + 0 + 1 + 16 = 40 over 18: mrbar 2.222; limits 4.09 .. 15.91, two sigma 6.06 .. 13.94.
    values = [8, 12, 8, 12, 8, 11, 11, 11, 10, 11, 11, 11, 9, 9, 8, 12, 8, 12, 8]
    r = spc(values, polarity=HIGHER)
    assert r.mean[0] == pytest.approx(10)
    assert flagged(r) == []
    # With 11 in its place: sum 191, mean 10.053, and the seven 11s (positions 5-11, between
    # an 8 and a 9 below the mean) are a shift. Limits 10.053 +/- 2.66 x 38 / 18 = 4.44 .. 15.67.
    values[8] = 11
    assert flagged(spc(values, polarity=HIGHER)) == list(range(5, 12))


def test_trend_of_seven_increasing_flags_all_seven() -> None:
    r = spc(TREND_7, polarity=HIGHER)
    assert r.mean[0] == pytest.approx(10)
    assert r.upper[0] == pytest.approx(10 + 2.66 * 47 / 16)
    assert flagged(r) == list(range(10, 17))
    assert all(r.rules[i] == ("trend",) for i in range(10, 17))
    # A rising trend is improving for higher-is-better even where the points are below the mean
    # (7, 8, 9): NHSRplotthedots takes the trend's direction, not the side of the mean.
    assert {r.point_class[i] for i in range(10, 17)} == {IMPROVING}
    assert r.point_side[10] == "high"
    assert (r.variation, r.variation_side) == (IMPROVING, "high")


def test_six_rising_points_or_an_equal_step_are_not_a_trend() -> None:
    # 6 rising points (5 rises) then a fall: 7, 8, 9, 10, 11, 12, 7. Sum 164 over 17, mean 9.647;
    # mrbar (36 + 5 + 5 + 5) / 16 = 3.1875: limits 1.17 .. 18.13, two sigma 3.99 .. 15.30.
    six = spc([8, 12] * 5 + [7, 8, 9, 10, 11, 12, 7], polarity=HIGHER)
    assert flagged(six) == []
    # 7 points with a repeat: 7, 8, 9, 9, 10, 11, 12: the equal step breaks the rises (2 + 3).
    # Sum 166 over 17, mean 9.765; mrbar (36 + 5 + 5) / 16 = 2.875: limits 2.12 .. 17.41,
    # two sigma 4.67 .. 14.86.
    equal = spc([8, 12] * 5 + [7, 8, 9, 9, 10, 11, 12], polarity=HIGHER)
    assert flagged(equal) == []


def test_single_point_outside_the_limits() -> None:
    # 9, 11, 9, 11, 9, 11, 30, 9, 11, 9, 11, 9, 11: sum 150 over 13, mean 11.538.
    # Moving ranges: ten 2s, 19 (11 -> 30) and 21 (30 -> 9): 60 / 12 = 5.0; 3.267 x 5 = 16.3
    # screens out 19 and 21: mrbar 20 / 10 = 2.0. Limits 11.538 +/- 5.32 = 6.218 .. 16.858.
    # 30 is beyond; every 9 and 11 is below the mean but the 30 splits them into two runs of 6.
    values = [9, 11, 9, 11, 9, 11, 30, 9, 11, 9, 11, 9, 11]
    r = spc(values, polarity=HIGHER)
    assert r.upper[0] == pytest.approx(150 / 13 + 2.66 * 2.0)
    assert r.lower[0] == pytest.approx(150 / 13 - 2.66 * 2.0)
    assert flagged(r) == [6]
    assert r.rules[6] == ("outside limits",)
    assert (r.point_class[6], r.point_side[6]) == (IMPROVING, "high")
    # Without screening mrbar stays 5.0: limits 11.538 +/- 13.3, upper 24.838; 30 still beyond.
    unscreened = spc(values, polarity=HIGHER, screen_outliers=False)
    assert unscreened.upper[0] == pytest.approx(150 / 13 + 2.66 * 5.0)
    assert flagged(unscreened) == [6]


def test_two_of_three_beyond_two_sigma_on_the_same_side() -> None:
    # 9, 11 x 6, then 16, 12, 16, then 9, 11, 9. Sum 193 over 18: mean 10.722.
    # Moving ranges: eleven 2s (22), 5, 4, 4, 7, 2, 2: 46 / 17 = 2.706 (none >= 8.84).
    # Two sigma upper 10.722 + 1.7733 x 2.706 = 15.521; limit 10.722 + 7.198 = 17.920.
    # 16 (positions 12 and 14) is beyond two sigma but inside the limits; 12 (position 13)
    # is above the mean, so the three points 12-14 are on one side: the two 16s are marked,
    # the 12 between them is not (NHSRplotthedots marks only the points beyond two sigma).
    r = spc([9, 11] * 6 + [16, 12, 16] + [9, 11, 9], polarity=HIGHER)
    assert r.upper_2s[0] == pytest.approx(193 / 18 + 2 * 2.66 / 3 * 46 / 17)
    assert flagged(r) == [12, 14]
    assert r.rules[12] == ("two in three",) and r.rules[13] == ()
    assert r.point_class[12] == IMPROVING


def test_two_beyond_two_sigma_on_opposite_sides_do_not_flag() -> None:
    # 9, 11 x 6, then 16, 10, 4, then 11, 9, 11. Sum 181 over 18: mean 10.056.
    # Moving ranges 22 + 5 + 6 + 6 + 7 + 2 + 2 = 50 / 17 = 2.941: two sigma 4.840 .. 15.271,
    # limits 2.232 .. 17.879. 16 is beyond the upper two-sigma line and 4 beyond the lower
    # one: two of three beyond two sigma, but on opposite sides, so no special cause.
    r = spc([9, 11] * 6 + [16, 10, 4] + [11, 9, 11], polarity=HIGHER)
    assert r.lower_2s[0] == pytest.approx(181 / 18 - 2 * 2.66 / 3 * 50 / 17)
    assert flagged(r) == []


def test_two_in_three_needs_all_three_on_one_side_of_the_mean() -> None:
    # NHSRplotthedots (since its fix for issue #143) also asks that the third point be on the
    # same side of the mean. 9, 11 x 6, then 16, 9, 16, then 11, 9, 11: sum 192 / 18 = 10.667;
    # moving ranges 22 + 5 + 7 + 7 + 5 + 2 + 2 = 50 / 17 = 2.941: two sigma upper 15.882.
    # Both 16s are beyond it, but the 9 between them is below the mean: no flag.
    r = spc([9, 11] * 6 + [16, 9, 16] + [11, 9, 11], polarity=HIGHER)
    assert r.upper_2s[0] == pytest.approx(192 / 18 + 2 * 2.66 / 3 * 50 / 17)
    assert flagged(r) == []


# Rebasing. Segment 0 (positions 0-11): 12, 8 x 4 then 9, 10, 11, 12: sum 122, mean 10.167;
# moving ranges 7 x 4 + 4 x 1 = 32 / 11 = 2.909: limits 10.167 +/- 7.738.
# Segment 1 (12-23): 19, 20, then 18, 22 x 5: sum 239, mean 19.917; moving ranges
# 1 + 2 + 9 x 4 = 39 / 11 = 3.545: limits 19.917 +/- 9.431.
# Across the break 8, 9, 10, 11, 12, 19, 20 (positions 7-13) rise 6 times: a trend if
# the series is one segment, nothing once it is rebased at position 12.
REBASED = [12, 8, 12, 8, 12, 8, 12, 8, 9, 10, 11, 12, 19, 20, 18, 22, 18, 22, 18, 22, 18, 22, 18, 22]


def test_rebasing_gives_each_segment_its_own_limits() -> None:
    r = spc(REBASED, polarity=HIGHER, rebase=[12])
    assert r.rebase_positions == (12,)
    assert list(r.segment) == [0] * 12 + [1] * 12
    assert r.mean[0] == pytest.approx(122 / 12) and r.mean[23] == pytest.approx(239 / 12)
    assert r.upper[0] == pytest.approx(122 / 12 + 2.66 * 32 / 11)
    assert r.lower[0] == pytest.approx(122 / 12 - 2.66 * 32 / 11)
    assert r.upper[12] == pytest.approx(239 / 12 + 2.66 * 39 / 11)
    assert r.lower[12] == pytest.approx(239 / 12 - 2.66 * 39 / 11)
    # Segment 0 is all within 2.43 .. 17.90 (two sigma 5.01 .. 15.33), segment 1 within
    # 10.49 .. 29.35 (two sigma 13.63 .. 26.20), no runs: nothing special.
    assert flagged(r) == []
    assert r.variation == COMMON_CAUSE


def test_rules_do_not_run_across_a_rebase() -> None:
    whole = spc(REBASED, polarity=HIGHER)
    assert list(np.flatnonzero(whole.trend)) == list(range(7, 14))  # the 7 rising points
    rebased = spc(REBASED, polarity=HIGHER, rebase=[12])
    assert not rebased.trend.any() and not rebased.shift.any()


def test_rebase_by_period() -> None:
    periods = [f"2023-{m:02d}" for m in range(1, 13)] + [f"2024-{m:02d}" for m in range(1, 13)]
    r = spc(REBASED, polarity=HIGHER, periods=periods, rebase=["2024-01"])
    assert r.rebase_positions == (12,)
    assert spc_for_scorecard(REBASED, None, HIGHER, 8, "xmr", ["2024-01"], periods=periods) == (
        COMMON_CAUSE,
        PASSING,
    )
    # A change point in a month with no row starts the segment at the next month there is;
    # one before the first month, or a repeat, changes nothing.
    assert rebase_positions_for(["2023-06"], ["2023-01", "2023-05", "2023-07", "2023-09"], 4) == (2,)
    assert rebase_positions_for(["2020-01", 0, 24, 12, 12], periods, 24) == (12,)


def test_assurance_cases() -> None:
    # 9, 11 x 6: mean 10, mrbar 2: limits 4.68 .. 15.32; common cause throughout.
    flat = [9, 11] * 6
    # Higher is better: a target below the lower limit is always met; above the upper, never.
    assert spc_for_scorecard(flat, None, HIGHER, 4) == (COMMON_CAUSE, PASSING)
    assert spc_for_scorecard(flat, None, HIGHER, 16) == (COMMON_CAUSE, FAILING)
    assert spc_for_scorecard(flat, None, HIGHER, 10) == (COMMON_CAUSE, HIT_AND_MISS)
    assert spc_for_scorecard(flat, None, HIGHER, 15.3) == (COMMON_CAUSE, HIT_AND_MISS)
    # Lower is better: the mirror.
    assert spc_for_scorecard(flat, None, LOWER, 16) == (COMMON_CAUSE, PASSING)
    assert spc_for_scorecard(flat, None, LOWER, 4) == (COMMON_CAUSE, FAILING)
    # No target, or a monitored metric: no assurance icon.
    assert spc_for_scorecard(flat, None, HIGHER, None) == (COMMON_CAUSE, "")
    r = spc(flat, polarity=MONITORED, target=4)
    assert (r.variation, r.assurance, r.assurance_reason) == (COMMON_CAUSE, "", "a monitored metric has no target")
    assert spc(flat, polarity=HIGHER).assurance_reason == "no target"


def test_assurance_uses_the_latest_segment() -> None:
    # Segment 1 of REBASED has limits 10.49 .. 29.35: a target of 8 is passed (higher is better)
    # though it lies inside segment 0's limits (2.43 .. 17.90).
    r = spc(REBASED, polarity=HIGHER, rebase=[12], target=8)
    assert r.assurance == PASSING


def test_too_few_points_give_no_icons() -> None:
    r = spc([9, 11, 9, 11, 9, 11, 9, 30], polarity=HIGHER, target=4)
    assert (r.variation, r.variation_side, r.assurance) == ("", None, "")
    assert r.reason == "needs at least 12 points; has 8"
    # The chart is still drawn: limits and flags exist (mean 99 / 8 = 12.375; moving ranges
    # 2 x 6 and 21: 33 / 7 = 4.714, screening 21 >= 15.4 leaves 12 / 6 = 2.0). 30 is beyond the
    # upper limit 17.695, and the 7 points before it are all below the mean: a shift.
    assert r.upper[0] == pytest.approx(99 / 8 + 5.32)
    assert flagged(r) == list(range(8))
    assert r.rules[7] == ("outside limits",) and r.rules[0] == ("shift",)
    # 20 points but only 8 since the rebase at 12.
    rebased = spc([9, 11] * 10, polarity=HIGHER, target=4, rebase=[12])
    assert rebased.reason == "needs at least 12 points since the last rebase; has 8"
    assert spc_for_scorecard([9, 11] * 10, None, HIGHER, 4, "xmr", [12]) == ("", "")
    assert spc([], polarity=HIGHER).reason == "no data"


def test_monitored_special_causes_are_neutral() -> None:
    r = spc(SHIFT_7, polarity=MONITORED, target=5)
    assert flagged(r) == list(range(10, 17))
    assert {r.point_class[i] for i in range(10, 17)} == {NEUTRAL}
    assert (r.variation, r.variation_side, r.assurance) == (NEUTRAL, "high", "")
    assert variation_icon_kind(r.variation, r.variation_side) == "neither_high"


def test_lower_is_better_flips_improving_and_concerning() -> None:
    trend = spc(TREND_7, polarity=LOWER)
    assert flagged(trend) == list(range(10, 17))
    assert {trend.point_class[i] for i in range(10, 17)} == {CONCERNING}
    assert (trend.variation, trend.variation_side) == (CONCERNING, "high")
    assert variation_icon_kind(trend.variation, trend.variation_side) == "concern_high"
    # The outlier series: 30 above the upper limit is concerning when lower is better.
    outlier = spc([9, 11, 9, 11, 9, 11, 30, 9, 11, 9, 11, 9, 11], polarity=LOWER)
    assert outlier.point_class[6] == CONCERNING
    # A shift below the mean is improving when lower is better: the mirror of SHIFT_7
    # (20 - x: 8, 12 x 5 then 9, 8, 9, 8, 9, 8, 9; mean 20 - 10.588 = 9.412, all 7 below).
    mirror = spc([20 - v for v in SHIFT_7], polarity=LOWER)
    assert flagged(mirror) == list(range(10, 17))
    assert (mirror.variation, mirror.variation_side) == (IMPROVING, "low")
    assert spc_for_scorecard([20 - v for v in SHIFT_7], None, HIGHER) == (CONCERNING, "")


def test_p_chart_limits_from_each_months_denominator() -> None:
    # 5/10, 8/20, 12/40, 15/30 -> 50%, 40%, 30%, 50%. Pooled p = 40 / 100 = 0.4, p(1-p) = 0.24.
    # n = 10: sigma = sqrt(0.024) = 15.492%: limits 40 +/- 46.476 -> 0 (clipped from -6.476) .. 86.476;
    #         two sigma 40 +/- 30.984 -> 9.016 .. 70.984.
    # n = 20: sigma = sqrt(0.012) = 10.954%: limits 7.136 .. 72.863.
    # n = 40: sigma = sqrt(0.006) = 7.746%: limits 16.762 .. 63.238.
    # n = 30: sigma = sqrt(0.008) = 8.944%: limits 13.167 .. 66.833.
    r = spc([50, 40, 30, 50], denominators=[10, 20, 40, 30], chart="p", polarity=HIGHER)
    assert list(r.mean) == pytest.approx([40, 40, 40, 40])
    assert list(r.upper) == pytest.approx([86.476, 72.863, 63.238, 66.833], abs=1e-3)
    assert list(r.lower) == pytest.approx([0.0, 7.136, 16.762, 13.167], abs=1e-3)
    assert r.upper_2s[0] == pytest.approx(40 + 2 * 100 * math.sqrt(0.024))
    assert r.lower_2s[0] == pytest.approx(40 - 2 * 100 * math.sqrt(0.024))
    assert flagged(r) == []


def test_p_chart_the_same_percentage_is_special_only_with_a_large_denominator() -> None:
    # 6/10, 60/100, 34/140: pooled p = 100 / 250 = 0.4.
    # n = 10: upper 40 + 3 x 15.492 = 86.5, so 60% is common cause.
    # n = 100: sigma = sqrt(0.0024) = 4.899%: upper 54.70, so 60% is beyond it (improving).
    # n = 140: sigma = sqrt(0.24 / 140) = 4.140%: lower 27.58; 34/140 = 24.29% is below it (concerning).
    r = spc([60, 60, 100 * 34 / 140], denominators=[10, 100, 140], chart="p", polarity=HIGHER)
    assert r.upper[1] == pytest.approx(40 + 300 * math.sqrt(0.0024))
    assert r.point_class == (COMMON_CAUSE, IMPROVING, CONCERNING)


def test_p_chart_assurance_at_the_average_denominator() -> None:
    # 12 months of 60%, denominators alternating 10 and 30 (6/10, 18/30): p = 0.6, mean n = 20:
    # sigma = sqrt(0.24 / 20) = 10.954%, limits 27.14 .. 92.86. A target of 25% is passed; 30% is
    # hit and miss, though the latest month alone (n = 30: lower limit 33.17) would say "passing".
    values, dens = [60.0] * 12, [10, 30] * 6
    assert spc_for_scorecard(values, dens, HIGHER, 25, "p") == (COMMON_CAUSE, PASSING)
    assert spc_for_scorecard(values, dens, HIGHER, 30, "p") == (COMMON_CAUSE, HIT_AND_MISS)


def test_gaps_are_left_out() -> None:
    # SHIFT_7 with a month missing inside the shift and a p-chart month with no denominator:
    # the stats are those of the 17 values (mean 10.588) and the 7 shift values stay flagged.
    values = [*SHIFT_7[:13], None, *SHIFT_7[13:]]
    r = spc(values, polarity=HIGHER)
    assert r.mean[0] == pytest.approx(180 / 17)
    assert flagged(r) == [10, 11, 12, 14, 15, 16, 17]
    assert r.point_class[13] == "" and math.isnan(r.value[13])
    p = spc([50, 40, 99, 30, 50], denominators=[10, 20, 0, 40, 30], chart="p", polarity=HIGHER)
    assert p.mean[0] == pytest.approx(40) and math.isnan(p.value[2])


def test_scorecard_agrees_with_the_full_result() -> None:
    # Speed is measured in benchmarks/spc.py, not here.
    rng = np.random.default_rng(7)
    for _ in range(50):
        values = rng.normal(50, 5, 60).tolist()
        full = spc(values, polarity=HIGHER, target=52, rebase=[30])
        assert spc_for_scorecard(values, None, HIGHER, 52, "xmr", [30]) == (full.variation, full.assurance)


def test_icon_kinds() -> None:
    assert variation_icon_kind(COMMON_CAUSE, None) == "common_cause"
    assert variation_icon_kind(IMPROVING, "low") == "improvement_low"
    assert variation_icon_kind("", None) == ""
    assert assurance_icon_kind(PASSING) == "pass"
    assert assurance_icon_kind(HIT_AND_MISS) == "hit_and_miss"
    assert assurance_icon_kind("") == ""


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="polarity"):
        spc([1, 2], polarity="up")
    with pytest.raises(ValueError, match="denominators"):
        spc([1, 2], polarity=HIGHER, chart="p")
    with pytest.raises(ValueError, match="periods"):
        spc([1, 2], polarity=HIGHER, periods=["2023-01"])


def _reference_point_types(y: list[float]) -> list[int]:
    """A plain, loop-by-loop reading of NHSRplotthedots's rules for one segment (no gaps).

    Returns +1 (special cause, high), -1 (low) or 0 (common cause) per point. Written from the
    package's R source (ptd_spc_standard, ptd_calculate_point_type), independently of etl.rules.spc.
    """
    n = len(y)
    mean = sum(y) / n
    mr = [abs(y[i] - y[i - 1]) for i in range(1, n)]
    amr = sum(mr) / len(mr)
    kept = [r for r in mr if r < 3.267 * amr]
    amr = sum(kept) / len(kept)
    upl, lpl = mean + 2.66 * amr, mean - 2.66 * amr
    nupl, nlpl = mean + 2 * 2.66 / 3 * amr, mean - 2 * 2.66 / 3 * amr
    sign = [(v > mean) - (v < mean) for v in y]
    outside = [v > upl or v < lpl for v in y]
    close = [not outside[i] and (y[i] > nupl or y[i] < nlpl) for i in range(n)]
    shift_end = [i >= 6 and sign[i] != 0 and all(sign[j] == sign[i] for j in range(i - 6, i)) for i in range(n)]
    shift = [any(shift_end[j] for j in range(i, min(n, i + 7))) for i in range(n)]
    trend_end = [0] * n
    for i in range(6, n):
        d = [(y[j] > y[j - 1]) - (y[j] < y[j - 1]) for j in range(i - 5, i + 1)]
        if all(s == 1 for s in d):
            trend_end[i] = 1
        elif all(s == -1 for s in d):
            trend_end[i] = -1
    trend = [any(trend_end[j] for j in range(i, min(n, i + 7))) for i in range(n)]
    two = [False] * n
    for i in range(n - 2):
        w = range(i, i + 3)
        if sum(close[j] for j in w) >= 2 and abs(sum(sign[j] for j in w)) == 3:
            for j in w:
                two[j] = two[j] or close[j]
    out = []
    for i in range(n):
        if outside[i]:
            out.append(sign[i])
        elif trend[i]:
            # The trend's direction; a point shared by two trends takes the one to its right.
            right = i + 1 < n and trend[i + 1] and y[i + 1] != y[i]
            a, b = (i, i + 1) if right else (i - 1, i)
            out.append(1 if y[b] > y[a] else -1)
        elif two[i] or shift[i]:
            out.append(sign[i])
        else:
            out.append(0)
    return out


def test_rules_agree_with_a_plain_reading_of_nhsrplotthedots() -> None:
    # Small integers make ties, points on the mean and equal neighbours common.
    rng = np.random.default_rng(2026)
    side_of = {COMMON_CAUSE: 0, IMPROVING: 1, CONCERNING: -1}
    checked_special = 0
    for k in range(400):
        y = rng.integers(0, 7, 30).astype(float)
        if k % 4 == 0:
            y += np.arange(30) * 0.3  # some drift, for trends and shifts
        y = y.tolist()
        r = spc(y, polarity=HIGHER)
        got = [side_of[c] for c in r.point_class]
        assert got == _reference_point_types(y), y
        checked_special += sum(1 for g in got if g)
    assert checked_special > 500  # the comparison exercised special causes, not only common cause


def test_many_series_at_once_agree_with_one_at_a_time() -> None:
    # The scorecard judges every row's series in one vectorised pass; it must give exactly
    # what each series gives alone, gaps, rebases, short series and both charts included.
    from etl.rules.spc import scorecard_icons, scorecard_icons_many

    rng = np.random.default_rng(11)
    rows = []
    for k in range(300):
        n = int(rng.integers(0, 40))
        periods = [f"{2020 + (i // 12)}-{i % 12 + 1:02d}" for i in range(n)]
        values = [None if rng.random() < 0.1 else float(v) for v in rng.normal(60, 8, n)]
        chart = "p" if k % 2 else "xmr"
        dens = [float(d) for d in rng.integers(1, 30, n)] if chart == "p" else None
        polarity = ("higher_is_better", "lower_is_better", "monitored")[k % 3]
        target = None if k % 5 == 0 else float(rng.normal(60, 10))
        rebase = ["2021-04"] if k % 4 == 0 else []
        rows.append((values, dens, polarity, target, chart, periods, rebase))
    many = scorecard_icons_many(rows)
    alone = [scorecard_icons(v, d, p, t, c, per, r) if v else ("", "", "", "no data") for v, d, p, t, c, per, r in rows]
    assert many == alone
    variations = {m[0] for m in many}
    assert {"common cause", ""} <= variations and any(v.startswith("special cause") for v in variations)
    assert {m[2] for m in many} >= {"hit and miss", ""}


# Worked by hand, beside SHIFT_7 and TREND_7 above (which end on the 7th point of a run):
# SHIFT_6: 10 points alternating 12, 8, then 12, 11, 12, 11, 12, 11. Sum 100 + 69 = 169 over 16:
# mean 10.5625; the last 6 are above it and the 8 before them below: a run of 6, no shift. Moving
# ranges 9 x 4 + 4 (8 -> 12) + 5 x 1 = 45 over 15: mrbar 3; limits 10.5625 +/- 7.98 (2.58 .. 18.54),
# two sigma +/- 5.32 (5.24 .. 15.88): nothing beyond. Common cause.
SHIFT_6 = [12, 8] * 5 + [12, 11, 12, 11, 12, 11]
# TREND_6: 10 points alternating 8, 12, then 8, 9, 10, 11, 12, 13: five rises (6 points). Sum
# 100 + 63 = 163 over 16: mean 10.1875 (8, 9, 10 below, 11-13 above: a run of 3). Moving ranges
# 36 + 4 + 5 = 45 over 15: mrbar 3; limits 2.21 .. 18.17, two sigma 4.87 .. 15.51. Common cause.
TREND_6 = [8, 12] * 5 + [8, 9, 10, 11, 12, 13]
# ON_UPPER (p-chart, 20 a month): 80, 90 six times, then 100 (20 of 20). p = 224 / 260 = 0.8615,
# sigma = sqrt(0.8615 x 0.1385 / 20) = 7.72%: the upper limit 86.15 + 23.17 is clipped to 100 and
# so is the two-sigma line (86.15 + 15.45): the last point lies exactly on both, beyond neither.
# Its run above the mean is 2 (90, 100) and its rise 2 (80, 90, 100). Common cause; the lower limit
# is 86.15 - 23.17 = 62.98, so a target of 95 is inside: hit and miss.
ON_UPPER = [80, 90] * 6 + [100]
# ON_LOWER: the mirror, 20, 10 six times then 0 (0 of 20): p = 36 / 260 = 0.1385, the same sigma;
# the lower limit and two-sigma line are clipped to 0, where the last point lies. Common cause;
# upper limit 13.85 + 23.17 = 37.02, so a target of 5 (lower is better) is inside: hit and miss.
ON_LOWER = [20, 10] * 6 + [0]


def _months(n: int, start: int = 0) -> list[str]:
    return [f"{2020 + (start + i) // 12}-{(start + i) % 12 + 1:02d}" for i in range(n)]


def test_a_grid_of_series_gives_each_series_own_icons_edge_cases_included() -> None:
    """The scorecard judges every series on one grid at once (scorecard_icons_grid): each row must
    get what the per-series spc gives it alone, and what the comments above work out by hand."""
    from etl.rules.spc import scorecard_icons, scorecard_icons_grid

    gap = [*SHIFT_7[:12], None, *SHIFT_7[12:]]  # a month with a row but no value, inside the run
    cases = [
        # (values, denominators, polarity, target, chart, months, rebase, expected (variation, icon, assurance, note))
        (SHIFT_7, None, HIGHER, 30, "xmr", _months(17), [], (IMPROVING, "improvement_high", FAILING, "")),
        (SHIFT_7, None, LOWER, None, "xmr", _months(17), [], (CONCERNING, "concern_high", "", "")),
        (SHIFT_7, None, MONITORED, 10, "xmr", _months(17), [], (NEUTRAL, "neither_high", "", "")),
        (SHIFT_6, None, HIGHER, 10, "xmr", _months(16), [], (COMMON_CAUSE, "common_cause", HIT_AND_MISS, "")),
        (TREND_7, None, HIGHER, 1, "xmr", _months(17), [], (IMPROVING, "improvement_high", PASSING, "")),
        (TREND_7, None, LOWER, 1, "xmr", _months(17), [], (CONCERNING, "concern_high", FAILING, "")),
        (TREND_6, None, HIGHER, 10, "xmr", _months(16), [], (COMMON_CAUSE, "common_cause", HIT_AND_MISS, "")),
        (ON_UPPER, [20] * 13, HIGHER, 95, "p", _months(13), [], (COMMON_CAUSE, "common_cause", HIT_AND_MISS, "")),
        (ON_LOWER, [20] * 13, LOWER, 5, "p", _months(13), [], (COMMON_CAUSE, "common_cause", HIT_AND_MISS, "")),
        # Missing months: two months with no row (every other month from the 13th) and one row
        # without a value; the rules run over the months that have one, so the shift still ends there.
        (gap, None, HIGHER, None, "xmr", _months(12) + [f"2021-{m:02d}" for m in (1, 3, 5, 6, 7, 8)], [],
         (IMPROVING, "improvement_high", "", "")),
        (SHIFT_7[:11], None, HIGHER, 10, "xmr", _months(11), [], ("", "", "", "needs at least 12 points; has 11")),
        (SHIFT_7[:12], None, HIGHER, 10, "xmr", _months(12), [], (COMMON_CAUSE, "common_cause", HIT_AND_MISS, "")),
        (SHIFT_7, None, HIGHER, 10, "xmr", _months(17), ["2021-01"],
         ("", "", "", "needs at least 12 points since the last rebase; has 5")),
        # A rebase before the series' first row, or after its last, changes nothing.
        (SHIFT_7, None, HIGHER, 30, "xmr", _months(17, 5), ["2020-03", "2022-01"],
         (IMPROVING, "improvement_high", FAILING, "")),
        ([], None, HIGHER, 10, "xmr", [], [], ("", "", "", "no data")),
    ]  # fmt: skip
    assert len(cases[9][5]) == len(gap) == 18  # 2021-02 and 2021-04 have no row

    # One grid of every month any series has; a month without a row is no month of that series.
    months = sorted({m for case in cases for m in case[5]})
    at = {m: i for i, m in enumerate(months)}
    values = np.full((len(cases), len(months)), np.nan)
    dens = np.full_like(values, np.nan)
    has_row = np.zeros(values.shape, dtype=bool)
    for i, (v, d, *_rest) in enumerate(cases):
        cols = [at[m] for m in cases[i][5]]
        values[i, cols] = [np.nan if x is None else x for x in v]
        if d is not None:
            dens[i, cols] = d
        has_row[i, cols] = True
    got = scorecard_icons_grid(
        values,
        dens,
        has_row,
        polarity=[c[2] for c in cases],
        target=[c[3] for c in cases],
        chart=[c[4] for c in cases],
        periods=months,
        rebase=[c[6] for c in cases],
    )
    rows = list(zip(got["variation"], got["variation_icon"], got["assurance"], got["spc_note"], strict=True))
    assert rows == [c[7] for c in cases]
    assert list(got["assurance_icon"]) == [assurance_icon_kind(c[7][2]) for c in cases]
    alone = [scorecard_icons(v, d, p, t, c, m, r) if v else ("", "", "", "no data") for v, d, p, t, c, m, r, _ in cases]
    assert rows == alone
