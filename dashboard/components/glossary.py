"""The words a head of service may not know, defined once: abbreviations
(expanded in an <abbr> where they appear, and listed on the glossary page) and
the statistical and rating terms the pages use. A hover tooltip alone is not
enough (a keyboard or touch user never sees it), so every page links to the
glossary, where each term is plain text."""

from __future__ import annotations

import re

from dash import html

ABBREVIATIONS: dict[str, str] = {
    "CPIP": "Continual Practice Improvement Plan",
    "KPI": "key performance indicator",
    "KPIs": "key performance indicators",
    "RAG": "Red, Amber, Green rating",
    "SPC": "statistical process control",
    "ICPC": "initial child protection conference",
    "ICPCs": "initial child protection conferences",
    "SDQ": "Strengths and Difficulties Questionnaire",
    "CAMHS": "child and adolescent mental health services",
    "A&I": "Assessment and Intervention (a service)",
    "FS": "Family Safeguarding (a service)",
    "DfE": "Department for Education",
    "FTE": "full-time equivalent",
    "XmR": "individuals and moving range (a kind of SPC chart)",
}

# Longest first, so "ICPCs" is matched before "ICPC"; whole words only.
_PATTERN = re.compile(
    r"(?<![\w&])(" + "|".join(re.escape(k) for k in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?![\w&])"
)


def with_abbreviations(text: str) -> list:
    """`text` with each known abbreviation in an <abbr title="...">, as Dash children."""
    parts: list = []
    at = 0
    for found in _PATTERN.finditer(text):
        if found.start() > at:
            parts.append(text[at : found.start()])
        parts.append(html.Abbr(found.group(1), title=ABBREVIATIONS[found.group(1)]))
        at = found.end()
    if at < len(text):
        parts.append(text[at:])
    return parts


# (term, what it means), in the order a reader meets them on the scorecard.
TERMS: list[tuple[str, str]] = [
    (
        "RAG (Red, Amber, Green)",
        "How a KPI's value compares with its thresholds for the financial year: Green meets the target, Amber is "
        "close, Red is short of it. Each rating carries its word and a shape as well as its colour.",
    ),
    (
        "Polarity",
        "Which way is better for a KPI: higher is better (most timeliness measures), lower is better (re-referrals, "
        "placement moves), or monitored (a count watched for change, with no better direction and no RAG).",
    ),
    ("Target and thresholds", "The value a KPI aims for, and the values where Green turns Amber and Amber turns Red."),
    (
        "Since last month",
        "The direction of travel against the previous month, judged in the KPI's polarity: improving or worsening.",
    ),
    (
        "No data",
        "No records for this KPI, month and unit were loaded. The Data page shows which extracts have been loaded "
        "and up to which month; the notice above a scorecard names the extracts a month is still waiting for.",
    ),
    (
        "England and statistical neighbours",
        "The latest published figures (DfE) for England and the median of the authorities most like this one.",
    ),
    (
        "SPC (statistical process control)",
        "A way of telling a real change from the ordinary ups and downs of a process, from the NHS Making Data "
        "Count approach. Each month is a point on a chart with the mean and the process limits.",
    ),
    (
        "Common cause variation",
        "The ordinary month-to-month ups and downs of a process that has not changed. No action is signalled.",
    ),
    (
        "Special cause variation",
        "A change unlikely to be chance: a month beyond a process limit, 7 or more months in a row on one side of "
        "the mean, 7 or more rising or falling in a row, or 2 of 3 months close to a limit on the same side. It is "
        "improving or concerning in the KPI's polarity.",
    ),
    (
        "Process limits",
        "The range the process will fall in almost every month while nothing changes: the mean plus and minus "
        "three sigma (three standard deviations of the month-to-month variation).",
    ),
    ("Two-sigma lines", "The mean plus and minus two sigma: used by the rule '2 of 3 months close to a limit'."),
    (
        "Assurance",
        "Whether the process can be relied on to meet its target: it will consistently pass (the limits are all on "
        "the target's good side), consistently fail (all on its bad side), or hit and miss.",
    ),
    (
        "Hit and miss",
        "The target lies between the process limits: some months will meet it and some will not, by chance alone, "
        "until the process itself changes.",
    ),
    (
        "p-chart",
        "An SPC chart of a percentage whose limits are set from each month's number of cases: wider in months "
        "with fewer cases.",
    ),
    ("XmR chart", "An SPC chart of individual values, with limits from the average moving range between months."),
    (
        "Rebase",
        "A point where the way of working changed (an inspection, a new process), after which the mean and limits "
        "are calculated afresh.",
    ),
    (
        "FTE (full-time equivalent)",
        "Staff counted by their contracted hours: two half-time social workers are one FTE. The workforce KPIs "
        "(caseload, agency workers, turnover, vacancies) count FTE, as DfE's workforce figures do.",
    ),
    (
        "Too few points",
        "SPC icons need at least 12 months of data (since the last rebase, if there was one); until then the "
        "scorecard says how many months there are of the 12.",
    ),
]


def glossary_link(text: str = "What the words and abbreviations mean") -> html.A:
    """A plain link to the glossary page (a keyboard reaches it; a tooltip it does not)."""
    return html.A(text, href="/glossary", className="cpip-glossary-link")
