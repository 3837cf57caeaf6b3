"""Reconciling the SSDA903 with what DfE publishes, on a seeded synthetic council (reconcile.md section 4).

The generator writes the council's 2024/25 return; an independent calculation here (plain Python over the
generated records, sharing nothing with the product's SQL) works out the figures DfE would publish and writes
them in DfE's own file layouts (la_cla_placement_stability.csv, la_conviction_health_outcome_cla.csv,
la_care_leavers_accommodation_suitability.csv: long files, one row per measure, counts unrounded, percentages
whole and rounded half up). `cpip reconcile` must find every 903 indicator matching."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from kpi_helpers import new_warehouse
from ssda903_files import write_csvs

from etl.ingest.load import load_files
from etl.serve.reconcile import MATCHES, reconcile

Y0, Y1 = date(2024, 4, 1), date(2025, 3, 31)
S_12M = date(2024, 3, 31)
TEMPORARY = {"T0", "T1", "T2", "T3", "T4"}
LA = "938"  # the authority metrics.yml names (the demo borrows West Sussex's code)


def uk(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


def council(seed: int = 903, children: int = 400) -> dict[str, list[dict]]:
    """A council's 2024/25 return: journeys of foster and residential placements with hospital stays and
    carers' holidays (temporary placements, and the return after them), changes of legal status, short-break
    children, leavers, care leavers around their birthdays; OC2 for (nearly all of) the children looked after
    for the year, a few for others; some missing episodes."""
    rng = random.Random(seed)
    tables: dict[str, list[dict]] = {"Header": [], "Episodes": [], "OC2": [], "OC3": [], "Missing": []}
    for n in range(children):
        child = f"s{n:04d}"
        born = date(2007, 1, 1) + timedelta(days=rng.randrange(0, 18 * 365))
        kind = rng.random()
        if kind < 0.08:  # a care leaver: OC3 around a 17th to 21st birthday
            born = date(2003, 4, 1) + timedelta(days=rng.randrange(0, 5 * 365))
            tables["Header"].append({"CHILD": child, "DOB": uk(born)})
            accom = rng.choice(["U1", "U1", "B1", "Z1", "K2", "B2", "0", "D1", "S2"])
            died = rng.random() < 0.03
            tables["OC3"].append(
                {
                    "CHILD": child,
                    "DOB": uk(born),
                    "IN_TOUCH": "DIED" if died else "YES",
                    "ACTIV": "F2",
                    "ACCOM": "" if died else accom,
                }
            )
            continue
        tables["Header"].append({"CHILD": child, "DOB": uk(born)})
        start = date(2021, 1, 1) + timedelta(days=rng.randrange(0, 1550))
        if start > Y1 - timedelta(days=20):
            start = Y1 - timedelta(days=20)
        ls = rng.choice(["V3", "V4"]) if kind < 0.14 else rng.choice(["C1", "C2", "C2", "V2", "E1"])
        steps = [(start, "S", rng.choice(["U4", "U5", "U6", "U1", "K2"]), ls)]
        day = start
        while True:
            day += timedelta(days=rng.randrange(20, 400))
            if day >= Y1:
                break
            previous = steps[-1][2]
            roll = rng.random()
            if roll < 0.15 and previous not in TEMPORARY:  # a short temporary placement, then back
                steps.append((day, "P", rng.choice(sorted(TEMPORARY)), ls))
                back = day + timedelta(days=rng.randrange(2, 14))
                if back >= Y1:
                    break
                steps.append((back, rng.choice(["P", "T"]), previous, ls))
                day = back
            elif roll < 0.25:
                steps.append((day, "L", previous, rng.choice(["C2", "E1"])))
            else:
                steps.append(
                    (day, rng.choice(["P", "P", "P", "T", "U", "B"]), rng.choice(["U4", "U5", "U6", "K2", "R1"]), ls)
                )
        leaves = rng.random() < 0.2 and steps[-1][2] not in TEMPORARY
        end = None
        if leaves:
            end = steps[-1][0] + timedelta(days=rng.randrange(1, 200))
            end = None if end >= Y1 else end
        for index, (decom, rne, place, status) in enumerate(steps):
            following = steps[index + 1][0] if index + 1 < len(steps) else None
            dec, rec = (following, "X1") if following else (end, "E13" if end else "")
            if decom > Y1 or (dec is not None and dec < Y0):
                continue  # the return holds the episodes open in its year
            tables["Episodes"].append(
                {
                    "CHILD": child,
                    "DECOM": uk(decom),
                    "RNE": rne,
                    "LS": status,
                    "PLACE": place,
                    "DEC": uk(dec),
                    "REC": rec,
                }
            )
        if rng.random() < 0.1:
            missing_day = Y0 + timedelta(days=rng.randrange(0, 360))
            tables["Missing"].append({"CHILD": child, "DOB": uk(born), "MISSING": "M", "MIS_START": uk(missing_day)})
    held = {r["CHILD"] for r in tables["Episodes"]}
    tables["Header"] = [
        h for h in tables["Header"] if h["CHILD"] in held or any(o["CHILD"] == h["CHILD"] for o in tables["OC3"])
    ]
    tables["Missing"] = [m for m in tables["Missing"] if m["CHILD"] in held]
    for h in tables["Header"]:
        if h["CHILD"] not in held:
            continue
        if rng.random() < 0.97:  # a few children without OC2 (903 rule 191), and OC2 for some outside the cohort
            age = Y1.year - int(h["DOB"][-4:])
            score = str(rng.randrange(0, 41)) if 4 <= age <= 17 and rng.random() < 0.6 else ""
            tables["OC2"].append(
                {
                    "CHILD": h["CHILD"],
                    "DOB": h["DOB"],
                    "TEETH_CHECK": str(int(rng.random() < 0.85)),
                    "HEALTH_ASSESSMENT": str(int(rng.random() < 0.9)),
                    "IMMUNISATIONS": "1",
                    "SDQ_SCORE": score,
                }
            )
    return tables


# ----- the independent calculation: DfE's tables from the records, in plain Python ------------------------------


def parse(text: str) -> date | None:
    if not text:
        return None
    d, m, y = (int(x) for x in text.split("/"))
    return date(y, m, d)


def episodes_by_child(tables):
    out: dict[str, list[dict]] = {}
    for row in tables["Episodes"]:
        out.setdefault(row["CHILD"], []).append({**row, "start": parse(row["DECOM"]), "end": parse(row["DEC"])})
    for rows in out.values():
        rows.sort(key=lambda r: r["start"])
    return out


def placement_stability(tables) -> tuple[int, int]:
    """CLA on 31 March (short breaks out) and those with 3 or more placements during the year."""
    total = three = 0
    for rows in episodes_by_child(tables).values():
        on_day = [r for r in rows if r["start"] <= Y1 and (r["end"] is None or r["end"] > Y1)]
        if not on_day or on_day[0]["LS"] in ("V3", "V4"):
            continue
        total += 1
        count = int(any(r["start"] <= S_12M and (r["end"] is None or r["end"] > S_12M) for r in rows))
        for i, r in enumerate(rows):
            if not (S_12M < r["start"] <= Y1) or r["RNE"] not in "SPBTU" or r["PLACE"] in TEMPORARY:
                continue
            before = rows[i - 1]["PLACE"] if i >= 1 else ""
            before_that = rows[i - 2]["PLACE"] if i >= 2 else ""
            if before in TEMPORARY and r["PLACE"] == before_that:
                continue  # back from a temporary placement
            count += 1
        three += count >= 3
    return three, total


def looked_after_for_the_year(rows) -> bool:
    in_year = [r for r in rows if r["start"] <= Y1 and (r["end"] is None or r["end"] >= Y0)]
    if not in_year or any(r["LS"] in ("V3", "V4") for r in in_year):
        return False
    if any(r["RNE"] == "S" and Y0 < r["start"] <= Y1 for r in rows):
        return False
    return not any(r["end"] is not None and r["REC"] != "X1" and Y0 <= r["end"] < Y1 for r in rows)


def health(tables) -> dict[str, tuple[int, int]]:
    cohort = {c for c, rows in episodes_by_child(tables).items() if looked_after_for_the_year(rows)}
    oc2 = {r["CHILD"]: r for r in tables["OC2"]}
    teeth = sum(1 for c in cohort if oc2.get(c, {}).get("TEETH_CHECK") == "1")
    assessed = sum(1 for c in cohort if oc2.get(c, {}).get("HEALTH_ASSESSMENT") == "1")
    aged = [c for c in cohort if c in oc2 and 5 <= age(parse(oc2[c]["DOB"]), Y1) <= 16]
    scored = sum(1 for c in aged if oc2[c]["SDQ_SCORE"] != "")
    return {"teeth": (teeth, len(cohort)), "assessment": (assessed, len(cohort)), "sdq": (scored, len(aged))}


def age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def care_leavers(tables) -> tuple[int, int]:
    suitable = total = 0
    for row in tables["OC3"]:
        born = parse(row["DOB"])
        birthday = born.replace(year=Y0.year) if (born.month, born.day) >= (4, 1) else born.replace(year=Y1.year)
        if 19 <= birthday.year - born.year <= 21 and row["ACCOM"]:
            total += 1
            suitable += row["ACCOM"][1:2] == "1"
    return suitable, total


# ----- DfE's layouts ----------------------------------------------------------------------------------------------

PLACES = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "la_name",
    "new_la_code",
]


def whole_percent(numerator: int, denominator: int) -> str:
    return str((Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cell(count: int) -> str:
    return "c" if 1 <= count <= 5 else str(count)


SHIPPED = Path(__file__).resolve().parents[1] / "data" / "reference" / "dfe"


def publish(folder: Path, tables) -> dict[str, tuple[int, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    # The census's tables as shipped (no Synthshire rows: those indicators say "no figure").
    for name in (
        "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv",
        "d3_cpps_subsequent_plan_2013_to_2025.csv",
    ):
        (folder / name).write_bytes((SHIPPED / name).read_bytes())
    where = [
        "2025",
        "Reporting year",
        "Local authority",
        "E92000001",
        "England",
        "E12000008",
        "South East",
        LA,
        "Synthshire",
        "E10000999",
    ]

    def write(name, measure_columns, rows):
        with open(folder / name, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(PLACES + measure_columns)
            for row in rows:
                out.writerow(where + row)

    three, total = placement_stability(tables)
    write(
        "la_cla_placement_stability.csv",
        ["cla_group", "placement_stability", "children_count", "children_percent"],
        [
            ["CLA on 31 March", "With 3 or more placements during the year", cell(three), whole_percent(three, total)],
            ["CLA on 31 March", "Total children", cell(total), "100"],
        ],
    )
    figures = health(tables)
    all_ages = "Health assessments: Children looked after all ages"
    write(
        "la_conviction_health_outcome_cla.csv",
        ["characteristic", "breakdown", "children_count", "children_percent"],
        [
            [
                all_ages,
                "Had their teeth checked by a dentist",
                cell(figures["teeth"][0]),
                whole_percent(*figures["teeth"]),
            ],
            [
                all_ages,
                "Had their annual health assessment",
                cell(figures["assessment"][0]),
                whole_percent(*figures["assessment"]),
            ],
            [all_ages, "Total all ages", cell(figures["teeth"][1]), "100"],
            [
                "Ages 5 to 16 years with SDQ score",
                "SDQ score was received",
                cell(figures["sdq"][0]),
                whole_percent(*figures["sdq"]),
            ],
            ["Ages 5 to 16 years with SDQ score", "Total ages 5 to 16 years", cell(figures["sdq"][1]), "100"],
        ],
    )
    suitable, leavers = care_leavers(tables)
    write(
        "la_care_leavers_accommodation_suitability.csv",
        ["care_leaver_age", "breakdown", "care_leaver_count", "care_leaver_percent"],
        [
            ["19 to 21 years", "Accommodation considered suitable", cell(suitable), whole_percent(suitable, leavers)],
            ["19 to 21 years", "Suitability total", cell(leavers), "100"],
        ],
    )
    return {"placements": (three, total), **figures, "leavers": (suitable, leavers)}


OURS = {
    "Placement stability: 3 or more placements": "placements",
    "OC2 dental checks": "teeth",
    "OC2 annual health assessments": "assessment",
    "OC2 SDQ scores (ages 5 to 16)": "sdq",
    "Care leavers aged 19 to 21 in suitable accommodation": "leavers",
}


@pytest.fixture(scope="module")
def synthshire(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthshire")
    tables = council()
    db = new_warehouse(folder)
    [report] = load_files(
        write_csvs(folder / "903", tables), as_of=date(2025, 5, 15), who="test", db=db, collection_year="2024/25"
    )
    assert report.outcome == "loaded", report.summary() + " " + " | ".join(f.reason for f in report.findings[:5])
    published = publish(folder / "dfe", tables)
    return db, folder / "dfe", published


def test_the_oracle_is_not_trivial(synthshire):
    # The generated council exercises each figure: hundreds in care, some with 3+ placements, some not.
    _, _, published = synthshire
    three, total = published["placements"]
    assert total > 200 and 5 < three < total
    assert all(0 < n < d for n, d in (published["teeth"], published["sdq"], published["leavers"]))


def test_every_903_indicator_matches_what_dfe_would_publish(synthshire):
    db, dfe, published = synthshire
    rows = {r["indicator"]: r for r in reconcile("2024/25", published=dfe, db=db)}
    for indicator, key in OURS.items():
        row = rows[indicator]
        assert (row["ours_numerator"], row["ours_denominator"]) == published[key], indicator
        assert row["matches"] and row["reason"] == MATCHES, (indicator, row)


def test_a_suppressed_cell_is_an_interval_not_a_figure(synthshire, tmp_path):
    # DfE suppresses a count of 1 to 5 as `c`: ours must fit inside, and is never shown as DfE's figure.
    db, dfe, published = synthshire
    for path in dfe.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    stability = tmp_path / "la_cla_placement_stability.csv"
    three, _ = published["placements"]
    text = stability.read_text(encoding="utf-8").replace(
        f"With 3 or more placements during the year,{three},", "With 3 or more placements during the year,c,"
    )
    stability.write_text(text, encoding="utf-8")
    row = {r["indicator"]: r for r in reconcile("2024/25", published=tmp_path, db=db)}[
        "Placement stability: 3 or more placements"
    ]
    assert row["published_numerator"] is None
    assert row["matches"] is (1 <= three <= 5)
    assert "suppressed by DfE" in row["reason"]
