"""A seeded synthetic council's two census years, and the figures DfE would publish from them worked out
here by an independent calculation (plain Python over the generator's own episodes, not the product's
SQL), written in DfE's file layout: `cpip reconcile --published` must report them as matching
(docs/spec/returns.md, "Reconciliation with what DfE publishes")."""

from __future__ import annotations

import calendar
import csv
import json
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from cin_census_files import Episode, write_census

from cpip.cli import main
from etl.ingest.load import load_files

FIRST, LAST = date(2023, 4, 1), date(2025, 3, 31)
YEARS = {2024: (date(2023, 4, 1), date(2024, 3, 31)), 2025: (date(2024, 4, 1), date(2025, 3, 31))}


def council(seed: int = 2025, children: int = 400) -> dict[str, list[Episode]]:
    """Each child's episodes from 1 April 2023 (so every earlier referral is in a loaded census): one to
    four, none overlapping, some with an assessment and some with a plan, each plan numbering the child's
    plans before it (some children had plans before 2023)."""
    rng = random.Random(seed)
    out: dict[str, list[Episode]] = {}
    for n in range(children):
        day = FIRST + timedelta(days=rng.randrange(0, 500))
        plans_before = rng.choice((0, 0, 0, 1, 2))
        episodes = []
        for _ in range(rng.randint(1, 4)):
            if day > LAST:
                break
            closure = day + timedelta(days=rng.randint(5, 160))
            episode = Episode(day, closure=closure)
            if rng.random() < 0.6:
                episode.assessments.append((day + timedelta(days=1), day + timedelta(days=rng.randint(2, 4))))
            if rng.random() < 0.3:
                start = day + timedelta(days=rng.randint(1, 4))
                episode.plans.append((start, closure, plans_before))
                plans_before += 1
            episodes.append(episode)
            day = closure + timedelta(days=rng.choice((1, 30, 120, 300, 365, 366)))
        out[f"S{n:04d}"] = episodes
    return out


def census_of(children: dict[str, list[Episode]], first: date, last: date) -> dict[str, list[Episode]]:
    """What the census of [first, last] holds: episodes open at any point in the year, as known on
    31 March (a later closure, assessment end or plan end not yet happened; later starts not there)."""
    out: dict[str, list[Episode]] = {}
    for child, episodes in children.items():
        held = []
        for e in episodes:
            if e.referral > last or (e.closure is not None and e.closure < first):
                continue
            held.append(
                Episode(
                    e.referral,
                    closure=e.closure if e.closure and e.closure <= last else None,
                    assessments=[(s, f if f <= last else None) for s, f in e.assessments if s <= last],
                    plans=[(s, f if f and f <= last else None, p) for s, f, p in e.plans if s <= last],
                )
            )
        if held:
            out[child] = held
    return out


def twelve_months_before(day: date) -> date:
    month_end = calendar.monthrange(day.year - 1, day.month)[1]
    return date(day.year - 1, day.month, min(day.day, month_end))


def dfe_figures(children: dict[str, list[Episode]], first: date, last: date) -> dict[str, tuple[int, int]]:
    """DfE's C1 and D3 for the year, independently: referrals in the year and those with another
    referral of the child on or after the date 12 months before; plans starting in the year and those
    with one or more previous plans."""
    referrals = rereferrals = plans = subsequent = 0
    for episodes in children.values():
        dates = [e.referral for e in episodes]
        for day in dates:
            if first <= day <= last:
                referrals += 1
                rereferrals += any(twelve_months_before(day) <= other < day for other in dates)
        for e in episodes:
            for start, _, previous in e.plans:
                if first <= start <= last:
                    plans += 1
                    subsequent += previous >= 1
    return {"C1": (rereferrals, referrals), "D3": (subsequent, plans)}


def half_up(numerator: int, denominator: int) -> str:
    return str((Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


GEOGRAPHY = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
             "region_name", "old_la_code", "new_la_code", "la_name"]  # fmt: skip


def write_published(folder: Path, figures: dict[int, dict[str, tuple[int, int]]]) -> None:
    """DfE's two files as published: a national row, the council's row and another authority's."""
    c1 = [*GEOGRAPHY, "category", "referral_count", "rereferral_count", "rereferral_percent",
          "no_further_action_count", "no_further_action_percent", "not_in_need_count", "not_in_need_percent",
          "referral_child_count", "rereferral_child_count", "rereferral_child_percent"]  # fmt: skip
    d3 = [*GEOGRAPHY, "category", "CPP_start", "CPP_subsequent", "CPP_subsequent_percent"]
    places = [
        ("National", "", "", "", "", ""),
        ("Local authority", "E12000008", "South East", "938", "E10000032", "West Sussex"),
        ("Local authority", "E12000008", "South East", "805", "E06000001", "Hartlepool"),
    ]
    with (
        open(folder / "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv", "w", newline="") as f1,
        open(folder / "d3_cpps_subsequent_plan_2013_to_2025.csv", "w", newline="") as f3,
    ):
        w1, w3 = csv.writer(f1), csv.writer(f3)
        w1.writerow(c1)
        w3.writerow(d3)
        for year, figs in figures.items():
            for level, region_code, region, code, new_code, name in places:
                mine = code == "938"
                rr, r = figs["C1"] if mine else (1000, 4000)
                sp, p = figs["D3"] if mine else (30, 120)
                geo = [year, "Reporting year", level, "E92000001", "England", region_code, region, code, new_code, name]
                w1.writerow(
                    [*geo, "Referrals and Re-referrals", r, rr, half_up(rr, r), "x", "x", "x", "x", "x", "x", "x"]
                )
                w3.writerow(
                    [*geo, "Child Protection Plans which are a second or subsequent plan", p, sp, half_up(sp, p)]
                )


@pytest.fixture
def db(tmp_path, new_target):
    return new_target(tmp_path)


def test_the_census_figures_reconcile_with_what_dfe_would_publish(db, tmp_path, monkeypatch, capsys):
    truth = council()
    paths = [
        write_census(tmp_path, f"cin_{end}.xml", last, census_of(truth, first, last))
        for end, (first, last) in YEARS.items()
    ]
    figures = {end: dfe_figures(truth, first, last) for end, (first, last) in YEARS.items()}
    # The oracle itself, on its own terms: a plausible council, with re-referrals and repeat plans in it.
    assert figures[2025]["C1"][1] > 150 and 0 < figures[2025]["C1"][0] < figures[2025]["C1"][1]
    assert 0 < figures[2025]["D3"][0] < figures[2025]["D3"][1]
    reports = load_files(paths, as_of=date(2025, 4, 30), who="test", db=db)
    assert all(r.ok for r in reports), "\n".join(r.summary() for r in reports)
    published = tmp_path / "published"
    published.mkdir()
    write_published(published, figures)

    monkeypatch.setenv("CPIP_DB", str(db))
    for year, end in (("2024/25", 2025), ("2023/24", 2024)):
        capsys.readouterr()
        assert main(["reconcile", "--year", year, "--published", str(published), "--format", "json"]) == 0
        rows = {r["metric_id"]: r for r in json.loads(capsys.readouterr().out)}
        for metric, table in (("rereferrals_12m", "C1"), ("repeat_cp_plans", "D3")):
            row = rows[metric]
            numerator, denominator = figures[end][table]
            assert (row["ours_numerator"], row["ours_denominator"]) == (numerator, denominator), (year, row)
            assert (row["published_numerator"], row["published_denominator"]) == (numerator, denominator)
            assert row["ours_percent"] == row["published_percent"] == float(half_up(numerator, denominator))
            assert row["matches"] is True and row["reason"] == "matches the published figure", (year, row)


def test_reconcile_says_when_no_census_is_loaded_and_refuses_a_wrong_year(db, monkeypatch, capsys):
    monkeypatch.setenv("CPIP_DB", str(db))
    assert main(["reconcile", "--year", "2024/25", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    c1 = next(r for r in rows if r["metric_id"] == "rereferrals_12m")
    # The shipped file's West Sussex row for 2025: 1,945 of 7,960, 24.4%.
    assert (c1["published_numerator"], c1["published_denominator"], c1["published_percent"]) == (1945, 7960, 24.4)
    assert c1["matches"] is False and "no figure from the loaded returns" in c1["reason"]
    assert main(["reconcile", "--year", "2024-25"]) == 1
    assert "not a collection year like 2024/25" in capsys.readouterr().err
