"""The data page's reconciliation section: our figures from a loaded census beside DfE's shipped figures,
read as a person reads the page (the callback called directly)."""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path

import pytest
from cin_census_files import Episode, write_census
from dash_tree import ids_in, text_of

from etl.ingest.load import load_files

app = importlib.import_module("app")  # registers the pages; the data page is importable after it
page = importlib.import_module("dashboard.pages.data")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CPIP_DB", str(db))
    monkeypatch.setenv("CPIP_STATE_DIR", str(tmp_path / "state"))
    return db


def test_the_section_sets_our_census_figures_beside_dfes(db, tmp_path):
    # 2023/24: three referrals, one of them (P1's of 1 Feb 2024) within 12 months of P1's of 3 Jul 2023:
    # 1 of 3 = 33.3%. One plan, a first plan: 0 of 1. DfE published West Sussex's 2023/24 figures:
    # 1,347 of 7,931 (17%) and 216 of 836 (25.8%), so neither matches and each says why.
    children = {
        "P1": [Episode(date(2023, 7, 3), closure=date(2023, 8, 1)), Episode(date(2024, 2, 1))],
        "P2": [Episode(date(2023, 9, 4), plans=[(date(2023, 9, 20), None, 0)])],
    }
    reports = load_files([write_census(tmp_path, "cin.xml", date(2024, 3, 31), children)], as_of=date(2024, 4, 30),
                         who="test", db=db)  # fmt: skip
    assert all(r.ok for r in reports)
    assert page._default_reconcile_year() == "2023/24"
    shown = page.show_reconciliation("2023/24", None)
    assert "data-reconcile-table" in ids_in(shown)
    text = text_of(shown)
    assert "C1 re-referrals within 12 months 1 of 3 (33.3%) 1,347 of 7,931 (17%) +16.3 No" in text
    assert "the counts differ" in text
    assert "D3 second or subsequent child protection plans 0 of 1 (0%) 216 of 836 (25.8%) -25.8 No" in text


def test_an_empty_warehouse_says_no_figure_from_the_returns(db):
    text = text_of(page.show_reconciliation("2024/25", None))
    assert "no figure from the loaded returns for 2024/25" in text
    assert "1,945 of 7,960 (24.4%)" in text  # West Sussex's published C1 for 2024/25
