"""Findings of one kind, grouped, so a report is read by a person and not scrolled.

"412 rows name 9 teams that are not in the organisation reference: ..." once, not 412 lines: a kind
is a severity, a column and a reason with its particulars (quoted values, numbers, dates) taken out.
The first few line numbers of each kind are shown; every finding stays in the load log
(`load_findings`, `cpip loads --findings LOAD_ID`, the data page).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

SHOWN_LINES = 5
SHOWN_VALUES = 10

_PARTICULARS = re.compile(r"'(?:[^']|'')*'|\d[\d,.:/ -]*\d|\d")
_UNKNOWN = re.compile(r"^unknown (team|team, service or area) '((?:[^']|'')*)': (.*)$")


class _Finding(Protocol):
    severity: str
    line: int | None
    column: str | None
    value: str | None
    reason: str

    def describe(self, file_name: str) -> str: ...


@dataclass
class FindingGroup:
    severity: str
    column: str | None
    kind: str
    first: _Finding
    count: int = 0
    lines: list[int] = field(default_factory=list)  # the first few
    names: list[str] = field(default_factory=list)  # distinct unknown names, in order of appearance

    def describe(self, file_name: str, load_id: int | None = None) -> str:
        """One line: the finding itself when it is alone, else the kind with its count and first lines."""
        if self.count == 1:
            return self.first.describe(file_name)
        shown = ", ".join(str(n) for n in self.lines)
        more = self.count - len(self.lines)
        where = f"lines {shown}" + (f" and {more:,} more" if more > 0 else "")
        if load_id is not None and more > 0:
            where += f"; all of them: cpip loads --findings {load_id}"
        unknown = _UNKNOWN.match(self.first.reason)
        if unknown:
            what, _, why = unknown.groups()
            plural = "teams" if what == "team" else "names"
            listed = ", ".join(self.names[:SHOWN_VALUES]) + (", ..." if len(self.names) > SHOWN_VALUES else "")
            count = f"{len(self.names)} {plural if len(self.names) != 1 else plural[:-1]}"
            reason = (
                f"{self.count:,} rows name {count} that {'are' if len(self.names) != 1 else 'is'} {why_phrase(why)}"
            )
            text = f"{file_name}: {self.column}: {reason}: {listed} ({where})"
        else:
            warning = "warning: " if self.severity == "warning" else ""
            reason = self.first.reason
            text = f"{file_name}: {self.column + ': ' if self.column else ''}{warning}{self.count:,} rows: {reason}"
            text += f" ({where})" if self.lines else ""
        return text.replace("\r", "\\r").replace("\n", "\\n")


def why_phrase(why: str) -> str:
    """`not in the organisation reference` reads on; `no organisation reference is loaded yet` needs a turn."""
    return why if why.startswith("not ") else f"unknown ({why})"


def group_findings(findings: Iterable[_Finding]) -> list[FindingGroup]:
    """Errors first, then warnings, each kind once, in order of first appearance."""
    groups: dict[tuple[str, str | None, str], FindingGroup] = {}
    for finding in findings:
        kind = _PARTICULARS.sub("…", finding.reason)
        key = (finding.severity, finding.column, kind)
        group = groups.get(key)
        if group is None:
            group = groups[key] = FindingGroup(finding.severity, finding.column, kind, finding)
        group.count += 1
        if finding.line is not None and len(group.lines) < SHOWN_LINES:
            group.lines.append(finding.line)
        unknown = _UNKNOWN.match(finding.reason)
        if unknown and len(group.names) <= SHOWN_VALUES * 100:
            name = unknown[2].replace("''", "'")
            if name not in group.names:
                group.names.append(name)
    return sorted(groups.values(), key=lambda g: g.severity == "warning")


def unknown_teams(findings: Iterable[_Finding]) -> list[str]:
    """Every team a file names that the organisation reference lacks, once each, in order of appearance."""
    names: dict[str, None] = {}
    for finding in findings:
        unknown = _UNKNOWN.match(finding.reason)
        if finding.column == "team" and unknown:
            names.setdefault(unknown[2].replace("''", "'"), None)
    return list(names)
