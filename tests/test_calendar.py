"""Periods, financial years and working days, checked against a wall calendar."""

from datetime import date

import pytest

from etl.rules import calendar as cal


@pytest.mark.parametrize(
    ("period", "year", "quarter"),
    [
        ("2023-04", "2023/24", "2023/24 Q1"),
        ("2023-06", "2023/24", "2023/24 Q1"),
        ("2023-07", "2023/24", "2023/24 Q2"),
        ("2023-12", "2023/24", "2023/24 Q3"),
        ("2024-01", "2023/24", "2023/24 Q4"),
        ("2024-03", "2023/24", "2023/24 Q4"),
        ("1999-12", "1999/00", "1999/00 Q3"),
    ],
)
def test_financial_year_and_quarter(period, year, quarter):
    assert cal.financial_year_of(period) == year
    assert cal.quarter_of(period) == quarter


def test_quarter_months():
    assert cal.quarter_months("2023/24 Q4") == ["2024-01", "2024-02", "2024-03"]


@pytest.mark.parametrize("bad", ["2023/25", "23/24", "2023-24", ""])
def test_financial_year_refused(bad):
    with pytest.raises(ValueError, match="financial year like 2023/24"):
        cal.parse_financial_year(bad)


@pytest.mark.parametrize("bad", ["2023-13", "2023-7", "July 2023", ""])
def test_period_refused(bad):
    with pytest.raises(ValueError, match="month like 2023-07"):
        cal.parse_period(bad)


def test_add_months_crosses_years():
    assert cal.add_months("2023-11", 3) == "2024-02"
    assert cal.add_months("2024-01", -1) == "2023-12"
    assert cal.months_between("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]


def test_one_off_bank_holidays_come_from_the_library():
    holidays = cal.bank_holidays()
    assert date(2023, 5, 8) in holidays  # coronation of King Charles III
    assert date(2022, 9, 19) in holidays  # state funeral of Queen Elizabeth II
    assert date(2023, 5, 29) in holidays  # spring bank holiday
    assert date(2023, 8, 28) in holidays  # summer bank holiday (England, not Scotland's 7 August)
    assert date(2023, 8, 7) not in holidays


def test_working_days_across_may_2023():
    # Tue 2 May 2023 -> Fri 5 May: 3 working days (3, 4, 5 May); start is day 0.
    assert cal.working_days_between(date(2023, 5, 2), date(2023, 5, 5)) == 3
    # Fri 5 May -> Tue 9 May: Sat, Sun, Mon 8 May (coronation) are not working days: 1 (9 May).
    assert cal.working_days_between(date(2023, 5, 5), date(2023, 5, 9)) == 1
    # Same day is day 0.
    assert cal.working_days_between(date(2023, 5, 5), date(2023, 5, 5)) == 0


def test_add_working_days_skips_weekends_and_holidays():
    # Fri 25 Aug 2023 + 1 working day: Sat, Sun, Mon 28 Aug (bank holiday) skipped -> Tue 29 Aug.
    assert cal.add_working_days(date(2023, 8, 25), 1) == date(2023, 8, 29)


def test_calendar_rows_count_working_days_cumulatively():
    rows = {d: (working, n) for d, working, n in cal.calendar_rows()}
    # 8 May 2023 is a Monday bank holiday: not working, and the count does not move.
    assert rows[date(2023, 5, 8)][0] is False
    assert rows[date(2023, 5, 8)][1] == rows[date(2023, 5, 5)][1]
    assert rows[date(2023, 5, 9)][1] == rows[date(2023, 5, 5)][1] + 1
