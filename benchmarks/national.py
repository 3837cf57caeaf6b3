"""Extracts for every English authority, in the contract layouts (docs/spec/extracts.md), for scale runs.

    .venv/bin/python benchmarks/national.py [OUT_DIR] [--authorities N] [--years Y] [--seed S] [--jobs J]

Authorities: DfE's own (data/reference/dfe/, read by name as etl/catalogue/reference.py reads them): the
three-digit code,
name and region of each authority in the 2025 statistical-neighbour model, 153 of them. The Isles of Scilly (420,
32 referrals in 2024/25, DfE's smallest by far) is left out, which leaves the 152 authorities the issue counts.

Sizes: an authority's share of the national volume keeps DfE's order of sizes (its 2024/25 referral count, from
the C1 table) but is squeezed so the largest has 4% of the national total and the smallest 0.3%:
share proportional to (referrals + k) ** p, k and p solved for those two ends. (DfE's own spread is wider, from
Hampshire's 6.5% down to the City of London's 0.01%.) National volumes a year (England): 630,000 referrals,
650,000 assessments, 200,000 section 47 enquiries (about 38% reaching a conference), 33,000 children starting
care (so about 83,000 in care on the day), 87,000 missing episodes, 50,000 care leavers; each authority's mix
varies about these (seeded), its totals adding up to the national ones.

Organisation: one team per 1,500 referrals a year, at least five (one per service of the demo: etl.demo.extracts's
service names and its weights), over one to five areas; team names are each authority's own (`North A&I 1`),
so the same name, and the same child id (`C0000001`), occurs in many authorities: a warehouse holding several
must keep them apart by authority.

Records: whole arrays at a time (numpy), written with DuckDB's COPY; working days by numpy's business-day
functions on etl.rules.calendar's bank holidays, so they agree with the warehouse's calendar. The demo's seasons
(referrals, assessments, missing episodes, audits), its Covid months, its services per extract and its
assessment and missing-episode shapes are reused from etl.demo.extracts. Each authority has a quality and each team its
own, so timeliness differs between authorities, teams and months: most things on time, some late, some still
open (or not yet seen, not yet interviewed) at the as-of date, a few open long past their deadline.

Files, per authority (`OUT_DIR/<la_code>/`): organisation.csv and one CSV per record-level extract type plus
kpi_values.csv (the KPIs counted elsewhere), for the financial years to March 2025, as of 31 March 2025; and in
`OUT_DIR/<la_code>/next/`, the following month's extract (April 2025, as of 30 April 2025): the records that
started in April and those of earlier months that changed in it (completed, seen, returned...), with the
snapshots of 30 April. `OUT_DIR/manifest.json` lists every file with its rows and bytes.

Deterministic: each authority's files depend only on the seed, its code and the years, never on which other
authorities are generated with it. `--authorities N` takes a spread over sizes, always with the largest
(`subset`), so one authority is the largest (the worst case for a single authority's load and scorecard) and ten
run from the largest to the smallest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path and benchmarks/etl.py would shadow the `etl` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from etl.catalogue import reference  # noqa: E402
from etl.catalogue.metrics import catalogue  # noqa: E402
from etl.demo import extracts as demo  # noqa: E402
from etl.rules.calendar import bank_holidays  # noqa: E402

SEED = 20250331
AUTHORITIES = 152
LEFT_OUT = ("420",)  # Isles of Scilly: see the module docstring
YEARS = 5
LAST_MONTH_END = date(2025, 3, 31)  # the main extract's last day and as-of date
AS_OF = LAST_MONTH_END
NEXT_AS_OF = date(2025, 4, 30)  # the following month's extract
LARGEST_SHARE, SMALLEST_SHARE = 0.04, 0.003
REFERRALS_PER_TEAM = 1500
MIN_TEAMS = 5

# England, a year.
NATIONAL = {
    "referrals": 630_000,
    "assessments": 650_000,
    "s47_enquiries": 200_000,
    "care_starts": 33_000,
    "missing_episodes": 87_000,
    "care_leavers": 50_000,
}
# How far each authority's volume of a kind strays from its share (sd of a log-normal factor).
SPREAD = {"assessments": 0.15, "s47_enquiries": 0.2, "care_starts": 0.2, "missing_episodes": 0.35, "care_leavers": 0.2}
CARE_YEARS = 2.5  # mean time in care: 33,000 starts a year leave about 83,000 in care on any day
ICPC_SHARE = 0.38
AUDITS_PER_TEAM_MONTH = 2

AREAS = ("North", "South", "East", "West", "Central")
# The demo's services, in its order, weighted by its teams per area (3, 2, 2, 2, 1).
SERVICES = tuple(demo.SERVICES)
SERVICE_WEIGHTS = np.array([per_area for _, per_area in demo.SERVICES.values()], dtype=float)
SERVICE_WEIGHTS /= SERVICE_WEIGHTS.sum()
S47_SERVICES = {demo.AI: 0.6, demo.FS: 0.4}

# Record-level files in loading order (organisation first), then the KPIs counted elsewhere.
FILES = (
    "organisation.csv",
    "referrals.csv",
    "assessments.csv",
    "s47_enquiries.csv",
    "health_assessments.csv",
    "missing_episodes.csv",
    "case_audits.csv",
    "children_in_care.csv",
    "care_leavers.csv",
    "kpi_values.csv",
)


@dataclass(frozen=True)
class Authority:
    code: str
    name: str
    region: str
    rank: int  # 1 = the largest
    share: float  # of the national volume
    per_year: dict[str, int]  # referrals, assessments, ... a year
    quality: float  # about 0: better timeliness above, worse below
    teams: int


# --- authorities -----------------------------------------------------------------------------------


def _dfe_authorities() -> pd.DataFrame:
    """la_code, la_name, region_name, referrals (the latest published year's count) for every authority."""
    sn = reference.REFERENCE_DIR / reference.NEIGHBOUR_FILE
    c1 = reference.REFERENCE_DIR / reference.INDICATORS["re_referrals_within_12m_pct"].file
    con = duckdb.connect()
    try:
        return con.execute(
            """
            WITH sn AS (SELECT * FROM read_csv(?, all_varchar = true, header = true)),
            c1 AS (SELECT * FROM read_csv(?, all_varchar = true, header = true)),
            counts AS (
                SELECT trim(old_la_code) AS la_code, arg_max(try_cast(referral_count AS INTEGER), time_period) AS n
                FROM c1 WHERE geographic_level = 'Local authority' AND try_cast(referral_count AS INTEGER) IS NOT NULL
                GROUP BY ALL
            )
            SELECT trim(sn.old_la_code) AS la_code, trim(sn.la_name) AS la_name, trim(sn.region_name) AS region_name,
                   coalesce(counts.n, (SELECT median(n) FROM counts)) AS referrals
            FROM sn LEFT JOIN counts ON counts.la_code = trim(sn.old_la_code)
            ORDER BY referrals DESC, la_code
            """,
            [str(sn), str(c1)],
        ).df()
    finally:
        con.close()


def _shares(counts: np.ndarray) -> np.ndarray:
    """(counts + k) ** p, normalised, with the largest LARGEST_SHARE and the smallest SMALLEST_SHARE."""
    hi, lo = float(counts.max()), float(counts.min())
    ratio = np.log(LARGEST_SHARE / SMALLEST_SHARE)

    def shares(k: float) -> np.ndarray:
        log = np.log(counts + k) * (ratio / np.log((hi + k) / (lo + k)))
        s = np.exp(log - log.max())
        return s / s.sum()

    a, b = 0.0, 100 * hi  # the largest share grows with k over this range
    for _ in range(80):
        k = (a + b) / 2
        a, b = (k, b) if shares(k).max() < LARGEST_SHARE else (a, k)
    return shares((a + b) / 2)


def all_authorities(count: int = AUTHORITIES, seed: int = SEED) -> list[Authority]:
    """The `count` authorities (152: every one but the Isles of Scilly), largest first."""
    frame = _dfe_authorities()
    frame = frame[~frame["la_code"].isin(LEFT_OUT)].head(count).reset_index(drop=True)
    shares = _shares(frame["referrals"].to_numpy(dtype=float))
    rng = np.random.default_rng([seed, 0])
    per_kind = {"referrals": shares * NATIONAL["referrals"]}
    for kind, sd in SPREAD.items():
        raw = shares * rng.lognormal(0.0, sd, len(shares))
        per_kind[kind] = raw / raw.sum() * NATIONAL[kind]
    quality = rng.normal(0.0, 1.0, len(shares))
    out = []
    for i, row in frame.iterrows():
        per_year = {kind: round(float(values[i])) for kind, values in per_kind.items()}
        teams = max(MIN_TEAMS, round(per_year["referrals"] / REFERRALS_PER_TEAM))
        out.append(
            Authority(row.la_code, row.la_name, row.region_name, i + 1, float(shares[i]), per_year,
                      float(quality[i]), teams)
        )  # fmt: skip
    return out


def subset(authorities: list[Authority], n: int) -> list[Authority]:
    """n authorities spread evenly over the size ranks, the largest always first (and the smallest from n = 2)."""
    if n >= len(authorities):
        return list(authorities)
    picks = sorted({round(x) for x in np.linspace(0, len(authorities) - 1, n)})
    return [authorities[i] for i in picks]


# --- the calendar ------------------------------------------------------------------------------------


class _Calendar:
    """Every day of the window, its working-day flag and month, and numpy business-day arithmetic on the bank
    holidays etl.rules.calendar knows (so `add(d, n)` is n working days after d as the warehouse counts them)."""

    def __init__(self, first: date, last: date) -> None:
        self.days = np.arange(np.datetime64(first), np.datetime64(last) + 1, dtype="datetime64[D]")
        holidays = np.array(sorted(bank_holidays()), dtype="datetime64[D]")
        self.cal = np.busdaycalendar(holidays=holidays)
        self.working = np.is_busday(self.days, busdaycal=self.cal)
        months = self.days.astype("datetime64[M]")
        self.month_index = (months - months[0]).astype(int)
        self.months = int(self.month_index[-1]) + 1
        labels = np.datetime_as_string(months)
        calendar_month = months.astype(int) % 12 + 1
        self._covid = np.array([demo.COVID.get(m, 1.0) for m in labels])
        self._calendar_month = calendar_month
        self._year = (self.days - self.days[0]).astype(int) / 365.25

    def weights(self, season: dict[int, float], *, weekend: float = 0.0, covid: bool = True, growth: float = 0.015):
        """Probabilities over the window's days: a season (calendar month -> factor), the Covid months, a
        yearly growth, and `weekend` for a day that is not a working day."""
        w = np.array([season[m] for m in range(1, 13)])[self._calendar_month - 1]
        w = w * np.where(self.working, 1.0, weekend) * (1 + growth) ** self._year
        if covid:
            w = w * self._covid
        return w / w.sum()

    def draw(self, rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
        return self.days[rng.choice(len(self.days), size=n, p=p)]

    def add(self, days: np.ndarray, n: np.ndarray) -> np.ndarray:
        """n working days after each day (a day that is not a working day counts from the next one)."""
        return np.busday_offset(days, n, roll="forward", busdaycal=self.cal)

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Index of each day's month in the window (clipped into it)."""
        index = (days.astype("datetime64[D]") - self.days[0]).astype(int)
        return self.month_index[np.clip(index, 0, len(self.days) - 1)]


# --- one authority -------------------------------------------------------------------------------------


@dataclass
class _Org:
    names: list[str]
    service: np.ndarray  # index into SERVICES
    area: list[str]
    size: np.ndarray
    quality: np.ndarray  # the authority's quality plus the team's own
    noise: np.ndarray  # team x month: a month's ups and downs


def _organisation(rng: np.random.Generator, authority: Authority, months: int) -> _Org:
    n = authority.teams
    per_service = np.ones(len(SERVICES), dtype=int)  # one team per service at least, the rest by weight
    extra = n - len(SERVICES)
    raw = SERVICE_WEIGHTS * extra
    per_service += np.floor(raw).astype(int)
    for i in np.argsort(-(raw - np.floor(raw)))[: n - per_service.sum()]:
        per_service[i] += 1
    areas = AREAS[: min(len(AREAS), 1 + n // 8)]
    names, service, area = [], [], []
    for s, (abbreviation, _) in enumerate(demo.SERVICES.values()):
        counts: dict[str, int] = {}
        for j in range(per_service[s]):
            a = areas[j % len(areas)]
            counts[a] = counts.get(a, 0) + 1
            names.append(f"{a} {abbreviation} {counts[a]}")
            service.append(s)
            area.append(a)
    size = rng.uniform(0.8, 1.2, n)
    quality = authority.quality + rng.normal(0.0, 0.6, n)
    noise = rng.normal(0.0, 1.0, (n, months))
    return _Org(names, np.array(service), area, size, quality, noise)


def _teams(rng: np.random.Generator, org: _Org, n: int, services: dict[str, float]) -> np.ndarray:
    """n team indices: a service by its weight, then a team of it by the teams' sizes."""
    weight = np.array([services.get(SERVICES[s], 0.0) for s in org.service])
    for s in set(org.service[weight > 0]):
        members = org.service == s
        weight[members] = weight[members] * org.size[members] / org.size[members].sum()
    return rng.choice(len(org.names), size=n, p=weight / weight.sum())


def _on_time(
    rng: np.random.Generator, org: _Org, team: np.ndarray, month: np.ndarray, base: float, slope: float
) -> np.ndarray:
    """Whether each record is on time: base + slope * team quality + a month's noise, clipped."""
    p = np.clip(base + slope * org.quality[team] + 0.03 * org.noise[team, month], 0.2, 0.995)
    return rng.random(len(team)) < p


def _blank_after(values: np.ndarray, last: np.datetime64) -> np.ndarray:
    out = values.copy()
    out[out > last] = np.datetime64("NaT")
    return out


def _authority_records(authority: Authority, years: int, seed: int) -> dict[str, pd.DataFrame]:
    """Every record of one authority from April (2025 - years) to the end of April 2025 (the next month
    included), with each event's true date; `_views` cuts the two extracts out of them."""
    rng = np.random.default_rng([seed, int(authority.code)])
    first = date(LAST_MONTH_END.year - years, 4, 1)
    cal = _Calendar(first, NEXT_AS_OF)
    org = _organisation(rng, authority, cal.months)
    span_years = len(cal.days) / 365.25
    nat = np.datetime64("NaT")
    out: dict[str, pd.DataFrame] = {
        "organisation": pd.DataFrame(
            {"team": org.names, "service": [SERVICES[s] for s in org.service], "area": org.area}
        )
    }
    team_names = pd.Index(org.names)

    def frame(columns: dict[str, np.ndarray], team: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"team": pd.Categorical.from_codes(team, categories=team_names), **columns})

    # Referrals: children referred once or more; a child's next referral a lognormal gap after the last
    # (median 120 days), so about a fifth of referrals follow one within 12 months.
    repeat = 0.26 * float(rng.lognormal(0.0, 0.2))
    n_ref = round(authority.per_year["referrals"] * span_years)
    children = max(1, round(n_ref / (1 + repeat) * 1.05))
    per_child = 1 + np.minimum(rng.poisson(repeat, children), 6)
    child = np.repeat(np.arange(children), per_child)
    starts = np.cumsum(per_child) - per_child
    gaps = np.maximum(1, rng.lognormal(np.log(120), 0.9, len(child))).astype(int)
    gaps[starts] = 0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[starts], per_child)
    first_day = cal.draw(rng, children, cal.weights(demo.REFERRAL_SEASON, weekend=0.08))
    day = np.repeat(first_day, per_child) + offset.astype("timedelta64[D]")
    keep = day <= cal.days[-1]
    child_team = _teams(rng, org, children, {demo.AI: 1.0})
    moved = rng.random(len(child)) < 0.3  # a later referral may go to another A&I team
    team = np.where(moved, _teams(rng, org, len(child), {demo.AI: 1.0}), np.repeat(child_team, per_child))
    referrals = frame({"child_id": child[keep] + 1, "referral_date": day[keep]}, team[keep])
    out["referrals"] = referrals
    ref_child = referrals["child_id"].to_numpy()
    ref_day = referrals["referral_date"].to_numpy().astype("datetime64[D]")
    next_id = children + 1

    # Assessments: most referrals lead to one, starting a few working days later; the rest are second
    # assessments of a referred child, months later (a tenth more of them, as some would start after the end).
    # Seen within 5 working days, completed within 45, or late; some still open at the as-of date.
    wanted = round(authority.per_year["assessments"] * span_years)
    first_ones = min(wanted, round(0.9 * len(ref_child)))
    seconds = round((wanted - first_ones) * 1.1)
    pick = np.concatenate(
        [rng.choice(len(ref_child), size=first_ones, replace=False), rng.integers(0, len(ref_child), seconds)]
    )
    n = len(pick)
    lag = np.concatenate([rng.integers(0, 4, first_ones), rng.integers(40, 200, seconds)])
    start = cal.add(ref_day[pick], lag)
    team = _teams(rng, org, n, demo.ASSESSMENT_SERVICES)
    month = cal.month_of(start)
    seen_ok = _on_time(rng, org, team, month, 0.76, 0.06)
    seen = cal.add(start, np.where(seen_ok, rng.integers(0, 6, n), 6 + rng.geometric(0.2, n)))
    seen[rng.random(n) < 0.02] = nat  # never seen
    done_ok = _on_time(rng, org, team, month, 0.84, 0.05)
    length = np.where(
        done_ok,
        rng.triangular(3, 36, 46, n).astype(int),  # etl.demo.extracts's _ontime_length
        46 + np.minimum(rng.exponential(11, n).astype(int), 90),  # and its _late_length
    )
    completed = cal.add(start, length)
    completed[rng.random(n) < 0.002] = nat  # open far past its 45 working days
    seen = np.where(~np.isnat(completed) & (seen > completed), completed, seen)
    keep = start <= cal.days[-1]
    out["assessments"] = frame(
        {"child_id": ref_child[pick][keep], "assessment_start_date": start[keep], "child_seen_date": seen[keep],
         "assessment_completed_date": completed[keep]},
        team[keep],
    ).drop_duplicates(["child_id", "assessment_start_date"])  # fmt: skip

    # Section 47 enquiries: a strategy discussion, a conference for about 38% (most within 15 working days).
    n = round(authority.per_year["s47_enquiries"] * span_years)
    pick = rng.integers(0, len(ref_child), n)
    start = cal.add(ref_day[pick], rng.integers(0, 10, n))
    team = _teams(rng, org, n, S47_SERVICES)
    held = rng.random(n) < ICPC_SHARE
    ok = _on_time(rng, org, team, cal.month_of(start), 0.78, 0.07)
    icpc = cal.add(start, np.where(ok, rng.integers(5, 16, n), rng.integers(16, 36, n)))
    icpc[~held] = nat
    not_required = np.where(~held & (rng.random(n) < 0.7), "Yes", None)
    keep = start <= cal.days[-1]
    out["s47_enquiries"] = frame(
        {"child_id": ref_child[pick][keep], "strategy_discussion_date": start[keep], "icpc_date": icpc[keep],
         "icpc_not_required": not_required[keep]},
        team[keep],
    ).drop_duplicates(["child_id", "strategy_discussion_date"])  # fmt: skip

    # Children coming into care, and their initial health assessments (within 20 working days, often not).
    n = round(authority.per_year["care_starts"] * span_years)
    care_start = cal.draw(rng, n, cal.weights({m: 1.0 for m in range(1, 13)}, weekend=0.0, covid=False))
    team = _teams(rng, org, n, {demo.CWCF: 1.0})
    ok = _on_time(rng, org, team, cal.month_of(care_start), 0.55, 0.12)
    iha = cal.add(care_start, np.where(ok, rng.integers(4, 21, n), rng.integers(21, 46, n)))
    iha[~ok & (rng.random(n) < 0.15)] = nat  # declined or never recorded
    care_child = np.arange(next_id, next_id + n)
    next_id += n
    out["health_assessments"] = frame({"child_id": care_child, "care_start_date": care_start, "iha_date": iha}, team)
    # Time in care (for the snapshots), and the children in care since before the window.
    care_days = rng.exponential(CARE_YEARS * 365.25, n).astype(int)
    n_before = round(authority.per_year["care_starts"] * CARE_YEARS * np.exp(-span_years / CARE_YEARS))
    before_start = np.datetime64(first) - rng.integers(1, int(CARE_YEARS * 365.25 * 3), n_before).astype(
        "timedelta64[D]"
    )
    before_end = np.datetime64(first) + rng.exponential(CARE_YEARS * 365.25, n_before).astype("timedelta64[D]")
    before_team = _teams(rng, org, n_before, {demo.CWCF: 1.0})
    before_child = np.arange(next_id, next_id + n_before)
    next_id += n_before
    out["_in_care"] = pd.DataFrame(
        {
            "child_id": np.concatenate([care_child, before_child]),
            "team": np.concatenate([team, before_team]),
            "care_start_date": np.concatenate([care_start, before_start]),
            "care_end_date": np.concatenate([care_start + care_days.astype("timedelta64[D]"), before_end]),
            "dental_phase": rng.integers(0, 365, n + n_before),
            "dental_ok": rng.random(n + n_before) < np.clip(0.76 + 0.05 * authority.quality, 0.4, 0.97),
            "placements": rng.choice([1, 2, 3, 4, 5], size=n + n_before, p=[0.66, 0.23, 0.07, 0.03, 0.01]),
        }
    )

    # Missing episodes: a few children go missing often; returns after hours (a few days at most), the
    # return home interview within 72 hours for most.
    n = round(authority.per_year["missing_episodes"] * span_years)
    pool = np.concatenate([care_child, rng.choice(ref_child, size=len(care_child))])
    liking = rng.lognormal(0.0, 1.2, len(pool))
    missing_child = pool[rng.choice(len(pool), size=n, p=liking / liking.sum())]
    day = cal.draw(rng, n, cal.weights(demo.MISSING_SEASON, weekend=1.0))
    hours = np.array(demo.MISSING_HOURS) / sum(demo.MISSING_HOURS)
    went = day.astype("datetime64[m]") + (rng.choice(24, size=n, p=hours) * 60 + 5 * rng.integers(0, 12, n)).astype(
        "timedelta64[m]"
    )
    away = np.minimum(rng.lognormal(np.log(10 * 60), 1.1, n), 20 * 24 * 60).astype(int) // 5 * 5 + 5
    returned = went + away.astype("timedelta64[m]")
    team = _teams(rng, org, n, demo.MISSING_SERVICES)
    ok = _on_time(rng, org, team, cal.month_of(returned.astype("datetime64[D]")), 0.7, 0.08)
    after = np.where(ok, rng.integers(24, 72 * 12 + 1, n), rng.integers(72 * 12 + 1, 240 * 12, n)) * 5
    rhi = returned + after.astype("timedelta64[m]")
    rhi[~ok & (rng.random(n) < 0.3)] = np.datetime64("NaT")
    out["missing_episodes"] = frame(
        {"child_id": missing_child, "episode_id": np.arange(1, n + 1), "missing_start": went,
         "returned_at": returned, "rhi_completed_at": rhi},
        team,
    )  # fmt: skip

    # Case audits: about two a team a month, moderated mostly; grades better where the authority is.
    n = round(AUDITS_PER_TEAM_MONTH * len(org.names) * cal.months)
    kinds = list(demo.AUDIT_SERVICES)
    kind = rng.choice(len(kinds), size=n, p=[0.55, 0.17, 0.15, 0.13])
    team = np.empty(n, dtype=int)
    for k, name in enumerate(kinds):
        chosen = kind == k
        team[chosen] = _teams(rng, org, int(chosen.sum()), demo.AUDIT_SERVICES[name])
    grades = np.array(demo.GRADES, dtype=object)  # Outstanding, Good, Requires Improvement, Inadequate
    score = 1.45 - 0.35 * org.quality[team] + rng.normal(0, 0.75, n)
    moderated = np.clip(np.round(score), 0, 3).astype(int)
    auditor = np.clip(moderated + rng.choice([-1, 0, 0, 0, 0, 1], size=n), 0, 3)
    out["case_audits"] = frame(
        {"audit_id": np.arange(1, n + 1), "child_id": ref_child[rng.integers(0, len(ref_child), n)],
         "audit_date": cal.draw(rng, n, cal.weights(demo.AUDIT_SEASON, covid=False)),
         "audit_type": np.array(kinds)[kind], "grade": grades[auditor],
         "moderated_grade": np.where(rng.random(n) < 0.88, grades[moderated], None)},
        team,
    )  # fmt: skip

    # Care leavers: a pathway plan reviewed every six months, late for some.
    n = round(authority.per_year["care_leavers"])
    out["_care_leavers"] = pd.DataFrame(
        {
            "child_id": np.arange(next_id, next_id + n),
            "team": _teams(rng, org, n, {demo.LC: 1.0}),
            "phase": rng.integers(0, 182, n),
            "ok": rng.random(n) < np.clip(0.86 + 0.05 * authority.quality, 0.4, 0.99),
            "blank": rng.random(n) < 0.03,
        }
    )
    next_id += n

    # KPIs counted elsewhere: a row per team (of the services the KPI applies to) and month.
    rows = []
    for metric in catalogue().metrics:
        if metric.source != "kpi_values":
            continue
        members = np.array([i for i, s in enumerate(org.service) if not metric.applies_to or SERVICES[s] in
                            metric.applies_to])  # fmt: skip
        t, m = (a.ravel() for a in np.meshgrid(members, np.arange(cal.months), indexing="ij"))
        if metric.unit == "count":
            numerator, denominator = rng.poisson(2 * org.size[t]), pd.array([pd.NA] * len(t), dtype="Int64")
        else:
            green = list(metric.thresholds.values())[-1].green / 100 if metric.thresholds else 0.8
            sign = -1 if metric.polarity == "lower_is_better" else 1
            rate = np.clip(green + sign * (0.04 * org.quality[t] + 0.02 * org.noise[t, m]), 0.01, 0.99)
            denominator = rng.poisson(30 * org.size[t]) + 5
            numerator = rng.binomial(denominator, rate)
            denominator = pd.array(denominator, dtype="Int64")
        rows.append(
            pd.DataFrame({"period": m, "metric_id": metric.metric_id, "team": t, "numerator": numerator,
                          "denominator": denominator})
        )  # fmt: skip
    values = pd.concat(rows, ignore_index=True)
    values["period"] = np.datetime64(first, "M") + values["period"].to_numpy().astype("timedelta64[M]")
    values["team"] = pd.Categorical.from_codes(values["team"].to_numpy(), categories=team_names)
    out["kpi_values"] = values
    out["_team_names"] = pd.DataFrame({"team": org.names})
    return out


# --- the two extracts: as of 31 March 2025 and the month after -----------------------------------------

# file -> (column placing a record in a month, event columns that may happen later, datetime?)
_TIMED = {
    "referrals": ("referral_date", (), False),
    "assessments": ("assessment_start_date", ("child_seen_date", "assessment_completed_date"), False),
    "s47_enquiries": ("strategy_discussion_date", ("icpc_date",), False),
    "health_assessments": ("care_start_date", ("iha_date",), False),
    "missing_episodes": ("missing_start", ("returned_at", "rhi_completed_at"), True),
    "case_audits": ("audit_date", (), False),
    "kpi_values": ("period", (), False),
}


def _views(records: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(the extract as of AS_OF, the next month's as of NEXT_AS_OF): the first holds what had happened by
    AS_OF; the second what started in the next month and what changed in it, as it stood at NEXT_AS_OF."""
    main: dict[str, pd.DataFrame] = {"organisation": records["organisation"]}
    later: dict[str, pd.DataFrame] = {}
    for name, (period, events, timed) in _TIMED.items():
        data = records[name]
        unit = "datetime64[m]" if timed else "datetime64[D]"
        # The last moment each extract knows of: its as-of day (to its last minute, for a datetime).
        last, end = (np.datetime64(f"{d}T23:59") if timed else np.datetime64(d) for d in (AS_OF, NEXT_AS_OF))
        when = data[period].to_numpy().astype(unit)
        before, upto = when <= last, when <= end
        m = data[before].copy()
        changed = np.zeros(len(data), dtype=bool)
        for column in events:
            values = data[column].to_numpy().astype(unit)
            m[column] = _blank_after(values[before], last)
            changed |= (values > last) & (values <= end)  # NaT compares False
        n = data[upto & (~before | changed)].copy()
        for column in events:
            n[column] = _blank_after(n[column].to_numpy().astype(unit), end)
        main[name], later[name] = m, n
    for as_of, out in ((AS_OF, main), (NEXT_AS_OF, later)):
        out["children_in_care"] = _in_care_on(records["_in_care"], as_of)
        out["care_leavers"] = _care_leavers_on(records["_care_leavers"], as_of)
    return main, later


def _in_care_on(care: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The snapshot: in care on the day, and those who left in the 30 days before it (with their end date)."""
    s = np.datetime64(as_of)
    start = care["care_start_date"].to_numpy().astype("datetime64[D]")
    end = care["care_end_date"].to_numpy().astype("datetime64[D]")
    listed = (start <= s) & (end > s - 30)
    c = care[listed].copy()
    start, end = start[listed], end[listed]
    c["care_end_date"] = np.where(end <= s, end, np.datetime64("NaT"))
    # A yearly dental check on the child's own date; missed (a year older) for some; none yet for the new.
    phase = c["dental_phase"].to_numpy().astype("timedelta64[D]")
    anchor = start + phase
    since = (s - anchor).astype(int)
    last = s - (since % 365).astype("timedelta64[D]")
    last = np.where(c["dental_ok"].to_numpy(), last, last - 365)
    c["last_dental_check_date"] = np.where((since >= 0) & (last >= start), last, np.datetime64("NaT"))
    c["placements_last_12m"] = c["placements"]
    return c


def _care_leavers_on(leavers: pd.DataFrame, as_of: date) -> pd.DataFrame:
    s = np.datetime64(as_of)
    phase = leavers["phase"].to_numpy().astype("timedelta64[D]")
    last = s - phase
    last = np.where(leavers["ok"].to_numpy(), last, last - 182 - (phase // 2))
    c = leavers.copy()
    c["latest_pathway_plan_review"] = np.where(leavers["blank"].to_numpy(), np.datetime64("NaT"), last)
    return c


# --- writing -----------------------------------------------------------------------------------------------

_CHILD = "'C' || lpad(CAST(child_id AS VARCHAR), 7, '0') AS child_id"
_SELECT = {
    "organisation": ("team, service, area", None),
    "referrals": (f"{_CHILD}, team, CAST(referral_date AS DATE) AS referral_date", "referral_date, child_id"),
    "assessments": (
        f"{_CHILD}, team, CAST(assessment_start_date AS DATE) AS assessment_start_date, "
        "CAST(child_seen_date AS DATE) AS child_seen_date, "
        "CAST(assessment_completed_date AS DATE) AS assessment_completed_date",
        "assessment_start_date, child_id",
    ),
    "s47_enquiries": (
        f"{_CHILD}, team, CAST(strategy_discussion_date AS DATE) AS strategy_discussion_date, "
        "CAST(icpc_date AS DATE) AS icpc_date, icpc_not_required",
        "strategy_discussion_date, child_id",
    ),
    "health_assessments": (
        f"{_CHILD}, team, CAST(care_start_date AS DATE) AS care_start_date, CAST(iha_date AS DATE) AS iha_date",
        "care_start_date, child_id",
    ),
    "missing_episodes": (
        f"{_CHILD}, team, 'E' || lpad(CAST(episode_id AS VARCHAR), 7, '0') AS episode_id, "
        "strftime(missing_start, '%Y-%m-%d %H:%M') AS missing_start, "
        "strftime(returned_at, '%Y-%m-%d %H:%M') AS returned_at, "
        "strftime(rhi_completed_at, '%Y-%m-%d %H:%M') AS rhi_completed_at",
        "missing_start, episode_id",
    ),
    "case_audits": (
        f"'A' || lpad(CAST(audit_id AS VARCHAR), 7, '0') AS audit_id, {_CHILD}, team, "
        "CAST(audit_date AS DATE) AS audit_date, audit_type, grade, moderated_grade",
        "audit_date, audit_id",
    ),
    "children_in_care": (
        f"{_CHILD}, team_name AS team, CAST(care_start_date AS DATE) AS care_start_date, "
        "CAST(care_end_date AS DATE) AS care_end_date, CAST(last_dental_check_date AS DATE) AS "
        "last_dental_check_date, placements_last_12m",
        "team, care_start_date, child_id",
    ),
    "care_leavers": (
        f"{_CHILD}, team_name AS team, CAST(latest_pathway_plan_review AS DATE) AS latest_pathway_plan_review",
        "team, child_id",
    ),
    "kpi_values": (
        "strftime(period, '%Y-%m') AS period, metric_id, team, CAST(numerator AS BIGINT) AS numerator, "
        "CAST(denominator AS BIGINT) AS denominator",
        "period, metric_id, team",
    ),
}


def _write(con: duckdb.DuckDBPyConnection, folder: Path, files: dict[str, pd.DataFrame], names: list[str]) -> dict:
    """Write each frame as `<name>.csv` in `folder`; {file: {rows, bytes}}."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for file in FILES:
        name = file.removesuffix(".csv")
        if name not in files:
            continue
        data = files[name]
        if name in ("children_in_care", "care_leavers"):  # team as an index: named here
            data = data.assign(team_name=pd.Categorical.from_codes(data["team"].to_numpy(), categories=names))
        columns, order = _SELECT[name]
        path = folder / file
        con.register("_frame", data)
        try:
            sql = f"SELECT {columns} FROM _frame" + (f" ORDER BY {order}" if order else "")
            con.execute(f"COPY ({sql}) TO '{str(path).replace(chr(39), chr(39) * 2)}' (HEADER, DELIMITER ',')")
        finally:
            con.unregister("_frame")
        written[file] = {"rows": len(data), "bytes": path.stat().st_size}
    return written


def write_authority(folder: Path, authority: Authority, years: int = YEARS, seed: int = SEED) -> dict:
    """One authority's extract (folder/<code>/) and next month's (folder/<code>/next/); its manifest entry."""
    records = _authority_records(authority, years, seed)
    names = list(records["_team_names"]["team"])
    main, later = _views(records)
    con = duckdb.connect()
    try:
        files = _write(con, folder / authority.code, main, names)
        next_files = _write(con, folder / authority.code / "next", later, names)
    finally:
        con.close()
    return {**asdict(authority), "files": files, "next_files": next_files}


def _write_one(args: tuple[str, Authority, int, int]) -> dict:
    folder, authority, years, seed = args
    return write_authority(Path(folder), authority, years, seed)


def generate(
    folder: Path,
    authorities: list[Authority],
    *,
    years: int = YEARS,
    seed: int = SEED,
    jobs: int | None = None,
) -> dict:
    """Every authority's files into `folder`, and folder/manifest.json; returns the manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(authorities)))
    work = [(str(folder), a, years, seed) for a in authorities]
    if jobs == 1:
        entries = [_write_one(w) for w in work]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            entries = list(pool.map(_write_one, work))
    manifest = {
        "seed": seed,
        "years": years,
        "first_month": f"{LAST_MONTH_END.year - years}-04",
        "as_of": AS_OF.isoformat(),
        "next_as_of": NEXT_AS_OF.isoformat(),
        "seconds": round(time.perf_counter() - started, 2),
        "authorities": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))


def paths(folder: Path, code: str, *, next_month: bool = False) -> list[Path]:
    """One authority's files in loading order, organisation first (next month's: no organisation)."""
    base = Path(folder) / code / ("next" if next_month else "")
    return [base / f for f in FILES if (base / f).exists()]


def totals(manifest: dict, *, next_month: bool = False) -> dict[str, dict[str, int]]:
    """file -> {rows, bytes} summed over the manifest's authorities."""
    out: dict[str, dict[str, int]] = {}
    for entry in manifest["authorities"]:
        for file, size in entry["next_files" if next_month else "files"].items():
            row = out.setdefault(file, {"rows": 0, "bytes": 0})
            row["rows"] += size["rows"]
            row["bytes"] += size["bytes"]
    return out


def print_summary(manifest: dict) -> None:
    n = len(manifest["authorities"])
    biggest = max(manifest["authorities"], key=lambda a: a["share"])
    smallest = min(manifest["authorities"], key=lambda a: a["share"])
    teams = sum(a["teams"] for a in manifest["authorities"])
    print(
        f"{n} authorit{'y' if n == 1 else 'ies'}, {teams:,} teams, "
        f"{manifest['years']} year{'' if manifest['years'] == 1 else 's'} from {manifest['first_month']} "
        f"(as of {manifest['as_of']}; next month as of {manifest['next_as_of']}); "
        f"largest {biggest['name']} {biggest['code']} {100 * biggest['share']:.1f}%"
        + (f", smallest {smallest['name']} {smallest['code']} {100 * smallest['share']:.2f}%" if n > 1 else "")
        + " of England"
    )
    print(f"  {'file':24s} {'rows':>12s} {'MB':>9s} | next month {'rows':>9s} {'MB':>7s}")
    later = totals(manifest, next_month=True)
    rows = mb = 0
    for file, size in totals(manifest).items():
        rows, mb = rows + size["rows"], mb + size["bytes"] / 1e6
        nxt = later.get(file)
        after = f"{nxt['rows']:>9,} {nxt['bytes'] / 1e6:>7.1f}" if nxt else f"{'-':>9s} {'-':>7s}"
        print(f"  {file:24s} {size['rows']:>12,} {size['bytes'] / 1e6:>9.1f} |            {after}")
    print(f"  {'all files':24s} {rows:>12,} {mb:>9.1f}")
    print(f"generated in {manifest['seconds']:.1f} s ({rows / manifest['seconds']:,.0f} records a second)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="where to write (default: a temporary folder, removed after)")
    parser.add_argument("--authorities", type=int, default=AUTHORITIES, help="how many (a spread over sizes)")
    parser.add_argument("--years", type=int, default=YEARS, help="financial years to March 2025 (default 5)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: one per core)")
    args = parser.parse_args(argv)
    chosen = subset(all_authorities(seed=args.seed), args.authorities)
    with contextlib.ExitStack() as stack:
        folder = args.folder or stack.enter_context(tempfile.TemporaryDirectory(prefix="cpip-national-"))
        options = {"years": args.years, "seed": args.seed, "jobs": args.jobs}
        print_summary(generate(Path(folder), chosen, **options))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
