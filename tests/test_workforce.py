"""The workforce area (issue 25): caseload per social worker, agency rate, turnover and vacancy, given as
kpi_values, each compared with DfE's children's social work workforce (CSWW) figure, and the pages saying
what DfE's figure counts. Every figure worked out by hand.

Hand-made values (kpi_helpers.ORG: Teams A and B are Assessment and Intervention, C and D Children We Care
For; Northern is A and C, Central B and D), loaded through the loader on both engines:

    agency_rate   July 2023: Team A 2 of 10 FTE; Team B 3 of 12; Team C 1 of 8; Team D 0 of 4 (no team row is
                  rated) -> Assessment and Intervention 5 / 22 = 22.7% (Red: amber is 20); Children We Care For
                  1 / 12 = 8.3% (Green); the authority 6 / 34 = 17.6% (Amber).
    sw_turnover   July 2023: Team A 1 of 8 -> the team's 12.5%, shown without a RAG (rated at service and above).
    caseload_per_sw  a rate, cases over FTE (lower is better; 2023/24 Green at or below 15, Amber at or below 18;
                  min_denominator 1 FTE):
                  July: Team A 30 cases over 2.0 FTE = 15.0 (Green, on the threshold); Team B 10 over 2.5 = 4.0
                        (Green) -> the service 40 / 4.5 = 8.9 (Green), NOT 19.0 (the sum of the teams' caseloads)
                        nor 9.5 (their average); the authority the same 40 / 4.5 (no other service gives one);
                        Northern (Team A) 15.0, Central (Team B) 4.0.
                  August: Team A 12 cases over 0 FTE -> No data (never 0, never Red), the service too.
                  September: Team A 12 cases, no FTE given -> No data.
                  October: Team B 9 cases over 0.5 FTE = 18.0, under 1 FTE -> Small numbers, not Amber.
                  July and October pooled for Team B: (10 + 9) / (2.5 + 0.5) = 6.3.
                  June: Team A 20 cases over 2.0 FTE = 10.0; Team B 10 cases, no FTE given -> Team B No data,
                        and the service 20 / 2.0 = 10.0, NOT 30 / 2.0 = 15.0 (Team B's cases over no FTE).
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from kpi_helpers import new_warehouse
from test_comparators import _load

from etl.catalogue import reference
from etl.catalogue.metrics import catalogue
from etl.catalogue.reference import comparator_frame
from etl.serve import queries

WORKFORCE = ("caseload_per_sw", "agency_rate", "sw_turnover", "sw_vacancy")
AI = "Assessment and Intervention"

GIVEN = """\
period,metric_id,team,numerator,denominator
2023-06,caseload_per_sw,Team A,20,2.0
2023-06,caseload_per_sw,Team B,10,
2023-07,agency_rate,Team A,2,10
2023-07,agency_rate,Team B,3,12
2023-07,agency_rate,Team C,1,8
2023-07,agency_rate,Team D,0,4
2023-07,sw_turnover,Team A,1,8
2023-07,caseload_per_sw,Team A,30,2.0
2023-07,caseload_per_sw,Team B,10,2.5
2023-08,caseload_per_sw,Team A,12,0
2023-09,caseload_per_sw,Team A,12,
2023-10,caseload_per_sw,Team B,9,0.5
"""


@pytest.fixture(scope="module")
def db(tmp_path_factory, module_target):
    """Both engines (conftest's `module_engine`), the rows through the loader (its checks included)."""
    from etl.ingest.load import load_files

    folder = tmp_path_factory.mktemp("workforce")
    path = new_warehouse(module_target(folder))
    (folder / "workforce.csv").write_text(GIVEN, encoding="utf-8")
    reports = load_files([folder / "workforce.csv"], as_of=date(2023, 11, 3), who="test", db=path)
    assert [(r.outcome, r.rejected) for r in reports] == [("loaded", 0)], [f.reason for f in reports[0].findings]
    return path


def _row(db, level: str, unit: str | None, metric: str, period: str = "2023-07") -> dict:
    frame = queries.scorecard(period, level, unit, db=db).set_index("metric_id")
    return frame.loc[metric].to_dict()


def test_the_workforce_area_and_its_four_kpis_fed_by_kpi_values():
    cat = catalogue()
    assert cat.areas[-1] == "Workforce (cross-cutting)"
    metrics = {m.metric_id: m for m in cat.metrics if m.area == "Workforce (cross-cutting)"}
    assert list(metrics) == list(WORKFORCE)
    assert {m.source for m in metrics.values()} == {"kpi_values"}
    assert {m.polarity for m in metrics.values()} == {"lower_is_better"}
    caseload = metrics["caseload_per_sw"]
    assert caseload.unit == "rate"  # cases over FTE: neither a percentage nor a count
    assert (caseload.min_denominator, caseload.chart) == (1, "xmr")  # 1 FTE; an XmR chart, as for a count
    assert [metrics[m].benchmark for m in WORKFORCE] == [
        "csww_caseload_fte", "csww_agency_rate_fte", "csww_turnover_rate_fte", "csww_vacancy_rate_fte",
    ]  # fmt: skip


def test_shares_pool_their_teams_and_are_rated_above_team_level(db):
    service = _row(db, "service", AI, "agency_rate")
    assert (service["numerator"], service["denominator"]) == (5, 22)
    assert round(service["value"], 1) == 22.7 and service["rag"] == "Red"
    cared_for = _row(db, "service", "Children We Care For", "agency_rate")
    assert round(cared_for["value"], 1) == 8.3 and cared_for["rag"] == "Green"
    la = _row(db, "la", None, "agency_rate")
    assert (la["numerator"], la["denominator"]) == (6, 34)
    assert round(la["value"], 1) == 17.6 and la["rag"] == "Amber"
    team = _row(db, "team", "Team A", "sw_turnover")
    assert team["value"] == 12.5 and team["rag"] in (None, "")  # rated at service and above only


def test_a_caseload_is_cases_over_fte_pooled_never_summed_nor_averaged(db):
    team_a, team_b = _row(db, "team", "Team A", "caseload_per_sw"), _row(db, "team", "Team B", "caseload_per_sw")
    assert (team_a["numerator"], team_a["denominator"], team_a["value"], team_a["rag"]) == (30, 2.0, 15.0, "Green")
    assert (team_b["numerator"], team_b["denominator"], team_b["value"], team_b["rag"]) == (10, 2.5, 4.0, "Green")
    service = _row(db, "service", AI, "caseload_per_sw")
    assert (service["numerator"], service["denominator"]) == (40, 4.5)
    assert service["value"] == 40 / 4.5 and round(service["value"], 1) == 8.9  # not 19.0, not 9.5
    assert service["rag"] == "Green"
    la = _row(db, "la", None, "caseload_per_sw")
    assert (la["numerator"], la["denominator"], round(la["value"], 1)) == (40, 4.5, 8.9)
    assert _row(db, "area", "Northern", "caseload_per_sw")["value"] == 15.0
    assert _row(db, "area", "Central", "caseload_per_sw")["value"] == 4.0


def test_no_fte_is_no_data_never_0_nor_red(db):
    series = queries.series("caseload_per_sw", "team", "Team A", db=db).set_index("period")
    for month in ("2023-08", "2023-09"):  # 12 cases over 0 FTE; 12 cases and no FTE given
        assert math.isnan(series.loc[month, "value"]) and series.loc[month, "rag"] == "No data"
        for level, unit in (("team", "Team A"), ("service", AI), ("la", None)):
            row = _row(db, level, unit, "caseload_per_sw", month)
            assert math.isnan(row["value"]) and row["rag"] == "No data", (month, level)
    assert series.loc["2023-07", "value"] == 15.0
    grid = queries.team_grid("2023-08", "service", AI, db=db)
    cell = grid[(grid["team"] == "Team A") & (grid["metric_id"] == "caseload_per_sw")].iloc[0]
    assert math.isnan(cell["value"]) and cell["rag"] == "No data"


def test_a_team_without_fte_pools_none_of_its_cases(db):
    assert _row(db, "team", "Team A", "caseload_per_sw", "2023-06")["value"] == 10.0
    assert _row(db, "team", "Team B", "caseload_per_sw", "2023-06")["rag"] == "No data"
    for level, unit in (("service", AI), ("la", None), ("area", "Northern")):
        row = _row(db, level, unit, "caseload_per_sw", "2023-06")
        assert (row["numerator"], row["denominator"], row["value"]) == (20, 2.0, 10.0), level  # not 30 / 2.0
    assert math.isnan(_row(db, "area", "Central", "caseload_per_sw", "2023-06")["value"])


def test_under_one_fte_is_small_numbers(db):
    row = _row(db, "team", "Team B", "caseload_per_sw", "2023-10")
    assert (row["value"], row["rag"]) == (18.0, "Small numbers")  # 9 / 0.5; else Amber
    series = queries.series("caseload_per_sw", "team", "Team B", db=db).set_index("period")
    assert series.loc["2023-10", "rag"] == "Small numbers" and series.loc["2023-07", "rag"] == "Green"


def test_every_view_of_the_caseload_divides_without_x100(db):
    breakdown = queries.breakdown("caseload_per_sw", "2023-07", "service", AI, db=db)
    assert list(zip(breakdown["org_unit"], breakdown["value"], strict=True)) == [("Team B", 4.0), ("Team A", 15.0)]
    grid = queries.team_grid("2023-07", "service", AI, db=db)
    caseload = grid[grid["metric_id"] == "caseload_per_sw"].set_index("team")["value"].to_dict()
    assert caseload == {"Team A": 15.0, "Team B": 4.0}
    matrix = queries.team_matrix("caseload_per_sw", "service", AI, "2023-07", months=1, db=db)
    assert sorted(zip(matrix["team"], matrix["value"], strict=True)) == [("Team A", 15.0), ("Team B", 4.0)]
    pooled = queries.pooled("caseload_per_sw", ["2023-07", "2023-10"], "team", "Team B", db=db)
    assert (pooled["numerator"], pooled["denominator"], round(pooled["value"], 1)) == (19, 3.0, 6.3)
    assert queries.spc_series("caseload_per_sw", "service", AI, period="2023-07", db=db).chart == "xmr"


def test_cpip_scorecard_prints_the_rate_and_its_fte(db):
    table = queries.scorecard_table("2023-07", "service", db=db)
    row = table[(table["org_unit"] == AI) & (table["metric_id"] == "caseload_per_sw")].iloc[0]
    assert (row["unit"], row["numerator"], row["denominator"], row["value"]) == ("rate", 40, 4.5, 8.888888889)
    assert row["rag"] == "Green"


def test_the_board_pack_and_its_workbook_show_cases_over_fte(db, tmp_path):
    from openpyxl import load_workbook

    from dashboard.export.boardpack import build_boardpack, collect

    pack = collect("2023-07", "service", AI, db=db, kind="none")
    row = next(r for r in pack.rows if r.metric_id == "caseload_per_sw")
    assert (row.value_text, row.fraction_text, row.target_text, row.rag) == ("8.9", "40 / 4.5", "15.0", "Green")
    out = build_boardpack("2023-07", "service", AI, out=tmp_path / "pack.xlsx", db=db)
    ws = load_workbook(out)["Scorecard"]
    line = next(r for r in range(5, ws.max_row + 1) if ws.cell(r, 3).value == "caseload_per_sw")
    value, numerator, denominator = (ws.cell(line, c) for c in (4, 5, 6))
    assert (value.value, numerator.value, denominator.value) == (pytest.approx(40 / 4.5), 40, 4.5)
    assert (value.number_format, denominator.number_format) == ("#,##0.0", "#,##0.0")  # 8.9 and 4.5, no %
    data = load_workbook(out)["Data"]
    found = {(r[1].value, r[4].value): r for r in data.iter_rows(min_row=2) if r[1].value == "caseload_per_sw"}
    team_b = found[("caseload_per_sw", "Team B")]
    assert (team_b[5].value, team_b[6].value, team_b[7].value) == (10, 2.5, 4.0)
    assert (team_b[6].number_format, team_b[7].number_format) == ("#,##0.0", "#,##0.0")


def test_the_demo_gives_cases_and_fte_per_team_and_july_2023_stays_amber(tmp_path):
    """The demo's caseloads are each team's cases and FTE; the authority's July 2023 figure is pooled from
    them (5,141 cases over 308 FTE = 16.7), and every workforce KPI of the authority is Amber, as before."""
    import csv
    import io
    from contextlib import redirect_stdout

    from etl.demo.extracts import load_demo

    db = tmp_path / "warehouse.duckdb"
    with redirect_stdout(io.StringIO()):
        assert load_demo(if_empty=True, who="test", db=db, folder=tmp_path / "demo") == 0
    with open(tmp_path / "demo" / "kpi_values.csv", encoding="utf-8") as handle:
        given = [r for r in csv.DictReader(handle) if r["metric_id"] == "caseload_per_sw"]
    teams = {r["team"] for r in queries.org_units(db=db).to_dict("records")}
    assert {r["team"] for r in given} <= teams and all(float(r["denominator"]) > 0 for r in given)
    card = queries.scorecard("2023-07", "la", db=db).set_index("metric_id")
    caseload = card.loc["caseload_per_sw"]
    assert (caseload["numerator"], caseload["denominator"], round(caseload["value"], 1)) == (5141, 308, 16.7)
    assert [card.loc[m, "rag"] for m in WORKFORCE] == ["Amber"] * 4


# A hand-written file in the CSWW layout, fewer columns (2024: the workforce on 30 September 2023). West Sussex
# (938) and three of its ten neighbours (Gloucestershire 916, Essex 881, Hampshire 850), and Camden (202), not one.
CSWW = """\
time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name,turnover_rate_fte,agency_rate_fte,vacancy_rate_fte,caseload_fte
2024,Reporting year,National,E92000001,England,,,,,,15.0,17.0,20.0,16.0
2024,Reporting year,Regional,E92000001,England,E12000008,South East,,,,16.0,20.0,22.0,17.0
2024,Reporting year,Local authority,E92000001,England,E12000008,South East,938,E10000032,West Sussex,9.3,12.0,5.2,14.5
2024,Reporting year,Local authority,E92000001,England,E12000009,South West,916,E10000013,Gloucestershire,20,25,24,18
2024,Reporting year,Local authority,E92000001,England,E12000006,East of England,881,E10000012,Essex,14.0,10.0,12.0,15.0
2024,Reporting year,Local authority,E92000001,England,E12000008,South East,850,E10000014,Hampshire,17.0,18.0,x,16.5
2024,Reporting year,Local authority,E92000001,England,E12000007,London,202,E09000007,Camden,25.0,30.0,30.0,13.0
"""


def test_comparators_come_from_a_csww_layout_file_worked_by_hand(tmp_path):
    import shutil

    folder = tmp_path / "dfe"
    shutil.copytree(reference.REFERENCE_DIR, folder)
    (folder / "csww_indicators_2017_to_2025.csv").write_text(CSWW, encoding="utf-8")
    con = _load(folder)
    wanted = [
        (m.metric_id, m.benchmark, str(m.polarity), 2024) for m in catalogue().metrics if m.metric_id in WORKFORCE
    ]
    frame = comparator_frame(con, "938", wanted).set_index("metric_id")
    # Lower is better. Caseload: 13.0 (Camden), 14.5 (West Sussex), 15.0, 16.5, 18.0: rank 2 of 5, 4 x 2 = 8
    # within 2 x 5 = 10: band B; the neighbours 18.0, 15.0 and 16.5: median 16.5.
    caseload = frame.loc["caseload_per_sw"]
    assert (caseload["published"], caseload["england"], caseload["region"]) == (14.5, 16.0, 17.0)
    assert (caseload["sn_median"], caseload["sn_count"], caseload["rank"], caseload["quartile"]) == (16.5, 3, 2, "B")
    # Agency: 10.0, 12.0 (ours), 18.0, 25.0, 30.0: rank 2 of 5, band B; neighbours 25, 10, 18: median 18.
    agency = frame.loc["agency_rate"]
    assert (agency["published"], agency["sn_median"], agency["quartile"]) == (12.0, 18.0, "B")
    # Turnover: ours 9.3 is the lowest of five: rank 1, band A; neighbours 20, 14, 17: median 17.
    turnover = frame.loc["sw_turnover"]
    assert (turnover["published"], turnover["sn_median"], turnover["rank"], turnover["quartile"]) == (9.3, 17.0, 1, "A")
    # Vacancy: Hampshire's "x" is no figure: four ranked, ours 5.2 first (band A); neighbours 24 and 12: 18.
    vacancy = frame.loc["sw_vacancy"]
    assert (vacancy["ranked"], vacancy["rank"], vacancy["quartile"]) == (4, 1, "A")
    assert (vacancy["sn_median"], vacancy["sn_count"]) == (18.0, 2)


def test_the_kpi_page_says_what_dfe_counts_for_each_workforce_kpi():
    import app  # noqa: F401  (the pages register with the app)
    from dashboard.pages.kpi import definition

    for metric_id in WORKFORCE:
        metric = catalogue().metric(metric_id)
        text = str(definition(metric, "2023-07"))
        indicator = reference.INDICATORS[metric.benchmark]
        assert indicator.counts and indicator.counts in text, metric_id
        assert "30 September" in indicator.counts and "whole authority" in indicator.counts
    caseload = str(definition(catalogue().metric("caseload_per_sw"), "2023-07"))
    # A rate, cases per FTE with one decimal, not a percentage, in the thresholds too.
    assert "Green at or below 15.0," in caseload and "15%" not in caseload and "15.0%" not in caseload


def test_the_regional_view_divides_a_rate_without_x100(tmp_path):
    """Two councils' caseloads side by side: 40 cases over 4.5 FTE (8.9) and 30 over 2.0 (15.0)."""
    import app  # noqa: F401  (the pages register with the app)
    from dashboard.pages.regional import _table
    from etl.ingest.load import load_files
    from etl.serve.regional import regional

    db = tmp_path / "warehouse.duckdb"
    org = tmp_path / "organisation.csv"
    org.write_text("team,service,area\nTeam A,Service S,North\n", encoding="utf-8")
    for code, (cases, fte) in {"938": (40, 4.5), "846": (30, 2.0)}.items():
        given = tmp_path / f"caseloads-{code}.csv"
        given.write_text(
            f"period,metric_id,team,numerator,denominator\n2023-07,caseload_per_sw,Team A,{cases},{fte}\n",
            encoding="utf-8",
        )
        reports = load_files([org, given], as_of=date(2023, 8, 4), who="test", db=db, authority=code)
        assert [r.outcome for r in reports] == ["loaded", "loaded"]
    frame = regional("caseload_per_sw", ["938", "846"], db=db)
    got = {r.la_code: (r.numerator, r.denominator, r.value) for r in frame.itertuples()}
    assert got == {"938": (40, 4.5, 40 / 4.5), "846": (30, 2.0, 15.0)}
    table = str(_table(frame, ["938", "846"], catalogue().metric("caseload_per_sw"), "Caseloads"))
    assert "'8.9 (40 / 4.5)'" in table and "'15.0 (30 / 2.0)'" in table and "%" not in table
