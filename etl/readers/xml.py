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
from datetime import date
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


def read_census(path: Path) -> _Census:
    """Stream one census: lxml hands over only the elements read (`_TAGS`), as each ends; a child's
    records are made when its episode ends, and the child is freed when it ends (memory stays flat)."""
    from lxml import etree

    census = _Census()
    records = census.records
    seen_children: set[str] = set()
    child_id: str | None = None
    episode: dict[str, str | None] = {}  # the CIN episode's own values so far
    fields: dict[str, str | None] = {}  # the current module's values so far
    modules: list[tuple[Module, dict[str, str | None], int | None]] = []  # the episode's modules so far
    episodes: list[tuple[dict[str, str | None], list, int | None]] = []  # the child's episodes so far
    parse_date = cin_census.parse_date
    try:
        for _, element in _iterparse(path, _TAGS):
            tag = element.tag
            if tag in _LEAVES:
                if tag == "DateOfInitialCPC" and element.getparent().tag == "CINdetails":
                    episode[tag] = _strip(element.text)
                elif tag in _EPISODE_LEAVES:
                    episode[tag] = _strip(element.text)
                elif tag == "LAchildID":
                    child_id = _strip(element.text)
                else:
                    fields[tag] = element.text
            elif tag in _MODULES:
                modules.append((_MODULES[tag], fields, element.sourceline))
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
                for values, found, episode_line in episodes:
                    referral = parse_date(values.get("CINreferralDate"))
                    episode_icpc = values.get("DateOfInitialCPC") is not None
                    records.append((Record(_EPISODE, values, episode_line, referral), key))
                    for module, given, module_line in found:
                        records.append((Record(module, given, module_line, referral, episode_icpc), key))
                child_issues = list(cin_census.check_child_id(child_id, line))
                if child_id in seen_children:
                    child_issues.append(Issue("8510", child_id, "ChildIdentifiers", "LAchildID", child_id, line))
                seen_children.add(key)
                if child_issues:
                    census.issues["CINdetails"] += child_issues
                    # A child the census cannot name once is refused with its records (counted as one).
                    census.refused["CINdetails"] += any(i.severity == "error" for i in child_issues)
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
    return census


_EPISODE_LEAVES = frozenset({*_EPISODE.fields.values(), *cin_census.EPISODE_EXTRA})


def census_parts(path: Path, name: str) -> Iterator[Part]:
    """The CIN census reader: one list per module (referrals, assessments, section 47 enquiries, child
    protection plans), each with the contract's columns as its header and one row per record, read in one
    pass. Every list carries the census year as its window and the same bundle: the census loads whole or
    not at all."""
    census = read_census(path)
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
    working_days = _working_days()
    builders = {m.element: _row_builder(m) for m in MODULES}
    check = cin_census.check
    for record, child in census.records:
        module = record.module
        # Two records of one module with the same child and start are the validator's duplicate record key.
        issues = check(record, child, year_end, working_days)
        if issues:
            census.issues[module.element] += issues
            if any(i.severity == "error" for i in issues):
                census.refused[module.element] += 1
                continue  # refused anyway; the findings say why
        census.rows[module.element].append(builders[module.element](child, record.values))
        census.lines[module.element].append(record.line or 0)
    _open_plans(census)
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
    pairs = [(module.fields.get(c), module.defaults.get(c)) for c in columns]
    child_at = columns.index("child_id")
    booleans = [i for i, c in enumerate(columns) if module.fields.get(c) in cin_census.BOOLEANS]
    boolean = cin_census.parse_boolean

    def build(child: str, values: dict[str, str | None]) -> list[object]:
        row = [values.get(element) if element else default for element, default in pairs]
        row[child_at] = child
        for i in booleans:
            row[i] = boolean(row[i])
        return row

    return build


def _open_plans(census: _Census) -> None:
    """CIN rule 8935: a child with more than one open plan (a query)."""
    open_plans: dict[str, list[Record]] = {}
    for record, child in census.records:
        if record.module.element == "ChildProtectionPlans" and not record.values.get("CPPendDate"):
            open_plans.setdefault(child, []).append(record)
    for child, records in open_plans.items():
        if len(records) > 1:
            census.issues["ChildProtectionPlans"].append(
                Issue("8935", child, "ChildProtectionPlans", "CPPendDate", None, records[1].line)
            )


def _working_days() -> Callable[[date, date], int]:
    from etl.rules.calendar import working_days_between

    return working_days_between


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
