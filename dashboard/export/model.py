"""What a board pack holds, gathered once and drawn twice (PDF and Excel).

`boardpack.collect` fills these from `etl.serve.queries` (the only source of
numbers); `pdf` and `excel` only lay them out, so both files always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from etl.people.notes import Event, Note
from etl.people.plans import Action

RAG_WORDS = ("Red", "Amber", "Green", "No data")
MONITORED = "Not rated"  # a monitored KPI carries no RAG (the theme's word)


@dataclass(frozen=True)
class ScoreRow:
    """One KPI on the scorecard, with its numbers already formatted for print."""

    metric_id: str
    name: str
    area: str
    unit: str  # percent | count
    polarity: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    previous: float | None
    rag: str  # Red | Amber | Green | No data | Not rated
    direction: str  # improving | worsening | no change | "" (no comparison)
    owner: str
    definition: str
    value_text: str
    fraction_text: str
    target_text: str
    previous_text: str
    # Statistical process control (Making Data Count): carried through so the
    # pack can show variation/assurance once the lead switches SPC on.
    variation: str | None = None
    assurance: str | None = None
    variation_icon: str | None = None  # Making Data Count icon kind, e.g. "concern_high"
    spc_note: str = ""  # why there is no icon, e.g. "needs at least 12 points; has 8"
    sparkline: tuple[float | None, ...] = ()  # the 12 monthly values ending with this month
    # DfE's published comparators for the month's year (etl.serve.queries.scorecard), as printed.
    benchmark_year: int | None = None
    published: float | None = None
    england: float | None = None
    region: float | None = None
    sn_median: float | None = None
    quartile: str = ""  # A-D, "" without a band
    published_text: str = ""
    england_text: str = ""
    sn_text: str = ""

    @property
    def rated(self) -> bool:
        return self.rag != MONITORED


@dataclass(frozen=True)
class BreakdownRow:
    unit: str
    value_text: str
    fraction_text: str
    rag: str


@dataclass
class ExceptionPage:
    """One Red KPI: its trend, its spread across services or teams, what it is."""

    row: ScoreRow
    breakdown_label: str  # "service", "team", ...
    breakdown: list[BreakdownRow]
    trend_image: bytes | None = None
    breakdown_image: bytes | None = None
    chart_note: str | None = None  # why a chart is missing, printed in its place
    source: str = ""
    recent: list[BreakdownRow] = field(default_factory=list)  # the last months, shown when there is no breakdown
    note: Note | None = None  # the month's note; None prints "no commentary yet"
    events: list[Event] = field(default_factory=list)  # drawn on the trend and listed under it
    rebases: list[tuple[str, str]] = field(default_factory=list)  # (period, reason) in the trend's months
    # The Practice Action Plan actions meant to move this KPI, with the state each is shown in
    # (overdue judged at the end of the pack's month); none: "No action in any plan".
    actions: list[Action] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)


@dataclass
class PlanPage:
    """One improvement area's Practice Action Plan: its KPIs, its actions due this
    month or overdue, and the notes on its KPIs."""

    area: str
    meaning: str
    owner: str
    rows: list[ScoreRow]
    actions: list[Action]  # due in the pack's month or overdue, by due date
    states: dict[str, str]  # action_id -> the state shown (overdue worked out)
    total: int  # every action of the plan
    overdue: int


@dataclass
class AuditTable:
    """The seed report's audit-grade table: months, then quarter totals."""

    rows: list[dict]  # label, total, moderated, Outstanding, Good, Requires Improvement, Inadequate (text)
    note: str = ""
    months: pd.DataFrame = field(default_factory=pd.DataFrame)  # etl.serve.queries.audit_grades by month, for the chart
    image: bytes | None = None
    chart_note: str | None = None


@dataclass
class BoardPack:
    authority: str
    period: str  # YYYY-MM
    period_label: str  # July 2023
    level: str
    unit: str
    scope_label: str  # "Whole authority" or "Team: North A&I"
    as_of: date | None
    generated_at: datetime
    rows: list[ScoreRow]
    areas: list[str]
    exceptions: list[ExceptionPage]
    audits: AuditTable
    data: pd.DataFrame  # every KPI by org unit by month (Excel's Data sheet)
    definitions: pd.DataFrame
    show_spc: bool = False
    notes: list[str] = field(default_factory=list)
    row_notes: dict[str, Note] = field(default_factory=dict)  # metric_id -> the month's note for the pack's unit
    plans: list[PlanPage] = field(default_factory=list)
    plans_judged_on: date | None = None

    @property
    def red_without_action(self) -> list[ScoreRow]:
        """Red KPIs no action of any plan is meant to move: the Board's "what are we doing about it?"."""
        return [e.row for e in self.exceptions if not e.actions]

    @property
    def red_without_note(self) -> list[ScoreRow]:
        """Red KPIs with no note for the month: what the analyst should write before the Board meets."""
        return [r for r in self.rows if r.rag == "Red" and r.metric_id not in self.row_notes]

    # The authority's pack: the icon matrix of its services (etl.serve.queries.icon_matrix).
    matrix: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparator_note: str = ""

    @property
    def matrix_units(self) -> list[str]:
        return list(dict.fromkeys(self.matrix["org_unit"])) if not self.matrix.empty else []

    def matrix_rows(self) -> list[tuple[str, list[dict]]]:
        """(KPI name, one cell per service) in catalogue order."""
        if self.matrix.empty:
            return []
        return [
            (rows["short_name"].iloc[0], rows.to_dict("records"))
            for _, rows in self.matrix.groupby("metric_id", sort=False)
        ]

    @property
    def show_comparators(self) -> bool:
        return any(r.benchmark_year for r in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        """Red, Amber, Green, No data: how many rated KPIs are in each."""
        out = dict.fromkeys(RAG_WORDS, 0)
        for row in self.rows:
            if row.rag in out:
                out[row.rag] += 1
        return out

    @property
    def monitored(self) -> int:
        return sum(1 for row in self.rows if not row.rated)

    def rows_by_area(self) -> list[tuple[str, list[ScoreRow]]]:
        """The scorecard in the improvement plan's order of areas."""
        return [
            (area, [r for r in self.rows if r.area == area])
            for area in self.areas
            if any(r.area == area for r in self.rows)
        ]
