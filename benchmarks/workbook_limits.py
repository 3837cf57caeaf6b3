"""Peak memory of `cpip load` on the workbooks issue 21 named: a 1 MB zip bomb (one 1 GiB cell) and a
workbook of 1,000,000 referrals (3,000,000 cells, under the 5,000,000-cell cap, so it is read and loaded whole,
after an organisation file naming its teams).

    .venv/bin/python benchmarks/workbook_limits.py [--rows N] [--bomb-mb N]

Each load runs as its own process on a new warehouse; its peak memory is the process's maximum resident set
size (os.wait4's rusage). Goal: under 1 GiB for both. Before etl/readers/limits.py the bomb took `cpip load`
past 6 GB (stopped there) and 3,000,000 rows 2.36 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_BYTES = 1 << 30
AS_OF = "2023-07-31"

_MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _skeleton(book: zipfile.ZipFile, *, shared: bool) -> None:
    """The parts every .xlsx has around its one sheet, named 'List 3'."""
    strings = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OOXML}.sharedStrings+xml"/>' if shared else ""
    book.writestr(
        "[Content_Types].xml",
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML}.worksheet+xml"/>{strings}</Types>',
    )
    book.writestr(
        "_rels/.rels",
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    )
    book.writestr(
        "xl/workbook.xml",
        f'<?xml version="1.0" encoding="UTF-8"?><workbook {_MAIN.decode()} xmlns:r="{_REL}">'
        '<sheets><sheet name="List 3" sheetId="1" r:id="rId1"/></sheets></workbook>',
    )
    strings_rel = f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>' if shared else ""
    book.writestr(
        "xl/_rels/workbook.xml.rels",
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>{strings_rel}'
        "</Relationships>",
    )


def write_bomb(path: Path, megabytes: int = 1024) -> Path:
    """A workbook of about 1 MB holding one cell of `megabytes` MiB (a shared string of 'A's)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        _skeleton(book, shared=True)
        book.writestr(
            "xl/worksheets/sheet1.xml",
            b'<?xml version="1.0"?><worksheet ' + _MAIN + b'><dimension ref="A1"/><sheetData>'
            b'<row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>',
        )
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><sst ' + _MAIN + b' count="1" uniqueCount="1"><si><t>')
            block = b"A" * (1 << 20)
            for _ in range(megabytes):
                part.write(block)
            part.write(b"</t></si></sst>")
    return path


def write_rows(path: Path, rows: int) -> Path:
    """Annex A list 3 (referrals) with `rows` children: child, date of referral, team (inline text cells)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        _skeleton(book, shared=False)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0"?><worksheet ' + _MAIN + b'><dimension ref="A1:C%d"/><sheetData>' % (rows + 1)
            )

            def row(n: int, cells: tuple[str, str, str]) -> bytes:
                inner = "".join(
                    f'<c r="{col}{n}" t="inlineStr"><is><t>{text}</t></is></c>'
                    for col, text in zip("ABC", cells, strict=True)
                )
                return f'<row r="{n}">{inner}</row>'.encode()

            part.write(row(1, ("Child Unique ID", "Date of Referral", "Allocated Team")))
            batch = []
            for i in range(rows):
                batch.append(row(i + 2, (f"R{i:07d}", f"{1 + i % 28:02d}/07/2023", f"Team {i % 40}")))
                if len(batch) == 10_000:
                    part.write(b"".join(batch))
                    batch.clear()
            part.write(b"".join(batch) + b"</sheetData></worksheet>")
    return path


def write_organisation(path: Path) -> Path:
    """The 40 teams the referrals name, so the rows are valid and loaded (not 1,000,000 findings)."""
    path.write_text("team,service,area\n" + "".join(f"Team {i},Front Door,North\n" for i in range(40)))
    return path


def peak_load(paths: list[Path], folder: Path) -> tuple[int, float, str]:
    """(max RSS in bytes, seconds, the last line it printed) of one `cpip load` of the files on a new warehouse."""
    env = {**os.environ, "CPIP_DB": str(folder / f"{paths[-1].stem}.duckdb"), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cpip.cli", "load", "--as-of", AS_OF, *map(str, paths)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    output = process.stdout.read().decode(errors="replace")
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped here; stops Popen from waiting again
    seconds = time.perf_counter() - started
    lines = [line for line in output.splitlines() if line.strip()]
    return usage.ru_maxrss * 1024, seconds, lines[-1] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bomb-mb", type=int, default=1024)
    args = parser.parse_args()
    worst = 0
    with tempfile.TemporaryDirectory(prefix="cpip-workbook-limits-") as tmp:
        folder = Path(tmp)
        cases = [
            (f"zip bomb (one {args.bomb_mb:,} MiB cell)", [write_bomb(folder / "bomb.xlsx", args.bomb_mb)]),
            (
                f"{args.rows:,} referrals",
                [write_organisation(folder / "organisation.csv"), write_rows(folder / "rows.xlsx", args.rows)],
            ),
        ]
        for label, paths in cases:
            path = paths[-1]
            peak, seconds, last = peak_load(paths, folder)
            worst = max(worst, peak)
            print(f"{label}: {path.stat().st_size / 1e6:.1f} MB file, peak {peak / 2**20:,.0f} MiB, {seconds:.1f} s")
            print(f"    {last[:200]}")
    verdict = "within" if worst < GOAL_BYTES else "OVER"
    print(f"goal: peak memory under 1 GiB for each: {verdict} (worst {worst / 2**20:,.0f} MiB)")
    return 0 if worst < GOAL_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
