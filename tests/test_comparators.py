"""Comparators from DfE's published figures (etl/catalogue/reference.py): the loader's rules on
the files' real quirks, quartile bands and neighbour medians on hand-made tables with
hand-worked answers, and the shipped files for one authority and year worked by hand."""

from __future__ import annotations

import math
import shutil

import duckdb
import pandas as pd
import pytest

from etl.catalogue import reference
from etl.catalogue.reference import ReferenceError, comparator_frame, comparison_frame, load_reference
from etl.serve import queries
from etl.store import schema, warehouse


def _schema() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for statement in schema.ddl():
        con.execute(statement)
    return con


# --- hand-made tables ---------------------------------------------------------------
#
# Eight authorities 101-108 in one region; 101's neighbours are 102-108 and 109 (109 has
# no figures at all). Indicator "x", year 2024:
#
#   authority  101  102  103  104  105  106  107  108
#   value       60   70   70   50   40   30    c   80     (107 suppressed: no figure)
#
# Seven authorities have a figure (n = 7). Higher is better: 108 (80) is rank 1, 102 and
# 103 tie on 70 and share rank 2, then 101 (60) rank 4, 104 rank 5, 105 rank 6, 106 rank 7.
# Bands: A when 4r <= 7 (r = 1), B when 4r <= 14 (r <= 3), C when 4r <= 21 (r <= 5), D.
# So 108 A; 102 and 103 B (the tie shares the better band); 101 C; 104 C; 105 and 106 D.
# Lower is better reverses the order: 106 rank 1 (A), 105 rank 2 (B), 104 rank 3 (B),
# 101 rank 4 (C), 102 and 103 rank 5 (C), 108 rank 7 (D).
# 101's neighbours with a figure: 70, 70, 50, 40, 30, 80 (107 and 109 have none): six,
# sorted 30 40 50 70 70 80, median (50 + 70) / 2 = 60.
# Year 2023 has only 101 and 102 (and England): asked for 2025, the latest year at or
# before it is 2024; asked for 2023, 2023; asked for 2022, there is none.

_AUTHORITIES = [(f"{c}", f"Authority {c}", "North") for c in range(101, 110)]
_NEIGHBOURS = [("101", rank, str(code)) for rank, code in enumerate([102, 103, 104, 105, 106, 107, 108, 109], 1)]
_VALUES_2024 = {"101": 60, "102": 70, "103": 70, "104": 50, "105": 40, "106": 30, "107": None, "108": 80}


@pytest.fixture
def hand_made() -> duckdb.DuckDBPyConnection:
    con = _schema()
    con.executemany("INSERT INTO authorities VALUES (?, ?, ?)", _AUTHORITIES)
    con.executemany("INSERT INTO neighbours VALUES (?, ?, ?, 'Close')", _NEIGHBOURS)
    rows = [("x", 2024, "la", code, f"Authority {code}", v, None if v is not None else "c")
            for code, v in _VALUES_2024.items()]  # fmt: skip
    rows += [
        ("x", 2024, "national", "England", "England", 55.5, None),
        ("x", 2024, "regional", "North", "North", 58.0, None),
        ("x", 2024, "regional", "South", "South", 51.0, None),
        ("x", 2023, "la", "101", "Authority 101", 20.0, None),
        ("x", 2023, "la", "102", "Authority 102", 10.0, None),
        ("x", 2023, "national", "England", "England", 15.0, None),
    ]
    con.executemany("INSERT INTO published VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def _one(con, code, polarity="higher_is_better", year=2024) -> dict:
    return comparator_frame(con, code, [("m", "x", polarity, year)]).iloc[0].to_dict()


@pytest.mark.parametrize(
    ("code", "rank", "band"),
    [("108", 1, "A"), ("102", 2, "B"), ("103", 2, "B"), ("101", 4, "C"), ("104", 5, "C"), ("105", 6, "D"),
     ("106", 7, "D")],
)  # fmt: skip
def test_quartile_bands_higher_is_better_ties_share_the_better_band(hand_made, code, rank, band):
    r = _one(hand_made, code)
    assert (r["rank"], r["ranked"], r["quartile"]) == (rank, 7, band)


@pytest.mark.parametrize(
    ("code", "rank", "band"),
    [("106", 1, "A"), ("105", 2, "B"), ("104", 3, "B"), ("101", 4, "C"), ("102", 5, "C"), ("103", 5, "C"),
     ("108", 7, "D")],
)  # fmt: skip
def test_quartile_bands_lower_is_better(hand_made, code, rank, band):
    r = _one(hand_made, code, "lower_is_better")
    assert (r["rank"], r["quartile"]) == (rank, band)


def test_a_suppressed_figure_has_no_band_and_is_left_out_of_the_count(hand_made):
    r = _one(hand_made, "107")
    assert math.isnan(r["published"]) and r["quartile"] is None and pd.isna(r["rank"])
    assert r["ranked"] is pd.NA or pd.isna(r["ranked"])


def test_england_region_own_figure_and_the_median_of_the_neighbours_with_a_figure(hand_made):
    r = _one(hand_made, "101")
    assert (r["benchmark_year"], r["published"], r["england"], r["region"], r["region_name"]) == (
        2024, 60.0, 55.5, 58.0, "North",
    )  # fmt: skip
    assert (r["sn_median"], r["sn_count"]) == (60.0, 6)


def test_an_odd_number_of_neighbours_takes_the_middle_one(hand_made):
    hand_made.execute("UPDATE published SET value = NULL, marker = 'x' WHERE code = '108' AND year = 2024")
    r = _one(hand_made, "101")  # 30 40 50 70 70: the middle one is 50
    assert (r["sn_median"], r["sn_count"]) == (50.0, 5)


def test_the_year_is_the_latest_published_at_or_before_the_one_asked_for(hand_made):
    assert _one(hand_made, "101", year=2025)["benchmark_year"] == 2024
    later = _one(hand_made, "101", year=2023)
    assert (later["benchmark_year"], later["published"], later["england"]) == (2023, 20.0, 15.0)
    # 20 beats 10, but the better of two is the best half, not the best quarter: 4 x 1 > 2, 4 x 1 <= 4.
    assert (later["rank"], later["ranked"], later["quartile"]) == (1, 2, "B")
    none = _one(hand_made, "101", year=2022)
    assert pd.isna(none["benchmark_year"]) and math.isnan(none["england"]) and none["quartile"] is None


def test_a_monitored_kpi_has_figures_but_no_rank_or_band(hand_made):
    r = _one(hand_made, "101", "monitored")
    assert r["published"] == 60.0 and r["sn_median"] == 60.0
    assert r["quartile"] is None and pd.isna(r["rank"])


def test_an_authority_not_in_the_model_gets_england_only(hand_made):
    r = _one(hand_made, "999")
    assert r["england"] == 55.5
    assert math.isnan(r["published"]) and math.isnan(r["region"]) and math.isnan(r["sn_median"])
    assert r["sn_count"] == 0 and r["quartile"] is None


def test_rows_come_back_in_the_order_asked(hand_made):
    frame = comparator_frame(
        hand_made, "101", [("b", "x", "higher_is_better", 2023), ("a", "x", "higher_is_better", 2024)]
    )
    assert list(frame["metric_id"]) == ["b", "a"] and list(frame["benchmark_year"]) == [2023, 2024]


def test_comparison_chart_rows_authority_neighbours_closest_first_then_england(hand_made):
    frame = comparison_frame(hand_made, "101", "x")
    assert list(frame.drop_duplicates("code")["code"]) == ["101", *[str(c) for c in range(102, 110)], "England"]
    at = frame.set_index(["code", "year"])["value"]
    assert at[("101", 2023)] == 20.0 and at[("108", 2024)] == 80.0 and math.isnan(at[("107", 2024)])
    assert math.isnan(at[("103", 2023)])  # a year with no figure for 103 is a gap, not a missing row


# --- the loader's rules, on the real files' quirks -------------------------------------


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "dfe"
    shutil.copytree(reference.REFERENCE_DIR, folder)
    return folder


def _load(folder) -> duckdb.DuckDBPyConnection:
    con = _schema()
    load_reference(con, folder)
    return con


@pytest.fixture(scope="module")
def shipped() -> duckdb.DuckDBPyConnection:
    """The files in data/reference/dfe/ as the warehouse loads them (read, never changed)."""
    return _load(reference.REFERENCE_DIR)


def test_the_shipped_files_load(shipped):
    con = shipped
    counts = dict(con.execute("SELECT indicator, count(*) FROM published GROUP BY 1").fetchall())
    # C1 and D3: 13 years x (England + 11 regional rows + 153-155 authorities); the SSDA903 files: 5 years.
    assert counts["re_referrals_within_12m_pct"] == 2132 and counts["repeat_cp_plan_pct"] == 2132
    assert counts["cla12m_dental_check_pct"] == 5 * (1 + 11 + 155)
    assert con.execute("SELECT count(*) FROM authorities").fetchone()[0] == 153
    assert con.execute("SELECT count(*) FROM neighbours").fetchone()[0] == 1530


def test_an_authority_is_its_dfe_code_when_its_ons_code_changes(shipped):
    con = shipped
    # North Yorkshire is E10000023 to 2023 and E06000065 from 2024 in table C1: one series of 13 years.
    years = con.execute(
        "SELECT count(*) FROM published WHERE indicator = 're_referrals_within_12m_pct' AND code = '815'"
    ).fetchone()[0]
    assert years == 13


def test_columns_are_found_by_name_and_the_byte_order_mark_is_dropped(shipped):
    # la_cla_placement_stability.csv starts with a BOM and puts la_name before new_la_code.
    path = reference.REFERENCE_DIR / "la_cla_placement_stability.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    con = shipped
    assert con.execute(
        "SELECT value FROM published WHERE indicator = 'cla_3plus_placements_in_year_pct' AND year = 2025 "
        "AND code = '938'"
    ).fetchone() == (11.0,)


def test_names_with_commas_and_dfe_symbols(shipped):
    con = shipped
    hull = con.execute(
        "SELECT name, value FROM published WHERE indicator = 'cla12m_dental_check_pct' AND year = 2024 AND code = '810'"
    ).fetchone()
    assert hull == ("Kingston upon Hull, City of", 91.0)
    cumbria = con.execute(
        "SELECT value, marker FROM published WHERE indicator = 'cla12m_dental_check_pct' AND year = 2024 "
        "AND code = '909'"
    ).fetchone()
    assert cumbria == (None, "z")  # Cumbria was split in 2023: not applicable, not 0


def test_a_cell_that_is_neither_a_number_nor_a_symbol_refuses_the_load(files):
    path = files / "d3_cpps_subsequent_plan_2013_to_2025.csv"
    text = path.read_text(encoding="utf-8").replace(",15130,24.5\n", ",15130,24.5%\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceError, match=r"d3_cpps_subsequent_plan_2013_to_2025.csv: 2025, National: '24.5%'"):
        _load(files)


def test_a_missing_column_is_named(files):
    path = files / "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("rereferral_percent", "rereferral_pct", 1), encoding="utf-8")
    with pytest.raises(ReferenceError, match="no column rereferral_percent"):
        _load(files)


def test_an_authority_twice_in_a_year_refuses_the_load(files):
    path = files / "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    west_sussex = next(line for line in lines if ",938," in line and line.startswith("2025,"))
    path.write_text("".join([*lines, west_sussex]), encoding="utf-8")
    with pytest.raises(ReferenceError, match="938 appears 2 times in 2025"):
        _load(files)


def test_a_neighbour_outside_the_model_refuses_the_load(files):
    path = files / "sn_model_2025_wide.csv"
    text = path.read_text(encoding="utf-8-sig").replace(
        "938,West Sussex,6,South East,916,", "938,West Sussex,6,South East,999,"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceError, match="938: neighbour '999'"):
        _load(files)


# --- the shipped files, one authority and year, worked by hand -----------------------------
#
# West Sussex (938), dental checks of children looked after 12 months, year to 31 March 2024
# (la_conviction_health_outcome_cla.csv, "Had their teeth checked by a dentist"):
#   West Sussex 76; England 79; South East 77.
#   Its ten neighbours (sn_model_2025_wide.csv): Gloucestershire 88, Essex 69, Hampshire 54,
#   Hertfordshire 84, Warwickshire 81, Wiltshire 86, North Somerset 58, Oxfordshire 80,
#   South Gloucestershire 72, Devon 70. Sorted: 54 58 69 70 72 | 80 81 84 86 88: median 76.
#   155 authority rows; 4 have no figure (Cumbria, Northamptonshire, Isles of Scilly z; City of
#   London c): n = 151. 100 authorities are above 76 and 3 are on it (West Sussex among them):
#   rank 101 of 151; 4 x 101 = 404 is over 2 x 151 = 302 and within 3 x 151 = 453: band C.


def test_west_sussex_dental_checks_2024_worked_by_hand(shipped):
    con = shipped
    r = comparator_frame(con, "938", [("dental_up_to_date", "cla12m_dental_check_pct", "higher_is_better", 2024)])
    r = r.iloc[0].to_dict()
    assert (r["published"], r["england"], r["region"], r["region_name"]) == (76.0, 79.0, 77.0, "South East")
    assert (r["sn_median"], r["sn_count"]) == (76.0, 10)
    assert (r["rank"], r["ranked"], r["quartile"]) == (101, 151, "C")
    tied = comparator_frame(
        con, "938", [("dental", "cla12m_dental_check_pct", "higher_is_better", 2024)]
    )  # the same answer whatever the metric is called
    assert tied.iloc[0]["rank"] == 101


def test_2025_figures_match_the_published_west_sussex_benchmarks(shipped):
    # ../shared/reference/benchmarks.csv, typed from DfE's dashboard for West Sussex: 2025 rows
    # (england, south_east, west_sussex, sn_median_2025_model), the SN median there rounded to 1 dp.
    typed = {
        "re_referrals_within_12m_pct": (22.6, 28.4, 24.4, 17.4, "lower_is_better"),
        "repeat_cp_plan_pct": (24.5, 26.3, 29.2, 26.2, "lower_is_better"),
        "cla_3plus_placements_in_year_pct": (10.0, 12.0, 11.0, 13.0, "lower_is_better"),
        "cla12m_health_assessment_pct": (90.0, 87.0, 92.0, 90.0, "higher_is_better"),
        "cla12m_dental_check_pct": (81.0, 77.0, 85.0, 81.5, "higher_is_better"),
        "cla12m_immunisations_pct": (84.0, 81.0, 91.0, 82.0, "higher_is_better"),
        "cla12m_sdq_received_pct": (78.0, 72.0, 57.0, 78.5, "higher_is_better"),
        "care_leavers_19_21_suitable_accom_pct": (89.0, 83.0, 95.0, 89.0, "higher_is_better"),
        "cla_long_term_stability_pct": (69.0, 68.0, 73.0, 67.0, "higher_is_better"),
    }
    frame = comparator_frame(shipped, "938", [(k, k, v[4], 2025) for k, v in typed.items()])
    for r in frame.itertuples():
        england, region, own, sn, _ = typed[r.metric_id]
        assert (r.benchmark_year, r.england, r.region, r.published) == (2025, england, region, own), r.metric_id
        assert round(r.sn_median + 1e-9, 1) == sn, r.metric_id


# --- the scorecard and the CLI ------------------------------------------------------------------


def test_scorecard_compares_july_2023_with_the_year_to_march_2024(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    warehouse.ensure_warehouse(db)
    frame = queries.scorecard("2023-07", "la", db=db).set_index("metric_id")
    dental = frame.loc["dental_up_to_date"]
    assert (dental["benchmark_year"], dental["published"], dental["england"]) == (2024, 76.0, 79.0)
    assert (dental["region"], dental["sn_median"], dental["quartile"]) == (77.0, 76.0, "C")
    assert frame.loc["repeat_cp_plans", "quartile"] is None  # monitored: figures, no band
    assert frame.loc["repeat_cp_plans", "england"] == 24.7
    assert pd.isna(frame.loc["icpc_15wd", "benchmark_year"])  # no published counterpart
    # A month in 2026/27, whose year is not published yet, takes the latest before it: 2025.
    assert queries.published_year_for("2026-05") == 2027
    assert queries.published_year_for("2024-03") == 2024


def test_cli_scorecard_has_the_comparator_columns(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    warehouse.ensure_warehouse(db)
    table = queries.scorecard_table("2023-07", "la", db=db)
    assert list(table.columns[-6:]) == ["benchmark_year", "published", "england", "region", "sn_median", "quartile"]
    rereferrals = table.set_index("metric_id").loc["rereferrals_12m"]
    assert (rereferrals["benchmark_year"], rereferrals["published"], rereferrals["england"]) == (2024, 17.0, 22.4)
