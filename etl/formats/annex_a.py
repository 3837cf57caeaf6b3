"""Ofsted Annex A as a layout of the extract types (docs/spec/annex-a.md), declared once.

Every list is data: its number, what it holds, the extract type it feeds (None: no KPI reads it, so it
is skipped and reported), one heading that identifies it, and for each contract column the headings
real workbooks use for it. Headings are matched as the contract matches them (ignoring case, spaces and
punctuation), so curly quotes, a missing `?`, a doubled bracket or trailing spaces need no entry; a new
spelling is one more string in its tuple. The reader, the validator, the loader and the KPI SQL are the
same as for the dashboard's own CSVs: nothing here reads a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from etl.catalogue.contract import UNALLOCATED as UNALLOCATED  # re-exported: the layout's blank team
from etl.catalogue.contract import normalise_header


@dataclass(frozen=True)
class AnnexList:
    number: int
    title: str
    extract: str | None  # the extract type it feeds; None = no KPI reads it (skipped, reported)
    signature: tuple[str, ...]  # a heading found only in this list identifies it
    headings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # contract column -> headings
    # The months before the extract's as-of date the list holds every record of (docs/spec/windows.md):
    # Ofsted asks for six unless the list itself says otherwise.
    window_months: int = 6

    @property
    def label(self) -> str:
        return f"Annex A List {self.number} ({self.title})"


_CHILD = ("Child Unique ID", "Child ID", "Unique ID")
_TEAM = ("Allocated Team", "Team", "Allocated Team Name")

LISTS: tuple[AnnexList, ...] = (
    AnnexList(1, "contacts", None, ("Date of Contact", "Contact Source")),
    AnnexList(2, "early help assessments", None, ("Organisation completing assessment",)),
    AnnexList(
        3,
        "referrals",
        "referrals",
        ("Referral NFA", "Number of Referrals in Last 12 Months", "Referral Source"),
        {"child_id": _CHILD, "referral_date": ("Date of Referral", "Referral Date"), "team": _TEAM},
    ),
    AnnexList(
        4,
        "assessments",
        "assessments",
        ("Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"),
        {
            "child_id": _CHILD,
            "assessment_start_date": ("Continuous Assessment Start Date", "Assessment Start Date (Continuous)"),
            "child_seen_date": (
                "Child Seen During Continuous Assessment",
                "Date Child Seen During Continuous Assessment",
                "Child Seen During Continuous Assessment (Y/N)",
            ),
            "assessment_completed_date": (
                "Continuous Assessment Date of Authorisation",
                "Date of Authorisation",
                "Continuous Assessment Authorisation Date",
            ),
            "team": _TEAM,
        },
    ),
    AnnexList(
        5,
        "section 47 enquiries and ICPCs",
        "s47_enquiries",
        ("Strategy discussion initiating Section 47 Enquiry Start Date", "Number of ICPCs in the last 12 months"),
        {
            "child_id": _CHILD,
            "strategy_discussion_date": (
                "Strategy discussion initiating Section 47 Enquiry Start Date",
                "Section 47 Enquiry Start Date",
                "Strategy Discussion Date",
            ),
            "icpc_date": ("Date of Initial Child Protection Conference", "ICPC Date"),
            "icpc_not_required": (
                "Was an Initial Child Protection Conference deemed unnecessary?",
                "ICPC deemed unnecessary",
            ),
            "team": _TEAM,
        },
    ),
    AnnexList(6, "children in need", None, ("CIN Start Date", "CIN Closure Date")),
    AnnexList(
        7,
        "child protection plans",
        "cp_plans",
        ("Child Protection Plan Start Date",),
        {
            "child_id": _CHILD,
            "cpp_start_date": ("Child Protection Plan Start Date",),
            "cpp_end_date": ("Child Protection Plan End Date",),
            "previous_plans": ("Number of Previous Child Protection Plans",),
            "team": _TEAM,
        },
    ),
    AnnexList(
        8,
        "children in care",
        "children_in_care",
        ("Date Started to be Looked After", "Date of Last Dental Check"),
        {
            "child_id": _CHILD,
            "care_start_date": ("Date Started to be Looked After",),
            "care_end_date": ("Date Ceased to be Looked After",),
            "last_dental_check_date": ("Date of Last Dental Check",),
            "placements_last_12m": (
                "Number of Placements in the Last 12 months",
                "Number of Placements in Last 12 Months",
            ),
            "team": _TEAM,
        },
    ),
    AnnexList(
        9,
        "care leavers",
        "care_leavers",
        ("Latest Pathway Plan Review Date", "Allocated Personal Advisor"),
        {
            "child_id": _CHILD,
            "latest_pathway_plan_review": ("Latest Pathway Plan Review Date", "Date of Latest Pathway Plan Review"),
            "team": _TEAM,
        },
    ),
    AnnexList(10, "adoption", None, ("Date of Decision that Child Should be Placed for Adoption",)),
    AnnexList(11, "adopters", None, ("Individual adopter identifier",)),
)

# The lists' coded values carry a prefix (`a) Yes`, `q) 6: Police`): stripped before a flag is read.
CODE_PREFIX = r"^[a-zA-Z]{1,2}\)\s*"

# The header may sit below a title row (Ofsted's template: `List 4: Assessments` in row 1).
HEADER_SEARCH_ROWS = 6


def headings_for(extract: str, column: str) -> tuple[str, ...]:
    """Every Annex A heading that gives `column` of `extract`."""
    return tuple(h for annex in LISTS if annex.extract == extract for h in annex.headings.get(column, ()))


def identify(header: list[str], sheet_name: str | None = None) -> AnnexList | None:
    """The Annex A list whose identifying heading the header carries: by content, not sheet name;
    the name (`List_4`, `List 4`, `List 4 - Assessments`) only breaks a tie."""
    normalised = {normalise_header(h) for h in header if h}
    hits = [annex for annex in LISTS if any(normalise_header(s) in normalised for s in annex.signature)]
    if len(hits) > 1 and sheet_name:
        named = re.match(r"\s*list\s*[_ -]?\s*(\d+)", sheet_name, flags=re.IGNORECASE)
        hits = [annex for annex in hits if named and annex.number == int(named[1])]
    return hits[0] if len(hits) == 1 else None
