"""Loading a county's CIN census against lxml's plain streaming parse of the same file, in the same run.

    .venv/bin/python benchmarks/cin_census.py [--repeat N] [--children N]

Builds a census for 2023/24 of 20,000 children (about 30,000 referrals, with their assessments, section 47
enquiries, child protection plans and reviews, CIN plans and assessment factors, and every personal item a
council's census has: UPNs, dates of birth, sex, ethnicity, disabilities). Then, each as a whole Python
process:

- the baseline: lxml `iterparse` over the file, every element visited and cleared (the plain parse);
- `cpip load --as-of 2024-04-30` of the census into an empty warehouse (read, check, stage, validate,
  write, rebuild the KPIs);
- the command's start-up alone (`import cpip.cli`), to tell the load's own time from it.

Goal: the load within 2x of the plain parse, peak memory (the load process's maximum RSS) under 1 GiB.
"""

from __future__ import annotations

import argparse
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

AS_OF = date(2024, 4, 30)
FIRST, LAST = date(2023, 4, 1), date(2024, 3, 31)
GOAL = 2.0
MEMORY_GOAL_MB = 1024
ETHNICITIES = ("WBRI", "WIRI", "MWBC", "ASIA", "BAFR", "CHNE", "OOTH", "NOBT", "REFU")
DISABILITIES = ("NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA")
FACTORS = ("1B", "2B", "3A", "3B", "4A", "4B", "5C", "6C", "7A", "10A", "11A", "16A", "17A", "18B", "20", "24A")


def write_census(path: Path, children: int, seed: int = 2024) -> int:
    """The census file; returns how many referrals it holds."""
    rng = random.Random(seed)
    referrals = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n'
            "      <Collection>CIN</Collection>\n      <Year>2024</Year>\n"
            "      <ReferenceDate>2024-03-31</ReferenceDate>\n"
            "    </CollectionDetails>\n    <Source>\n      <SourceLevel>L</SourceLevel>\n      <LEA>938</LEA>\n"
            "      <SoftwareCode>Bench</SoftwareCode>\n      <Release>1</Release>\n      <SerialNo>001</SerialNo>\n"
            "      <DateTime>2024-04-30T18:00:00</DateTime>\n    </Source>\n  </Header>\n  <Children>\n"
        )
        for n in range(children):
            born = date(2006, 1, 1) + timedelta(days=rng.randrange(6500))
            out.write(
                f"    <Child>\n      <ChildIdentifiers>\n        <LAchildID>B{n:07d}</LAchildID>\n"
                f"        <UPN>A{rng.randrange(10**11, 10**12)}B</UPN>\n"
                f"        <PersonBirthDate>{born}</PersonBirthDate>\n"
                f"        <GenderCurrent>{rng.choice('12')}</GenderCurrent>\n      </ChildIdentifiers>\n"
                f"      <ChildCharacteristics>\n        <Ethnicity>{rng.choice(ETHNICITIES)}</Ethnicity>\n"
                f"        <Disabilities>\n          <Disability>{rng.choice(DISABILITIES)}</Disability>\n"
                "        </Disabilities>\n      </ChildCharacteristics>\n"
            )
            day = FIRST - timedelta(days=rng.randrange(60)) + timedelta(days=rng.randrange(330))
            previous_plans = rng.choice((0, 0, 0, 1, 2))
            for _ in range(1 if rng.random() < 0.55 else 2):
                if day > LAST:
                    break
                referrals += 1
                closure = day + timedelta(days=rng.randint(20, 200))
                out.write(
                    f"      <CINdetails>\n        <CINreferralDate>{day}</CINreferralDate>\n"
                    f"        <ReferralSource>{rng.choice(('1A', '2A', '3A', '5D', '6', '8'))}</ReferralSource>\n"
                    f"        <PrimaryNeedCode>N{rng.randint(1, 9)}</PrimaryNeedCode>\n"
                )
                if closure <= LAST:
                    out.write(f"        <CINclosureDate>{closure}</CINclosureDate>\n")
                    out.write(f"        <ReasonForClosure>RC{rng.randint(1, 8)}</ReasonForClosure>\n")
                start = day + timedelta(days=rng.randint(0, 5))
                end = start + timedelta(days=rng.randint(5, 60))
                out.write(
                    f"        <Assessments>\n          <AssessmentActualStartDate>{start}</AssessmentActualStartDate>\n"
                    + (
                        f"          <AssessmentAuthorisationDate>{end}</AssessmentAuthorisationDate>\n"
                        if end <= LAST
                        else ""
                    )
                    + "          <FactorsIdentifiedAtAssessment>\n"
                    + "".join(
                        f"            <AssessmentFactors>{f}</AssessmentFactors>\n" for f in rng.sample(FACTORS, 3)
                    )
                    + "          </FactorsIdentifiedAtAssessment>\n        </Assessments>\n"
                )
                if rng.random() < 0.3:
                    out.write(
                        f"        <CINPlanDates>\n          <CINPlanStartDate>{end}</CINPlanStartDate>\n"
                        "        </CINPlanDates>\n"
                    )
                plan = None
                if rng.random() < 0.3:
                    s47 = day + timedelta(days=rng.randint(0, 10))
                    icpc = s47 + timedelta(days=rng.randint(5, 30))
                    needed = rng.random() < 0.45
                    out.write(
                        f"        <Section47>\n          <S47ActualStartDate>{s47}</S47ActualStartDate>\n"
                        + (
                            f"          <DateOfInitialCPC>{icpc}</DateOfInitialCPC>\n"
                            if needed and icpc <= LAST
                            else ""
                        )
                        + f"          <ICPCnotRequired>{'false' if needed else 'true'}</ICPCnotRequired>\n"
                        "        </Section47>\n"
                    )
                    if needed and icpc <= LAST:
                        plan = icpc
                out.write("        <ReferralNFA>false</ReferralNFA>\n")
                if plan:
                    plan_end = plan + timedelta(days=rng.randint(90, 400))
                    out.write(
                        f"        <ChildProtectionPlans>\n          <CPPstartDate>{plan}</CPPstartDate>\n"
                        + (f"          <CPPendDate>{plan_end}</CPPendDate>\n" if plan_end <= LAST else "")
                        + "          <InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>\n"
                        "          <LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>\n"
                        f"          <NumberOfPreviousCPP>{previous_plans}</NumberOfPreviousCPP>\n"
                        f"          <Reviews>\n            <CPPreviewDate>{plan + timedelta(days=90)}</CPPreviewDate>\n"
                        "          </Reviews>\n        </ChildProtectionPlans>\n"
                    )
                    previous_plans += 1
                out.write("      </CINdetails>\n")
                day = closure + timedelta(days=rng.randint(1, 200))
            out.write("    </Child>\n")
        out.write("  </Children>\n</Message>\n")
    return referrals


ITERPARSE = """
import sys
from lxml import etree
elements = 0
for _, element in etree.iterparse(sys.argv[1], events=("end",), resolve_entities=False, no_network=True):
    elements += 1
    if element.tag == "Child":
        element.clear()
print(elements)
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
        raise SystemExit(f"{' '.join(args[:3])} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--children", type=int, default=20_000)
    args = parser.parse_args()
    python = sys.executable
    cpip = str(Path(python).with_name("cpip"))
    if not Path(cpip).exists():
        cpip = None
    command = [cpip] if cpip else [python, "-m", "cpip.cli"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "cin_census_2023-24.xml"
        started = time.perf_counter()
        referrals = write_census(path, args.children)
        print(
            f"census: {args.children:,} children, {referrals:,} referrals, {path.stat().st_size / 1e6:.1f} MB,"
            f" written in {time.perf_counter() - started:.1f} s"
        )
        template = folder / "template.duckdb"
        subprocess.run([*command, "loads"], env={**env, "CPIP_DB": str(template)}, check=True, capture_output=True)
        parses, loads, starts = [], [], []
        for i in range(args.repeat):  # alternated, so a busy spell on a shared machine falls on all three
            parses.append(_timed([python, "-c", ITERPARSE, str(path)], env))
            db = folder / f"w{i}.duckdb"
            shutil.copyfile(template, db)
            loads.append(
                _timed([*command, "load", "--as-of", AS_OF.isoformat(), str(path)], {**env, "CPIP_DB": str(db)})
            )
            # The command's start-up alone (importing it), to tell the load's own time from it.
            starts.append(_timed([python, "-c", "import cpip.cli"], env))
        # Peak memory of one load on its own.
        db = folder / "peak.duckdb"
        shutil.copyfile(template, db)
        measure = "import resource, sys; from cpip.cli import main; code = main(sys.argv[1:]); "
        measure += "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)"
        result = subprocess.run(
            [python, "-c", measure, "load", "--as-of", AS_OF.isoformat(), str(path)],
            env={**env, "CPIP_DB": str(db)},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"the load failed: {result.stdout[-3000:]}{result.stderr[-2000:]}")
        peak = int(result.stderr.split("PEAK")[1].split()[0]) / 1024
        for line in result.stdout.strip().splitlines()[:4]:
            print(line[:160])
    base, load = statistics.median(w for w, _ in parses), statistics.median(w for w, _ in loads)
    base_cpu, load_cpu = statistics.median(c for _, c in parses), statistics.median(c for _, c in loads)
    print(
        f"plain parse, lxml iterparse (whole process): {base:.2f} s wall, {base_cpu:.2f} s CPU"
        f" (median of {len(parses)})"
    )
    print(f"cpip load of the census (whole process): {load:.2f} s wall, {load_cpu:.2f} s CPU (median of {len(loads)})")
    start, start_cpu = statistics.median(w for w, _ in starts), statistics.median(c for _, c in starts)
    print(
        f"  of which start-up (import cpip.cli): {start:.2f} s wall, {start_cpu:.2f} s CPU; the load less start-up"
        f" {(load - start) / base:.2f}x wall, {(load_cpu - start_cpu) / base_cpu:.2f}x CPU of the plain parse"
    )
    print(
        f"ratio: {load / base:.2f}x wall, {load_cpu / base_cpu:.2f}x CPU (goal within {GOAL:g}x);"
        f" peak memory of the load: {peak:.0f} MB (goal under {MEMORY_GOAL_MB} MB)"
    )
    print(f"load average while measured: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ok = load / base <= GOAL and peak < MEMORY_GOAL_MB
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    main()
