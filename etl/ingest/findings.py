"""Findings of one kind, grouped, so a report is read by a person and not scrolled.

"412 rows name 9 teams that are not in the organisation reference: ..." once, not 412 lines: a kind
is a severity, a column and a reason with its particulars (quoted values, numbers, dates) taken out.
The first few line numbers of each kind are shown; every finding stays in the load log
(`load_findings`, `cpip loads --findings LOAD_ID`, the data page).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, MutableSequence
from dataclasses import dataclass, field
from typing import Protocol

from etl.ingest.report import Finding

SHOWN_LINES = 5
SHOWN_VALUES = 10

# ASCII digits, as SQL's twin below reads them.
_PARTICULARS = re.compile(r"'(?:[^']|'')*'|[0-9][0-9,.:/ -]*[0-9]|[0-9]")
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
    """Errors first, then warnings, each kind once, in order of first appearance. A file's staged findings
    (`StagedFindings`) come grouped by SQL already; only those added since are grouped here."""
    groups: dict[tuple[str, str | None, str], FindingGroup] = {}
    if isinstance(findings, StagedFindings) and findings.groups is not None:
        groups = {(g.severity, g.column, g.kind): copy.deepcopy(g) for g in findings.groups}
        findings = findings.added
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


# The SQL twins of `_PARTICULARS` and `_UNKNOWN`, as SQL literals (RE2 reads them as Python does).
_PARTICULARS_SQL = "'''(?:[^'']|'''')*''|[0-9][0-9,.:/ -]*[0-9]|[0-9]'"
_UNKNOWN_SQL = "'^unknown (team|team, service or area) ''((?:[^'']|'''')*)'': (.*)$'"


class StagedFindings(MutableSequence):
    """A staged file's findings (temp table `findings`), fetched in one query as tuples and grouped by SQL
    (`groups`), so 50,000 warnings cost neither 50,000 objects nor 50,000 regular-expression substitutions
    until someone reads them one by one. Findings appended later (`added`) are grouped by `group_findings`;
    any other change makes it a plain list of findings (`groups` None)."""

    def __init__(self, con) -> None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _shown AS SELECT row_number() OVER "
            "(ORDER BY severity = 'warning', line, ord, column_name) AS n, severity, line, column_name, value, reason,"
            f" regexp_replace(reason, {_PARTICULARS_SQL}, '…', 'g') AS kind,"
            f" CASE WHEN regexp_matches(reason, {_UNKNOWN_SQL})"
            f" THEN replace(regexp_extract(reason, {_UNKNOWN_SQL}, 2), '''''', '''') END AS unknown_name"
            " FROM findings"
        )
        self._rows: list[tuple] | None = con.execute(
            "SELECT severity, line, column_name, value, reason FROM _shown ORDER BY n"
        ).fetchall()
        self._items: list = []
        self.added: list = []
        self.groups: list[FindingGroup] | None = _sql_groups(con)
        con.execute("DROP TABLE _shown")

    def _list(self) -> list:
        if self._rows is not None:
            self._items = [Finding(*row) for row in self._rows] + self._items
            self._rows = None
        return self._items

    def __len__(self) -> int:
        return (len(self._rows) if self._rows is not None else 0) + len(self._items)

    def __getitem__(self, index):
        if self._rows is not None and isinstance(index, int) and 0 <= index < len(self._rows):
            return Finding(*self._rows[index])
        return self._list()[index]

    def __setitem__(self, index, value) -> None:
        self.groups = None
        self._list()[index] = value

    def __delitem__(self, index) -> None:
        self.groups = None
        del self._list()[index]

    def insert(self, index: int, value) -> None:
        if index >= len(self):  # appended (`append`, `+=`): grouped on its own
            self.added.append(value)
            self._items.append(value)
        else:
            self.groups = None
            self._list().insert(index, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Iterable):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))


def _sql_groups(con) -> list[FindingGroup]:
    """`group_findings` of temp table `_shown` in one query: the same groups, in the same order."""
    rows = con.execute(
        f"""
        WITH g AS (
            SELECT severity, column_name, kind, count(*) AS n_rows, min(n) AS first_n,
                   list(line ORDER BY n) FILTER (WHERE line IS NOT NULL) AS lines
            FROM _shown GROUP BY severity, column_name, kind
        ),
        names AS (
            SELECT severity, column_name, kind, list(unknown_name ORDER BY first) AS names FROM (
                SELECT severity, column_name, kind, unknown_name, min(n) AS first FROM _shown
                WHERE unknown_name IS NOT NULL GROUP BY ALL
            ) AS u GROUP BY ALL
        )
        SELECT g.severity, g.column_name, g.kind, g.n_rows, list_slice(g.lines, 1, {SHOWN_LINES}),
               list_slice(coalesce(nm.names, []), 1, {SHOWN_VALUES * 100 + 1}),
               f.severity, f.line, f.column_name, f.value, f.reason
        FROM g JOIN _shown f ON f.n = g.first_n
        LEFT JOIN names nm ON nm.severity = g.severity AND nm.column_name IS NOT DISTINCT FROM g.column_name
             AND nm.kind = g.kind
        ORDER BY g.severity = 'warning', g.first_n
        """
    ).fetchall()
    return [
        FindingGroup(severity, column, kind, Finding(*first), count, list(lines or []), list(names))
        for severity, column, kind, count, lines, names, *first in rows
    ]
