"""More of DfE's published figures (issue 25): new placements out of the area and over 20 miles, and the
social work workforce. Figures read by hand from the shipped files (data/reference/dfe/)."""

from __future__ import annotations

from test_comparators import _load

from etl.catalogue import reference
from etl.catalogue.metrics import catalogue
from etl.catalogue.reference import comparator_frame


def test_placed_out_of_area_is_compared_with_new_placements_and_says_so():
    con = _load(reference.REFERENCE_DIR)
    # la_cla_during_year_new_placements.csv, 2024: West Sussex (938) placed 250 new placements outside its
    # boundary and over 20 miles from home, 21% of them; England 15,310, 15%.
    row = comparator_frame(con, "938", [("placed_20mi_out", "new_placements_out_20mi_pct", "lower_is_better", 2024)])
    row = row.iloc[0].to_dict()
    assert (row["published"], row["england"]) == (21.0, 15.0)
    assert catalogue().metric("placed_20mi_out").benchmark == "new_placements_out_20mi_pct"
    indicator = reference.INDICATORS["new_placements_out_20mi_pct"]
    assert indicator.name.startswith("New placements in the year")
    assert indicator.counts.startswith("DfE counts the placements made during the year")
    # The workforce file, 2024 (30 September 2023): West Sussex's caseload 14.5, turnover 9.3%, vacancies 5.2%.
    published = dict(
        con.execute(
            "SELECT indicator, value FROM published WHERE year = 2024 AND level = 'la' AND code = '938'"
            " AND indicator LIKE 'csww_%'"
        ).fetchall()
    )
    assert (published["csww_caseload_fte"], published["csww_turnover_rate_fte"]) == (14.5, 9.3)
    assert published["csww_vacancy_rate_fte"] == 5.2
    # Two councils returning jointly ("940 / 941") are neither's figure.
    joint = con.execute("SELECT count(*) FROM published WHERE code LIKE '%/%'").fetchone()[0]
    assert joint == 0
