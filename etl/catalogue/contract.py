"""The extract contract (../shared/spec/extracts.md), declared once.

Everything that knows what an extract looks like reads it from here: the
reader (header matching, aliases), the validator (types, required values,
record keys), the warehouse schema (one table per extract type) and the
documentation. Columns not declared here are never stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

ColumnType = Literal["text", "date", "datetime", "grade", "month", "number", "flag", "status"]

# A flag is Yes or No; Annex A codes it with a prefix (`a) Yes`), stripped before reading.
FLAG_YES = ("yes", "y", "true", "1")
FLAG_NO = ("no", "n", "false", "0")

GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")
GRADE_ALIASES = {"ri": "Requires Improvement"}
# A record with no team (a blank Annex A team, a statutory return's records, which carry none, when the
# child's allocation history does not name a team on the record's counted date) counts for the authority
# as this unit (docs/spec/windows.md, "Records with no team").
UNALLOCATED = "Unallocated"
# A Practice Action Plan action's status as the council's tracker gives it. `overdue` is
# never stored: an action past its due date and not done is overdue whatever this says.
ACTION_STATUSES = ("not started", "on track", "at risk", "done")


def normalise_header(name: str) -> str:
    """`Child ID`, `child_id` and `CHILD-ID` all become `childid`."""
    return re.sub(r"[^0-9a-z]", "", name.strip().lstrip("\ufeff").lower())


# How a name an analyst types matches a stored one, in the loader and in every filter:
# case, surrounding spaces, and runs of spaces or underscores do not matter
# (`team a`, `Team  A` and `TEAM_A` are Team A). The SQL twin must give the same key.
@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    return _SPACES.sub(" ", name.strip().lower())


_SPACES = re.compile(r"[\s_]+")


def name_key_sql(expression: str) -> str:
    return f"regexp_replace(lower(trim({expression})), '[\\s_]+', ' ', 'g')"


def match_name(name: str, known: Iterable[str], *, key: Callable[[str], str] = name_key) -> str | None:
    """The known name `name` stands for, matched as the loader matches (case, spaces,
    underscores), or None."""
    wanted = key(name)
    return next((k for k in known if key(k) == wanted), None)


# An audit type is stored as `management_oversight`: lower case, anything else between
# words an underscore. The SQL twin is used by the loader.
def audit_type_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def audit_type_key_sql(expression: str) -> str:
    return f"trim(regexp_replace(lower({expression}), '[^0-9a-z]+', '_', 'g'), '_')"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool
    aliases: tuple[str, ...] = ()
    notes: str = ""
    # A KPI counts with this column: the header must carry it (its values may be blank). A file of
    # this type without it is refused rather than loaded as if every event were missing.
    counted: bool = False
    # When every value given is Yes/No rather than a date, the values go to this flag column instead
    # (Annex A's "Child Seen During Continuous Assessment" holds either, council by council).
    or_flag: str | None = None

    def matches(self, header: str) -> bool:
        wanted = {normalise_header(self.name), *(normalise_header(a) for a in self.aliases)}
        return normalise_header(header) in wanted


# The allocated worker, as the case-management system names them (a staff name or ID), on the extracts
# whose open records fall due (the due list is the team manager's worklist: whose is each one). Read from
# our own CSV extracts only: no national layout gives a heading for it, so Annex A's "Allocated Worker"
# is dropped, never stored (docs/spec/annex-a.md).
WORKER_NOTES = "The allocated worker (a staff name or ID): shown on the due list to those who may see child lists"


@dataclass(frozen=True)
class Order:
    """An end before its start rejects the row: `later` may not be before `earlier`."""

    later: str
    earlier: str
    reason: str


@dataclass(frozen=True)
class Needs:
    """A value in `column` needs a value in `needed`, or the row is rejected."""

    column: str
    needed: str
    reason: str


@dataclass(frozen=True)
class LateBy:
    """A warning: `later` more than `days` calendar days after `earlier` (the row loads)."""

    later: str
    earlier: str
    days: int
    what: str  # "return home interview": the words the warning starts with
    since: str  # "the return": what `earlier` is, in its words


@dataclass(frozen=True)
class OpenFor:
    """A warning: `column` still blank more than `working_days` after `start`, at the as-of date."""

    column: str
    start: str
    working_days: int
    what: str  # "assessment"


# What the `team` column must name: a team of the organisation reference; any unit of it (team, service,
# area or the authority, for figures given upstream); or nothing to check (the reference declares them).
TeamNames = Literal["team", "unit", "declared"]

# Checks against metrics.yml, by name (etl/ingest/validate.py holds their SQL):
#   "given_figures": metric_id is a KPI, the numerator and denominator fit its unit, rows the records cover
#                    are superseded (kpi_values);
#   "plan_actions":  area is an improvement area, metrics are KPIs (the Practice Action Plan tracker).
CatalogueCheck = Literal["given_figures", "plan_actions"]


@dataclass(frozen=True)
class ExtractType:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # The column whose date places a record in a month (for "period covered").
    period_column: str | None = None
    record_level: bool = True
    extra: dict[str, str] = field(default_factory=dict)
    # A snapshot describes the day it was taken (the load's as-of date): a later snapshot in the same
    # month replaces the earlier one for that month; snapshots of other months stay.
    snapshot: bool = False
    # How people call it, a noun phrase in lower case ("assessments extract", "children in care list"):
    # every page and message that names the type says this, never its id.
    words: str = ""
    # A KPI in metrics.yml may be counted from it (`source:`); the mart is rebuilt when it changes.
    kpi_source: bool = False
    # The date a load's window is judged by (docs/spec/windows.md): the span a list claims to hold
    # every record of. None: the type has no window (a snapshot is the whole truth for its day).
    window_date: str | None = None
    team_names: TeamNames = "team"
    # Rules beyond each column's type and required values: validate.py reads them.
    order: tuple[Order, ...] = ()
    needs: tuple[Needs, ...] = ()
    late: tuple[LateBy, ...] = ()
    open_for: tuple[OpenFor, ...] = ()
    checks: tuple[CatalogueCheck, ...] = ()
    # Its records say which team each child is allocated to, from when to when (child_teams): records
    # counted as Unallocated take the team allocated on their counted date, so a change moves every KPI.
    allocates: bool = False
    # Other types its KPI SQL reads (care_episodes.sql reads List 8's children_in_care for the months no
    # SSDA903 speaks for): a change to any of them rebuilds its KPIs too.
    reads: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.name

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def declares_teams(self) -> bool:
        """The organisation reference: loaded before the other files, and a change moves every KPI."""
        return self.team_names == "declared"

    @property
    def source_words(self) -> str:
        """`Assessments extract (record level)`: the KPI page's "Source"."""
        if self.snapshot:
            kind = "a snapshot on its as-of date"
        elif self.record_level:
            kind = "record level"
        else:
            kind = "counted upstream"
        return f"{self.words[:1].upper()}{self.words[1:]} ({kind})"

    @property
    def the_words(self) -> str:
        """`the assessments extract`: "No data: the assessments extract would bring it"."""
        return f"the {self.words}"


ASSESSMENTS = ExtractType(
    name="assessments",
    description="Child and family assessments",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "childuniqueid", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("assessment_start_date", "date", True, ("assessment actual start date", "start date")),
        Column("child_seen_date", "date", False, ("date child seen", "seen date"), counted=True, or_flag="child_seen"),
        Column(
            "assessment_completed_date",
            "date",
            False,
            ("assessment authorisation date", "completion date", "date assessment completed"),
            counted=True,
        ),
        Column("child_seen", "flag", False, notes="Yes/No where the list says whether, not when, the child was seen"),
        Column(
            "seen_not_recorded",
            "flag",
            False,
            notes="Yes where the source records nothing about seeing the child (the CIN census): it cannot be timed",
        ),
        Column("worker", "text", False, ("worker id",), notes=WORKER_NOTES),
    ),
    key=("child_id", "assessment_start_date"),
    period_column="assessment_start_date",
    words="assessments extract",
    kpi_source=True,
    window_date="assessment_start_date",
    order=(
        Order("child_seen_date", "assessment_start_date", "child seen before the assessment started"),
        Order("assessment_completed_date", "assessment_start_date", "assessment completed before it started"),
    ),
    open_for=(OpenFor("assessment_completed_date", "assessment_start_date", 45, "assessment"),),
)

HEALTH_ASSESSMENTS = ExtractType(
    name="health_assessments",
    description="Initial health assessments for children coming into care",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("care_start_date", "date", True, ("date started to be looked after", "cla start date", "start of care")),
        Column("iha_date", "date", False, ("initial health assessment date", "date of iha"), counted=True),
        Column("worker", "text", False, ("worker id",), notes=WORKER_NOTES),
    ),
    key=("child_id", "care_start_date"),
    period_column="care_start_date",
    words="initial health assessments extract",
    kpi_source=True,
    window_date="care_start_date",
    order=(Order("iha_date", "care_start_date", "initial health assessment before the child came into care"),),
)

MISSING_EPISODES = ExtractType(
    name="missing_episodes",
    description="Missing episodes and return home interviews",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("episode_id", "text", True, ("missing episode id",)),
        Column("missing_start", "datetime", True, ("missing from", "date missing", "missing start date")),
        Column("returned_at", "datetime", False, ("returned", "date returned", "missing end date")),
        Column("rhi_completed_at", "datetime", False, ("return home interview completed", "rhi date", "rhi completed")),
        Column("worker", "text", False, ("worker id",), notes=WORKER_NOTES),
    ),
    key=("episode_id",),
    period_column="missing_start",
    words="missing episodes extract",
    kpi_source=True,
    window_date="missing_start",
    order=(
        Order("returned_at", "missing_start", "returned before the missing episode started"),
        Order("rhi_completed_at", "returned_at", "return home interview before the child returned"),
    ),
    needs=(
        Needs(
            "rhi_completed_at",
            "returned_at",
            "return home interview recorded but the child has not returned (returned_at is blank)",
        ),
    ),
    late=(LateBy("rhi_completed_at", "returned_at", 30, "return home interview", "the return"),),
)

CASE_AUDITS = ExtractType(
    name="case_audits",
    description="Case-file audits",
    columns=(
        Column("audit_id", "text", True),
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("audit_date", "date", True),
        Column("audit_type", "text", True),
        Column("grade", "grade", True, ("auditor grade", "overall grade")),
        Column("moderated_grade", "grade", False, ("moderation grade", "grade after moderation")),
    ),
    key=("audit_id",),
    period_column="audit_date",
    words="case audits extract",
    kpi_source=True,
    window_date="audit_date",
)

REFERRALS = ExtractType(
    name="referrals",
    description="Referrals to children's social care",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("referral_date", "date", True, ("date of referral",)),
    ),
    key=("child_id", "referral_date"),
    period_column="referral_date",
    words="referrals extract",
    kpi_source=True,
    window_date="referral_date",
)

KPI_VALUES = ExtractType(
    name="kpi_values",
    description="Aggregate KPI values counted elsewhere",
    columns=(
        Column("period", "month", True, ("month",)),
        Column("metric_id", "text", True, ("kpi", "metric")),
        Column("team", "text", True, ("org unit", "unit")),
        Column("numerator", "number", True, ("count", "value")),
        Column("denominator", "number", False),
    ),
    key=("period", "metric_id", "team"),
    period_column="period",
    record_level=False,
    words="KPI values extract",
    kpi_source=True,
    team_names="unit",
    checks=("given_figures",),
)

ORGANISATION = ExtractType(
    name="organisation",
    description="Organisation reference: one row a team",
    columns=(
        Column("team", "text", True, ("team name",)),
        Column("service", "text", True),
        Column("area", "text", True, ("locality",)),
    ),
    key=("team",),
    record_level=False,
    words="organisation reference",
    team_names="declared",
)

S47_ENQUIRIES = ExtractType(
    name="s47_enquiries",
    description="Section 47 enquiries and initial child protection conferences",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("strategy_discussion_date", "date", True, ("strategy discussion date", "s47 start date")),
        Column("icpc_date", "date", False, ("initial child protection conference date", "icpc"), counted=True),
        Column("icpc_not_required", "flag", False, ("icpc deemed unnecessary", "icpc not required")),
        Column("worker", "text", False, ("worker id",), notes=WORKER_NOTES),
    ),
    key=("child_id", "strategy_discussion_date"),
    period_column="strategy_discussion_date",
    words="section 47 enquiries extract",
    kpi_source=True,
    window_date="strategy_discussion_date",
    order=(Order("icpc_date", "strategy_discussion_date", "conference before the strategy discussion"),),
)

CP_PLANS = ExtractType(
    name="cp_plans",
    description="Child protection plans",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("cpp_start_date", "date", True, ("child protection plan start date", "plan start date")),
        Column("cpp_end_date", "date", False, ("child protection plan end date", "plan end date")),
        Column(
            "previous_plans",
            "number",
            False,
            ("number of previous child protection plans", "previous plans"),
            notes="how many plans the child had before this one (0: a first plan)",
            counted=True,
        ),
    ),
    key=("child_id", "cpp_start_date"),
    period_column="cpp_start_date",
    words="child protection plans extract",
    kpi_source=True,
    window_date="cpp_start_date",
    order=(Order("cpp_end_date", "cpp_start_date", "plan ended before it started"),),
)

CHILDREN_IN_CARE = ExtractType(
    name="children_in_care",
    description="Children in care on the day the list was taken (a snapshot)",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("care_start_date", "date", True, ("date started to be looked after", "cla start date")),
        Column("care_end_date", "date", False, ("date ceased to be looked after", "cla end date")),
        Column(
            "last_dental_check_date", "date", False, ("date of last dental check", "dental check date"), counted=True
        ),
        Column(
            "placements_last_12m",
            "number",
            False,
            ("number of placements in the last 12 months", "placements in last 12 months"),
            counted=True,
        ),
    ),
    key=("child_id", "care_start_date"),
    snapshot=True,
    words="children in care list",
    kpi_source=True,
    window_date="care_start_date",
    order=(Order("care_end_date", "care_start_date", "ceased to be looked after before the care started"),),
    # dental_up_to_date's 31 March from the SSDA903's OC2 where a return speaks for the month (children_in_care.sql).
    reads=("health_outcomes",),
)

CARE_LEAVERS = ExtractType(
    name="care_leavers",
    description="Care leavers on the day the list was taken (a snapshot)",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column(
            "latest_pathway_plan_review",
            "date",
            False,
            ("latest pathway plan review date", "pathway plan review date"),
            counted=True,
        ),
    ),
    key=("child_id",),
    snapshot=True,
    words="care leavers list",
    kpi_source=True,
)

CHILD_TEAMS = ExtractType(
    name="child_teams",
    description="Allocation history: the team each child was allocated to, from when to when",
    columns=(
        Column("child_id", "text", True, ("person id", "child unique id", "LAchildID")),
        Column("team", "text", True, ("allocated team",)),
        Column("from_date", "date", True, ("allocated from", "allocation start date", "start date")),
        Column("to_date", "date", False, ("allocated to", "allocation end date", "end date")),
    ),
    key=("child_id", "from_date"),
    period_column="from_date",
    words="allocation history",
    window_date="from_date",
    allocates=True,
    order=(Order("to_date", "from_date", "allocation ends before it starts"),),
)

# The SSDA903 return's types (docs/spec/returns.md; etl/formats/ssda903.py reads the return into them). A
# return carries no team: every record is Unallocated, and takes its child's team from child_teams on its
# counted date.
CARE_EPISODES = ExtractType(
    name="care_episodes",
    description="Episodes of care (SSDA903 Episodes): one row each time a child's legal status or placement changes",
    columns=(
        Column("child_id", "text", True, ("CHILD",)),
        Column("team", "text", True),
        Column("decom", "date", True, ("date episode commenced",)),
        Column("rne", "text", True, ("reason for new episode",)),
        Column("legal_status", "text", True, ("LS",)),
        Column("place", "text", True, ("placement type",)),
        Column("dec", "date", False, ("date episode ceased",)),
        Column("rec", "text", False, ("reason episode ceased",)),
        Column("year_end", "date", True, notes="31 March of the latest collection year whose return held it"),
    ),
    key=("child_id", "decom"),
    period_column="decom",
    words="SSDA903 episodes",
    kpi_source=True,
    window_date="decom",
    order=(Order("dec", "decom", "903 rule 141: the episode ends before it began"),),
    needs=(
        Needs("dec", "rec", "903 rule 148: the episode has an end date but no reason it ceased"),
        Needs("rec", "dec", "903 rule 148: the episode has a reason it ceased but no end date"),
    ),
    reads=("children_in_care",),
)

HEALTH_OUTCOMES = ExtractType(
    name="health_outcomes",
    description="Health of children looked after for 12 months at 31 March (SSDA903 OC2), one row a child a year",
    columns=(
        Column("child_id", "text", True, ("CHILD",)),
        Column("team", "text", True),
        Column("year_end", "date", True, notes="31 March of the collection year"),
        Column("age_at_31_march", "number", False, notes="the age at 31 March (the date of birth is not kept)"),
        Column("teeth_check", "flag", False, counted=True),
        Column("health_assessment", "flag", False, counted=True),
        Column("immunisations", "flag", False),
        Column("sdq_score", "number", False, counted=True),
    ),
    key=("child_id", "year_end"),
    words="SSDA903 health outcomes (OC2)",
    kpi_source=True,
    window_date="year_end",
)

CARE_LEAVER_OUTCOMES = ExtractType(
    name="care_leaver_outcomes",
    description="Care leavers around their 17th to 21st birthdays (SSDA903 OC3), one row a young person a year",
    columns=(
        Column("child_id", "text", True, ("CHILD",)),
        Column("team", "text", True),
        Column("year_end", "date", True, notes="31 March of the collection year"),
        Column("age_at_birthday", "number", False, notes="the age reached at the birthday in the collection year"),
        Column("in_touch", "text", False),
        Column("accom", "text", False, counted=True),
    ),
    key=("child_id", "year_end"),
    words="SSDA903 care leavers (OC3)",
    kpi_source=True,
    window_date="year_end",
)

# A statutory return given as several tables is one load of several types: one row in the load log (its
# extract_type is the return's name), one undo of every type.
RETURNS: dict[str, tuple[str, ...]] = {
    "ssda903": ("care_episodes", "health_outcomes", "care_leaver_outcomes", "missing_episodes"),
}

ACTIONS = ExtractType(
    name="actions",
    description="Practice Action Plan actions (the council's tracker spreadsheet)",
    columns=(
        Column("action_id", "text", True, ("action ref", "ref")),
        Column("area", "text", True, ("improvement area", "area for improvement")),
        Column("action", "text", True, ("action description",)),
        Column("sponsor", "text", False),
        Column("lead", "text", False, ("responsible lead", "responsible leads", "leads")),
        Column("due_date", "date", False, ("due", "by when", "target date")),
        Column("status", "status", True, ("progress",)),
        Column("metrics", "text", False, ("kpis", "metric_ids"), "metric_ids separated by semicolons"),
    ),
    key=("action_id",),
    record_level=False,
    words="Practice Action Plan tracker",
    checks=("plan_actions",),
)

# The council's other names for its teams (issue 25): a list naming "Locality 4 Duty Team" loads as
# the team it is mapped to. Kept beside the organisation reference, written by the data page's
# mapping and `cpip teams --map` through the loader (a load of its own: logged, undone like any).
TEAM_ALIASES = ExtractType(
    name="team_aliases",
    description="Other names a team of the organisation reference goes by in the council's lists",
    columns=(
        Column("alias", "text", True, ("other name", "name in the list", "unknown team")),
        Column("team", "text", True, ("maps to", "maps_to", "team name")),
    ),
    key=("alias",),
    record_level=False,
    words="team aliases",
)

EXTRACT_TYPES: dict[str, ExtractType] = {
    t.name: t
    for t in (
        ASSESSMENTS,
        HEALTH_ASSESSMENTS,
        MISSING_EPISODES,
        CASE_AUDITS,
        REFERRALS,
        S47_ENQUIRIES,
        CP_PLANS,
        CHILDREN_IN_CARE,
        CARE_LEAVERS,
        KPI_VALUES,
        ORGANISATION,
        CHILD_TEAMS,
        TEAM_ALIASES,
        CARE_EPISODES,
        HEALTH_OUTCOMES,
        CARE_LEAVER_OUTCOMES,
        ACTIONS,
    )
}


class _KpiSources(Sequence[str]):
    """The types a KPI can be counted from (`kpi_source`), in the contract's order: every record-level
    type, then kpi_values (figures given upstream). Read from EXTRACT_TYPES each time, so a type declared
    later (a test's made-up one) is a source wherever this is used. `records_only`: the record-level
    ones alone, each with a record-level rule in etl/rules/kpis/<source>.sql."""

    def __init__(self, *, records_only: bool = False) -> None:
        self._records_only = records_only

    def _names(self) -> tuple[str, ...]:
        named = [t.name for t in EXTRACT_TYPES.values() if t.kpi_source]
        records = tuple(n for n in named if EXTRACT_TYPES[n].record_level)
        # Figures given upstream fill what the records leave: the mart reads them last.
        return records if self._records_only else (*records, *(n for n in named if n not in records))

    def __getitem__(self, index):  # type: ignore[override]
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return f"{'RECORD_SOURCES' if self._records_only else 'KPI_SOURCES'}{self._names()!r}"


KPI_SOURCES: Sequence[str] = _KpiSources()
RECORD_SOURCES: Sequence[str] = _KpiSources(records_only=True)
