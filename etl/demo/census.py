"""The demo authority's CIN census for 2022/23 and 2023/24, and the allocation history that goes with it.

Consistent with the demo extracts (etl/demo/extracts.py): every referral and assessment of a census year
is in it, each assessment in its child's latest referral's episode; its section 47 enquiries and child
protection plans are made to give, team by team and month by month, exactly the figures the demo's
kpi_values give for ICPCs within 15 working days and second or subsequent plans; and `child_teams.csv`
allocates each child with an enquiry or a plan to that team on the counted date. So loading the census
(and the allocation history) over the demo extracts, as of the same day, changes no figure
(tests/test_cin_census_demo.py says so): the census takes over the enquiries and plans from the given
figures, and for referrals and assessments keeps the teams and seen dates the extracts gave.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

YEARS = ((date(2022, 4, 1), date(2023, 3, 31)), (date(2023, 4, 1), date(2024, 3, 31)))
LA = "938"  # the demo borrows West Sussex's code (metrics.yml)
FILES = ("cin_census_2022-23.xml", "cin_census_2023-24.xml")
CHILD_TEAMS = "child_teams.csv"


@dataclass
class _Episode:
    referral: date
    closure: date | None = None
    assessments: list[tuple[date, date | None]] = field(default_factory=list)
    s47: list[tuple[date, date]] = field(default_factory=list)
    plans: list[tuple[date, date | None, int]] = field(default_factory=list)

    def last_activity(self) -> date:
        ends = [self.referral]
        ends += [end or start for start, end in self.assessments]
        ends += [icpc for _, icpc in self.s47]
        ends += [end or start for start, end, _ in self.plans]
        return max(ends)


@dataclass
class DemoCensus:
    episodes: dict[str, list[_Episode]]
    allocations: list[tuple[str, str, date, date]]  # child, team, from, to


def _episode_for(episodes: list[_Episode], day: date) -> _Episode | None:
    """The child's latest referral on or before `day`."""
    found = None
    for episode in episodes:
        if episode.referral <= day:
            found = episode
    return found


def build(*, referrals, assessments, given, days, seed: str) -> DemoCensus:
    """The census's children from the demo extracts' own records (etl/demo/extracts.py hands them over:
    referrals, assessments, the given kpi_values rows, its working-day arithmetic and a seed)."""
    rng = random.Random(seed)
    first, last = YEARS[0][0], YEARS[-1][1]

    episodes: dict[str, list[_Episode]] = defaultdict(list)
    for r in sorted(referrals, key=lambda r: (r.child, r.day)):
        episodes[r.child].append(_Episode(r.day))
    for a in assessments:
        if first <= a.start <= last or (a.completed and first <= a.completed <= last):
            episode = _episode_for(episodes.get(a.child, []), a.start)
            if episode is not None:
                episode.assessments.append((a.start, a.completed))

    # Children free for an enquiry or a plan: referred in the 90 days before it starts, not used yet.
    by_day: dict[date, list[str]] = defaultdict(list)
    for r in referrals:
        by_day[r.day].append(r.child)
    used: set[str] = set()
    allocations: list[tuple[str, str, date, date]] = []

    def child_near(start: date) -> tuple[str, _Episode]:
        for back in range(0, 120):
            pool = [c for c in by_day.get(start - timedelta(days=back), ()) if c not in used]
            if pool:
                child = rng.choice(sorted(pool))
                used.add(child)
                episode = _episode_for(episodes[child], start)
                if episode is not None:
                    return child, episode
        raise ValueError(f"no referred child free for an enquiry or plan starting {start}")  # never at this size

    for period, metric, team, numerator, denominator in given:
        month = date.fromisoformat(f"{period}-01")
        if denominator is None or not first <= month <= last:
            continue
        if metric == "icpc_15wd":
            # The conferences of the month: `numerator` within 15 working days of the enquiry's start.
            working = days.month(period)
            for i in range(int(denominator)):
                late = i >= numerator
                # Late ones late in the month, so the enquiry still starts in the census years.
                late_days = [d for d in working[len(working) // 2 :] if days.between(first, d) > 16]
                icpc = rng.choice(late_days if late else working)
                length = rng.randint(16, 22) if late else rng.randint(3, 15)
                start = days.back(icpc, min(length, days.between(first, icpc)))
                if late and days.between(start, icpc) <= 15:
                    raise ValueError(f"no room for a late conference in {period}")
                child, episode = child_near(start)
                episode.s47.append((start, icpc))
                allocations.append((child, team, start, icpc))
        elif metric == "repeat_cp_plans":
            for i in range(int(denominator)):
                start = rng.choice(days.month(period))
                child, episode = child_near(start)
                previous = rng.choice((1, 1, 2)) if i < numerator else 0
                ended = start + timedelta(days=rng.randint(120, 420))
                episode.plans.append((start, ended if ended <= last else None, previous))
                allocations.append((child, team, start, start))

    # An episode closes a little after its last activity (open while a plan is); closing it any earlier would
    # take an enquiry's conference or an assessment's end out of the next year's census.
    for child_episodes in episodes.values():
        for episode in child_episodes:
            if any(end is None for _, end, _ in episode.plans):
                continue
            episode.closure = max(episode.referral + timedelta(days=25), episode.last_activity() + timedelta(days=1))
    return DemoCensus(dict(episodes), sorted(allocations, key=lambda a: (a[0], a[2])))


def _d(day: date) -> str:
    return day.isoformat()


def census_xml(census: DemoCensus, first: date, last: date) -> str:
    """The census of one year: every episode open at any point in it, as known on its 31 March."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n'
        f"      <Collection>CIN</Collection>\n      <Year>{last.year}</Year>\n"
        f"      <ReferenceDate>{_d(last)}</ReferenceDate>\n    </CollectionDetails>\n"
        f"    <Source>\n      <SourceLevel>L</SourceLevel>\n      <LEA>{LA}</LEA>\n"
        "      <SoftwareCode>CPIP demo</SoftwareCode>\n      <Release>1</Release>\n      <SerialNo>001</SerialNo>\n"
        f"      <DateTime>{_d(last)}T18:00:00</DateTime>\n    </Source>\n  </Header>\n  <Children>\n"
    ]
    sex = "GenderCurrent" if last.year <= 2024 else "Sex"
    for child in sorted(census.episodes):
        held = [e for e in census.episodes[child] if e.referral <= last and (e.closure is None or e.closure >= first)]
        if not held:
            continue
        out.append(
            f"    <Child>\n      <ChildIdentifiers>\n        <LAchildID>{escape(child)}</LAchildID>\n"
            f"        <UPNunknown>UN1</UPNunknown>\n        <{sex}>{'0' if sex == 'GenderCurrent' else 'U'}</{sex}>\n"
            "      </ChildIdentifiers>\n      <ChildCharacteristics>\n        <Ethnicity>NOBT</Ethnicity>\n"
            "      </ChildCharacteristics>\n"
        )
        for e in held:
            out.append(f"      <CINdetails>\n        <CINreferralDate>{_d(e.referral)}</CINreferralDate>\n")
            out.append("        <ReferralSource>10</ReferralSource>\n        <PrimaryNeedCode>N0</PrimaryNeedCode>\n")
            if e.closure is not None and e.closure <= last:
                out.append(f"        <CINclosureDate>{_d(e.closure)}</CINclosureDate>\n")
                out.append("        <ReasonForClosure>RC7</ReasonForClosure>\n")
            for start, completed in e.assessments:
                if start > last:
                    continue
                out.append(f"        <Assessments>\n          <AssessmentActualStartDate>{_d(start)}")
                out.append("</AssessmentActualStartDate>\n")
                if completed and completed <= last:
                    out.append(
                        f"          <AssessmentAuthorisationDate>{_d(completed)}</AssessmentAuthorisationDate>\n"
                    )
                out.append("        </Assessments>\n")
            for start, icpc in e.s47:
                if start > last:
                    continue
                out.append(f"        <Section47>\n          <S47ActualStartDate>{_d(start)}</S47ActualStartDate>\n")
                if icpc <= last:
                    out.append(f"          <DateOfInitialCPC>{_d(icpc)}</DateOfInitialCPC>\n")
                out.append("          <ICPCnotRequired>false</ICPCnotRequired>\n        </Section47>\n")
            out.append("        <ReferralNFA>false</ReferralNFA>\n")
            for start, ended, previous in e.plans:
                if start > last:
                    continue
                out.append(f"        <ChildProtectionPlans>\n          <CPPstartDate>{_d(start)}</CPPstartDate>\n")
                if ended and ended <= last:
                    out.append(f"          <CPPendDate>{_d(ended)}</CPPendDate>\n")
                out.append(
                    "          <InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>\n"
                    "          <LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>\n"
                    f"          <NumberOfPreviousCPP>{previous}</NumberOfPreviousCPP>\n"
                    "        </ChildProtectionPlans>\n"
                )
            out.append("      </CINdetails>\n")
        out.append("    </Child>\n")
    out.append("  </Children>\n</Message>\n")
    return "".join(out)


def write_census(folder: Path, **records) -> list[Path]:
    """The two census files and the allocation history, in `folder`, from the demo's records (`build`'s
    arguments); their paths, in loading order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    census = build(**records)
    paths = []
    for (first, last), name in zip(YEARS, FILES, strict=True):
        path = folder / name
        path.write_text(census_xml(census, first, last), encoding="utf-8")
        paths.append(path)
    path = folder / CHILD_TEAMS
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(("child_id", "team", "from_date", "to_date"))
        out.writerows((child, team, _d(start), _d(end)) for child, team, start, end in census.allocations)
    paths.append(path)
    return paths
