"""Staged uploads (dashboard/components/upload.py) hold whatever personal data the file held: they
wait in the app's own folder (mode 0700, files 0600), not the shared system temp folder, and are
deleted once the check says nothing in them can be loaded, on Cancel, and after an hour."""

from __future__ import annotations

import base64
import importlib
import os
import stat
import time
from datetime import date
from pathlib import Path

import pytest

from dashboard.components import upload
from etl.ingest.load import load_files

app = importlib.import_module("app")  # registers every page; the page module is importable after it
page = importlib.import_module("dashboard.pages.data")
FIXTURES = Path(__file__).parent / "fixtures" / "data_page"
AS_OF = date(2023, 8, 4)


def incoming(name: str, raw: bytes) -> list[dict]:
    return [{"name": name, "contents": "data:text/csv;base64," + base64.b64encode(raw).decode(), "refused": None}]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse in tmp_path, no CPIP_UPLOAD_DIR: uploads go beside the warehouse."""
    monkeypatch.setenv("CPIP_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CPIP_UPLOAD_DIR", raising=False)
    return tmp_path


def test_uploads_wait_in_the_apps_own_private_folder(beside: Path) -> None:
    assert upload.staging_root() == beside / "uploads"
    staged = upload.stage_upload("a.csv", "data:text/csv;base64," + base64.b64encode(b"a\n1\n").decode())
    folder = beside / "uploads"
    file = folder / staged.token / "a.csv"
    assert file.read_bytes() == b"a\n1\n"
    assert (mode(folder), mode(folder / staged.token), mode(file)) == (0o700, 0o700, 0o600)


def test_a_folder_made_open_before_is_closed(beside: Path) -> None:
    (beside / "uploads").mkdir(mode=0o777)
    os.chmod(beside / "uploads", 0o755)  # as an earlier release or a hand-made folder left it
    upload.stage_upload("a.csv", "data:text/csv;base64," + base64.b64encode(b"a\n1\n").decode())
    assert mode(beside / "uploads") == 0o700


def test_a_refused_files_upload_is_deleted_once_checked(beside: Path) -> None:
    db = beside / "warehouse.duckdb"
    load_files([FIXTURES / "organisation.csv"], as_of=AS_OF, who="setup", db=db)
    # A header no extract type has: refused, nothing in it can ever be loaded.
    refused, _, _ = page.save_uploads(incoming("names.csv", b"name,dob,postcode\nZebedee,2012-03-14,BN1 9QZ\n"))
    ready, _, _ = page.save_uploads(
        incoming("pathway_plans_july.csv", (FIXTURES / "pathway_plans_july.csv").read_bytes())
    )
    assert (beside / "uploads" / refused[0]["token"]).exists()
    previews, _status = page.check_and_keep(refused + ready, [], as_of=AS_OF)
    assert [p["outcome"] for p in previews] == ["refused", "preview"]
    assert not (beside / "uploads" / refused[0]["token"]).exists()
    assert (beside / "uploads" / ready[0]["token"]).exists()  # still needed by Load
    page.cancel_clicked(1, previews)
    assert list((beside / "uploads").iterdir()) == []


def test_uploads_left_behind_are_swept_after_an_hour(beside: Path) -> None:
    data = "data:text/csv;base64," + base64.b64encode(b"a\n1\n").decode()
    old, recent = upload.stage_upload("a.csv", data), upload.stage_upload("b.csv", data)
    root = beside / "uploads"
    os.utime(root / old.token, (time.time() - 61 * 60,) * 2)
    os.utime(root / recent.token, (time.time() - 59 * 60,) * 2)
    assert upload.sweep() == 1
    assert [p.name for p in root.iterdir()] == [recent.token]
