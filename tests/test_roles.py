"""Roles: every route and every callback of the app, as every role.

The app runs in-process (Flask's test client) with the access file below over
a small hand-made warehouse (kpi_helpers.ORG: Teams A and B in Assessment and
Intervention, C and D in Children We Care For). Each request is judged as a
person would see it: refused means HTTP 403 (401 when nobody is signed in) and
a plain sentence, never data; allowed means neither.

The walk is complete by construction: every Flask route and every callback the
app registers must be in the walk, so a new route or callback fails here until
someone says who may use it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from kpi_helpers import add_records, new_warehouse

from dashboard import gate
from etl.privacy import access, access_log

ROOT = Path(__file__).resolve().parent.parent
ACCESS = """
default_role: viewer
users:
  a.khan:   {role: head_of_service, services: [Assessment and Intervention]}
  j.smith:  {role: team_manager, teams: [Team C]}
  dlt.chair: {role: board}
  p.analyst: {role: analyst}
"""
# user (None: nobody signed in) -> role, as the access file gives it; "stranger" is not listed.
USERS = {
    None: None,
    "stranger": "viewer",
    "j.smith": "team_manager",
    "a.khan": "head_of_service",
    "dlt.chair": "board",
    "p.analyst": "analyst",
}
MAY_SEE = {  # which teams' children each role may see
    "viewer": set(),
    "team_manager": {"Team C"},
    "head_of_service": {"Team A", "Team B"},
    "board": {"Team A", "Team B", "Team C", "Team D"},
    "analyst": {"Team A", "Team B", "Team C", "Team D"},
}
ALL_TEAMS = MAY_SEE["board"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("roles")
    db = new_warehouse(folder)
    add_records(
        db,
        "assessments",
        [
            {"child_id": "CHILD-A1", "team": "Team A", "assessment_start_date": date(2023, 7, 3), "worker": "SW-A1-3"},
            {"child_id": "CHILD-C1", "team": "Team C", "assessment_start_date": date(2023, 7, 3), "worker": "SW-C1-7"},
        ],
        as_of=date(2023, 8, 4),
    )
    (folder / "access.yml").write_text(ACCESS, encoding="utf-8")
    return db


@pytest.fixture
def client(warehouse, monkeypatch):
    monkeypatch.setenv("CPIP_DB", str(warehouse))
    monkeypatch.setenv("CPIP_ACCESS", str(warehouse.parent / "access.yml"))
    monkeypatch.delenv("CPIP_ACCESS_LOG", raising=False)
    import app

    test_client = app.server.test_client()
    test_client.get("/", headers={"X-Remote-User": "p.analyst"})  # Dash registers its page router on the first request
    return test_client


def headers(user: str | None) -> dict:
    return {"X-Remote-User": user, "Accept": "text/html"} if user else {"Accept": "text/html"}


# What each route needs, by the Flask rule it is served by: (sample address, the
# teams behind it or None for an aggregate or the data page, analysts only?).
PAGES = {
    "/": ("/", None, False),
    "/teams": ("/teams?level=service&unit=Assessment%20and%20Intervention", None, False),
    "/audits": ("/audits", None, False),
    "/plans": ("/plans?show=overdue", None, False),
    "/glossary": ("/glossary", None, False),
    "/regional": ("/regional?metric=seen_5wd", None, False),
    "/kpi/<metric_id>": ("/kpi/seen_5wd?period=2023-07&level=team&unit=Team%20A", None, False),
    "/data": ("/data", None, True),
    "/due": ("/due?team=Team%20C&days=5", {"Team C"}, False),
    "/due (every team they may see)": ("/due?days=5", set(), False),
    "/kpi/<metric_id>/children": ("/kpi/seen_5wd/children?period=2023-07&level=team&unit=Team%20A", {"Team A"}, False),
    "/kpi/<metric_id>/children (service)": (
        "/kpi/seen_5wd/children?period=2023/24%20Q2&level=service&unit=Children%20We%20Care%20For",
        {"Team C", "Team D"},
        False,
    ),
    "/kpi/<metric_id>/children (authority)": ("/kpi/seen_5wd/children?period=2023/24&level=la", ALL_TEAMS, False),
}
ROUTES = {
    "/static/<path:filename>": ("/static/nothing.css", None, False),
    "/assets/<path:filename>": ("/assets/cpip.css", None, False),
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": (
        "/_dash-component-suites/dash/dcc/dash_core_components.js",
        None,
        False,
    ),
    "/_dash-layout": ("/_dash-layout", None, False),
    "/_dash-dependencies": ("/_dash-dependencies", None, False),
    "/_reload-hash": ("/_reload-hash", None, False),
    "/_favicon.ico": ("/_favicon.ico", None, False),
    "/boardpack.pdf": ("/boardpack.pdf?period=1999-01", None, False),  # a 400 once through the gate: fast
    "/boardpack.xlsx": ("/boardpack.xlsx?period=1999-01", None, False),
    "/kpi/<metric_id>/children.csv": (
        "/kpi/seen_5wd/children.csv?period=2023-07&level=team&unit=Team%20C",
        {"Team C"},
        False,
    ),
    "/due.csv": ("/due.csv?team=Team%20A&days=5&on=2023-08-01", {"Team A"}, False),
    # Everyone may choose metrics.yml's authority (tests/test_authorities.py: a user's own authorities).
    "/authority/<code>": ("/authority/938?next=/teams", None, False),
}


def allowed(role: str | None, teams: set[str] | None, analysts_only: bool) -> bool:
    if role is None:
        return False
    if analysts_only:
        return role == "analyst"
    if teams is None:
        return True
    may = MAY_SEE[role]
    if not teams:  # the due list of every team they may see: any role with child lists
        return bool(may)
    return bool(may) and teams <= may


def test_every_route_is_in_the_walk(client):
    import app

    rules = {r.rule for r in app.server.url_map.iter_rules()} - {"/", "/<path:path>", "/_dash-update-component"}
    assert rules == set(ROUTES)
    import dash

    pages = {p.get("path_template") or p["path"] for p in dash.page_registry.values()}
    assert pages == {k.split(" (")[0] for k in PAGES}


@pytest.mark.parametrize("user", list(USERS))
def test_every_route_as_every_role(client, user):
    role = USERS[user]
    for name, (address, teams, analysts_only) in {**PAGES, **ROUTES}.items():
        response = client.get(address, headers=headers(user))
        text = response.get_data().decode("utf-8", "replace")
        if user is None:
            assert response.status_code == 401, (name, address)
            assert "You are not signed in" in text
        elif allowed(role, teams, analysts_only):
            assert response.status_code not in (401, 403), (user, name, address, text[:300])
        else:
            assert response.status_code == 403, (user, name, address, response.status_code)
            assert f"You are signed in as {user}" in text and "CHILD-A1" not in text and "CHILD-C1" not in text


def test_child_csv_gives_only_what_the_role_may_see(client):
    ok = client.get("/kpi/seen_5wd/children.csv?period=2023-07&level=team&unit=Team%20C", headers=headers("j.smith"))
    assert ok.status_code == 200
    assert ok.get_data(as_text=True).splitlines() == [
        "child_id,team,start,deadline,event_date,working_days,outcome",
        "CHILD-C1,Team C,2023-07-03,2023-07-10,,24,overdue",
    ]
    edited = client.get(
        "/kpi/seen_5wd/children.csv?period=2023-07&level=team&unit=Team%20A", headers=headers("j.smith")
    )
    assert edited.status_code == 403
    assert edited.get_data(as_text=True).strip() == (
        "You are signed in as j.smith, team manager (Team C): you may see the child lists of Team C only, "
        "and the team Team A is outside them."
    )


def test_the_due_lists_worker_only_for_a_role_with_child_lists(client):
    # The allocated worker is on the due list (issue 25), and the due list is a child list: a team manager
    # sees their team's workers in the CSV and on the page; a viewer gets neither, refused on the server.
    import app

    csv_address = "/due.csv?team=Team%20C&days=5&on=2023-08-01"
    ok = client.get(csv_address, headers=headers("j.smith"))
    assert ok.status_code == 200
    assert ok.get_data(as_text=True).splitlines() == [
        "metric_id,child_id,team,worker,start,deadline,days_left,days_overdue,outcome",
        "seen_5wd,CHILD-C1,Team C,SW-C1-7,2023-07-03,2023-07-10,,22,overdue",
    ]
    key = next(k for k in app.app.callback_map if "_pages_content" in k)
    body = _body(key, app.app.callback_map[key], pathname="/due", search="?team=Team%20C&days=5&on=2023-08-01")
    page = client.post(gate.CALLBACK_PATH, json=body, headers=headers("j.smith"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '"headerName": "Worker"' in text.replace('":"', '": "') and "SW-C1-7" in text
    for response in (client.get(csv_address, headers=headers("stranger")),
                     client.post(gate.CALLBACK_PATH, json=body, headers=headers("stranger"))):  # fmt: skip
        text = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "Worker" not in text and "SW-C1-7" not in text and "CHILD-C1" not in text


# --- callbacks --------------------------------------------------------------------


def _outputs(key: str) -> list[dict]:
    """Dash's callback_map key ("a.b" or "..a.b...c.d..") as the outputs of a POST."""
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    out = []
    for part in parts:
        cid, prop = part.rsplit(".", 1)
        out.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop})
    return out


def _body(key: str, entry: dict, *, pathname: str = "/", search: str = "") -> dict:
    values = {"pathname": pathname, "search": search}
    inputs = [{"id": i["id"], "property": i["property"], "value": values.get(i["property"])} for i in entry["inputs"]]
    outputs = _outputs(key)
    return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs, "state": []}


def _page_of(key: str) -> str:
    """Which page a callback belongs to, by its first output's id (pages namespace theirs)."""
    first = _outputs(key)[0]["id"]
    name = first["type"] if isinstance(first, dict) else first
    return name.split("-")[0] if "-" in name else name


def test_every_callback_as_every_role(client):
    import app

    callbacks = app.app.callback_map
    pages = {_page_of(k) for k in callbacks}
    # Every callback belongs to a page whose rule is known here: a new page fails this test until it is.
    assert pages <= {
        "_pages_content", "_pages_dummy", "nav", "sc", "kpi", "tm", "au", "data", "children", "due", "note", "plan",
        "rg",
    }  # fmt: skip
    analysts_only = {k for k in callbacks if _page_of(k) == "data"}
    assert len(analysts_only) >= 8  # check, load, cancel, history, freshness, undo..., the access log
    # Writing a note: every role but the viewer (etl.people.notes then checks the unit);
    # editing plans: board and analyst.
    note_writers = {k for k in callbacks if _page_of(k) == "note"}
    plan_editors = {k for k in callbacks if _page_of(k) == "plan"}
    assert len(note_writers) == 1 and len(plan_editors) == 3  # save an action, fill its form, add a KPI event
    may = {
        **dict.fromkeys(analysts_only, frozenset({"analyst"})),
        **dict.fromkeys(note_writers, frozenset({"team_manager", "head_of_service", "board", "analyst"})),
        **dict.fromkeys(plan_editors, frozenset({"board", "analyst"})),
    }
    words = {**dict.fromkeys(analysts_only, "data page"), **dict.fromkeys(note_writers, "writing notes"),
             **dict.fromkeys(plan_editors, "Practice Action Plans")}  # fmt: skip
    for user, role in USERS.items():
        if user is None:
            continue
        viewer = access.policy().viewer_for(user)
        for key, entry in callbacks.items():
            if _page_of(key) == "_pages_content":
                continue  # the page router: judged by the page it opens, below
            body = _body(key, entry)
            why = gate.refusal_for(viewer, method="POST", path=gate.CALLBACK_PATH, query_string="", body=body)
            if key in may and role not in may[key]:
                assert why is not None, (user, key)
                # A hand-made POST is refused before the callback runs.
                response = client.post(gate.CALLBACK_PATH, json=body, headers=headers(user))
                assert response.status_code == 403, (user, key)
                assert words[key] in response.get_data(as_text=True)
            else:
                assert why is None, (user, key, why)


@pytest.mark.parametrize("user", [u for u in USERS if u])
def test_the_page_router_opens_only_the_pages_the_role_may_see(client, user):
    import app

    role = USERS[user]
    key = next(k for k in app.app.callback_map if "_pages_content" in k)
    entry = app.app.callback_map[key]
    for name, (address, teams, analysts_only) in PAGES.items():
        path, _, search = address.partition("?")
        body = _body(key, entry, pathname=path, search="?" + search if search else "")
        response = client.post(gate.CALLBACK_PATH, json=body, headers=headers(user))
        text = response.get_data(as_text=True)
        if allowed(role, teams, analysts_only):
            assert response.status_code == 200, (user, name, text[:300])
        else:
            assert response.status_code == 403, (user, name)
            assert "CHILD-A1" not in text and "CHILD-C1" not in text


def test_an_odd_spelling_of_an_address_is_judged_like_the_address(client):
    # (An address starting // is a host to an HTTP client; the page router's pathname below may.)
    for address in ("/kpi/seen_5wd//children/?level=la", "/kpi/seen_5wd/%63hildren?level=la", "/data/"):
        assert client.get(address, headers=headers("stranger")).status_code == 403, address
    import app

    key = next(k for k in app.app.callback_map if "_pages_content" in k)
    for pathname in ("//kpi/seen_5wd/children", "/kpi/seen_5wd/%63hildren/", "/data/"):
        body = _body(key, app.app.callback_map[key], pathname=pathname, search="?level=la")
        assert client.post(gate.CALLBACK_PATH, json=body, headers=headers("stranger")).status_code == 403, pathname


def test_no_record_reaches_the_layout_every_visitor_is_sent(client):
    """Dash sends every visitor its validation layout (every page's layout() called
    with no arguments): it must carry no child's record, whoever asked first."""
    page = client.get("/kpi/seen_5wd/children?period=2023-07&level=la", headers=headers("p.analyst"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "_dash-config" in text and "CHILD-A1" not in text and "CHILD-C1" not in text


def test_a_hand_made_load_is_refused_and_changes_nothing(client, warehouse):
    import app

    key = next(k for k in app.app.callback_map if k.startswith("..data-previews.data"))
    body = _body(key, app.app.callback_map[key])
    before = warehouse.stat().st_mtime_ns
    response = client.post(gate.CALLBACK_PATH, json=body, headers=headers("dlt.chair"))
    assert response.status_code == 403
    assert response.get_data(as_text=True).startswith("You are signed in as dlt.chair, board member")
    assert warehouse.stat().st_mtime_ns == before


def test_a_child_list_view_is_recorded_and_a_refusal_is_not(client, warehouse):
    before = len(access_log.entries(warehouse))
    client.get("/kpi/seen_5wd/children.csv?period=2023-07&level=team&unit=Team%20A", headers=headers("j.smith"))
    client.get("/kpi/seen_5wd/children.csv?period=2023-07&level=team&unit=Team%20A", headers=headers("a.khan"))
    log = access_log.entries(warehouse)
    assert len(log) == before + 1
    assert (log.iloc[0]["who"], log.iloc[0]["role"], log.iloc[0]["children"]) == ("a.khan", "head_of_service", 1)


def test_every_page_says_who_is_signed_in(client, monkeypatch):
    page = client.get("/", headers=headers("a.khan")).get_data(as_text=True)
    assert 'id="cpip-who"' in page and "Signed in as a.khan, head of service (Assessment and Intervention)" in page
    monkeypatch.delenv("CPIP_ACCESS")
    page = client.get("/teams").get_data(as_text=True)
    assert "Single-user mode" in page and "are the analyst" in page
    # Without an access file the local user is the analyst: everything is open.
    assert client.get("/data").status_code == 200


def test_default_role_none_refuses_a_user_not_listed(warehouse, monkeypatch, client):
    strict = warehouse.parent / "strict.yml"
    strict.write_text(ACCESS.replace("default_role: viewer", "default_role: none"), encoding="utf-8")
    monkeypatch.setenv("CPIP_ACCESS", str(strict))
    response = client.get("/", headers=headers("stranger"))
    assert response.status_code == 403
    assert "you have not been given access to this dashboard" in response.get_data(as_text=True)
    assert client.get("/", headers=headers("A.Khan")).status_code == 200  # names match ignoring case


# --- the access file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users: {}", "field default_role: Field required"),
        ("default_role: boss", "field default_role: must be viewer, board, analyst or none"),
        ("default_role: viewer\nusers:\n  x: {role: team_manager}", "user x: a team_manager needs 'teams'"),
        ("default_role: viewer\nusers:\n  x: {role: head_of_service}", "user x: a head_of_service needs 'services'"),
        ("default_role: viewer\nusers:\n  x: {role: board, teams: [A]}", "user x: 'teams' is for a team_manager only"),
        ("default_role: viewer\nusers:\n  x: {role: viewer, colour: red}", "user x, field colour: Extra inputs"),
        ("default_role: viewer\nusers:\n  x: {role: chief}", "user x, field role: Input should be"),
        ("default_role: viewer\nusers:\n  x: {role: analyst}\n  X: {role: viewer}", "listed twice"),
        ("default_role: [", "not valid YAML"),
    ],
)
def test_a_mistake_in_the_access_file_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "access.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(access.AccessError) as raised:
        access.load_policy(path)
    line = str(raised.value)
    assert message in line and "\n" not in line, line


def test_the_app_will_not_start_with_a_broken_access_file(tmp_path):
    path = tmp_path / "access.yml"
    path.write_text("default_role: viewer\nusers:\n  j.smith: {role: team_manager}\n", encoding="utf-8")
    env = {"CPIP_ACCESS": str(path), "CPIP_DB": str(tmp_path / "w.duckdb"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"CPIP_ACCESS is not valid: {path}: user j.smith: a team_manager needs 'teams' (at least one)"
    )
