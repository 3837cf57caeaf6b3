"""A note stored before the checks of etl/people/authored.py (or edited by hand) may hold a
control character or a bidirectional override: every export leaves them out instead of failing.
openpyxl refuses a workbook holding a control character (IllegalCharacterError), so the Excel
pack failed for everyone in that scope. The warehouse is test_boardpack's hand-made one.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_boardpack import make_warehouse

from cpip import cli
from dashboard.export.boardpack import build_boardpack
from etl.people import notes
from etl.privacy import access

STORED = "Bell\x07 rang\x1b; \u202eevil\u202c end"  # as an old store may hold it
SHOWN = "Bell rang; evil end"  # what every export shows: the controls and overrides left out


@pytest.fixture(autouse=True)
def as_the_command_line():
    with access.viewing(None):
        yield


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_warehouse(tmp_path_factory.mktemp("wh-clean") / "warehouse.duckdb")
    with access.viewing(None):
        notes.write_note("seen_5wd", "2023-07", "la", None, "placeholder", author="p.analyst", db=path)
    with sqlite3.connect(notes.store_path(path)) as con:  # the way an old or hand-edited store holds it
        con.execute("UPDATE note_versions SET text = ?", (STORED,))
    return path


def test_the_excel_pack_leaves_control_characters_out(db: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ws = load_workbook(build_boardpack("2023-07", level="la", out=tmp_path / "pack.xlsx", db=db))["Scorecard"]
    by_id = {ws.cell(r, 3).value: ws.cell(r, 20).value for r in range(5, 26)}
    assert by_id["seen_5wd"].startswith(SHOWN + " (p.analyst, ")


def test_the_pdf_pack_leaves_control_characters_out(db: Path, tmp_path: Path) -> None:
    pdf = build_boardpack("2023-07", level="la", out=tmp_path / "pack.pdf", db=db)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(pdf).pages))
    assert SHOWN in text
    assert "\u202e" not in text and "\x07" not in text


def test_the_comments_csv_leaves_control_characters_out(db: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CPIP_DB", str(db))
    assert cli.main(["comments", "--period", "2023-07", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert f",{SHOWN},p.analyst," in out
    assert "\x07" not in out and "\x1b" not in out and "\u202e" not in out
