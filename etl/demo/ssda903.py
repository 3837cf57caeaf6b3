"""The demo authority's SSDA903 returns for 2022/23 and 2023/24, consistent with its other extracts.

The children who come into care in the health assessments extract (`health_assessments.csv`: child, team, the
day care started) start their periods of care here on the same day, with the same team in the allocation
history (`child_teams.csv`); beside them, a stock of children already in care when the demo begins. Journeys
are foster and residential moves, hospital stays and carers' holidays (temporary placements and the return after
them), changes of legal status, a few short-break children, leavers; OC2 for the children looked after for each
year, OC3 for care leavers, missing episodes. Shares near the demo's published figures (about 12% with 3 or
more placements, 77% dental checks). Each year is a folder of CSV tables, one return:

    cpip load --as-of 2024-04-05 --collection-year 2023/24 data/demo/ssda903/2023-24/*.csv

The demo's own load leaves them out (its kpi_values give the same KPIs team by team, month by month, and the
July 2023 figures are the published ones); loading them makes those KPIs the returns' for the months they cover.
No names, addresses or dates of birth beyond the fake ones the return's layout needs. Same bytes every run.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from etl.demo import extracts
from etl.formats.ssda903 import TABLES

YEARS = ((2022, "2022-23"), (2023, "2023-24"))
FIRST, LAST = date(2022, 4, 1), date(2024, 3, 31)
STOCK = 700  # children already in care on 1 April 2022
TEMPORARY = ("T1", "T3", "T4")
_FILL = {"SEX": "1", "ETHNIC": "WBRI", "UPN": "", "CIN": "N1", "PLACE_PROVIDER": "PR1", "MOTHER": "", "MC_DOB": ""}


@dataclass
class _Child:
    child: str
    team: str
    born: date
    episodes: list[tuple[date, str, str, str, date | None, str]] = field(default_factory=list)
    missing: list[date] = field(default_factory=list)


def _uk(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


def _journey(rng: random.Random, child: _Child, start: date, *, leaves: bool) -> None:
    """Episodes from `start`: moves every few months for most, often for a few (the 3+ placements group)."""
    status = rng.choice(["V3", "V4"]) if rng.random() < 0.04 else rng.choice(["C1", "C2", "C2", "V2"])
    unsettled = rng.random() < 0.12
    steps = [(start, "S", rng.choice(["U4", "U5", "U6", "U1", "K2"]), status)]
    day = start
    end = start + timedelta(days=rng.randrange(120, 700)) if leaves else None
    while True:
        day += timedelta(days=rng.randrange(40, 130) if unsettled else rng.randrange(200, 700))
        if day >= LAST or (end is not None and day >= end):
            break
        previous = steps[-1][2]
        if rng.random() < 0.12:
            steps.append((day, "P", rng.choice(TEMPORARY), status))
            back = day + timedelta(days=rng.randrange(3, 12))
            if back >= LAST or (end is not None and back >= end):
                break
            steps.append((back, "P", previous, status))
            day = back
        elif rng.random() < 0.15 and status not in ("V3", "V4"):
            status = "C2"
            steps.append((day, "L", previous, status))
        else:
            steps.append((day, rng.choice(["P", "P", "T"]), rng.choice(["U4", "U5", "U6", "K2", "R1"]), status))
    if end is not None and (end >= LAST or steps[-1][2] in TEMPORARY):
        end = None
    for index, (decom, rne, place, ls) in enumerate(steps):
        following = steps[index + 1][0] if index + 1 < len(steps) else None
        dec, rec = (following, "X1") if following else (end, rng.choice(["E13", "E4A", "E11"]) if end else "")
        child.episodes.append((decom, rne, place, ls, dec, rec))
    for _ in range(rng.choice([0, 0, 0, 0, 1, 3])):
        child.missing.append(start + timedelta(days=rng.randrange(0, 600)))


def _born_before(rng: random.Random, start: date) -> date:
    """A date of birth up to 16 years before care starts, and after 1 April 2006 (so under 18 in 2023/24)."""
    return max(
        start - timedelta(days=rng.randrange(30, 16 * 365)), date(2006, 4, 1) + timedelta(days=rng.randrange(300))
    )


def _children() -> list[_Child]:
    rng = random.Random(extracts.SEED + 903)
    world = extracts._world()
    care_teams = [t.name for t in world.teams if t.service == "Children We Care For"] or [world.teams[0].name]
    children = []
    for n in range(STOCK):
        start = date(2016, 1, 1) + timedelta(days=rng.randrange(2200))
        child = _Child(f"K{n + 1:06d}", rng.choice(care_teams), _born_before(rng, start))
        _journey(rng, child, start, leaves=rng.random() < 0.3)
        children.append(child)
    for start in extracts._health_assessments(world):
        if FIRST <= start.start <= LAST:
            child = _Child(start.child, start.team.name, _born_before(rng, start.start))
            _journey(rng, child, start.start, leaves=rng.random() < 0.4)
            children.append(child)
    return children


def _write(path: Path, table: str, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(TABLES[table])
        out.writerows([[row.get(c, _FILL.get(c, "")) for c in TABLES[table]] for row in rows])
    return path


def _looked_after_for_the_year(episodes, y0: date, y1: date) -> bool:
    in_year = [e for e in episodes if e[0] <= y1 and (e[4] is None or e[4] >= y0)]
    return (
        bool(in_year)
        and not any(e[3] in ("V3", "V4") for e in in_year)
        and not any(e[1] == "S" and y0 < e[0] <= y1 for e in episodes)
        and not any(e[4] is not None and e[5] != "X1" and y0 <= e[4] < y1 for e in episodes)
    )


def write_ssda903(folder: Path) -> list[Path]:
    """The two returns (`<folder>/ssda903/2022-23/*.csv`, `.../2023-24/*.csv`) and the allocation history
    (`<folder>/ssda903/child_teams.csv`). Returns every path written."""
    root = Path(folder) / "ssda903"
    rng = random.Random(extracts.SEED + 9031)
    children = _children()
    written = []
    for first, name in YEARS:
        y0, y1 = date(first, 4, 1), date(first + 1, 3, 31)
        tables: dict[str, list[dict]] = {"Header": [], "Episodes": [], "OC2": [], "OC3": [], "Missing": []}
        for child in children:
            held = [e for e in child.episodes if e[0] <= y1 and (e[4] is None or e[4] >= y0)]
            if not held:
                continue
            dob = _uk(child.born)
            tables["Header"].append({"CHILD": child.child, "DOB": dob})
            for decom, rne, place, ls, dec, rec in held:
                dec, rec = (None, "") if dec is not None and dec > y1 else (dec, rec)
                tables["Episodes"].append(
                    {"CHILD": child.child, "DECOM": _uk(decom), "RNE": rne, "LS": ls, "PLACE": place,
                     "DEC": _uk(dec), "REC": rec}
                )  # fmt: skip
            if _looked_after_for_the_year(child.episodes, y0, y1):
                age = y1.year - child.born.year - ((y1.month, y1.day) < (child.born.month, child.born.day))
                tables["OC2"].append(
                    {"CHILD": child.child, "DOB": dob, "TEETH_CHECK": str(int(rng.random() < 0.77)),
                     "HEALTH_ASSESSMENT": str(int(rng.random() < 0.88)), "IMMUNISATIONS": "1",
                     "SDQ_SCORE": str(rng.randrange(41)) if 4 <= age <= 16 and rng.random() < 0.62 else "",
                     "CONVICTED": "0"}
                )  # fmt: skip
            for day in child.missing:
                if y0 <= day <= y1:
                    tables["Missing"].append({"CHILD": child.child, "DOB": dob, "MISSING": "M", "MIS_START": _uk(day)})
        for n in range(90):  # care leavers around their 19th to 21st birthdays
            born = date(first - 21, 4, 1) + timedelta(days=rng.randrange(3 * 365))
            leaver = f"L{first}{n:04d}"
            tables["Header"].append({"CHILD": leaver, "DOB": _uk(born)})
            accom = rng.choice(["U1", "U1", "U1", "B1", "Z1", "E1", "K2", "S2", "0"])
            tables["OC3"].append({"CHILD": leaver, "DOB": _uk(born), "IN_TOUCH": "YES", "ACTIV": "F2", "ACCOM": accom})
        for table, rows in tables.items():
            written.append(_write(root / name / f"{table.lower()}.csv", table, rows))
    history = root / "child_teams.csv"
    with open(history, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(("child_id", "team", "from_date", "to_date"))
        for child in children:
            if child.episodes and (child.episodes[-1][4] is None or child.episodes[-1][4] >= FIRST):
                out.writerow((child.child, child.team, child.episodes[0][0].isoformat(), ""))
    return [history, *written]
