"""The Children in Need census as a layout of the extract types (docs/spec/returns.md), declared once.

The census is one XML file a year: `Message` / `Children` / `Child`, each child with its CIN episodes
(`CINdetails`) and, inside them, its assessments, section 47 enquiries and child protection plans. Each of
those modules feeds one of the contract's types (a census referral is a `referrals` record, and so on),
so a KPI stays one rule whichever file fed it. Everything the census says that no KPI reads (names,
UPNs, dates of birth, sex, ethnicity, disabilities, codes) is never read.

This module is data and pure checks on a child already read: which elements give which columns
(`MODULES`), the years whose layout is known (`YEARS`), and the national validator's rules that bear on a
figure, with their codes (`RULES`: errors refuse the census, queries load and are reported). Reading the
XML is `etl.readers.xml`'s. A new year's layout is one entry in `YEARS`; a new field one string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from etl.catalogue.contract import UNALLOCATED
from etl.rules.calendar import CALENDAR_END, CALENDAR_START

ROOT = "Message"  # the census's root element: the XML reader hands such a file to this layout
RECORD = "Child"

# A census reader's list names start so: `census.xml, CIN census referrals (CINdetails)`; the layout knows
# its lists by it (their headers are the contract's own column names).
LIST_PREFIX = "CIN census "


@dataclass(frozen=True)
class Module:
    """One census module and the type it feeds: where it sits below `CINdetails` (`()` is the episode
    itself), the element giving each contract column, and for a record the warehouse does not hold
    yet, the value of a column the census never gives (an existing record keeps its own: the census
    says nothing about it)."""

    element: str
    below: tuple[str, ...]
    extract: str
    title: str
    fields: dict[str, str]
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{LIST_PREFIX}{self.title}"

    @cached_property
    def reads(self) -> tuple[str, ...]:
        """The elements the product reads from the module (its fields, and the episode's closure and NFA)."""
        return (*self.fields.values(), *(EPISODE_EXTRA if not self.below else ()))


MODULES: tuple[Module, ...] = (
    Module("CINdetails", (), "referrals", "referrals (CINdetails)", {"referral_date": "CINreferralDate"}),
    Module(
        "Assessments",
        ("Assessments",),
        "assessments",
        "assessments (Assessments)",
        {
            "assessment_start_date": "AssessmentActualStartDate",
            "assessment_completed_date": "AssessmentAuthorisationDate",
        },
        # The census records no date the child was seen: children seen within 5 working days gets nothing
        # from it, and an assessment another extract gave a seen date keeps it.
        defaults={"seen_not_recorded": "true"},
    ),
    Module(
        "Section47",
        ("Section47",),
        "s47_enquiries",
        "section 47 enquiries (Section47)",
        # The S47 start date is the strategy discussion that starts the enquiry (docs/spec/kpis.md: one date).
        {
            "strategy_discussion_date": "S47ActualStartDate",
            "icpc_date": "DateOfInitialCPC",
            "icpc_not_required": "ICPCnotRequired",
        },
    ),
    Module(
        "ChildProtectionPlans",
        ("ChildProtectionPlans",),
        "cp_plans",
        "child protection plans (ChildProtectionPlans)",
        {"cpp_start_date": "CPPstartDate", "cpp_end_date": "CPPendDate", "previous_plans": "NumberOfPreviousCPP"},
    ),
)

# Kinds of value, by element: parsed and checked as the reader reads them.
DATES = frozenset(
    {
        "ReferenceDate",
        "CINreferralDate",
        "CINclosureDate",
        "AssessmentActualStartDate",
        "AssessmentAuthorisationDate",
        "S47ActualStartDate",
        "DateOfInitialCPC",
        "CPPstartDate",
        "CPPendDate",
    }
)
BOOLEANS = frozenset({"ICPCnotRequired", "ReferralNFA"})
COUNTS = frozenset({"NumberOfPreviousCPP"})
# xs:boolean's words, and upper case, as DfE's sample and the validator's fakes spell them.
TRUE, FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
_BOOLEAN_WORDS = TRUE | FALSE  # as most censuses spell them: read without lower-casing

# The elements read from each CINdetails besides its modules' (closure, for rule 8630).
EPISODE_EXTRA = ("CINclosureDate", "ReferralNFA")


@dataclass(frozen=True)
class Year:
    """What a census year's layout differs in (liia's schemas by year; the validator's rules by year).
    Only what the product reads is here: the modules and fields above are the same in every year."""

    sex: str  # GenderCurrent to 2023/24, Sex from 2024/25 (never read: personal)
    modules_added: tuple[str, ...] = ()


# Keyed by the year the census ends in (its ReferenceDate's year): 2023 is 2022/23.
YEARS: dict[int, Year] = {
    2023: Year("GenderCurrent"),
    2024: Year("GenderCurrent"),
    2025: Year("Sex"),
    2026: Year("Sex"),
    2027: Year("Sex", ("PreProceedingsandFGDM",)),
}


def year_words(ending: int) -> str:
    return f"{ending - 1}/{ending % 100:02d}"


@dataclass(frozen=True)
class Rule:
    code: str  # the national validator's code, or "" where the product's own
    severity: str  # "error": the census loads nothing; "warning": a query, reported
    words: str


# The validator's rules that bear on a figure (../shared/reference/cin-validator-rules.txt), and the
# product's own checks of what it reads. Errors are what would give a wrong figure; queries are reported.
RULES: dict[str, Rule] = {
    r.code or r.words: r
    for r in (
        Rule("100", "error", "the reference date must be 31 March of a census year"),
        Rule("8500", "error", "LA child ID missing"),
        Rule("8510", "error", "more than one child record with the same LA child ID"),
        Rule("8600", "error", "referral date missing or after the census year"),
        Rule("8608", "error", "assessment start date later than its authorisation date"),
        Rule("8615", "error", "section 47 start date missing or later than the initial conference"),
        Rule("8630", "error", "CIN closure date before the referral date"),
        Rule("8720", "error", "child protection plan start date missing or after the census year"),
        Rule("8925", "error", "child protection plan end date earlier than its start date"),
        Rule("1570", "warning", "LA child ID longer than 20 characters"),
        Rule("1580", "warning", "LA child ID with characters other than letters and digits"),
        Rule("1103", "warning", "assessment started before the referral"),
        Rule("1105", "warning", "child protection plan started before the referral"),
        Rule("2889", "warning", "section 47 enquiry started before the referral"),
        Rule("2884", "warning", "an initial conference recorded at both the S47 and CIN details level"),
        Rule("8670Q", "warning", "assessment started more than 45 working days before 31 March, with no end date"),
        Rule(
            "8675Q",
            "warning",
            "S47 started more than 15 working days before 31 March, no conference, not 'not required'",
        ),
        Rule("8935", "warning", "more than one open child protection plan"),
    )
}

_CHILD_ID = re.compile(r"^[0-9A-Za-z]+$")


@dataclass
class Issue:
    """What a check found: the rule, the child, the module and field, the value, the line."""

    rule: str
    child: str | None
    module: str
    element: str | None
    value: str | None
    line: int | None
    particulars: str = ""

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity if self.rule in RULES else "error"

    @property
    def reason(self) -> str:
        known = RULES.get(self.rule)
        words = known.words if known else self.rule
        code = f"CIN rule {known.code}: " if known and known.code else ""
        who = f"child '{self.child}'" if self.child else "a child with no LA child ID"
        where = f"{self.module}.{self.element}" if self.element else self.module
        extra = f" ({self.particulars})" if self.particulars else ""
        return f"{code}{words}{extra}: {who}, {where}"


@dataclass(slots=True)
class Record:
    """One module's record of a child, as read: element -> text, the line it starts on, and of the CIN
    episode it sits in: its referral date (parsed: None if it cannot be) and whether it records an ICPC
    itself (rule 2884)."""

    module: Module
    values: dict[str, str | None]
    line: int | None
    referral: date | None
    episode_icpc: bool = False


def parse_date(text: str | None) -> date | None:
    """`yyyy-mm-dd` (xs:date, as the census writes dates); anything else, a two-digit year included, is None.
    A census repeats a few hundred days tens of thousands of times: each text is parsed once."""
    if text is None:
        return None
    try:
        return _DATES[text]
    except KeyError:
        pass
    day = None
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    if len(_DATES) < 100_000:
        _DATES[text] = day
    return day


_DATES: dict[str, date | None] = {}


def parse_boolean(text: str | None) -> str | None:
    """`true`/`false`/`1`/`0`, any case, as `true` or `false`; anything else None."""
    if text in TRUE:  # as most censuses spell them
        return "true"
    if text in FALSE:
        return "false"
    word = (text or "").strip().lower()
    return "true" if word in TRUE else "false" if word in FALSE else None


_OUTSIDE = f"a date outside the years this dashboard counts ({CALENDAR_START.year} to {CALENDAR_END.year})"


# What kind of value each element read gives: checked as each is read.
_DATE, _BOOLEAN, _COUNT = 1, 2, 3
_KINDS: dict[str, int] = {e: _DATE for e in DATES} | {e: _BOOLEAN for e in BOOLEANS} | {e: _COUNT for e in COUNTS}
_UNSEEN = object()


def check(record: Record, child: str, year_end: date, working_days_before) -> list[Issue]:
    """Every issue of one record: first each value it gives that cannot be read (a date not yyyy-mm-dd
    or outside the calendar's years, a flag not a boolean, a number of previous plans not a whole
    number); if all can, the validator's rules (errors and queries) for its module, given the census year.
    `working_days_before(day, end)`: working days after `day` up to and including `end`. Each value is
    parsed once (a county's census has tens of thousands of records)."""
    values, name, line = record.values, record.module.element, record.line
    issues: list[Issue] = []
    dates: dict[str, date] = {}
    for element in record.module.reads:
        text = values.get(element)
        if text is None:
            continue
        if not text or text[0].isspace() or text[-1].isspace():  # stray whitespace around a value: tolerated
            text = text.strip() or None
            values[element] = text
            if text is None:
                continue
        kind = _KINDS.get(element)
        if kind == _DATE:
            day = _DATES.get(text, _UNSEEN)
            if day is _UNSEEN:
                day = parse_date(text)
            if day is None:
                issues.append(Issue("not a date written yyyy-mm-dd", child, name, element, text, line))
            elif not CALENDAR_START <= day <= CALENDAR_END:
                # Working days are counted in these years: a date outside would drop from every figure unsaid.
                issues.append(Issue(_OUTSIDE, child, name, element, text, line))
            else:
                dates[element] = day
        elif kind == _BOOLEAN:
            if text not in _BOOLEAN_WORDS and parse_boolean(text) is None:
                issues.append(Issue("not true, false, 1 or 0", child, name, element, text, line))
        elif kind == _COUNT and not text.isdigit():
            issues.append(Issue("not a whole number of 0 or more", child, name, element, text, line))
    if issues:
        return issues
    referral = record.referral
    if name == "CINdetails":
        if referral is None or referral > year_end:
            issues.append(Issue("8600", child, name, "CINreferralDate", values.get("CINreferralDate"), line))
        closure = dates.get("CINclosureDate")
        if closure and referral and closure < referral:
            issues.append(Issue("8630", child, name, "CINclosureDate", values["CINclosureDate"], line))
    elif name == "Assessments":
        start, end = dates.get("AssessmentActualStartDate"), dates.get("AssessmentAuthorisationDate")
        if start is None:
            issues.append(Issue("missing: every assessment has its start date", child, name,
                                "AssessmentActualStartDate", None, line))  # fmt: skip
        elif end and start > end:
            issues.append(Issue("8608", child, name, "AssessmentAuthorisationDate", values[
                "AssessmentAuthorisationDate"], line))  # fmt: skip
        if start and referral and start < referral:
            issues.append(
                Issue("1103", child, name, "AssessmentActualStartDate", values["AssessmentActualStartDate"], line)
            )
        if start and end is None and _more_than(working_days_before, start, year_end, 45):
            issues.append(Issue("8670Q", child, name, "AssessmentAuthorisationDate", None, line))
    elif name == "Section47":
        start, icpc = dates.get("S47ActualStartDate"), dates.get("DateOfInitialCPC")
        if start is None or (icpc and start > icpc):
            issues.append(Issue("8615", child, name, "S47ActualStartDate", values.get("S47ActualStartDate"), line))
        if start and referral and start < referral:
            issues.append(Issue("2889", child, name, "S47ActualStartDate", values["S47ActualStartDate"], line))
        if icpc and record.episode_icpc:
            issues.append(Issue("2884", child, name, "DateOfInitialCPC", values["DateOfInitialCPC"], line))
        not_required = parse_boolean(values.get("ICPCnotRequired")) == "true"
        if start and icpc is None and not not_required and _more_than(working_days_before, start, year_end, 15):
            issues.append(Issue("8675Q", child, name, "DateOfInitialCPC", None, line))
    elif name == "ChildProtectionPlans":
        start, end = dates.get("CPPstartDate"), dates.get("CPPendDate")
        if start is None or start > year_end:
            issues.append(Issue("8720", child, name, "CPPstartDate", values.get("CPPstartDate"), line))
        if start and end and end < start:
            issues.append(Issue("8925", child, name, "CPPendDate", values["CPPendDate"], line))
        if start and referral and start < referral:
            issues.append(Issue("1105", child, name, "CPPstartDate", values["CPPstartDate"], line))
        if values.get("NumberOfPreviousCPP") is None:
            issues.append(Issue("missing: every plan gives its number of previous plans", child, name,
                                "NumberOfPreviousCPP", None, line))  # fmt: skip
    return issues


def _more_than(working_days_before, start: date, end: date, n: int) -> bool:
    """More than n working days after start by end: counted only when the calendar days leave it open
    (n working days never take more than 2n + 10 calendar days, bank holidays included)."""
    gap = (end - start).days
    if gap > 2 * n + 10:
        return True
    return gap > n and working_days_before(start, end) > n


def check_child_id(child: str | None, line: int | None) -> Iterator[Issue]:
    if not child:
        yield Issue("8500", None, "ChildIdentifiers", "LAchildID", None, line)
        return
    if len(child) > 20:
        yield Issue("1570", child, "ChildIdentifiers", "LAchildID", child, line)
    if not _CHILD_ID.match(child):
        yield Issue("1580", child, "ChildIdentifiers", "LAchildID", child, line)


def team_default() -> str:
    """A census record names no team: it counts for the team child_teams allocates, else this."""
    return UNALLOCATED


def identify(header: list[str], sheet_name: str | None = None) -> Module | None:
    """The census module a list is, by the name the census reader gave it (`CIN census referrals ...`)."""
    if not sheet_name or not sheet_name.startswith(LIST_PREFIX):
        return None
    return next((m for m in MODULES if m.label == sheet_name), None)


def headings_for(extract: str, column: str) -> tuple[str, ...]:
    """The census element that gives `column` of `extract` (its lists carry the contract's own names)."""
    return tuple(m.fields[column] for m in MODULES if m.extract == extract and column in m.fields)
