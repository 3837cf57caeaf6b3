"""The SSDA903 children looked after return as a layout of the extract types (docs/spec/returns.md), declared
once as data.

A 903 return is a set of CSV tables (each recognised by its exact column set, docs/spec/returns.md
"Reading") or one XML file whose root is `EXPSSDA903`. This module says what each table holds, which tables
feed which contract type and how (`FEEDS`), what the XML calls things, and the code lists by collection year
(ssda903_codes.yml: a base year and each later year's diff, as liia-tools keeps the 903 schema). Reading the
files is etl/formats/ssda903_reader.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from etl.catalogue.contract import normalise_header

# Every table of the return and its columns, as DfE's CSV loading format and the national validator name them
# (../shared/reference/returns/ssda903.md 2.1). A CSV is a table when its header holds all of them.
TABLES: dict[str, tuple[str, ...]] = {
    "Header": ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
    "Episodes": (
        "CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE",
        "HOME_POST", "PL_POST", "URN",
    ),
    "Reviews": ("CHILD", "DOB", "REVIEW", "REVIEW_CODE"),
    "UASC": ("CHILD", "SEX", "DOB", "DUC"),
    "OC2": (
        "CHILD", "DOB", "SDQ_SCORE", "SDQ_REASON", "CONVICTED", "HEALTH_CHECK", "IMMUNISATIONS", "TEETH_CHECK",
        "HEALTH_ASSESSMENT", "SUBSTANCE_MISUSE", "INTERVENTION_RECEIVED", "INTERVENTION_OFFERED",
    ),
    "OC3": ("CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"),
    "AD1": ("CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE", "NB_ADOPTR", "SEX_ADOPTR", "LS_ADOPTR"),
    "PlacedAdoption": ("CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"),
    "PrevPerm": ("CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"),
    "Missing": ("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"),
    "SWEpisodes": ("CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"),
    "DoLo": ("CHILD", "DOB", "DOLO_START", "DOLO_END"),
}  # fmt: skip

# The tables a return must hold: without them no figure can be worked out.
REQUIRED = ("Header", "Episodes")

# The columns kept from each table a KPI reads (everything else, names, UPNs, postcodes, URNs, sex and
# ethnicity, is dropped as the file is read; a date of birth only gives the age a rule needs).
KEPT: dict[str, tuple[str, ...]] = {
    "Header": ("CHILD", "DOB"),  # DOB: only to check the subtables' children; never stored
    "Episodes": ("CHILD", "DECOM", "RNE", "LS", "PLACE", "DEC", "REC"),
    "OC2": ("CHILD", "DOB", "SDQ_SCORE", "IMMUNISATIONS", "TEETH_CHECK", "HEALTH_ASSESSMENT"),
    "OC3": ("CHILD", "DOB", "IN_TOUCH", "ACCOM"),
    "Missing": ("CHILD", "MISSING", "MIS_START", "MIS_END"),
}

# Which contract type each table feeds (None: no KPI reads it; it is checked for its children and skipped).
FEEDS: dict[str, str | None] = {
    "Header": None,
    "Episodes": "care_episodes",
    "OC2": "health_outcomes",
    "OC3": "care_leaver_outcomes",
    "Missing": "missing_episodes",
}

# The types a return writes, in the order they are written: one load, one undo (etl/ingest/bundle.py).
TYPES = ("care_episodes", "health_outcomes", "care_leaver_outcomes", "missing_episodes")

# DfE's XML (CLA.xsd, "Expanded SSDA903 Return"): root EXPSSDA903, CHILD elements each with one HEADER
# (one-per-child items flat in it, the repeating tables nested) and EPISODE elements. Where a tag differs from
# the CSV column it is renamed.
XML_ROOT = "EXPSSDA903"
XML_RENAMES = {"CHILDID": "CHILD", "PL": "PLACE"}
# Nested in HEADER: element -> table.
XML_NESTED = {"AMISSING": "Missing", "AREVIEW": "Reviews", "OC2": "OC2", "AD_PLACED": "PlacedAdoption"}
# A table given flat in HEADER, present when this item is.
XML_FLAT = {"OC3": "IN_TOUCH", "UASC": "DUC"}

# Temporary placements: not a placement of their own (placements_3plus), nor a return from one.
TEMPORARY = ("T0", "T1", "T2", "T3", "T4")
# Looked after under a series of short breaks: outside DfE's children looked after counts.
SHORT_BREAKS = ("V3", "V4")
# A reason for a new episode that starts a new placement (every reason but L, a change of legal status only).
NEW_PLACEMENT = ("S", "P", "B", "T", "U")

_YEAR = re.compile(r"^\s*(\d{4})\s*/\s*(\d{2}|\d{4})\s*$")


@dataclass(frozen=True)
class Year:
    """A collection year, 1 April to 31 March, named by the year it starts in (`2024/25` is 2024)."""

    first: int

    @classmethod
    def parse(cls, text: str) -> Year:
        found = _YEAR.match(text or "")
        if not found or int(found[2]) % 100 != (int(found[1]) + 1) % 100:
            raise ValueError(f"{text!r} is not a collection year like 2024/25")
        return cls(int(found[1]))

    @classmethod
    def of(cls, day: date) -> Year:
        """The collection year holding `day`: the year ending on the 31 March on or after it."""
        return cls(day.year if day.month >= 4 else day.year - 1)

    @property
    def start(self) -> date:
        return date(self.first, 4, 1)

    @property
    def end(self) -> date:
        return date(self.first + 1, 3, 31)

    @property
    def ends(self) -> int:
        """The year it ends in: DfE's `time_period`, and the key of the code lists."""
        return self.first + 1

    @property
    def time_period(self) -> int:
        return self.ends

    def __str__(self) -> str:
        return f"{self.first}/{(self.first + 1) % 100:02d}"


CODES_FILE = Path(__file__).with_name("ssda903_codes.yml")


@cache
def _codes() -> dict:
    import yaml  # here, not at import: only a 903 load reads the code lists

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it
    return yaml.load(CODES_FILE.read_text(encoding="utf-8"), Loader=loader)  # a safe loader either way


@cache
def codes(year: Year) -> dict[str, frozenset[str]]:
    """The code lists of a collection year: the base year's, with every later diff up to this year applied."""
    data = _codes()
    lists = {k: list(v) for k, v in data["base"].items() if k != "year"}
    for ends, diff in sorted(data.get("diffs", {}).items()):
        if int(ends) > year.ends:
            break
        for field, change in diff.items():
            kept = [c for c in lists[field] if c not in change.get("remove", [])]
            lists[field] = kept + [c for c in change.get("add", []) if c not in kept]
    return {k: frozenset(v) for k, v in lists.items()}


def table_of(header: list[str]) -> str | None:
    """The 903 table a CSV header is: every one of the table's columns present (matched as the contract
    matches headers: case, spaces, underscores and a byte-order mark do not matter; extra columns are
    tolerated). Of two tables whose columns it holds (CHILD and DOB are in nine), the larger one."""
    have = {normalise_header(h) for h in header if h}
    fits = [name for name, columns in TABLES.items() if {normalise_header(c) for c in columns} <= have]
    return max(fits, key=lambda name: len(TABLES[name]), default=None)
