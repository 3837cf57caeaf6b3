"""The XML reader: a statutory return's XML file as lists of rows, streamed.

lxml's `iterparse` reads the file element by element (a county's census is tens of megabytes) and each
record is cleared once read, so memory holds the rows the loader needs, never the tree. It resolves no
entities and fetches nothing (`resolve_entities=False, no_network=True`, no DTD loaded), and a file that
declares a document type at all is refused before parsing: a return never has one, and it is how an
entity bomb (billion laughs) or an external entity would arrive.

Which return a file is comes from its root element (`ROOTS`: the CIN census's `Message`, the SSDA903's
`EXPSSDA903`); its layout
(etl/formats/) says what to take. Element order within a parent, boolean spellings and stray text between
elements are tolerated; stray text is reported as a query.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from etl.catalogue.contract import EXTRACT_TYPES
from etl.formats import cin_census, ssda903, ssda903_reader
from etl.formats.cin_census import MODULES, YEARS, Issue, Module, Record
from etl.readers.read import ExtractFileError, Part

_CHUNK = 8 * 1024 * 1024
_PROLOG_BYTES = 64 * 1024
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT = re.compile(rb"<\s*([A-Za-z_][\w.-]*)")


def _prolog(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_PROLOG_BYTES)
    except IsADirectoryError:
        raise ExtractFileError("is a folder, not an XML file") from None
    except FileNotFoundError:
        raise ExtractFileError("file not found") from None
    except PermissionError:
        raise ExtractFileError("cannot be read (permission denied)") from None


def root_of(path: Path) -> str:
    """The root element's name, from the file's first bytes; refuses a DOCTYPE or ENTITY declaration."""
    head = _prolog(path)
    if not head.strip():
        raise ExtractFileError("the file is empty")
    if _DOCTYPE.search(head):
        raise ExtractFileError(
            "the XML declares a document type or entities, which no statutory return does: refused unread"
            " (entities are never expanded)"
        )
    body = re.sub(rb"<\?.*?\?>|<!--.*?-->", b"", head.lstrip(b"\xef\xbb\xbf"), flags=re.DOTALL)
    found = _ROOT.search(body)
    if not found:
        raise ExtractFileError("not an XML file: no root element in its first 64 KB")
    return found[1].decode("ascii", "replace")


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _iterparse(path: Path, tags: Sequence[str]):
    from lxml import etree

    return etree.iterparse(
        str(path),
        events=("end",),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        # The indentation between elements is never read: not kept (a sixth less to parse). Text beside an
        # element that is not only whitespace stays, and is reported as stray.
        remove_blank_text=True,
    )


@dataclass
class _Census:
    """What the census reader gathers while streaming: rows per module, issues, the header's dates."""

    rows: dict[str, list[list[object]]] = field(default_factory=lambda: {m.element: [] for m in MODULES})
    lines: dict[str, list[int]] = field(default_factory=lambda: {m.element: [] for m in MODULES})
    issues: dict[str, list[Issue]] = field(default_factory=lambda: {m.element: [] for m in MODULES})
    refused: dict[str, int] = field(default_factory=lambda: {m.element: 0 for m in MODULES})
    records: list[tuple[Record, str]] = field(default_factory=list)
    reference_date: str | None = None
    header_line: int | None = None
    children: int = 0
    stray: list[tuple[int | None, str]] = field(default_factory=list)
    checker: _Checker | None = None  # what checks and makes rows as each child ends, once the year is known


_EPISODE = next(m for m in MODULES if not m.below)
_MODULES = {m.below[0]: m for m in MODULES if m.below}  # element below CINdetails -> its module


def _strip(text: str | None) -> str | None:
    if text is None:
        return None
    if text[:1].isspace() or text[-1:].isspace():
        return text.strip() or None
    return text or None


# The elements the reader asks lxml for (it filters the rest in C): each child, its ID, each CIN episode and
# module, and the values the product reads. Everything else (names, UPNs, dates of birth, codes) is never
# seen by Python.
_LEAVES = frozenset({"LAchildID", *_EPISODE.fields.values(), *cin_census.EPISODE_EXTRA, "DateOfInitialCPC"} | {
    e for m in MODULES if m.below for e in m.fields.values()
})  # fmt: skip
_TAGS = (cin_census.RECORD, "ReferenceDate", "ChildIdentifiers", "CINdetails", *_MODULES, *sorted(_LEAVES))


def _stray(element, into: list[tuple[int | None, str]]) -> None:
    """Text beside an element where only elements belong (the national validator's own samples carry the
    literal `PersonBirthDate` inside ChildIdentifiers): ignored, and reported where it is looked for (among a
    child's identifiers; elsewhere it is ignored unread)."""
    tail = element.tail
    if tail is not None and not tail.isspace():
        into.append((element.sourceline, tail.strip()))


def read_census(path: Path, year_end: Callable[[str | None], date | None] | None = None) -> _Census:
    """Stream one census: lxml hands over only the elements read (`_TAGS`), as each ends; a child's
    records are made when its episode ends, and the child is freed when it ends (memory stays flat).
    Given `year_end` (the census year's last day from the reference date, which the header gives before
    any child), each child's records are checked and made rows as the child ends (`_Checker`); else they
    are kept in `records` for the caller."""
    from lxml import etree

    census = _Census()
    records = census.records
    seen_children: set[str] = set()
    child_issues: list[Issue] = []
    child_id: str | None = None
    episode: dict[str, str | None] = {}  # the CIN episode's own values so far
    fields: dict[str, str | None] = {}  # the current module's values so far
    modules: list[tuple[Module, dict[str, str | None], int | None]] = []  # the episode's modules so far
    episodes: list[tuple[dict[str, str | None], list, int | None]] = []  # the child's episodes so far
    parse_date = cin_census.parse_date
    checker: _Checker | None = None
    leaves, episode_leaves, module_of = _LEAVES, _EPISODE_LEAVES, _MODULES
    try:
        for _, element in _iterparse(path, _TAGS):
            tag = element.tag
            if tag in leaves:
                if tag in episode_leaves:
                    episode[tag] = _strip(element.text)
                elif tag == "LAchildID":
                    child_id = _strip(element.text)
                elif tag == "DateOfInitialCPC" and element.getparent().tag == "CINdetails":
                    episode[tag] = _strip(element.text)
                else:
                    fields[tag] = element.text
            elif tag in module_of:
                modules.append((module_of[tag], fields, element.sourceline))
                fields = {}
            elif tag == "CINdetails":
                episodes.append((episode, modules, element.sourceline))
                episode, modules, fields = {}, [], {}
            elif tag == "ChildIdentifiers":
                for item in element:
                    _stray(item, census.stray)
            elif tag == cin_census.RECORD:
                census.children += 1
                line = element.sourceline
                key = child_id or ""
                if checker is None and year_end is not None:
                    checker = census.checker = _Checker(census, year_end(census.reference_date))
                made = [] if checker is not None else records
                for values, found, episode_line in episodes:
                    referral = parse_date(values.get("CINreferralDate"))
                    episode_icpc = values.get("DateOfInitialCPC") is not None
                    made.append((Record(_EPISODE, values, episode_line, referral), key))
                    for module, given, module_line in found:
                        made.append((Record(module, given, module_line, referral, episode_icpc), key))
                if checker is not None:
                    checker.take(made)
                # An ID of 20 letters and digits or fewer (every child, nearly) has nothing to check.
                plain = child_id is not None and len(child_id) <= 20 and child_id.isascii() and child_id.isalnum()
                issues = [] if plain else list(cin_census.check_child_id(child_id, line))
                if child_id in seen_children:
                    issues.append(Issue("8510", child_id, "ChildIdentifiers", "LAchildID", child_id, line))
                seen_children.add(key)
                if issues:
                    child_issues += issues
                    # A child the census cannot name once is refused with its records (counted as one).
                    census.refused["CINdetails"] += any(i.severity == "error" for i in issues)
                child_id, episodes = None, []
                element.clear(keep_tail=False)
                parent = element.getparent()
                while element.getprevious() is not None and parent is not None:
                    del parent[0]
            elif tag == "ReferenceDate":
                census.reference_date = _strip(element.text)
                census.header_line = element.sourceline
    except etree.XMLSyntaxError as exc:
        raise ExtractFileError(f"line {exc.lineno}: not well-formed XML ({exc.msg})") from None
    # The children's own issues come first, as the census lists its children before their records.
    census.issues["CINdetails"][:0] = child_issues
    return census


_EPISODE_LEAVES = frozenset({*_EPISODE.fields.values(), *cin_census.EPISODE_EXTRA})


class _Checker:
    """Each record checked (cin_census.check) and, unless an error refuses it, made its list's row, as its
    child ends: what the reader keeps is the rows, never the records. Without a census year (no or a bad
    reference date: the census is refused for that) nothing is checked."""

    def __init__(self, census: _Census, year_end: date | None) -> None:
        self.census, self.year_end = census, year_end
        self.working_days = _working_days(year_end) if year_end is not None else None
        self.builders = {m.element: _row_builder(m) for m in MODULES}
        self.open_plans: dict[str, list[int | None]] = {}

    def take(self, made: list[tuple[Record, str]]) -> None:
        if self.year_end is None:  # no census year yet: kept until it is known (or the census is refused)
            self.census.records += made
            return
        census, check, year_end, working_days = self.census, cin_census.check, self.year_end, self.working_days
        for record, child in made:
            element = record.module.element
            # Two records of one module with the same child and start are the validator's duplicate record key.
            issues = check(record, child, year_end, working_days)
            if element == "ChildProtectionPlans" and not record.values.get("CPPendDate"):
                self.open_plans.setdefault(child, []).append(record.line)
            if issues:
                census.issues[element] += issues
                if any(i.severity == "error" for i in issues):
                    census.refused[element] += 1
                    continue  # refused anyway; the findings say why
            census.rows[element].append(self.builders[element](child, record.values))
            census.lines[element].append(record.line or 0)

    def finish(self) -> None:
        """CIN rule 8935: a child with more than one open plan (a query)."""
        for child, lines in self.open_plans.items():
            if len(lines) > 1:
                self.census.issues["ChildProtectionPlans"].append(
                    Issue("8935", child, "ChildProtectionPlans", "CPPendDate", None, lines[1])
                )


def _census_year_end(reference_date: str | None) -> date | None:
    year_end = cin_census.parse_date(reference_date)
    return year_end if year_end is not None and (year_end.month, year_end.day) == (3, 31) else None


def census_parts(path: Path, name: str) -> Iterator[Part]:
    """The CIN census reader: one list per module (referrals, assessments, section 47 enquiries, child
    protection plans), each with the contract's columns as its header and one row per record, read in one
    pass. Every list carries the census year as its window and the same bundle: the census loads whole or
    not at all."""
    census = read_census(path, year_end=_census_year_end)
    year_end = cin_census.parse_date(census.reference_date)
    if year_end is None or (year_end.month, year_end.day) != (3, 31):
        given = census.reference_date or "none"
        raise ExtractFileError(
            f"line {census.header_line or 1}: CIN rule 100: the reference date ({given}) must be 31 March of the"
            " census year: the census year cannot be known"
        )
    if year_end.year not in YEARS:
        known = ", ".join(cin_census.year_words(y) for y in YEARS)
        raise ExtractFileError(f"a census for {cin_census.year_words(year_end.year)}: the layouts read are {known}")
    if census.children == 0:
        raise ExtractFileError("the census holds no Child")
    year_start = date(year_end.year - 1, 4, 1)
    checker = census.checker
    if checker is None or checker.year_end is None:  # a reference date given after the children
        checker = _Checker(census, year_end)
    records, census.records = census.records, []
    checker.take(records)
    checker.finish()
    digest = content_hash(path)
    for module in MODULES:
        extract = EXTRACT_TYPES[module.extract]
        issues = census.issues[module.element]
        findings = [(i.severity, i.line, _column_of(module, i.element), i.value, i.reason) for i in issues]
        if module is _EPISODE:
            findings += [
                ("warning", line, None, text[:60], "stray text between elements ignored") for line, text in census.stray
            ]
        rows, lines = census.rows[module.element], census.lines[module.element]
        yield Part(
            f"{name}, {module.title}",
            [extract.column_names],
            f"{digest}:{module.element}",
            sheet=module.label,
            top_line=1,
            rows=lambda rows=rows: (1, rows),
            bundle=digest,
            lines=lines,
            findings=findings,
            window=(year_start, year_end),
            errors=census.refused[module.element],
            text_cells=True,
        )


def _column_of(module: Module, element: str | None) -> str | None:
    """The contract column a census element gives (the finding names it), else the element."""
    for column, name in module.fields.items():
        if name == element:
            return column
    return element


def _row_builder(module: Module) -> Callable[[str, dict[str, str | None]], list[object]]:
    """(child, the record's values) -> its row in the contract's column order, as text: booleans spelled
    `true`/`false`, a column the census never gives its default (None: the team, left to child_teams)."""
    columns = EXTRACT_TYPES[module.extract].column_names
    template = [None if c in module.fields else module.defaults.get(c) for c in columns]
    given = [(i, module.fields[c]) for i, c in enumerate(columns) if c in module.fields]
    child_at = columns.index("child_id")
    booleans = [i for i, c in enumerate(columns) if module.fields.get(c) in cin_census.BOOLEANS]
    boolean = cin_census.parse_boolean

    def build(child: str, values: dict[str, str | None]) -> list[object]:
        row = template.copy()
        for i, element in given:
            row[i] = values.get(element)
        row[child_at] = child
        for i in booleans:
            row[i] = boolean(row[i])
        return row

    return build


def _working_days(year_end: date) -> Callable[[date, date], int]:
    """`working_days_between` for the census's rules 8670Q and 8675Q, which count up to the year end from at
    most 2n + 10 days before it: there, a running count of working days (two look-ups a record, not a
    day-by-day count); elsewhere the calendar's own."""
    from etl.rules.calendar import is_working_day, working_days_between

    first = year_end - timedelta(days=200)
    running: dict[date, int] = {}

    def between(start: date, end: date) -> int:
        if not first <= start <= end <= year_end:
            return working_days_between(start, end)
        if not running:
            count, day = 0, first
            while day <= year_end:
                count += is_working_day(day)
                running[day] = count
                day += timedelta(days=1)
        return running[end] - running[start]

    return between


# The returns read from XML, by root element: (path, name to show) -> its lists. The SSDA903's XML is read by
# its own reader (etl/formats/ssda903_reader.py), which reads the same return's CSV tables and zips alike.
ROOTS: dict[str, Callable[[Path, str], Iterator[Part]]] = {
    cin_census.ROOT: census_parts,
    ssda903.XML_ROOT: ssda903_reader.xml_parts,
}
_RETURNS = {cin_census.ROOT: "CIN census", ssda903.XML_ROOT: "SSDA903"}


def xml_parts(paths: Sequence[Path], names: Sequence[str]) -> Iterator[Part]:
    """The XML reader (etl/readers/registry.py): each file's lists, by its root element's return."""
    for path, name in zip(paths, names, strict=True):
        root = root_of(path)
        read = ROOTS.get(root)
        if read is None:
            known = " or ".join(f"<{r}> ({_RETURNS.get(r, 'a return')})" for r in ROOTS)
            raise ExtractFileError(f"an XML file whose root is <{root}>: the returns read are {known}")
        yield from read(path, name)
