"""The data page's window fields and its second confirmation (docs/spec/windows.md), called as plain
functions: no browser, no warehouse."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # app.py sits at the top of the tree, outside the installed packages
    sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")  # registers the pages
page = importlib.import_module("dashboard.pages.data")


def change(metric: str, period: str) -> dict:
    return {"metric_id": metric, "period": period, "before": [8, 10], "after": None}


def test_the_window_fields_become_the_loaders_options() -> None:
    assert page.window_options(6) == {}  # Ofsted's six months: the list's own default
    assert page.window_options("12") == {"window_months": 12}
    assert page.window_options(6, "2023-04-01", "2023-07-31") == {"window": (date(2023, 4, 1), date(2023, 7, 31))}
    with pytest.raises(ValueError, match="give both dates"):
        page.window_options(6, "2023-04-01", None)
    with pytest.raises(ValueError, match="ends before it starts"):
        page.window_options(6, "2023-07-31", "2023-04-01")
    with pytest.raises(ValueError, match="1 to 120 months"):
        page.window_options(0)


def test_figures_older_than_the_last_three_months_ask_for_a_second_yes_naming_them() -> None:
    # The files hold records up to October 2023: their last three months are August to October, so July
    # and March 2023 are older (whatever the as-of date typed).
    previews = [
        {"last_period": "2023-10", "changes": [change("icpc_15wd", "2023-03"), change("icpc_15wd", "2023-08")]},
        # a workbook's other list
        {"last_period": "2023-09", "changes": [change("icpc_15wd", "2023-03"), change("seen_5wd", "2023-07")]},
    ]
    old = page.old_changes(previews, date(2026, 12, 7))
    assert [(c["metric_id"], c["period"]) for c in old] == [("icpc_15wd", "2023-03"), ("seen_5wd", "2023-07")]
    options, value = page.ask_about_old_changes(previews, "2026-12-07")
    assert options == [
        {
            "label": "Yes, change 2 figures older than the last three months: icpc_15wd 2023-03, seen_5wd 2023-07",
            "value": "yes",
        }
    ]
    assert value == []
    # Only recent figures: no second question. Without a month in the files, the as-of date's month counts.
    recent = [{"last_period": "2023-07", "changes": [change("icpc_15wd", "2023-07")]}]
    assert page.ask_about_old_changes(recent, "2026-12-07") == ([], [])
    assert page.old_changes([{"changes": [change("icpc_15wd", "2023-07")]}], date(2023, 10, 31))[0]["period"] == (
        "2023-07"
    )
