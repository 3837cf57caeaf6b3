"""Loading a county's SSDA903 return against the plain parse of the same files, in the same run.

    .venv/bin/python benchmarks/ssda903.py [--repeat N]

Builds a county's 2024/25 return: 1,500 children with five years of episodes (foster and residential moves,
hospital stays and the return after them, changes of legal status), reviews every six months or so, OC2 for
the children looked after for the year, OC3 for 300 care leavers, missing episodes; every personal column
filled as councils' returns have them. Written as the CSV tables and as DfE's XML. Then, each as a whole Python
process:

- the baselines: DuckDB `read_csv` of every table (all columns as text, as the loader reads them), and lxml
  `iterparse` over the XML (each CHILD read and cleared);
- the command's start-up alone (`import cpip.cli`), to tell the load's own time from it;
- `cpip load --collection-year 2024/25` of the CSV tables (one return, one load) and of the XML, each into a
  warehouse holding the organisation reference.

Alternated run by run; medians of wall and CPU time (on a shared machine the CPU time is the steadier).
Goal: each load within 2x of its plain parse, peak memory (the load process's maximum RSS) under 1 GiB.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from etl.formats.ssda903 import TABLES  # noqa: E402  (after the path is set)

AS_OF = date(2025, 5, 15)
Y0, Y1 = date(2024, 4, 1), date(2025, 3, 31)
CHILDREN = 1_500
GOAL = 2.0
MEMORY_GOAL_MB = 1024
FILL = {"SEX": "1", "ETHNIC": "WBRI", "UPN": "A123456789012", "CIN": "N1", "PLACE_PROVIDER": "PR1",
        "HOME_POST": "RH12 1AA", "PL_POST": "BN1 1AA", "URN": "SC123456", "MOTHER": "", "MC_DOB": ""}  # fmt: skip


def uk(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


def county(seed: int = 903) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    tables: dict[str, list[dict]] = {t: [] for t in ("Header", "Episodes", "Reviews", "OC2", "OC3", "Missing")}
    for n in range(CHILDREN):
        child = f"{100000 + n}"
        born = date(2007, 1, 1) + timedelta(days=rng.randrange(0, 17 * 365))
        tables["Header"].append({"CHILD": child, "DOB": uk(born)})
        start = date(2020, 4, 1) + timedelta(days=rng.randrange(0, 200))
        steps, day, place = [(start, "S", "U4")], start, "U4"
        while True:
            day += timedelta(days=rng.randrange(60, 300))
            if day >= Y1:
                break
            if rng.random() < 0.15:
                back = day + timedelta(days=rng.randrange(2, 10))
                if back >= Y1:
                    break
                steps.append((day, "P", "T1"))
                steps.append((back, "P", place))
                day = back
            elif rng.random() < 0.2:
                steps.append((day, "L", place))
            else:
                place = rng.choice(["U4", "U5", "U6", "K2", "R1", "U1"])
                steps.append((day, "P", place))
        for index, (decom, rne, where) in enumerate(steps):
            following = steps[index + 1][0] if index + 1 < len(steps) else None
            tables["Episodes"].append(
                {"CHILD": child, "DECOM": uk(decom), "RNE": rne, "LS": "C2", "PLACE": where, "DEC": uk(following),
                 "REC": "X1" if following else "", "REASON_PLACE_CHANGE": "CARPL" if following else ""}
            )  # fmt: skip
        review = start + timedelta(days=20)
        while review < Y1:
            tables["Reviews"].append({"CHILD": child, "DOB": uk(born), "REVIEW": uk(review), "REVIEW_CODE": "PN1"})
            review += timedelta(days=rng.randrange(150, 200))
        tables["OC2"].append(
            {"CHILD": child, "DOB": uk(born), "TEETH_CHECK": str(int(rng.random() < 0.85)), "IMMUNISATIONS": "1",
             "HEALTH_ASSESSMENT": str(int(rng.random() < 0.9)), "SDQ_SCORE": str(rng.randrange(41)),
             "CONVICTED": "0", "HEALTH_CHECK": "", "SUBSTANCE_MISUSE": "0"}
        )  # fmt: skip
        for gone in sorted({Y0 + timedelta(days=rng.randrange(360)) for _ in range(rng.choice([0, 0, 0, 1, 2, 5]))}):
            tables["Missing"].append(
                {"CHILD": child, "DOB": uk(born), "MISSING": rng.choice("MMA"), "MIS_START": uk(gone),
                 "MIS_END": uk(gone + timedelta(days=1))}
            )  # fmt: skip
    for n in range(300):
        child = f"{200000 + n}"
        born = date(2003, 4, 1) + timedelta(days=rng.randrange(0, 5 * 365))
        tables["Header"].append({"CHILD": child, "DOB": uk(born)})
        tables["OC3"].append(
            {"CHILD": child, "DOB": uk(born), "IN_TOUCH": "YES", "ACTIV": "F2", "ACCOM": rng.choice(["U1", "B2", "0"])}
        )
    return tables


def write_csvs(folder: Path, tables: dict[str, list[dict]]) -> list[Path]:
    paths = []
    for table, rows in tables.items():
        path = folder / f"{table.lower()}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(TABLES[table])
            out.writerows([[row.get(c, FILL.get(c, "")) for c in TABLES[table]] for row in rows])
        paths.append(path)
    return paths


def write_xml(path: Path, tables: dict[str, list[dict]]) -> Path:
    def element(tag: str, value: str) -> str:
        return f"<{tag}>{value}</{tag}>" if value else f"<{tag} />"

    own: dict[str, dict[str, list[dict]]] = {}
    for table, rows in tables.items():
        for row in rows:
            own.setdefault(row["CHILD"], {}).setdefault(table, []).append(row)
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<EXPSSDA903>\n')
        for header in tables["Header"]:
            mine = own[header["CHILD"]]
            out.write("<CHILD><HEADER>")
            out.write(element("CHILDID", header["CHILD"]) + element("UPN", FILL["UPN"]) + element("SEX", "1"))
            out.write(element("DOB", header["DOB"]) + element("ETHNIC", "WBRI"))
            for oc3 in mine.get("OC3", []):
                out.write("".join(element(c, oc3[c]) for c in ("IN_TOUCH", "ACTIV", "ACCOM")))
            for row in mine.get("Missing", []):
                items = "".join(element(c, row[c]) for c in ("MISSING", "MIS_START", "MIS_END"))
                out.write(f"<AMISSING>{items}</AMISSING>")
            for row in mine.get("Reviews", []):
                out.write(f"<AREVIEW>{element('REVIEW', row['REVIEW'])}{element('REVIEW_CODE', 'PN1')}</AREVIEW>")
            for row in mine.get("OC2", []):
                items = "".join(element(c, row.get(c, "")) for c in TABLES["OC2"][2:])
                out.write(f"<OC2>{items}</OC2>")
            out.write("</HEADER>\n")
            for row in mine.get("Episodes", []):
                items = "".join(
                    element("PL" if c == "PLACE" else c, row.get(c, FILL.get(c, ""))) for c in TABLES["Episodes"][1:]
                )
                out.write(f"<EPISODE>{items}</EPISODE>\n")
            out.write("</CHILD>\n")
        out.write("</EXPSSDA903>\n")
    return path


READ_CSV = """
import sys
import duckdb
con = duckdb.connect()
rows = 0
for path in sys.argv[1:]:
    header = open(path, encoding="utf-8").readline().strip().split(",")
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in header)
    rows += con.execute(
        f"SELECT count(*) FROM read_csv(?, header = true, auto_detect = false, columns = {{{columns}}})", [path]
    ).fetchone()[0]
print(rows)
"""

ITERPARSE = """
import sys
from lxml import etree
count = 0
for _, element in etree.iterparse(sys.argv[1], events=("end",), tag="CHILD", resolve_entities=False, no_network=True):
    count += sum(1 for _ in element.iter())
    element.clear(keep_tail=False)
    while element.getprevious() is not None:
        del element.getparent()[0]
print(count)
"""


def _timed(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user and system, every thread) of one whole process. On a shared machine the
    CPU time is the steadier measure; both are reported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def _peak(python: str, args: list[str], env: dict) -> tuple[float, str]:
    """The load's own peak memory (MB) and its first line of output."""
    measure = "import resource, sys; from cpip.cli import main; code = main(sys.argv[1:]); "
    measure += "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
    result = subprocess.run([python, "-c", measure, *args], env=env, capture_output=True, text=True, check=False)
    if "PEAK" not in result.stderr:
        raise SystemExit(f"the load failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return int(result.stderr.split("PEAK")[1].split()[0]) / 1024, result.stdout.strip().splitlines()[0][:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tables = county()
        (folder / "csv").mkdir()
        csvs = write_csvs(folder / "csv", tables)
        xml = write_xml(folder / "return.xml", tables)
        size = sum(p.stat().st_size for p in csvs) / 1e6
        print(f"return: {len(tables['Episodes']):,} episodes, {len(tables['Reviews']):,} reviews;"
              f" CSV tables {size:.1f} MB, XML {xml.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        org = folder / "organisation.csv"
        org.write_text("team,service,area\nTeam A,Children We Care For,North\n", encoding="utf-8")
        template = folder / "template.duckdb"
        load = [python, "-m", "cpip", "load", "--as-of", AS_OF.isoformat(), "--collection-year", "2024/25"]
        subprocess.run([*load, str(org)], env={**env, "CPIP_DB": str(template)}, check=True, capture_output=True)
        forms = (
            ("CSV tables", [python, "-c", READ_CSV, *map(str, csvs)], "DuckDB read_csv", [str(p) for p in csvs]),
            ("XML", [python, "-c", ITERPARSE, str(xml)], "lxml iterparse", [str(xml)]),
        )
        # The command's start-up alone (importing it), to tell the load's own time from it.
        startup = [python, "-c", "import cpip.cli"]
        for form, baseline, words, files in forms:
            plain, loads, starts = [], [], []
            for i in range(args.repeat):  # alternated, so a busy spell on a shared machine falls on all three
                plain.append(_timed(baseline, env))
                db = folder / f"{form[:3]}{i}.duckdb"
                shutil.copyfile(template, db)
                loads.append(_timed([*load, *files], {**env, "CPIP_DB": str(db)}))
                starts.append(_timed(startup, env))
            db = folder / f"{form[:3]}-peak.duckdb"
            shutil.copyfile(template, db)
            peak, said = _peak(python, ["load", "--as-of", AS_OF.isoformat(), "--collection-year", "2024/25", *files],
                               {**env, "CPIP_DB": str(db)})  # fmt: skip
            (base, base_cpu), (took, took_cpu), (start, start_cpu) = _medians(plain), _medians(loads), _medians(starts)
            print(said)
            print(f"{form}: plain parse ({words}, whole process) {base:.2f} s wall, {base_cpu:.2f} s CPU;"
                  f" cpip load {took:.2f} s wall, {took_cpu:.2f} s CPU (medians of {args.repeat});"
                  f" ratio {took / base:.2f}x wall, {took_cpu / base_cpu:.2f}x CPU (goal within {GOAL:g}x);"
                  f" peak memory {peak:.0f} MB")  # fmt: skip
            print(f"  of which start-up (import cpip.cli): {start:.2f} s wall, {start_cpu:.2f} s CPU;"
                  f" the load less start-up {(took - start) / base:.2f}x wall, {(took_cpu - start_cpu) / base_cpu:.2f}x"
                  " CPU of the plain parse")  # fmt: skip
            results.append(took / base <= GOAL and peak < MEMORY_GOAL_MB)
        print(f"load average while measured: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("goal met" if all(results) else "goal NOT met")


if __name__ == "__main__":
    main()
