"""The pages' pieces for notes, plans and events, called directly (no browser):
what each role is offered, and what the callbacks save or refuse."""

from __future__ import annotations

import json
from datetime import date

import plotly
import pytest
from dash import html
from dash_tree import by_id
from kpi_helpers import add_records, new_warehouse

from etl.people import notes
from etl.privacy import access

TM = access.Viewer("j.smith", access.Role.TEAM_MANAGER, teams=("Team C",))
BOARD = access.Viewer("dlt.chair", access.Role.BOARD)
VIEWER = access.Viewer("someone", access.Role.VIEWER)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = new_warehouse(tmp_path)
    add_records(
        path,
        "assessments",
        [{"child_id": f"c{i}", "team": team, "assessment_start_date": date(2023, 7, 3)}
         for i, team in enumerate(["Team A", "Team C"])],
        as_of=date(2023, 8, 4),
    )  # fmt: skip
    monkeypatch.setenv("CPIP_DB", str(path))
    monkeypatch.delenv("CPIP_NOTES", raising=False)
    import app  # noqa: F401  (registers the pages)

    return path


def _text(components) -> str:
    return json.dumps(components, cls=plotly.utils.PlotlyJSONEncoder)


def test_the_note_callback_saves_for_the_viewers_own_team_and_says_why_not_otherwise(db):
    from dashboard.pages import kpi

    params = {"metric_id": "seen_5wd", "period": "2023-07", "level": "team", "unit": "Team C"}
    with access.viewing(TM):
        current, message = kpi.save_note(1, "Cover from August.", params)
        assert message == "Saved." and "Cover from August." in _text(current)
        _current, message = kpi.save_note(1, "Not ours.", {**params, "unit": "Team A"})
    assert message.startswith("Not saved: You are signed in as j.smith, team manager (Team C)")
    assert [(n.org_unit, n.author) for n in notes.current_notes(db=db)] == [("Team C", "j.smith")]


def test_the_event_callback_adds_a_kpi_event_for_the_board(db):
    from dashboard.pages import kpi

    with access.viewing(BOARD):
        refused = kpi.add_event(1, None, "Rota", "seen_5wd")  # the sentence, naming the date box it is about
        assert (refused.children, refused.to_plotly_json()["props"]["data-field"]) == (
            "Not added: choose the date it happened.",
            "plan-edit-event-date",
        )
        assert kpi.add_event(1, "2023-05-02", "New duty rota", "seen_5wd").startswith("Added 2023-05-02: New duty")
    with access.viewing(TM):
        assert "editing the Practice Action Plans" in kpi.add_event(1, "2023-05-03", "x", "seen_5wd")
    mine = [e for e in notes.events_for("seen_5wd", db=db) if e.metric_id]
    assert [(e.event_date, e.label, e.author) for e in mine] == [(date(2023, 5, 2), "New duty rota", "dlt.chair")]


def test_each_role_is_offered_only_the_forms_it_may_use(db):
    from dashboard.pages import kpi, plans

    def forms(viewer, level="team", unit="Team C") -> tuple[bool, bool, bool]:
        """(note form shown, event form shown, action editor shown)"""
        with access.viewing(viewer):
            page = html.Div(kpi.build("seen_5wd", "2023-07", level, unit))
            plan_page = html.Div(plans.layout())
        found = [by_id(tree, cid) for tree, cid in ((page, "note-form"), (page, "kpi-event-form"),
                                                    (plan_page, "plans-editor"))]  # fmt: skip
        assert None not in found  # always in the layout, hidden or not
        return tuple(not getattr(c, "hidden", False) for c in found)

    assert forms(TM) == (True, False, False)
    assert forms(TM, unit="Team A") == (False, False, False)
    assert forms(BOARD) == (True, True, True)
    assert forms(VIEWER) == (False, False, False)
