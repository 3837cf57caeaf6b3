"""The reconciliation's arithmetic: DfE's rounding (half up), its suppression markers, and the reason a
figure differs. Hand-worked figures; the census's own reconciliation is in tests/test_cin_census_reconcile.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from etl.serve.reconcile import MATCHES, RECONCILED, Cell, CollectionYear, compare, half_up, percent

C1 = RECONCILED["C1 re-referrals within 12 months"]
YEAR = CollectionYear.parse("2024/25")


def cells(numerator, denominator, pct):
    def cell(v):
        return Cell(None, v) if isinstance(v, str) else Cell(Decimal(str(v)))

    return {"numerator": cell(numerator), "denominator": cell(denominator), "percent": cell(pct)}


def test_half_up_not_half_to_even():
    # Python's round(24.45, 1) and round(0.5) give 24.4 and 0 (half to even, and binary 24.45 < 24.45).
    assert half_up(24.45, 1) == Decimal("24.5")
    assert half_up(0.5, 0) == Decimal("1")
    assert half_up(2.5, 0) == Decimal("3")
    # 1 of 8 = 12.5% -> 13 at DfE's whole-number precision; 1 of 40 = 2.5% -> 2.5 at one decimal.
    assert percent(1, 8, 0) == Decimal("13")
    assert percent(1, 40, 1) == Decimal("2.5")


def test_collection_year():
    assert (YEAR.start.isoformat(), YEAR.end.isoformat(), YEAR.time_period) == ("2024-04-01", "2025-03-31", 2025)
    with pytest.raises(ValueError, match="collection year like 2024/25"):
        CollectionYear.parse("2024/26")


def test_west_sussex_2025_published_c1_is_matched_by_the_same_counts():
    # 1,945 / 7,960 = 24.434...% -> 24.4.
    row = compare(C1, (1945, 7960), cells(1945, 7960, 24.4), YEAR)
    assert row["matches"] is True and row["reason"] == MATCHES
    assert row["ours_percent"] == 24.4 and row["difference"] == 0.0


def test_counts_that_differ_are_named():
    row = compare(C1, (1944, 7960), cells(1945, 7960, 24.4), YEAR)
    assert row["matches"] is False
    assert "1,944 of 7,960 here, 1,945 of 7,960 published" in row["reason"]


def test_a_suppressed_count_is_checked_as_an_interval():
    # DfE hides 1 to 5 as `c`: ours 3 of 40 (7.5%) fits; 7 of 40 cannot be what it hides.
    fits = compare(C1, (3, 40), cells("c", 40, "c"), YEAR)
    assert fits["matches"] is True and fits["published_numerator"] is None
    assert "suppressed by DfE" in fits["reason"] and "consistent" in fits["reason"]
    assert compare(C1, (7, 40), cells("c", 40, "c"), YEAR)["matches"] is False


def test_the_same_counts_rounded_otherwise_still_match_and_say_why():
    # 1 of 16 = 6.25%: half up 6.3; a file rounded half to even would print 6.2.
    row = compare(C1, (1, 16), cells(1, 16, 6.2), YEAR)
    assert row["matches"] is True and "rounded differently" in row["reason"]


def test_no_published_row_and_no_loaded_return():
    assert "publishes no figure" in compare(C1, (1, 2), None, YEAR)["reason"]
    row = compare(C1, None, cells(1945, 7960, 24.4), YEAR)
    assert row["matches"] is False and "no figure from the loaded returns" in row["reason"]
