"""Writing an SSDA903 return for tests: the CSV tables (every column of each table, as DfE's loading format has
them) or DfE's XML (CLA.xsd's layout), from the same hand-made rows. Personal columns are filled as real
returns fill them, so a test can check that none is kept."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from etl.formats.ssda903 import TABLES

FILES = {
    "Header": "header.csv",
    "Episodes": "episodes.csv",
    "OC2": "oc2.csv",
    "OC3": "oc3.csv",
    "Missing": "missing.csv",
    "Reviews": "reviews.csv",
}

PERSONAL = {
    "SEX": "1",
    "ETHNIC": "WBRI",
    "UPN": "A123456789012",
    "HOME_POST": "RH12 1AA",
    "PL_POST": "BN1 1AA",
    "URN": "SC123456",
    "PLACE_PROVIDER": "PR1",
    "CIN": "N1",
}


def table_rows(table: str, rows: list[dict]) -> list[list[str]]:
    columns = TABLES[table]
    return [[str(row.get(c, PERSONAL.get(c, "")) or "") for c in columns] for row in rows]


def write_csvs(folder: Path, tables: dict[str, list[dict]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, rows in tables.items():
        path = folder / FILES[table]
        with open(path, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(TABLES[table])
            out.writerows(table_rows(table, rows))
        paths.append(path)
    return paths


def write_zip(path: Path, tables: dict[str, list[dict]]) -> Path:
    members = write_csvs(path.parent / (path.stem + "_tables"), tables)
    with zipfile.ZipFile(path, "w") as archive:
        for member in members:
            archive.write(member, member.name)
    return path


def _element(tag: str, value: object) -> str:
    text = "" if value is None else escape(str(value))
    return f"<{tag}>{text}</{tag}>" if text else f"<{tag} />"


def write_xml(path: Path, tables: dict[str, list[dict]]) -> Path:
    """The same return as DfE's XML: one CHILD per Header row, OC2, missing and reviews nested in HEADER, OC3's
    items flat in it, episodes after it; elements one per line, as exports usually have them."""
    by_child: dict[str, dict[str, list[dict]]] = {}
    for table, rows in tables.items():
        for row in rows:
            by_child.setdefault(str(row["CHILD"]), {}).setdefault(table, []).append(row)
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<EXPSSDA903>"]
    for header in tables["Header"]:
        child = str(header["CHILD"])
        own = by_child.get(child, {})
        lines += ["  <CHILD>", "    <HEADER>", f"      {_element('CHILDID', child)}"]
        for column in ("UPN", "SEX", "DOB", "ETHNIC"):
            lines.append(f"      {_element(column, header.get(column, PERSONAL.get(column)))}")
        for oc3 in own.get("OC3", []):
            for column in ("IN_TOUCH", "ACTIV", "ACCOM"):
                lines.append(f"      {_element(column, oc3.get(column))}")
        for missing in own.get("Missing", []):
            items = "".join(_element(c, missing.get(c)) for c in ("MISSING", "MIS_START", "MIS_END"))
            lines.append(f"      <AMISSING>{items}</AMISSING>")
        for oc2 in own.get("OC2", []):
            items = "".join(_element(c, oc2.get(c)) for c in TABLES["OC2"] if c not in ("CHILD", "DOB"))
            lines.append(f"      <OC2>{items}</OC2>")
        lines.append("    </HEADER>")
        for episode in own.get("Episodes", []):
            lines.append("    <EPISODE>")
            for column in TABLES["Episodes"]:
                if column == "CHILD":
                    continue
                tag = "PL" if column == "PLACE" else column
                lines.append(f"      {_element(tag, episode.get(column, PERSONAL.get(column)))}")
            lines.append("    </EPISODE>")
        lines.append("  </CHILD>")
    lines.append("</EXPSSDA903>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
