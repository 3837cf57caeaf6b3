"""Issue 21's web-side findings: nothing of one request in another's page, callbacks judged as
Dash runs them, security headers on every response, redirects only inside the app, and a plain
400 for a malformed request.

Two authorities share the app: 938 (metrics.yml's, "Demo County Council") and 846 ("Brighton
and Hove" in DfE's list), each with its own assessments, note and users.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import urllib.request
from pathlib import Path

import pytest
from servers import running_app

from dashboard import gate
from etl.ingest.load import load_files
from etl.people.notes import write_note
from etl.privacy import access
from etl.store import authority

ORG = [["team", "service", "area"], ["Team A", "Service S", "North"]]
HEADER = ["child_id", "team", "assessment_start_date", "child_seen_date", "assessment_completed_date"]
RECORDS = {
    "938": [["C1", "Team A", "2023-07-03", "", "2023-07-10"], ["C2", "Team A", "2023-04-03", "", "2023-07-31"]],
    "846": [
        ["K1", "Team A", "2023-07-03", "", "2023-07-10"],
        ["K2", "Team A", "2023-07-03", "", "2023-07-11"],
        ["K3", "Team A", "2023-07-03", "", "2023-07-12"],
    ],
}
NOTES = {"938": "Zanzibar staffing note for the county", "846": "Quokka recovery plan for the city"}
ACCESS = """
default_role: viewer
users:
  x.other: {role: board, authorities: ["846"]}
  d.viewer: {role: viewer, authorities: ["938"]}
  j.team: {role: team_manager, teams: [Team A], authorities: ["938"]}
  p.analyst: {role: analyst, authorities: ["938"]}
"""


def write(folder: Path, name: str, rows: list[list[str]]) -> Path:
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture(scope="module")
def two_authorities(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("two")
    db = folder / "warehouse.duckdb"
    org = write(folder, "organisation.csv", ORG)
    for code, rows in RECORDS.items():
        records = write(folder, f"assessments-{code}.csv", [HEADER, *rows])
        load_files([org, records], as_of="2023-09-29", who="test", db=db, authority=code)
        with authority.using(code), access.viewing(None):
            write_note("assessments_45wd", "2023-07", "la", None, NOTES[code], author=f"author.{code}", db=db)
    (folder / "access.yml").write_text(ACCESS, encoding="utf-8")
    return db


def _get(url: str, user: str) -> str:
    request = urllib.request.Request(url, headers={"X-Remote-User": user, "Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode("utf-8")


def _page(url: str, user: str, pathname: str = "/") -> str:
    """What the page router sends `user` for `pathname` (the page's content, as the browser asks for it)."""
    body = json.dumps(_router_body(pathname, "", swapped=False)).encode("utf-8")
    request = urllib.request.Request(
        url + gate.CALLBACK_PATH,
        data=body,
        headers={"X-Remote-User": user, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode("utf-8")


def test_a_page_shell_carries_nothing_of_another_users_request(two_authorities: Path, tmp_path: Path) -> None:
    env = {
        "CPIP_ACCESS": str(two_authorities.parent / "access.yml"),
        "CPIP_ACCESS_LOG": str(tmp_path / "access-log.sqlite"),
        "CPIP_AUTHORITIES": "938,846",
    }
    # One worker; x.other (846) makes its first request (the readiness probe), when Dash builds
    # the validation layout every later page carries.
    with running_app(
        two_authorities, tmp_path / "app.log", workers=1, env=env, ready_headers={"X-Remote-User": "x.other"}
    ) as url:
        own = _get(url + "/", "x.other") + _get(url + "/_dash-layout", "x.other")
        # x.other's own page names their authority and their name, and their scorecard shows their note.
        assert "Brighton and Hove" in own and "x.other" in own and NOTES["846"] in _page(url, "x.other")
        for address in ("/", "/teams", "/kpi/assessments_45wd", "/plans"):
            shell = _get(url + address, "d.viewer") + _get(url + "/_dash-layout", "d.viewer")
            assert "Demo County Council" in shell  # the viewer's own authority, in the header
            assert "Brighton and Hove" not in shell, address
            assert "x.other" not in shell, address
            assert NOTES["846"] not in shell, address
        # And the other way round: what d.viewer saw goes to nobody else.
        assert NOTES["938"] in _page(url, "d.viewer")
        shell = _get(url + "/", "x.other") + _get(url + "/_dash-layout", "x.other")
        assert "d.viewer" not in shell and NOTES["938"] not in shell and "Demo County Council" not in shell


def test_the_validation_layout_names_every_callbacks_component_and_nothing_else(client) -> None:
    import app

    page = client.get("/", headers={"X-Remote-User": "d.viewer"}).get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page).group(1))
    skeleton = config["validation_layout"]
    ids = {c["props"]["id"] for c in skeleton["props"]["children"] if isinstance(c["props"]["id"], str)}
    named = {d["id"] for spec in app.app.callback_map.values() for d in spec["inputs"] + spec["state"]}
    # Every page's callbacks (the team matrix's address, the note form, the data page's upload) can be checked.
    assert {"tm-url", "note-save", "note-params", "data-upload", "_pages_location"} <= ids
    assert {i for i in named if not i.startswith("{")} <= ids
    # Each component is its type and id alone: no text, no data.
    assert all(set(c["props"]) == {"id"} for c in skeleton["props"]["children"])


# --- callbacks as Dash runs them ------------------------------------------------------------------


@pytest.fixture
def client(two_authorities: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CPIP_DB", str(two_authorities))
    monkeypatch.setenv("CPIP_ACCESS", str(two_authorities.parent / "access.yml"))
    monkeypatch.setenv("CPIP_ACCESS_LOG", str(two_authorities.parent / "access-log.sqlite"))
    monkeypatch.setenv("CPIP_AUTHORITIES", "938,846")
    import app

    test_client = app.server.test_client()
    test_client.get("/", headers={"X-Remote-User": "d.viewer"})  # Dash registers its page router on the first request
    return test_client


ROUTER_OUTPUT = ".._pages_content.children..._pages_store.data.."


def _router_body(pathname: str, search: str, *, swapped: bool) -> dict:
    key = ROUTER_OUTPUT
    names = ["search", "pathname"] if swapped else ["pathname", "search"]
    values = [pathname, search]  # Dash hands the first to the router as the path, whatever its name
    return {
        "output": key,
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": n, "value": v} for n, v in zip(names, values, strict=True)],
        "state": [],
    }


@pytest.mark.parametrize("user", ["d.viewer", "j.team"])
def test_a_router_post_with_swapped_properties_is_refused(client, user: str) -> None:
    headers = {"X-Remote-User": user}
    # Named as the scorecard ("pathname": "/"), but Dash would route by position to /data.
    response = client.post(gate.CALLBACK_PATH, json=_router_body("/data", "/", swapped=True), headers=headers)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "does not match any part of the dashboard" in text
    assert "data-upload" not in text  # nothing of the data page
    # The same page asked for properly is served; /data properly is refused as before.
    assert (
        client.post(gate.CALLBACK_PATH, json=_router_body("/", "", swapped=False), headers=headers).status_code == 200
    )
    assert (
        client.post(gate.CALLBACK_PATH, json=_router_body("/data", "", swapped=False), headers=headers).status_code
        == 403
    )


@pytest.mark.parametrize(
    "body",
    [None, [], {"output": 3}, {"output": "..nothing.children.."}, {"output": "x", "inputs": "y"}],
    ids=["null", "list", "number", "unknown output", "no such callback"],
)
def test_a_malformed_callback_post_gets_400_and_a_sentence(client, body) -> None:
    # (Anyone but an analyst is refused such a POST before it is read: 403.)
    response = client.post(gate.CALLBACK_PATH, json=body, headers={"X-Remote-User": "p.analyst"})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)


# --- what every response carries -----------------------------------------------------------------


def test_every_route_carries_the_security_headers(client) -> None:
    import app

    addresses = {
        "/",
        "/teams",
        "/kpi/assessments_45wd",
        "/plans",
        "/data",  # refused for a viewer: the refusal carries them too
        "/_dash-layout",
        "/_dash-dependencies",
        "/assets/cpip.css",
        "/boardpack.pdf?period=1999-01",
        "/kpi/assessments_45wd/children.csv?period=2023-07&level=la",
        "/authority/938?next=/teams",
        "/nowhere",
    }
    rules = {r.rule for r in app.server.url_map.iter_rules()}
    assert "/boardpack.xlsx" in rules and "/due.csv" in rules  # the walk below reaches every kind of route
    for address in [*sorted(addresses), "/boardpack.xlsx?period=1999-01", "/due.csv?days=5"]:
        for user in ("d.viewer", None):
            response = client.get(address, headers={"X-Remote-User": user} if user else {})
            policy = response.headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'self'" in policy, (address, user)
            assert response.headers.get("X-Content-Type-Options") == "nosniff", address
            assert response.headers.get("Referrer-Policy") == "same-origin", address
            assert response.headers.get("X-Frame-Options") == "SAMEORIGIN", address
    post = client.post(
        gate.CALLBACK_PATH, json=_router_body("/", "", swapped=False), headers={"X-Remote-User": "x.other"}
    )
    assert post.headers.get("X-Frame-Options") == "SAMEORIGIN"


def test_the_page_allows_only_its_own_inline_script(client) -> None:
    page = client.get("/", headers={"X-Remote-User": "d.viewer"})
    policy = page.headers["Content-Security-Policy"]
    inline = re.findall(
        r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", page.get_data(as_text=True), re.S
    )
    assert any("new DashRenderer" in script for script in inline)
    script_src = policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "'unsafe-inline'" not in script_src
    # Each inline script on the page is allowed by its hash, and nothing else inline is.
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        assert f"'sha256-{digest}'" in script_src
    assert script_src.count("'sha256-") == len(inline)


@pytest.mark.parametrize(
    "target",
    [
        "/%09/example.com/phish",
        "//example.com",
        "/\\example.com",
        "/%5Cexample.com",
        "https://example.com",
        "/%0A/example.com",
        "/%0D%0A/example.com",
        "%09//example.com",
        "javascript:alert(1)",
        "/ /example.com",
    ],
)
def test_the_authority_switch_redirects_only_inside_the_app(client, target: str) -> None:
    response = client.get(f"/authority/938?next={target}", headers={"X-Remote-User": "d.viewer"})
    assert (response.status_code, response.headers["Location"]) == (303, "/")


def test_the_authority_switch_goes_back_to_the_page_it_came_from(client) -> None:
    response = client.get("/authority/938?next=/teams%3Flevel%3Dteam", headers={"X-Remote-User": "d.viewer"})
    assert (response.status_code, response.headers["Location"]) == (303, "/teams?level=team")


# --- malformed callback parameters ----------------------------------------------------------------


def _callback_body(output: str, inputs: list[tuple[str, str, object]], state: list[tuple[str, str, object]]) -> dict:
    outputs = [
        dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in output.strip(".").split("...")
    ]
    return {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }


@pytest.mark.parametrize("params", ["x", [1], {"metric_id": 3, "level": "la", "unit": None}, {"level": "la"}])
def test_malformed_note_and_download_parameters_get_400(client, params) -> None:
    user = {"X-Remote-User": "p.analyst"}
    save = _callback_body(
        "..note-current.children...note-message.children..",
        [("note-save", "n_clicks", 1)],
        [("note-text", "value", "A note."), ("note-params", "data", params)],
    )
    response = client.post(gate.CALLBACK_PATH, json=save, headers=user)
    assert (response.status_code, response.get_data(as_text=True).strip()) == (400, gate.MALFORMED_CALLBACK)
    download = _callback_body(
        "kpi-download.data", [("kpi-download-btn", "n_clicks", 1)], [("kpi-params", "data", params)]
    )
    response = client.post(gate.CALLBACK_PATH, json=download, headers=user)
    assert response.status_code == 400 and "Reload the page" in response.get_data(as_text=True)


def test_a_download_naming_no_real_kpi_gets_400(client) -> None:
    params = {"metric_id": "nope", "level": "la", "unit": "Demo County Council", "period": "2023-07"}
    download = _callback_body(
        "kpi-download.data", [("kpi-download-btn", "n_clicks", 1)], [("kpi-params", "data", params)]
    )
    response = client.post(gate.CALLBACK_PATH, json=download, headers={"X-Remote-User": "p.analyst"})
    assert response.status_code == 400 and response.get_data(as_text=True).startswith("The CSV could not be made")


def test_every_registered_callback_as_the_browser_sends_it_is_let_through(client) -> None:
    import app

    def outputs_of(key: str) -> list[dict]:
        # As the renderer names them: a shared output keeps its `@<hash>` on the property.
        parts = key[2:-2].split("...") if key.startswith("..") else [key]
        return [
            dict(zip(("id", "property"), (json.loads(c) if c.startswith("{") else c, p), strict=True))
            for c, p in (part.rsplit(".", 1) for part in parts)
        ]

    def sent(spec: dict) -> object:
        if spec["id"].startswith("{"):
            return []  # an ALL pattern matching nothing on the page
        return {"id": spec["id"], "property": spec["property"], "value": None}

    checked = 0
    for key, spec in app.app.callback_map.items():
        outputs = outputs_of(key)
        if any(isinstance(o["id"], dict) for o in outputs):
            continue  # pattern-matching outputs are sent resolved to the page's components
        body = {
            "output": key,
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [sent(s) for s in spec["inputs"]],
            "state": [sent(s) for s in spec["state"]],
        }
        assert gate.callback_mismatch(body, app.app.callback_map) is None, key
        checked += 1
    assert checked >= 25  # every callback but the few with pattern-matching outputs
    assert any("@" in key for key in app.app.callback_map)  # shared outputs are among them
