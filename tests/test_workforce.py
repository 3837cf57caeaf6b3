"""The workforce area (issue 25): caseload per social worker, agency rate, turnover and vacancy, given as
kpi_values, each compared with DfE's children's social work workforce (CSWW) figure, and the pages saying
what DfE's figure counts. Every figure worked out by hand.

Hand-made values for July 2023 (kpi_helpers.ORG: Teams A and B are Assessment and Intervention, C and D
Children We Care For; Northern is A and C, Central B and D):

    agency_rate   Team A 2 of 10 FTE; Team B 3 of 12; Team C 1 of 8; Team D 0 of 4 (no team row is rated)
                  -> Assessment and Intervention 5 / 22 = 22.7% (Red: amber is 20); Children We Care For
                     1 / 12 = 8.3% (Green); the authority 6 / 34 = 17.6% (Amber).
    sw_turnover   Team A 1 of 8 -> the team's 12.5%, shown without a RAG (rated at service and above only).
    caseload_per_sw  an average, so given for each unit: Team A 18.2, Team B 14.0, the service 15.9 (its own
                  row, not 18.2 + 14.0), the authority 16.1; lower is better, Green at or below 15, Amber at or
                  below 18 (2023/24): the service Amber, Team B Green.
"""

from __future__ import annotations

from datetime import date

import pytest
from kpi_helpers import AUTHORITY, add_records, new_warehouse
from test_comparators import _load

from etl.catalogue import reference
from etl.catalogue.metrics import catalogue
from etl.catalogue.reference import comparator_frame
from etl.serve import queries

WORKFORCE = ("caseload_per_sw", "agency_rate", "sw_turnover", "sw_vacancy")
JULY = date(2023, 7, 1)


def _given(metric: str, unit: str, numerator: float, denominator: float | None = None) -> dict:
    return {"period": JULY, "metric_id": metric, "team": unit, "numerator": numerator, "denominator": denominator}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = new_warehouse(tmp_path_factory.mktemp("workforce"))
    rows = [
        _given("agency_rate", "Team A", 2, 10),
        _given("agency_rate", "Team B", 3, 12),
        _given("agency_rate", "Team C", 1, 8),
        _given("agency_rate", "Team D", 0, 4),
        _given("sw_turnover", "Team A", 1, 8),
        _given("caseload_per_sw", "Team A", 18.2),
        _given("caseload_per_sw", "Team B", 14.0),
        _given("caseload_per_sw", "Assessment and Intervention", 15.9),
        _given("caseload_per_sw", AUTHORITY, 16.1),
    ]
    add_records(path, "kpi_values", rows, as_of=date(2023, 8, 4))
    return path


def _row(db, level: str, unit: str | None, metric: str) -> dict:
    frame = queries.scorecard("2023-07", level, unit, db=db).set_index("metric_id")
    return frame.loc[metric].to_dict()


def test_the_workforce_area_and_its_four_kpis_fed_by_kpi_values():
    cat = catalogue()
    assert cat.areas[-1] == "Workforce (cross-cutting)"
    metrics = {m.metric_id: m for m in cat.metrics if m.area == "Workforce (cross-cutting)"}
    assert list(metrics) == list(WORKFORCE)
    assert {m.source for m in metrics.values()} == {"kpi_values"}
    assert {m.polarity for m in metrics.values()} == {"lower_is_better"}
    assert metrics["caseload_per_sw"].unit == "count"  # a number of cases, not a percentage
    assert [metrics[m].benchmark for m in WORKFORCE] == [
        "csww_caseload_fte", "csww_agency_rate_fte", "csww_turnover_rate_fte", "csww_vacancy_rate_fte",
    ]  # fmt: skip


def test_shares_pool_their_teams_and_are_rated_above_team_level(db):
    service = _row(db, "service", "Assessment and Intervention", "agency_rate")
    assert (service["numerator"], service["denominator"]) == (5, 22)
    assert round(service["value"], 1) == 22.7 and service["rag"] == "Red"
    cared_for = _row(db, "service", "Children We Care For", "agency_rate")
    assert round(cared_for["value"], 1) == 8.3 and cared_for["rag"] == "Green"
    la = _row(db, "la", None, "agency_rate")
    assert (la["numerator"], la["denominator"]) == (6, 34)
    assert round(la["value"], 1) == 17.6 and la["rag"] == "Amber"
    team = _row(db, "team", "Team A", "sw_turnover")
    assert team["value"] == 12.5 and team["rag"] in (None, "")  # rated at service and above only


def test_a_caseload_is_the_units_own_figure_never_a_sum(db):
    service = _row(db, "service", "Assessment and Intervention", "caseload_per_sw")
    assert service["value"] == 15.9 and service["rag"] == "Amber"
    assert _row(db, "la", None, "caseload_per_sw")["value"] == 16.1
    team_b = _row(db, "team", "Team B", "caseload_per_sw")
    assert team_b["value"] == 14.0 and team_b["rag"] == "Green"


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
    # A number of cases, not a percentage, in the thresholds too.
    assert "Green at or below 15," in caseload and "15%" not in caseload
