"""metrics.yml: the catalogue the Board's scorecard is built from."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from etl.catalogue.metrics import CatalogueError, Polarity, catalogue, load_catalogue

SPEC = Path(__file__).resolve().parents[1] / "docs" / "spec" / "kpis.md"
CATALOGUE = Path(__file__).resolve().parents[1] / "metrics.yml"

EXPECTED_IDS = [
    "icpc_15wd",
    "assessments_45wd",
    "seen_5wd",
    "rereferrals_12m",
    "repeat_cp_plans",
    "mo_up_to_date",
    "mo_audits_good",
    "assessment_audits_good",
    "homeless_16_17",
    "rhi_72h",
    "missing_episodes",
    "iha_20wd",
    "cla_health_assessments",
    "sdq_completed",
    "dental_up_to_date",
    "placements_3plus",
    "placed_20mi_out",
    "pathway_plans",
    "care_leavers_accommodation",
    "lc_audits_good",
    "audits_good",
    "caseload_per_sw",  # the workforce (issue 25)
    "agency_rate",
    "sw_turnover",
    "sw_vacancy",
]


def test_every_kpi_of_the_spec_in_area_order():
    assert catalogue().ids == EXPECTED_IDS
    spec_ids = set(re.findall(r"^\| ([a-z0-9_]+) \|", SPEC.read_text(), flags=re.M)) - {"metric_id"}
    assert spec_ids | {"icpc_15wd"} == set(EXPECTED_IDS)


def test_metrics_follow_the_order_of_the_improvement_areas():
    cat = catalogue()
    positions = [cat.areas.index(m.area) for m in cat.metrics]
    assert positions == sorted(positions)
    assert len(cat.areas) == 9


def test_polarity_units_and_benchmarks():
    cat = catalogue()
    assert cat.metric("homeless_16_17").polarity is Polarity.MONITORED
    assert cat.metric("homeless_16_17").thresholds_for("2023-07") is None
    assert cat.metric("rereferrals_12m").polarity is Polarity.LOWER
    assert cat.metric("missing_episodes").unit == "count"
    assert cat.metric("rereferrals_12m").benchmark == "re_referrals_within_12m_pct"
    assert cat.authority.la_code == "938"
    assert {m.metric_id for m in cat.metrics if m.benchmark} == {
        "rereferrals_12m", "repeat_cp_plans", "cla_health_assessments", "sdq_completed", "dental_up_to_date",
        "placements_3plus", "care_leavers_accommodation", "placed_20mi_out",
        "caseload_per_sw", "agency_rate", "sw_turnover", "sw_vacancy",
    }  # fmt: skip
    assert cat.metric("repeat_cp_plans").polarity is Polarity.MONITORED


def test_a_benchmark_must_be_a_published_indicator(tmp_path):
    path = _write(tmp_path, lambda raw: _metric(raw, "sdq_completed").update(benchmark="sdq_pct"))
    with pytest.raises(CatalogueError, match=r"sdq_completed.*'sdq_pct' is not a published indicator"):
        load_catalogue(path)


def test_the_authority_is_named_by_its_three_digit_dfe_code(tmp_path):
    path = _write(tmp_path, lambda raw: raw["authority"].update(la_code="E10000032"))
    with pytest.raises(CatalogueError, match="la_code"):
        load_catalogue(path)


def test_thresholds_in_force_follow_the_financial_year():
    m = catalogue().metric("assessments_45wd")
    assert m.thresholds_for("2023-03").green == 85  # 2022/23 uses the 2020/21 thresholds
    assert m.thresholds_for("2023-04").green == 90  # 2023/24 brought new ones
    assert m.thresholds_for("2019-06").green == 85  # before the first year given: the earliest


def _write(tmp_path, mutate):
    raw = yaml.safe_load(CATALOGUE.read_text())
    mutate(raw)
    path = tmp_path / "metrics.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _metric(raw, metric_id):
    return next(m for m in raw["metrics"] if m["metric_id"] == metric_id)


def test_unknown_key_named_with_metric_and_field(tmp_path):
    path = _write(tmp_path, lambda raw: _metric(raw, "seen_5wd").update(colour="red"))
    with pytest.raises(CatalogueError, match=r"metric seen_5wd, field colour: Extra inputs are not permitted"):
        load_catalogue(path)


def test_thresholds_out_of_order_for_polarity(tmp_path):
    def mutate(raw):
        _metric(raw, "rereferrals_12m")["thresholds"]["2023/24"] = {"target": 20, "green": 25, "amber": 20}

    with pytest.raises(CatalogueError, match=r"metric rereferrals_12m.*lower is better, so green \(25.0\) must be <="):
        load_catalogue(_write(tmp_path, mutate))


def test_bad_polarity_named(tmp_path):
    path = _write(tmp_path, lambda raw: _metric(raw, "iha_20wd").update(polarity="up"))
    with pytest.raises(CatalogueError, match=r"metric iha_20wd, field polarity"):
        load_catalogue(path)


def test_bad_financial_year_named(tmp_path):
    def mutate(raw):
        _metric(raw, "iha_20wd")["thresholds"]["2023-24"] = {"green": 70, "amber": 60}

    with pytest.raises(CatalogueError, match=r"metric iha_20wd, field thresholds.*financial year like 2023/24"):
        load_catalogue(_write(tmp_path, mutate))


def test_monitored_metric_refuses_thresholds(tmp_path):
    def mutate(raw):
        _metric(raw, "homeless_16_17")["thresholds"] = {"2023/24": {"green": 1, "amber": 2}}

    with pytest.raises(CatalogueError, match=r"metric homeless_16_17.*monitored metric carries no RAG"):
        load_catalogue(_write(tmp_path, mutate))


def test_cli_stops_with_one_clear_line_on_a_broken_catalogue(tmp_path, monkeypatch, capsys):
    from cpip import cli
    from etl.catalogue import metrics

    path = _write(tmp_path, lambda raw: _metric(raw, "seen_5wd").update(unit="percentage"))
    monkeypatch.setenv("CPIP_METRICS", str(path))
    metrics._cached.cache_clear()
    try:
        code = cli.main(["loads"])
    finally:
        metrics._cached.cache_clear()
    err = capsys.readouterr().err
    assert code == 2
    assert "metric seen_5wd, field unit" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_app_stops_with_one_clear_line_on_a_broken_catalogue(tmp_path):
    path = _write(tmp_path, lambda raw: _metric(raw, "iha_20wd").update(polarity="upwards"))
    env = {**os.environ, "CPIP_METRICS": str(path), "CPIP_DB": str(tmp_path / "w.duckdb")}
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=CATALOGUE.parent, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"metrics.yml is not valid: {path}: metric iha_20wd, field polarity: "
        "Input should be 'higher_is_better', 'lower_is_better' or 'monitored'"
    ]


def test_applies_to_matches_services_as_the_loader_matches_names():
    from etl.catalogue.metrics import catalogue

    metric = catalogue().metric("iha_20wd")
    assert metric.applies_to == ("Children We Care For",)
    assert metric.applies_to_any(["children we care  for"]) and not metric.applies_to_any(["Leaving Care"])
    assert catalogue().metric("missing_episodes").applies_to_any(["Anything"])  # no applies_to: every service
