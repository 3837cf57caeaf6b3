"""Which reader reads a file: the one list of the file formats the product takes.

A reader says which files are its own (their suffixes and, where the format has them, the bytes they
start with), how to name them to a person, and gives the lists of rows in a file as `Part`s
(`etl.readers.read.Part`: a CSV is one list, a workbook one per sheet, an XML return one per table).
Files given together that are one return (an SSDA903's CSV tables) are gathered by their reader into one
group and read together; each part of such a group carries the same `bundle`.

The loader (`etl.ingest.prepare`), the data page's upload box (`dashboard.components.upload`: the suffixes
it accepts) and the inbox ask only this module. Adding a format is its own module plus one line in
`READERS` (a new file format) and/or in `etl.formats.layouts.LAYOUTS` (a new layout of rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from etl.formats import ssda903_reader
from etl.readers.read import Part, csv_parts
from etl.readers.workbook import workbook_parts
from etl.readers.xml import xml_parts

__all__ = [
    "READERS",
    "Part",
    "Reader",
    "accepted_words",
    "by_suffix",
    "gather",
    "reader_for",
    "register",
    "suffixes",
    "unregister",
]


@dataclass(frozen=True)
class Reader:
    name: str
    suffixes: tuple[str, ...]  # lower case, with the dot: (".xlsx", ".xlsm")
    words: str  # what a person calls such a file: "an Excel workbook"
    # (paths of one group, the names to show for them) -> the lists of rows in them.
    read: Callable[[Sequence[Path], Sequence[str]], Iterator[Part]]
    magic: bytes = b""  # the bytes every such file starts with, where the format has them
    # A file of several lists: one that is no extract is skipped and reported, not refused.
    several: bool = False
    # Files given together -> the groups read together (one return of several files). None: each alone.
    gather: Callable[[Sequence[Path]], list[list[Path]]] | None = None
    # A format told by its content, not its suffix (an SSDA903 table is a CSV whose header is one of the
    # return's tables; its XML has the root EXPSSDA903): it claims the files this says are its own.
    recognises: Callable[[Path], bool] | None = None

    def claims(self, path: Path) -> bool:
        """The file is this reader's: its suffix, and its first bytes where the format has them."""
        if self.recognises is not None:
            return self.recognises(path)
        if path.suffix.lower() not in self.suffixes:
            return False
        if not self.magic:
            return True
        try:
            with open(path, "rb") as handle:
                return handle.read(len(self.magic)) == self.magic
        except OSError:
            return False


CSV = Reader("csv", (".csv",), "a CSV file", csv_parts)

READERS: list[Reader] = [
    Reader("workbook", (".xlsx", ".xlsm"), "an Excel workbook", workbook_parts, b"PK\x03\x04", several=True),
    # A statutory return's XML, read by its root element (etl/readers/xml.py's ROOTS).
    Reader("xml", (".xml",), "a return's XML file (CIN census or SSDA903)", xml_parts),
    # An SSDA903 return's CSV tables given together (one return, told apart by their headers) or a zip of them
    # or of its XML.
    Reader(
        "ssda903",
        (".zip",),
        "a zipped SSDA903 return",
        ssda903_reader.parts,
        gather=ssda903_reader.gather,
        recognises=ssda903_reader.claims,
    ),
    CSV,
]


def register(reader: Reader) -> None:
    """Add a reader, ahead of the CSV reader (which reads any file no other claims)."""
    READERS.insert(0, reader)


def unregister(reader: Reader) -> None:
    READERS.remove(reader)


def reader_for(path: str | Path) -> Reader:
    """The reader whose file this is; a file no reader claims is read as CSV, which refuses what is not
    CSV text in words (a workbook renamed .csv, UTF-16, a binary file)."""
    path = Path(path)
    return next((r for r in READERS if r is not CSV and r.claims(path)), CSV)


def suffixes() -> tuple[str, ...]:
    """Every suffix a reader takes: what the upload box and the inbox accept."""
    return tuple(dict.fromkeys(s for r in READERS for s in r.suffixes))


def accepted_words() -> str:
    """`a CSV file or an Excel workbook`: what may be given, for a refusal."""
    words = [r.words for r in sorted(READERS, key=lambda r: r is not CSV)]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def by_suffix(name: str) -> Reader | None:
    """The reader a file name's suffix promises (the upload box checks it before the file is saved)."""
    suffix = Path(name).suffix.lower()
    return next((r for r in READERS if suffix in r.suffixes), None)


def gather(paths: Sequence[str | Path]) -> list[tuple[Reader, list[int]]]:
    """Files given together, as (reader, positions in `paths`) groups read together: each file alone,
    except those a reader gathers into one return. Groups come in the order of their first file."""
    items = [Path(p) for p in paths]
    readers = [reader_for(p) for p in items]
    groups: list[tuple[Reader, list[int]]] = []
    done: set[int] = set()
    for reader in dict.fromkeys(readers):
        mine = [i for i, r in enumerate(readers) if r is reader]
        if reader.gather is None:
            continue
        where = {items[i]: i for i in mine}
        for group in reader.gather([items[i] for i in mine]):
            positions = [where[p] for p in group]
            groups.append((reader, positions))
            done.update(positions)
    groups += [(readers[i], [i]) for i in range(len(items)) if i not in done]
    return sorted(groups, key=lambda g: min(g[1]))
