"""Reading an SSDA903 return: its CSV tables given together (or zipped), or DfE's XML, into the contract's
types, with the return's own checks (docs/spec/returns.md, "Reading" and "Validation").

One pass over the files gives a `Return`: each table's rows, only the columns a rule reads (names, UPNs,
postcodes, URNs, sex and ethnicity never get further than the parser; a date of birth becomes the age a rule
needs and is dropped). The CSV and XML forms of a return give the same `Return`, so they give the same
records. `parts` turns it into the lists of rows the loader stages, validates and writes as one load
(etl/ingest/bundle.py), each carrying the return's own findings (its children, its episode chains and its
codes by the collection year), with the national validator's rule codes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import operator
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from etl.catalogue.contract import EXTRACT_TYPES, normalise_header
from etl.formats import ssda903
from etl.formats.ssda903 import FEEDS, KEPT, TABLES, TEMPORARY, Year
from etl.readers.read import ExtractFileError, Part

# The collection year a return is read for: `cpip load --collection-year`, else the year of the as-of date
# (the loader sets it around a load; etl/ingest/load.py).
READING_YEAR: ContextVar[Year | None] = ContextVar("ssda903_year", default=None)


@contextmanager
def reading_year(year: Year):
    token = READING_YEAR.set(year)
    try:
        yield
    finally:
        READING_YEAR.reset(token)


@dataclass(slots=True)
class Row:
    line: int
    values: dict[str, str | None]


@dataclass
class Return:
    """One 903 return as read: each table's rows (kept columns, codes upper-cased, blanks as None)."""

    name: str  # what the load log calls it: `SSDA903 (header.csv, episodes.csv, ...)`
    content_hash: str
    tables: dict[str, list[Row]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # table -> the file (or XML) it came from
    skipped: list[str] = field(default_factory=list)  # tables no KPI reads, read past


@dataclass
class Problem:
    """A finding of the return's own checks: an error refuses the return, a warning (a query) is reported."""

    severity: str
    table: str
    line: int | None
    child: str | None
    column: str | None
    value: str | None
    reason: str


_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


@lru_cache(maxsize=1 << 16)  # a return's dates repeat (every child's review and episode days)
def parse_date(text: str | None) -> date | None:
    """A 903 date (dd/mm/yyyy, or ISO as some exports give); None when blank or not a real date (the
    validator reports it: a two-digit year is never read)."""
    if not text:
        return None
    found = _UK_DATE.match(text)
    try:
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        found = _ISO_DATE.match(text)
        if found:
            return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None
    return None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# ---------------------------------------------------------------------------------------------------------------
# Recognising and gathering the files of a return.

_XML_PEEK = 4096


def _peek(path: Path, size: int = _XML_PEEK) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def is_903_xml(path: Path) -> bool:
    head = _peek(path)
    return (
        path.suffix.lower() == ".xml" and re.search(rb"<\s*" + ssda903.XML_ROOT.encode() + rb"[\s>/]", head) is not None
    )


def csv_table(path: Path) -> str | None:
    """The 903 table a CSV file is, by its header, or None."""
    head = _peek(path, 64 * 1024)
    if not head or b"\x00" in head:
        return None
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    try:
        header = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return None
    return ssda903.table_of([h.strip() for h in header])


def zip_tables(path: Path) -> bool:
    """A zip whose members include a 903 table or the XML."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                with archive.open(info) as member:
                    head = member.read(_XML_PEEK)
                name = info.filename.lower()
                if name.endswith(".xml") and ssda903.XML_ROOT.encode() in head:
                    return True
                if name.endswith(".csv"):
                    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
                    if ssda903.table_of(next(csv.reader([first]), [])):
                        return True
    except (zipfile.BadZipFile, OSError, csv.Error):
        return False
    return False


def claims(path: Path) -> bool:
    """A 903 table's CSV or a zip of the return (its XML is the XML reader's, by root: etl/readers/xml.py)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_table(path) is not None
    if suffix == ".zip":
        return zip_tables(path)
    return False


def gather(paths: Sequence[Path]) -> list[list[Path]]:
    """Files given together that are 903 tables: one return (CSV tables together; each XML or zip alone)."""
    tables = [p for p in paths if p.suffix.lower() == ".csv"]
    groups = [tables] if tables else []
    return groups + [[p] for p in paths if p.suffix.lower() != ".csv"]


# ---------------------------------------------------------------------------------------------------------------
# Reading.


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if "\xa0" in value:  # a non-breaking space inside a value is a space (as a workbook's cell is read)
        value = value.replace("\xa0", " ")
    return value or None


# Codes are compared upper case (the national validator upper-cases every string before its checks).
_CODES = {"RNE", "LS", "PLACE", "REC", "MISSING", "IN_TOUCH", "ACCOM"}


def _kept_clean(table: str, raw: dict[str, str | None]) -> dict[str, str | None]:
    """The kept columns of a row whose values are clean already (stripped, blanks None), codes upper case."""
    out = {}
    for column in KEPT[table]:
        value = raw.get(column)
        out[column] = value.upper() if value is not None and column in _CODES else value
    return out


def _read_csv_text(text: io.TextIOBase, name: str, ret: Return) -> None:
    reader = csv.reader(text)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ExtractFileError(f"{name}: the file is empty") from None
    table = ssda903.table_of(header)
    if table is None:
        raise ExtractFileError(f"{name}: not a table of an SSDA903 return (the header has: {', '.join(header)})")
    if table in ret.files:
        raise ExtractFileError(f"{name} and {ret.files[table]} are both the {table} table: give one of each table")
    ret.files[table] = name
    if table not in KEPT:
        ret.skipped.append(f"{name}: the {table} table, which no KPI reads")
        return
    wanted = {normalise_header(c): c for c in TABLES[table]}
    positions = {wanted[normalise_header(h)]: i for i, h in enumerate(header) if normalise_header(h) in wanted}
    keep = [(c, positions[c]) for c in KEPT[table]]
    rows = ret.tables.setdefault(table, [])
    names = [c for c, _ in keep]
    upper = frozenset(i for i, c in enumerate(names) if c in _CODES)
    width = max(i for _, i in keep) + 1
    pick = operator.itemgetter(*(i for _, i in keep))  # every kept table has two columns or more: a tuple
    clean = _clean
    for cells in reader:
        if len(cells) < width:  # a short row: its missing cells are blank
            if not any(c.strip() for c in cells):
                continue
            cells = cells + [""] * (width - len(cells))
        values = [clean(v) for v in pick(cells)]
        if not any(values) and not any(c.strip() for c in cells):
            continue
        for i in upper:
            if values[i] is not None:
                values[i] = values[i].upper()
        rows.append(Row(reader.line_num, dict(zip(names, values, strict=True))))


def _open_text(data: bytes, name: str) -> io.TextIOBase:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractFileError(f"{name}: the file is UTF-16 text, not UTF-8: save it as 'CSV UTF-8'")
    try:
        return io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError:
        raise ExtractFileError(f"{name}: not UTF-8 text: save it as 'CSV UTF-8'") from None


_XML_CHILD_TAGS = ("{*}CHILD", "{*}Child", "{*}child")


def _read_xml(source, name: str, ret: Return) -> None:
    """DfE's XML, streamed: one CHILD at a time, cleared once read. No entity is resolved and nothing is
    fetched; element order within a parent, the case of a tag, a namespace and stray whitespace do not
    matter."""
    from lxml import etree

    ret.files.update(dict.fromkeys(("Header", "Episodes"), name))
    tables = {t: ret.tables.setdefault(t, []) for t in KEPT}
    names: dict[object, str] = {}  # each tag as lxml gives it -> the 903's name: worked out once per spelling

    def tag(element) -> str:
        raw = element.tag
        known = names.get(raw)
        if known is None:
            text = raw if isinstance(raw, str) else ""  # a comment's or instruction's tag is a function
            text = text.rsplit("}", 1)[-1].upper()
            known = names[raw] = ssda903.XML_RENAMES.get(text, text)
        return known

    def items(element) -> dict[str, str | None]:
        found = {}
        for e in element.iterchildren(etree.Element):
            if len(e):  # a nested table, read on its own
                continue
            text = e.text
            if text is not None and (not text or text[0].isspace() or text[-1].isspace() or "\xa0" in text):
                text = _clean(text)
            found[names.get(e.tag) or tag(e)] = text
        return found

    root_seen = False
    kept = _kept_clean
    try:
        events = etree.iterparse(
            source,
            events=("end",),
            # lxml hands over only the CHILD elements (in any namespace, as DfE's schema and its lower-case
            # spellings write them); their items are read from each.
            tag=_XML_CHILD_TAGS,
            resolve_entities=False,
            no_network=True,
            huge_tree=True,
            load_dtd=False,
            remove_blank_text=True,  # the indentation between elements is never read: not kept
        )
        for _event, element in events:
            if not root_seen:
                root_seen = True
                root = tag(element.getroottree().getroot())
                if root != ssda903.XML_ROOT:
                    raise ExtractFileError(f"{name}: an XML file whose root is {root}, not an SSDA903 return")
            parent = element.getparent()
            if parent is None or tag(parent) != ssda903.XML_ROOT:
                continue
            header = next((e for e in element.iterchildren(etree.Element) if tag(e) == "HEADER"), None)
            flat = items(header) if header is not None else {}
            child = flat.get("CHILD")
            line = element.sourceline or 0
            tables["Header"].append(Row(header.sourceline if header is not None else line, kept("Header", flat)))
            if header is not None:
                for nested in header.iterchildren(etree.Element):
                    which = ssda903.XML_NESTED.get(tag(nested))
                    if which in KEPT:
                        values = {"CHILD": child, "DOB": flat.get("DOB"), **items(nested)}
                        tables[which].append(Row(nested.sourceline or line, kept(which, values)))
                if flat.get("IN_TOUCH") is not None or flat.get("ACCOM") is not None:
                    tables["OC3"].append(Row(header.sourceline or line, kept("OC3", flat)))
            episodes = tables["Episodes"]
            for episode in element.iterchildren(etree.Element):
                if tag(episode) == "EPISODE":
                    values = {"CHILD": child, **items(episode)}
                    episodes.append(Row(episode.sourceline or line, kept("Episodes", values)))
            element.clear(keep_tail=False)
            while element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise ExtractFileError(f"{name}: not well-formed XML ({exc.msg}, line {exc.lineno})") from None
    if not root_seen:  # no CHILD: the root is known once the whole file is parsed
        if events.root is None:
            raise ExtractFileError(f"{name}: the file is empty")
        root = tag(events.root)
        if root != ssda903.XML_ROOT:
            raise ExtractFileError(f"{name}: an XML file whose root is {root}, not an SSDA903 return")
    for table in ("OC2", "OC3", "Missing"):
        if tables[table]:
            ret.files[table] = name


def read_return(paths: Sequence[Path], names: Sequence[str]) -> Return:
    """The files of one return (CSV tables, an XML file, or a zip of either) read into a `Return`."""
    digest = hashlib.sha256()
    ret = Return(name="", content_hash="")
    kinds = set()
    for path, name in sorted(zip(paths, names, strict=True), key=lambda pn: pn[1]):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ExtractFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
        digest.update(hashlib.sha256(data).digest())
        suffix = path.suffix.lower()
        if suffix == ".zip":
            try:
                archive = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile:
                raise ExtractFileError(f"{name}: not a zip file") from None
            with archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    member = f"{name}: {info.filename}"
                    lower = info.filename.lower()
                    if info.is_dir() or "__macosx" in lower:
                        continue
                    if lower.endswith(".xml"):
                        kinds.add("XML")
                        _read_xml(io.BytesIO(archive.read(info)), member, ret)
                    elif lower.endswith(".csv"):
                        kinds.add("CSV")
                        _read_csv_text(_open_text(archive.read(info), member), member, ret)
        elif suffix == ".xml":
            kinds.add("XML")
            _read_xml(io.BytesIO(data), name, ret)
        else:
            kinds.add("CSV")
            _read_csv_text(_open_text(data, name), name, ret)
    if len(kinds) > 1:
        raise ExtractFileError("an SSDA903 return is its CSV tables or its XML, not both: give one form")
    missing = [t for t in ssda903.REQUIRED if t not in ret.files]
    if missing:
        given = ", ".join(sorted(ret.files)) or "no table"
        raise ExtractFileError(
            f"an SSDA903 return needs its {' and '.join(missing)} table{'s' if len(missing) > 1 else ''}"
            f" (given: {given}): give every table of the return together"
        )
    ret.content_hash = digest.hexdigest()
    shown = sorted(dict.fromkeys(names))
    more = f" and {len(shown) - 3} more" if len(shown) > 4 else ""
    ret.name = f"SSDA903 return ({', '.join(shown if not more else shown[:3])}{more})"
    return ret


# ---------------------------------------------------------------------------------------------------------------
# The return's own checks.


def check(ret: Return, year: Year) -> list[Problem]:
    """The 903's checks beyond each column's type: children not in Header, episode chains that overlap or
    break, codes outside the year's lists where a KPI reads them (errors); the national validator's other
    rules that bear on a KPI (queries)."""
    problems: list[Problem] = []
    codes = ssda903.codes(year)
    header = ret.tables.get("Header", [])
    seen: dict[str, int] = {}
    for row in header:
        child = row.values["CHILD"]
        if child is None:
            problems.append(Problem("error", "Header", row.line, None, "CHILD", None, "no child ID"))
        elif child in seen:
            problems.append(
                Problem(
                    "error",
                    "Header",
                    row.line,
                    child,
                    "CHILD",
                    child,
                    f"the child is in Header twice (also line {seen[child]})",
                )
            )
        else:
            seen[child] = row.line
    for table, rule in (("Episodes", "INT03"), ("OC2", "INT05"), ("OC3", "INT06"), ("Missing", "INT04")):
        for row in ret.tables.get(table, []):
            child = row.values["CHILD"]
            if child is not None and child not in seen:
                problems.append(
                    Problem(
                        "error",
                        table,
                        row.line,
                        child,
                        "CHILD",
                        child,
                        f"903 rule {rule}: the child is in {table} but not in Header",
                    )
                )
    fields = (("RNE", "RNE", "143"), ("LS", "LS", "144"), ("PLACE", "PLACE", "146"), ("REC", "REC", "149"))
    episodes: dict[str, list[tuple[date, Row]]] = defaultdict(list)
    for row in ret.tables.get("Episodes", []):
        v = row.values
        for column, codes_of, rule in fields:
            if v[column] is not None and v[column] not in codes[codes_of]:
                problems.append(
                    Problem(
                        "error",
                        "Episodes",
                        row.line,
                        v["CHILD"],
                        column,
                        v[column],
                        f"903 rule {rule}: not a {column} code of the {year} return",
                    )
                )
        start = parse_date(v["DECOM"])
        if start is not None and v["CHILD"] is not None:
            episodes[v["CHILD"]].append((start, row))
            if start > year.end:
                problems.append(
                    Problem(
                        "error",
                        "Episodes",
                        row.line,
                        v["CHILD"],
                        "DECOM",
                        v["DECOM"],
                        f"the episode starts after the {year} collection year ends: is this the {year} return?",
                    )
                )
    for child, chain in episodes.items():
        chain.sort(key=lambda e: e[0])
        problems += _chain(child, chain)
    for row in ret.tables.get("Missing", []):
        value = row.values["MISSING"]
        if value is None and row.values["MIS_START"] is not None:
            problems.append(
                Problem(
                    "error",
                    "Missing",
                    row.line,
                    row.values["CHILD"],
                    "MISSING",
                    None,
                    "903 rule 565: a missing start date but not whether missing (M) or away (A)",
                )
            )
        elif value is not None and value not in codes["MISSING"]:
            problems.append(
                Problem(
                    "error",
                    "Missing",
                    row.line,
                    row.values["CHILD"],
                    "MISSING",
                    value,
                    "903 rule 1006: missing type is neither M (missing) nor A (away without authorisation)",
                )
            )
    for table, column in (("OC2", "DOB"), ("OC3", "DOB")):
        for row in ret.tables.get(table, []):
            if parse_date(row.values[column]) is None:
                problems.append(
                    Problem(
                        "error",
                        table,
                        row.line,
                        row.values["CHILD"],
                        "DOB",
                        row.values[column],
                        "903 rule 102: the date of birth is not a date like 31/03/2015 (the age a KPI needs)",
                    )
                )
    problems += _cohort_queries(ret, year, episodes)
    return problems


def _chain(child: str, chain: list[tuple[date, Row]]) -> list[Problem]:
    """Episode chains: a new episode while the previous is open (142), episodes that overlap, an episode
    ending `X1` with no episode starting that day (388); periods that start or end with a temporary
    placement are queries (380, 381)."""
    out = []
    for index, (_start, row) in enumerate(chain):
        v = row.values
        end = parse_date(v["DEC"])
        following = chain[index + 1] if index + 1 < len(chain) else None
        if following is not None:
            next_start, next_row = following
            if end is None:
                out.append(
                    Problem(
                        "error",
                        "Episodes",
                        next_row.line,
                        child,
                        "DECOM",
                        next_row.values["DECOM"],
                        f"903 rule 142: a new episode starts while the episode from {v['DECOM']} has not ended",
                    )
                )
            elif end > next_start:
                out.append(
                    Problem(
                        "error",
                        "Episodes",
                        next_row.line,
                        child,
                        "DECOM",
                        next_row.values["DECOM"],
                        f"903 rule 142: the episode overlaps the one from {v['DECOM']} (which ends {v['DEC']})",
                    )
                )
        if v["REC"] == "X1" and end is not None and (following is None or following[0] != end):
            out.append(
                Problem(
                    "error",
                    "Episodes",
                    row.line,
                    child,
                    "REC",
                    "X1",
                    f"903 rule 388: the episode ends {v['DEC']} with X1 (a new episode begins) but no episode"
                    " starts that day",
                )
            )
        period_start = index == 0 or chain[index - 1][1].values["REC"] != "X1"
        if period_start and v["PLACE"] in TEMPORARY and v["RNE"] == "S":
            out.append(
                Problem(
                    "warning",
                    "Episodes",
                    row.line,
                    child,
                    "PLACE",
                    v["PLACE"],
                    "903 rule 380: a period of care starts with a temporary placement",
                )
            )
        if end is not None and v["REC"] not in (None, "X1") and v["PLACE"] in TEMPORARY:
            out.append(
                Problem(
                    "warning",
                    "Episodes",
                    row.line,
                    child,
                    "PLACE",
                    v["PLACE"],
                    "903 rule 381: a period of care ends with a temporary placement",
                )
            )
    return out


def continuously_looked_after(chain: list[tuple[date, Row]], year: Year) -> bool:
    """Looked after continuously for 12 months at 31 March (the OC2 cohort; the national validator's
    definition): an episode in the year, and no episode starting care (S) after 1 April, none ending care
    (not X1) on or after 1 April and before 31 March, and none in the year under a short-break status."""
    in_year = False
    for start, row in chain:
        v = row.values
        end = parse_date(v["DEC"])
        if start <= year.end and (end is None or end >= year.start):
            in_year = True
            if v["LS"] in ssda903.SHORT_BREAKS:
                return False
        if v["RNE"] == "S" and year.start < start <= year.end:
            return False
        if end is not None and v["REC"] != "X1" and year.start <= end < year.end:
            return False
    return in_year


def _cohort_queries(ret: Return, year: Year, episodes: dict[str, list[tuple[date, Row]]]) -> list[Problem]:
    """OC2 rows for children outside the cohort (190) and cohort children without one (191): queries. The
    figures count the cohort worked out from the episodes, whatever OC2 holds."""
    if "OC2" not in ret.files:
        return []
    out = []
    given = {row.values["CHILD"]: row for row in ret.tables.get("OC2", [])}
    for child, row in given.items():
        if child in episodes and not continuously_looked_after(episodes[child], year):
            out.append(
                Problem(
                    "warning",
                    "OC2",
                    row.line,
                    child,
                    None,
                    None,
                    "903 rule 190: OC2 data for a child not looked after continuously for 12 months at 31 March"
                    " (not counted in the health figures)",
                )
            )
    for child, chain in episodes.items():
        if child not in given and continuously_looked_after(chain, year):
            out.append(
                Problem(
                    "warning",
                    "OC2",
                    None,
                    child,
                    None,
                    None,
                    "903 rule 191: looked after continuously for 12 months at 31 March but no OC2 data"
                    " (counted as not done)",
                )
            )
    return out


# ---------------------------------------------------------------------------------------------------------------
# The return as the contract's types.

# Each type's rows in the contract's column order (records() below builds them in that order).
HEADERS = {name: EXTRACT_TYPES[name].column_names for name in ssda903.TYPES}


def _birthday_age(born: date, year: Year) -> int:
    """The age a care leaver reaches at their birthday in the collection year (OC3 is returned around it)."""
    birthday_year = year.first + 1 if (born.month, born.day) < (4, 1) else year.first
    return birthday_year - born.year


def records(ret: Return, year: Year) -> dict[str, list[tuple[int, list[object]]]]:
    """Each contract type's rows (with the line each came from), in HEADERS' order."""
    end = year.end.isoformat()
    out: dict[str, list[tuple[int, list[object]]]] = {t: [] for t in HEADERS}
    for row in ret.tables.get("Episodes", []):
        v = row.values
        out["care_episodes"].append(
            (row.line, [v["CHILD"], None, v["DECOM"], v["RNE"], v["LS"], v["PLACE"], v["DEC"], v["REC"], end])
        )
    for row in ret.tables.get("OC2", []):
        v = row.values
        born = parse_date(v["DOB"])
        age = None if born is None else age_on(born, year.end)
        out["health_outcomes"].append(
            (
                row.line,
                [
                    v["CHILD"],
                    None,
                    end,
                    age,
                    v["TEETH_CHECK"],
                    v["HEALTH_ASSESSMENT"],
                    v["IMMUNISATIONS"],
                    v["SDQ_SCORE"],
                ],
            )
        )
    for row in ret.tables.get("OC3", []):
        v = row.values
        born = parse_date(v["DOB"])
        age = None if born is None else _birthday_age(born, year)
        out["care_leaver_outcomes"].append((row.line, [v["CHILD"], None, end, age, v["IN_TOUCH"], v["ACCOM"]]))
    same_day: dict[tuple[str | None, str | None], int] = defaultdict(int)
    for row in ret.tables.get("Missing", []):
        v = row.values
        if v["MISSING"] != "M":
            continue  # away from placement without authorisation (A) is not a missing episode
        start = v["MIS_START"]
        moment = f"{start} 00:00" if parse_date(start) is not None else start
        # The 903 gives dates only and no return home interview: the episode counts in the month it began
        # (missing_episodes); its end is not carried, so rhi_72h never judges an interview the 903 cannot hold.
        # Dates only: a child missing twice in a day has two episodes of one key, numbered in the file's order.
        same_day[(v["CHILD"], start)] += 1
        episode = f"903:{v['CHILD']}:{start}:{same_day[(v['CHILD'], start)]}"
        out["missing_episodes"].append((row.line, [v["CHILD"], None, episode, moment, None, None, None]))
    return out


def _numbered(found: list[tuple[int, list[object]]]) -> tuple[list[int], list[list[object]]]:
    """The rows in the order of the lines they came from, and each one's line (two records on one line, an XML
    written on one line, are numbered on: every row has a line of its own, as the findings name it)."""
    found = sorted(found, key=lambda f: f[0])
    lines: list[int] = []
    expected = 0
    for line, _cells in found:
        if line < expected:
            line = expected
        lines.append(line)
        expected = line + 1
    return lines, [cells for _, cells in found]


@dataclass
class ReadNotes:
    """What the loader needs of a return beyond its rows: its year, its own findings, the tables it holds and
    those read past."""

    year: Year
    problems: list[Problem]
    tables: dict[str, str]  # table -> the file it came from
    skipped: list[str]
    types: tuple[str, ...]  # the contract types it speaks for (their table was given)


# The notes of each return read, by its bundle name, until the loader takes them (`notes_for`).
_NOTES: dict[str, ReadNotes] = {}


def holds(bundle: str) -> bool:
    """The bundle is an SSDA903 return read and not yet loaded (a census's lists share a bundle too)."""
    return bundle in _NOTES


def notes_for(bundle: str) -> ReadNotes | None:
    return _NOTES.pop(bundle, None)


def xml_parts(path: Path, name: str) -> Iterator[Part]:
    """The return's XML, as the XML reader hands it over (etl/readers/xml.py's ROOTS): one file, one return."""
    yield from parts([path], [name])


def parts(paths: Sequence[Path], names: Sequence[str]) -> Iterator[Part]:
    """The reader: the return's records as one list of rows per type, sharing the return's `bundle`; its
    findings and year wait for the loader in `notes_for(bundle)`."""
    year = READING_YEAR.get()
    ret = read_return(paths, names)
    if year is None:
        raise ExtractFileError("an SSDA903 return needs its collection year: give --collection-year 2024/25")
    if not ret.tables.get("Episodes"):
        raise ExtractFileError(f"{ret.files['Episodes']}: the Episodes table has no rows")
    made = records(ret, year)
    table_of = {FEEDS[t]: t for t in FEEDS if FEEDS[t]}
    types = tuple(t for t in HEADERS if table_of[t] in ret.files)
    _NOTES[ret.name] = ReadNotes(year, check(ret, year), dict(ret.files), ret.skipped, types)
    for extract in types:
        header, table = HEADERS[extract], table_of[extract]
        if not made[extract]:
            continue  # a table with no rows of the type (only away episodes): nothing to stage
        lines, numbered = _numbered(made[extract])
        yield Part(
            f"{ret.files[table]} ({table})",
            [header],
            ret.content_hash,
            sheet=table,
            top_line=lines[0] - 1,
            rows=lambda first_line=lines[0], numbered=numbered: (first_line, numbered),
            bundle=ret.name,
            lines=lines,
            # Every cell is text already (blanks None, stripped, codes upper case) or an age: staged as it is.
            text_cells=True,
        )
