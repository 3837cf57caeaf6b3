"""The scorecard's Making Data Count columns, on a hand-made series, on both engines (conftest's `engine`)."""

from datetime import date

from kpi_helpers import add_records, new_warehouse

from etl.serve import queries

# mo_up_to_date for Team A, October 2022 to November 2023 (14 months, XmR chart):
# 50, 52, 50, 52, 50, 52, 50, then 56, 58, 56, 58, 56, 58, 56 (out of 100).
# mean = 754 / 14 = 53.857; moving ranges: twelve of 2 and one of 6 -> mean MR 30 / 13 = 2.308
# (6 is below the 3.267 x 2.308 = 7.54 screening line, so it stays); upper limit
# 53.857 + 2.66 x 2.308 = 59.995, lower 47.72. No point is outside the limits, but the last
# 7 are all above the mean: a shift, and higher is better -> "special cause improving".
# Target for 2023/24 is 95, above the upper limit: the process cannot meet it -> "consistently failing".
VALUES = [50, 52, 50, 52, 50, 52, 50, 56, 58, 56, 58, 56, 58, 56]
MONTHS = [date(2022 + (9 + i) // 12, (9 + i) % 12 + 1, 1) for i in range(14)]


def _db(new_target, tmp_path, values, months):
    db = new_warehouse(new_target(tmp_path))
    rows = [
        {"period": m, "metric_id": "mo_up_to_date", "team": "Team A", "numerator": v, "denominator": 100}
        for m, v in zip(months, values, strict=True)
    ]
    add_records(db, "kpi_values", rows, as_of=date(2023, 12, 5))
    return db


def _row(frame, metric_id, unit):
    found = frame[(frame["metric_id"] == metric_id) & (frame["org_unit"] == unit)]
    assert len(found) == 1
    return found.iloc[0]


def test_shift_of_seven_is_special_cause_improving_and_target_out_of_reach_fails(new_target, tmp_path):
    assert MONTHS[0] == date(2022, 10, 1) and MONTHS[-1] == date(2023, 11, 1)
    db = _db(new_target, tmp_path, VALUES, MONTHS)
    row = _row(queries.scorecard("2023-11", "team", db=db), "mo_up_to_date", "Team A")
    assert row["variation"] == "special cause improving"
    assert row["variation_icon"] == "improvement_high"
    assert row["assurance"] == "consistently failing"
    table = queries.scorecard_table("2023-11", "team", db=db)
    cli_row = table[(table["metric_id"] == "mo_up_to_date") & (table["org_unit"] == "Team A")].iloc[0]
    assert (cli_row["variation"], cli_row["assurance"]) == ("special cause improving", "consistently failing")


def test_the_icons_speak_for_the_series_up_to_the_period(new_target, tmp_path):
    db = _db(new_target, tmp_path, VALUES, MONTHS)
    # Up to May 2023 the series has 8 points: too few for icons, and the reason says so.
    row = _row(queries.scorecard("2023-05", "team", db=db), "mo_up_to_date", "Team A")
    assert row["variation"] == "" and row["assurance"] == ""
    assert "12" in row["spc_note"]


def test_a_row_without_data_has_no_icons(new_target, tmp_path):
    db = _db(new_target, tmp_path, VALUES, MONTHS)
    row = _row(queries.scorecard("2023-11", "team", db=db), "mo_up_to_date", "Team B")
    assert (row["variation"], row["assurance"]) == ("", "")
