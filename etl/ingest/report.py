"""What a load tells the analyst: its findings and its report (etl/ingest/load.py re-exports both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from etl.catalogue.contract import RETURNS

OUTCOMES = ("loaded", "loaded valid rows only", "re-dated", "no change", "refused", "preview", "undone", "skipped")


@dataclass
class Finding:
    severity: str  # "error" | "warning"
    line: int | None  # line in the file, header = line 1
    column: str | None  # the contract's column name
    value: str | None
    reason: str

    def describe(self, file_name: str) -> str:
        """`assessments.csv: line 7: assessment_completed_date: impossible date ... (value '31/02/2023')`."""
        parts = [file_name]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(self.column)
        reason = f"warning: {self.reason}" if self.severity == "warning" else self.reason
        text = ": ".join([*parts, reason])
        if self.value is not None:
            text += f" (value '{self.value}')"
        # One finding, one line: a value with a line break in it is shown escaped.
        return text.replace("\r", "\\r").replace("\n", "\\n")


@dataclass
class LoadReport:
    file_name: str
    extract_type: str | None
    rows_read: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    # Unchanged records this extract's later as-of date re-dated (their deadlines are judged at it).
    redated: int = 0
    # Records held from earlier loads that a return's window (the census) or collection year (the SSDA903,
    # etl/ingest/bundle.py) covers but the return lacks: they count nowhere.
    retired: int = 0
    # Records of a return that a return taken later already holds: that one's versions are kept.
    kept_newer: int = 0
    rejected: int = 0
    warnings: int = 0
    findings: list[Finding] = field(default_factory=list)
    first_period: str | None = None
    last_period: str | None = None
    outcome: str = "refused"  # loaded | loaded valid rows only | re-dated | no change | refused | preview
    load_id: int | None = None
    # Header names the contract does not declare: read past, never stored.
    dropped_columns: list[str] = field(default_factory=list)
    # How the file was read, for the analyst (an Annex A list recognised, a Yes/No column, a sheet skipped).
    notes: list[str] = field(default_factory=list)
    # The window the load is the whole truth for (docs/spec/windows.md), and what it did with it.
    window_from: date | None = None
    window_to: date | None = None
    retired_keys: list[tuple] = field(default_factory=list)
    held: int = 0  # versions kept for history: a list with a later as-of date speaks for them
    held_by: date | None = None
    kept_dates: int = 0  # dates this file gave blank or as Yes/No, kept from the version in force
    uncounted: list[str] = field(default_factory=list)  # KPIs its records cannot count
    # A check (dry run) of a whole file: the authority's figures it would change (shared by its lists).
    changes: list[FigureChange] | None = None
    # A list of a return (the CIN census): it loads with the return's other lists or not at all.
    whole: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return self.outcome != "refused"

    def summary(self) -> str:
        """One line for the analyst."""
        if self.outcome == "skipped":
            return f"{self.file_name}: skipped: {'; '.join(self.notes)}"
        head = f"{self.file_name}: {self.extract_type or 'unrecognised file'}"
        where = f" (load {self.load_id})" if self.load_id is not None else ""
        # No rows with errors (unreadable, or a good list of a workbook refused with its bad one): nothing to count.
        if self.outcome == "refused" and (self.rows_read == 0 or not self.rejected):
            return f"{head}: refused, nothing loaded{where}"
        if self.outcome == "refused":
            good = self.rows_read - self.rejected
            text = (
                f"{head}: refused, nothing loaded{where}: {self.rejected:,} of {counted(self.rows_read, 'row')} "
                f"{'has' if self.rejected == 1 else 'have'} errors (listed below). Correct them and load the file again"
            )
            if good and not self.whole and self.extract_type not in RETURNS:  # a return is all or nothing
                text += f", or load the {counted(good, 'valid row')} only"
            return text
        counts = (
            f"{counted(self.rows_read, 'row')} read: {self.added:,} added, {self.replaced:,} replaced, "
            f"{self.unchanged:,} unchanged"
        )
        if self.redated:
            counts += f" ({self.redated:,} re-dated to the as-of date)"
        if self.retired and self.window_from is None:  # a return's year (its notes say which); a window: below
            counts += f", {self.retired:,} retired"
        counts += f", {self.rejected:,} rejected, {counted(self.warnings, 'warning')}"
        text = f"{head}: {self.outcome}{where}: {counts}"
        if self.retired and self.window_from is not None:
            text += (
                f"; {counted(self.retired, 'record')} held from earlier loads {'is' if self.retired == 1 else 'are'} "
                f"not in this list, which covers {self.window_words()}: retired"
            )
        if self.held:
            text += (
                f"; {counted(self.held, 'record')} kept for history only: a list as of {self.held_by} "
                f"already speaks for {'it' if self.held == 1 else 'them'}"
            )
        if self.kept_dates:
            text += (
                f"; {counted(self.kept_dates, 'date')} this file gives blank or only as Yes/No kept from the "
                "earlier load"
            )
        if self.first_period:
            text += f"; periods {self.first_period} to {self.last_period}"
        if self.dropped_columns:
            text += f"; columns not in the contract dropped: {', '.join(self.dropped_columns)}"
        for note in self.notes:
            text += f"; {note}"
        return text

    def window_words(self) -> str:
        """`1 Feb 2023 to 31 Jul 2023`, or "" without a window."""
        if self.window_from is None:
            return ""
        return f"{_day(self.window_from)} to {_day(self.window_to)}"


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


@dataclass(frozen=True)
class FigureChange:
    """One KPI month whose authority figure a load would change."""

    metric_id: str
    period: str  # 2023-07
    before: tuple[float, float | None] | None  # (numerator, denominator), None: no figure
    after: tuple[float, float | None] | None

    def words(self, unit: str = "percent") -> str:
        return f"{self.metric_id} {self.period}: {_figure(self.before, unit)} -> {_figure(self.after, unit)}"


def _figure(value: tuple[float, float | None] | None, unit: str) -> str:
    if value is None:
        return "No data"
    numerator, denominator = value
    if unit == "percent" and denominator:
        return f"{numerator:,.0f}/{denominator:,.0f} ({100 * numerator / denominator:.1f}%)"
    if unit == "rate" and denominator:  # cases over FTE: 167/10.0 (16.7)
        return f"{numerator:,.0f}/{denominator:,.1f} ({numerator / denominator:.1f})"
    if unit in ("percent", "rate"):
        return "No data"
    return f"{numerator:,.0f}"


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
