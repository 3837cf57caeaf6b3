"""The KPI catalogue (metrics.yml): a pydantic model, validated at start-up.

A broken catalogue stops the program with one message that names the metric
and the field, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from etl.catalogue.contract import EXTRACT_TYPES, KPI_SOURCES, name_key
from etl.catalogue.reference import INDICATORS
from etl.paths import METRICS_FILE
from etl.rules.calendar import financial_year_of, parse_financial_year

DEFAULT_CATALOGUE = METRICS_FILE


class Polarity(StrEnum):
    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"
    MONITORED = "monitored"


class CatalogueError(ValueError):
    """metrics.yml is not valid; the message names the metric and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """Target and RAG thresholds in force for one financial year.

    Higher is better: Green at or above `green`, Amber at or above `amber`,
    else Red. Lower is better: the mirror (at or below).
    """

    target: float | None = None
    green: float
    amber: float


class Rebase(_Strict):
    """A change point for statistical process control limits."""

    period: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    reason: str


class Clock(_Strict):
    """A timed KPI's deadline from its start: working days (the start is day 0; the
    deadline is the Nth working day after it) or wall-clock hours."""

    working_days: Annotated[int, Field(gt=0, le=260)] | None = None
    hours: Annotated[int, Field(gt=0, le=24 * 366)] | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Clock:
        if (self.working_days is None) == (self.hours is None):
            raise ValueError("give either working_days or hours")
        return self


# What a value is made of. A percentage is 100 x numerator / denominator; a rate (a caseload: cases over
# FTE) is numerator / denominator as it divides, neither x 100 nor shown with "%"; a count is its numerator,
# with no denominator. Pooled figures (months, teams, a service) sum numerators and denominators, then divide:
# never an average of values.
Unit = Literal["percent", "count", "rate"]
SCALE: dict[str, float] = {"percent": 100.0, "rate": 1.0}  # a count has none: its value is its numerator


def value_of(unit: str, numerator: float | None, denominator: float | None) -> float | None:
    """A figure's value in its unit; None where there is none (no numerator, or a share or rate over a
    denominator that is missing or 0: "No data", never 0)."""
    if numerator is None or numerator != numerator:  # NaN: no figure
        return None
    if unit == "count":
        return float(numerator)
    if denominator is None or not denominator > 0:  # NaN compares False
        return None
    return SCALE[unit] * numerator / denominator


def _kpi_source(value: str) -> str:
    if value not in KPI_SOURCES:
        raise ValueError(f"{value!r} is not a KPI source (one of {', '.join(KPI_SOURCES)})")
    return value


class Metric(_Strict):
    metric_id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: str
    short_name: str | None = None
    area: str
    unit: Unit
    polarity: Polarity
    # The extract type it is counted from: one of the contract's KPI sources (`kpi_source`).
    source: Annotated[str, AfterValidator(_kpi_source)]
    rule: str
    owner: str
    benchmark: str | None = None
    audit_type: str | None = None
    spc_chart: Literal["xmr", "p"] = "xmr"
    # The org-unit levels its thresholds are meant for. A count's thresholds are set for
    # the whole authority (283 missing episodes a month); a team's 9 are not "Green"
    # against them, so a count is usually rated at `la` only and shown unrated below.
    rated_levels: tuple[Literal["la", "area", "service", "team"], ...] = ("la", "area", "service", "team")
    rebase: tuple[Rebase, ...] = ()
    # The services whose work the KPI measures (names as in the organisation reference);
    # empty: every service. A team of another service is not "No data" for it: the
    # dashboard leaves it off that team's scorecard, unless the team has records for it.
    applies_to: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    thresholds: dict[str, Thresholds] = Field(default_factory=dict)
    # A timed KPI's deadline (read by the record-level SQL, etl/rules/kpis/, and the pages).
    clock: Clock | None = None
    # Below this many in the denominator a share is shown without a RAG colour ("Small numbers"):
    # 1 of 3 is no evidence of practice, and is left out of the Red and Amber counts and the
    # exception pages. Counts have no denominator, so this never applies to them; a rate's
    # denominator is what it is counted over (FTE for a caseload).
    min_denominator: Annotated[int, Field(ge=0, le=10_000)] = 5
    # The column of the source whose date places a record in a month (`as_of` for a snapshot:
    # the day it was taken); substituted into the record-level SQL, so only a plain name.
    counted_on: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None

    @field_validator("thresholds")
    @classmethod
    def _years_are_financial_years(cls, value: dict[str, Thresholds]) -> dict[str, Thresholds]:
        for year in value:
            parse_financial_year(year)  # raises ValueError with a readable message
        return dict(sorted(value.items()))

    @model_validator(mode="after")
    def _counted_on_is_a_column(self) -> Metric:
        extract = EXTRACT_TYPES.get(self.source)
        if self.counted_on is None or extract is None:
            return self
        known = [*extract.column_names, *(["as_of"] if extract.record_level else [])]
        if self.counted_on not in known:
            raise ValueError(f"counted_on: {self.counted_on!r} is not a column of {self.source} ({', '.join(known)})")
        return self

    @model_validator(mode="after")
    def _a_rate_is_given(self) -> Metric:
        # The record-level rules count shares (met of counted) and counts; a rate's numerator and
        # denominator (cases, FTE) are counted upstream. Its limits are an XmR chart's, as a count's:
        # a p-chart's binomial limits hold for a share of records only.
        if self.unit == "rate" and self.source != "kpi_values":
            raise ValueError("unit: a rate is given as kpi_values (numerator and denominator), so source: kpi_values")
        if self.unit == "rate" and self.spc_chart == "p":
            raise ValueError("spc_chart: a p-chart is for a percentage; a rate is drawn as xmr")
        return self

    @model_validator(mode="after")
    def _thresholds_fit_polarity(self) -> Metric:
        if self.polarity is Polarity.MONITORED:
            if self.thresholds:
                raise ValueError("a monitored metric carries no RAG thresholds: remove 'thresholds'")
            return self
        if not self.rated_levels:
            raise ValueError("rated_levels: give at least one level, or make the metric monitored")
        if not self.thresholds:
            raise ValueError("a rated metric needs 'thresholds' for at least one financial year")
        for year, t in self.thresholds.items():
            if self.polarity is Polarity.HIGHER and not t.green >= t.amber:
                raise ValueError(
                    f"thresholds {year}: higher is better, so green ({t.green}) must be >= amber ({t.amber})"
                )
            if self.polarity is Polarity.LOWER and not t.green <= t.amber:
                raise ValueError(
                    f"thresholds {year}: lower is better, so green ({t.green}) must be <= amber ({t.amber})"
                )
            if self.unit == "percent":
                for name, v in (("green", t.green), ("amber", t.amber), ("target", t.target)):
                    if v is not None and not 0 <= v <= 100:
                        raise ValueError(f"thresholds {year}: {name} ({v}) must be between 0 and 100 for a percentage")
        return self

    def applies_to_any(self, services: Iterable[str]) -> bool:
        """Whether the KPI applies to a unit made of these services (a team or a
        service: one; an area or the authority: all of theirs). Names match as
        the loader matches them (case, spaces, underscores)."""
        if not self.applies_to:
            return True
        mine = {name_key(s) for s in self.applies_to}
        return any(name_key(s) in mine for s in services)

    def rated_at(self, level: str | None) -> bool:
        """Whether the metric carries a RAG at this org-unit level (None: any level)."""
        return self.rated and (level is None or level in self.rated_levels)

    @property
    def timed(self) -> bool:
        """A KPI with a deadline: its open records fall due (the due list)."""
        return self.clock is not None

    @property
    def label(self) -> str:
        return self.short_name or self.name

    @property
    def rated(self) -> bool:
        return self.polarity is not Polarity.MONITORED

    @property
    def chart(self) -> str:
        """The SPC chart it is judged on: a p-chart only for a percentage that asks for one; XmR otherwise."""
        return self.spc_chart if self.unit == "percent" else "xmr"

    def value_of(self, numerator: float | None, denominator: float | None) -> float | None:
        """Its value from a numerator and a denominator (module-level `value_of`)."""
        return value_of(self.unit, numerator, denominator)

    def small_numbers(self, denominator: float | None) -> bool:
        """A share counted over fewer records (a rate over less FTE) than `min_denominator`: shown, not rated."""
        if self.unit == "count" or denominator is None or denominator != denominator:  # NaN: no figure
            return False
        return denominator < self.min_denominator

    def thresholds_for(self, period: str) -> Thresholds | None:
        """The thresholds in force in a month `YYYY-MM`: the latest financial year
        given at or before the period's, else the earliest given."""
        if not self.thresholds:
            return None
        year = financial_year_of(period)
        in_force = [t for y, t in self.thresholds.items() if y <= year]
        return in_force[-1] if in_force else next(iter(self.thresholds.values()))


class Event(_Strict):
    """An authority-wide dated event, drawn on every KPI's trend and SPC charts."""

    date: dt.date
    label: Annotated[str, Field(min_length=1, max_length=120)]


class Plan(_Strict):
    """A Practice Action Plan's heading: its improvement area, what that means for the service, its owner."""

    area: str
    meaning: str
    owner: str = ""


class Authority(_Strict):
    name: str
    short_name: str | None = None
    logo: str | None = None
    # DfE's three-digit code: whose published figures, region and neighbours are the comparators.
    la_code: Annotated[str, Field(pattern=r"^\d{3}$")] | None = None


class Catalogue(_Strict):
    authority: Authority
    areas: tuple[str, ...]
    metrics: tuple[Metric, ...]
    events: tuple[Event, ...] = ()
    plans: tuple[Plan, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        for plan in self.plans:
            if plan.area not in self.areas:
                raise ValueError(f"plan {plan.area!r}: area is not one of 'areas'")
        seen: set[str] = set()
        for m in self.metrics:
            if m.metric_id in seen:
                raise ValueError(f"metric {m.metric_id}: metric_id appears twice")
            seen.add(m.metric_id)
            if m.area not in self.areas:
                raise ValueError(f"metric {m.metric_id}: area {m.area!r} is not one of 'areas'")
            if m.benchmark and m.benchmark not in INDICATORS:
                raise ValueError(
                    f"metric {m.metric_id}: benchmark {m.benchmark!r} is not a published indicator "
                    f"(one of {', '.join(INDICATORS)})"
                )
            if m.source == "case_audits" and m.metric_id != "audits_good" and not m.audit_type:
                raise ValueError(f"metric {m.metric_id}: an audit metric needs 'audit_type'")
        return self

    def metric(self, metric_id: str) -> Metric:
        for m in self.metrics:
            if m.metric_id == metric_id:
                return m
        raise KeyError(metric_id)

    def plan(self, area: str) -> Plan | None:
        return next((p for p in self.plans if p.area == area), None)

    @property
    def ids(self) -> list[str]:
        return [m.metric_id for m in self.metrics]


def _describe(error: ValidationError, raw: dict) -> str:
    """One line naming the metric and the field of the first problem."""
    first = error.errors()[0]
    loc = list(first["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "metrics" and isinstance(loc[1], int):
        try:
            where.append(f"metric {raw['metrics'][loc[1]]['metric_id']}")
        except (KeyError, IndexError, TypeError):
            where.append(f"metric #{loc[1] + 1}")
        loc = loc[2:]
    if loc:
        where.append("field " + ".".join(str(p) for p in loc))
    message = first["msg"].removeprefix("Value error, ")
    return f"{', '.join(where) or 'top level'}: {message}"


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    path = Path(path or os.environ.get("CPIP_METRICS") or DEFAULT_CATALOGUE)
    try:
        # libyaml's parser when PyYAML has it (ten times quicker: the catalogue is read at every start).
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise CatalogueError(f"{path}: the KPI catalogue is missing") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: expected a mapping with 'authority', 'areas' and 'metrics'")
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        raise CatalogueError(f"{path}: {_describe(exc, raw)}") from None


@lru_cache(maxsize=4)
def _cached(path: str) -> Catalogue:
    return load_catalogue(path)


def catalogue() -> Catalogue:
    """The catalogue in use (CPIP_METRICS or metrics.yml), parsed once per process."""
    return _cached(str(os.environ.get("CPIP_METRICS") or DEFAULT_CATALOGUE))


def require_catalogue() -> Catalogue:
    """The catalogue, or stop the program with one line naming the metric and the field
    (for entry points: the app, gunicorn workers)."""
    try:
        return catalogue()
    except CatalogueError as exc:
        raise SystemExit(f"metrics.yml is not valid: {exc}") from None
