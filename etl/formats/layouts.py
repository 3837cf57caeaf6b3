"""The national layouts the reader knows, registered once: each maps its lists' headings onto the
contract's extract types (docs/architecture.md, "How to add a format").

A layout is data in its own module (etl/formats/annex_a.py); this module is where it is registered, so the
reader (`etl.readers.read`: header matching, recognising which list a header is) asks every layout the
same questions without naming any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from etl.formats import annex_a, cin_census


class LayoutList(Protocol):
    """One list of a layout (Annex A's List 4): the type it feeds (None: no KPI reads it) and its name."""

    @property
    def extract(self) -> str | None: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Layout:
    name: str
    # Which of the layout's lists a header row is (the sheet or table name may break a tie), or None.
    identify: Callable[[list[str], str | None], LayoutList | None]
    # Every heading the layout uses for a contract column of a type: (extract type, column) -> headings.
    headings_for: Callable[[str, str], tuple[str, ...]]
    # How many rows down the header may sit (a title row above it).
    header_rows: int = 1
    # The layout's lists may leave the team blank: such a record counts for the authority as this unit.
    blank_team: str | None = None
    # False: the layout never names a team (a statutory return), so a blank team is no finding: its records
    # count for the team the allocation history (child_teams) gives, else as blank_team.
    team_given: bool = True


LAYOUTS: list[Layout] = [
    Layout(
        "Annex A",
        annex_a.identify,
        annex_a.headings_for,
        header_rows=annex_a.HEADER_SEARCH_ROWS,
        blank_team=annex_a.UNALLOCATED,
    ),
    Layout(
        "CIN census",
        cin_census.identify,
        cin_census.headings_for,
        blank_team=cin_census.team_default(),
        team_given=False,
    ),
]


def register(layout: Layout) -> None:
    """Add a layout (a format's module, or a test's made-up one); `unregister` takes it out again."""
    LAYOUTS.append(layout)


def unregister(layout: Layout) -> None:
    LAYOUTS.remove(layout)


def identify(header: list[str], sheet_name: str | None = None) -> tuple[Layout, LayoutList] | None:
    """The layout and list a header row is, the first layout that knows it."""
    for layout in LAYOUTS:
        found = layout.identify(header, sheet_name)
        if found is not None:
            return layout, found
    return None


def headings_for(extract: str, column: str) -> tuple[str, ...]:
    """Every heading any layout uses for `column` of `extract`."""
    return tuple(h for layout in LAYOUTS for h in layout.headings_for(extract, column))


def header_rows() -> int:
    """How many of a file's first rows to search for its header."""
    return max((layout.header_rows for layout in LAYOUTS), default=1)
