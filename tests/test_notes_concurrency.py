"""Nothing written by a person is lost while loads, failed loads and undos run.

gunicorn serves the real app with three workers on a temporary warehouse and an
access file. One thread loads an extract, undoes it and tries a file with
errors, again and again, each a full warehouse swap; four people save notes
through the KPI page's callback (the POST the browser makes) meanwhile, each
save a new version. Afterwards the notes store holds every version that was
saved, in order, and the saves refused by the policy are not there. On both
engines (conftest's `engine`): beside DuckDB the notes are a SQLite file the
swaps never touch; on PostgreSQL, tables the loads' transactions never lock.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from kpi_helpers import new_warehouse
from servers import running_app

from etl.ingest.load import load_files, undo_load
from etl.people import notes

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data_page"
AS_OF = date(2023, 8, 5)
LOAD_SECONDS = 6.0
ACCESS = """
default_role: viewer
users:
  board.1: {role: board}
  board.2: {role: board}
  hos.1: {role: head_of_service, services: [Assessment and Intervention]}
  tm.1: {role: team_manager, teams: [Team C]}
"""
OUTPUTS = [{"id": "note-current", "property": "children"}, {"id": "note-message", "property": "children"}]


def save(url: str, user: str, text: str, level: str, unit: str) -> tuple[int, str]:
    body = {
        "output": "..note-current.children...note-message.children..",
        "outputs": OUTPUTS,
        "inputs": [{"id": "note-save", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "note-text", "property": "value", "value": text},
            {
                "id": "note-params",
                "property": "data",
                "value": {"metric_id": "seen_5wd", "period": "2023-07", "level": level, "unit": unit},
            },
        ],
        "changedPropIds": ["note-save.n_clicks"],
    }
    request = urllib.request.Request(
        url + "/_dash-update-component",
        data=json.dumps(body).encode("utf-8"),
        headers={"X-Remote-User": user, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_no_note_is_lost_while_loads_and_undos_run(tmp_path: Path, new_target) -> None:
    target = new_target(tmp_path)
    db = new_warehouse(target if isinstance(target, str) else tmp_path)
    access_file = tmp_path / "access.yml"
    access_file.write_text(ACCESS, encoding="utf-8")
    env = {"CPIP_CACHE_DIR": str(tmp_path / "cache"), "CPIP_ACCESS": str(access_file)}
    people = [
        ("board.1", "la", "Demo County Council"),
        ("board.2", "service", "Children We Care For"),
        ("hos.1", "team", "Team A"),
        ("tm.1", "team", "Team C"),
    ]
    with running_app(
        str(db), tmp_path / "gunicorn.log", workers=3, env=env, ready_headers={"X-Remote-User": "board.1"}
    ) as url:
        writes: list[str] = []
        errors: list[str] = []
        stop = threading.Event()

        def loader() -> None:
            try:
                end = time.monotonic() + LOAD_SECONDS

                def enough() -> bool:  # two load cycles, three versions from each writer, however busy the machine
                    return writes.count("refused") >= 2 and all(len(texts) >= 3 for texts in saved.values())

                while time.monotonic() < end + 90 and (time.monotonic() < end or not enough()):
                    (report,) = load_files([FIXTURES / "kpi_values_base.csv"], as_of=AS_OF, who="loader", db=db)
                    writes.append(report.outcome)
                    writes.append(undo_load(report.load_id, who="loader", db=db))
                    (refused,) = load_files(
                        [FIXTURES / "with_errors" / "pathway_plans_july.csv"], as_of=AS_OF, who="loader", db=db
                    )
                    writes.append(refused.outcome)
            except Exception as exc:
                errors.append(repr(exc))
            finally:
                stop.set()

        saved: dict[str, list[str]] = {user: [] for user, _level, _unit in people}
        answers: Counter = Counter()

        def writer(user: str, level: str, unit: str) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                text = f"{user} version {n}"
                status, answer = save(url, user, text, level, unit)
                answers[(user, status)] += 1
                if status == 200 and "Not saved" not in answer:
                    saved[user].append(text)

        threads = [threading.Thread(target=writer, args=person) for person in people]
        load_thread = threading.Thread(target=loader)
        for t in [*threads, load_thread]:
            t.start()
        for t in [load_thread, *threads]:
            t.join(timeout=LOAD_SECONDS + 150)
        # A team manager writing for a team that is not theirs: refused, and nothing stored.
        refused_status, refused_text = save(url, "tm.1", "not mine", "team", "Team A")
        viewer_status, _ = save(url, "someone", "a viewer", "la", "Demo County Council")

    assert errors == []
    assert writes.count("loaded") >= 2 and writes.count("refused") >= 2
    assert {status for (_user, status) in answers} == {200}
    # The policy refuses in the store (the person sees why, under the form); the gate refuses a viewer outright.
    assert refused_status == 200 and "Not saved" in refused_text and "Team A is outside it" in refused_text
    assert viewer_status == 403
    for user, level, unit in people:
        history = notes.note_history("seen_5wd", "2023-07", level, unit, db=db)
        assert [n.text for n in history] == saved[user], user  # every version, in the order written
        assert {n.author for n in history} == {user}
        assert len(history) >= 3
    assert "not mine" not in [n.text for n in notes.note_history("seen_5wd", "2023-07", "team", "Team A", db=db)]
