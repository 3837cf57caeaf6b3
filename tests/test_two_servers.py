"""Two web servers, one service: the way a council runs it on two machines (README, "On two or more machines").

The test starts PostgreSQL (tests/pg_server.py), Redis, a Celery worker
(`cpip worker`) and two app servers (gunicorn, two workers each) on different
ports, each with state and temp folders of its own, sharing only what the
README says they share: the database, Redis (CPIP_REDIS_URL) and the upload
folder (CPIP_UPLOAD_DIR). It then uses them the way browsers behind a load
balancer would, a request here and the next one there:

- a file checked through one server loads through the other (the check and
  the load are background jobs, started through one server and polled through
  the other until done);
- a note written through one shows on the other;
- a child list opened on each writes one access log;
- an undo through the second server undoes a load made through the first;
- the board pack from either is the same.

The notes and access-log parts need what people write to live in PostgreSQL
(issue 26, part one); with them in SQLite beside each server they fail.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from kpi_helpers import add_records
from pg_server import PgServer, create_database, drop_database
from servers import ROOT, free_port, running_app

from etl.ingest.load import load_files, load_log
from etl.serve import queries

pytestmark = pytest.mark.slow

FIXTURES = ROOT / "tests" / "fixtures" / "data_page"
AS_OF = date(2023, 8, 5)
ACCESS = """
default_role: none
users:
  p.analyst: {role: analyst}
  board.1: {role: board}
  board.2: {role: board}
"""
CALLBACK = "/_dash-update-component"
JOB_SECONDS = 120  # a check or a load on a busy 2-core machine


# --- the services ----------------------------------------------------------------------------------------


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A throwaway Redis on a free loopback port, nothing kept on disk; yields its URL."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with open(folder / "redis.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen([*command, "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis did not start:\n{(folder / 'redis.log').read_text()}") from None
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def celery_worker(env: dict[str, str], log_path: Path) -> Iterator[None]:
    """`cpip worker` until the block ends; fails the test if it logged a traceback."""
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cpip.cli", "worker", "--concurrency", "1"],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "ready." not in log_path.read_text(encoding="utf-8"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log_path.read_text(encoding='utf-8')[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log_path.read_text(encoding="utf-8")
    assert "Traceback" not in text, f"the worker logged an error:\n{text[-4000:]}"


@pytest.fixture(scope="module")
def warehouse(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    """A PostgreSQL warehouse holding the organisation, the base KPI values and 30 assessments."""
    url = create_database(pg_server.url, template=pg_template)
    reports = load_files(
        [FIXTURES / "organisation.csv", FIXTURES / "kpi_values_base.csv"], as_of=AS_OF, who="setup", db=url
    )
    assert [r.outcome for r in reports] == ["loaded", "loaded"]
    add_records(
        url,
        "assessments",
        [
            {"child_id": f"C{i}", "team": team, "assessment_start_date": date(2023, 7, 3 + i % 20)}
            for i, team in enumerate(["North A&I 1", "Central A&I 1", "North CWCF 1"] * 10)
        ],
        as_of=AS_OF,
    )
    yield url
    from etl.store import db

    db.close_pool(url)
    drop_database(pg_server.url, urlsplit(url).path.lstrip("/"))


@pytest.fixture(scope="module")
def servers(warehouse: str, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """Redis, a worker and two app servers (A and B) on the one warehouse; yields their base URLs."""
    root = tmp_path_factory.mktemp("two")
    access_file = root / "access.yml"
    access_file.write_text(ACCESS, encoding="utf-8")
    shared = root / "shared-uploads"  # the one folder every machine mounts
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(root / "redis"))
        common = {
            "CPIP_DB": warehouse,
            "CPIP_ACCESS": str(access_file),
            "CPIP_REDIS_URL": redis_url,
            "CPIP_UPLOAD_DIR": str(shared),
        }

        def machine(name: str) -> dict[str, str]:
            folder = root / name
            for sub in ("state", "tmp", "cache"):
                (folder / sub).mkdir(parents=True)
            return {
                **common,
                "CPIP_STATE_DIR": str(folder / "state"),
                "TMPDIR": str(folder / "tmp"),
                "CPIP_CACHE_DIR": str(folder / "cache"),
            }

        stack.enter_context(celery_worker(machine("worker"), root / "worker.log"))
        urls = [
            stack.enter_context(
                running_app(
                    warehouse,  # type: ignore[arg-type]
                    root / f"{name}.log",
                    workers=2,
                    env=machine(name),
                    ready_headers={"X-Remote-User": "board.1"},
                )
            )
            for name in ("a", "b")
        ]
        yield urls[0], urls[1]


# --- a browser, over HTTP ----------------------------------------------------------------------------------


class Browser:
    """One person's browser: their sign-on header on every request, Dash's callbacks made by hand.

    A page load hands the browser a signed token (`end_id`) that every callback echoes; background
    jobs' handles are bound to it. Any server signs and checks it with the same secret (kept in Redis),
    so the token of a page loaded from one server serves on the other."""

    def __init__(self, user: str, page_from: str) -> None:
        self.http = requests.Session()
        self.http.headers["X-Remote-User"] = user
        page = self.http.get(page_from + "/", timeout=30)
        page.raise_for_status()
        config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page.text, re.S)
        assert config, page.text[:500]
        self.end_id = json.loads(config.group(1))["end_id"]
        self.dependencies = self.http.get(page_from + "/_dash-dependencies", timeout=30).json()

    def _spec(self, first_output: str, values: dict[str, object]) -> dict:
        """The callback whose first output is `first_output` ("data-staged.data") and whose inputs
        `values` names (several callbacks write the same output, each on its own input)."""
        for spec in self.dependencies:
            outputs = spec["output"].strip(".").split("...")
            inputs = {f"{i['id']}.{i['property']}" for i in spec["inputs"]}
            if outputs[0].split("@")[0] == first_output and inputs <= set(values):
                return spec
        raise LookupError(first_output)

    def body(self, first_output: str, values: dict[str, object]) -> dict:
        spec = self._spec(first_output, values)
        outputs = []
        for part in spec["output"].strip(".").split("..."):
            cid, prop = part.split("@")[0].rsplit(".", 1)
            outputs.append({"id": cid, "property": prop})

        def filled(items: list[dict]) -> list[dict]:
            return [
                {"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in items
            ]

        inputs = filled(spec["inputs"])
        return {
            "output": spec["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs,
            "state": filled(spec["state"]),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        }

    def call(self, server: str, first_output: str, values: dict[str, object]) -> dict:
        """An ordinary callback: its outputs, by "id.property"."""
        answer = self.http.post(
            server + CALLBACK, params={"endId": self.end_id}, json=self.body(first_output, values), timeout=60
        )
        assert answer.status_code == 200, answer.text[:1000]
        return _outputs(answer.json())

    def job(self, start_on: str, poll_on: str, first_output: str, values: dict[str, object]) -> dict:
        """A background callback started through one server and polled through the other until it is done."""
        body = self.body(first_output, values)
        started = self.http.post(start_on + CALLBACK, params={"endId": self.end_id}, json=body, timeout=60)
        assert started.status_code in (200, 202), started.text[:1000]
        handles = started.json()
        assert "cacheKey" in handles and "job" in handles, handles
        deadline = time.monotonic() + JOB_SECONDS
        while time.monotonic() < deadline:
            params = {"endId": self.end_id, "cacheKey": handles["cacheKey"], "job": handles["job"]}
            answer = self.http.post(poll_on + CALLBACK, params=params, json=body, timeout=60)
            assert answer.status_code in (200, 202, 204), answer.text[:1000]
            if answer.status_code != 204 and "response" in (answer.json() or {}):
                return _outputs(answer.json())
            time.sleep(0.3)
        raise AssertionError(f"the job for {first_output} did not finish in {JOB_SECONDS} s")


def _outputs(answer: dict) -> dict:
    return {f"{cid}.{prop}": value for cid, props in answer["response"].items() for prop, value in props.items()}


def _text(tree: object) -> str:
    """The words of a Dash component tree as JSON (children, recursively)."""
    if isinstance(tree, str):
        return tree
    if isinstance(tree, (int, float)):
        return str(tree)
    if isinstance(tree, list):
        return " ".join(_text(t) for t in tree)
    if isinstance(tree, dict):
        return _text(tree.get("props", {}).get("children")) if "props" in tree else _text(tree.get("children"))
    return ""


def upload_and_check(browser: Browser, start_on: str, poll_on: str, path: Path) -> list[dict]:
    """Drop a file on the data page (through `start_on`) and wait for its check (polled through `poll_on`)."""
    import base64

    contents = "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode()
    incoming = [{"name": path.name, "contents": contents}]
    staged = browser.call(start_on, "data-staged.data", {"data-incoming.data": incoming})["data-staged.data"]
    assert [s["name"] for s in staged] == [path.name] and not staged[0]["refused"], staged
    checked = browser.job(
        start_on, poll_on, "data-previews.data", {"data-staged.data": staged, "data-as-of.value": AS_OF.isoformat()}
    )
    return checked["data-previews.data"]


def load(browser: Browser, start_on: str, poll_on: str, previews: list[dict]) -> str:
    done = browser.job(
        start_on,
        poll_on,
        "data-previews.data",
        {"data-load.n_clicks": 1, "data-previews.data": previews, "data-as-of.value": AS_OF.isoformat()},
    )
    return _text(done["data-load-result.children"])


def july_pathway_plans(db: str) -> float:
    frame = queries.scorecard("2023-07", "la", None, db=db)
    return float(frame.loc[frame["metric_id"] == "pathway_plans", "value"].iloc[0])


# --- the run ------------------------------------------------------------------------------------------


def test_a_file_checked_through_one_server_loads_through_the_other(servers, warehouse: str) -> None:
    a, b = servers
    analyst = Browser("p.analyst", page_from=a)
    # Checked: started through A, its progress and result read through B. Nothing stored yet.
    previews = upload_and_check(analyst, a, b, FIXTURES / "pathway_plans_july.csv")
    assert [(p["file_name"], p["rows_read"], p["rejected"]) for p in previews] == [("pathway_plans_july.csv", 2, 0)]
    assert july_pathway_plans(warehouse) == pytest.approx(86.0)  # kpi_values_base: 86 of 100
    # Loaded through B (the worker reads the file A staged, from the shared folder), finished through A.
    said = load(analyst, b, a, previews)
    assert "pathway_plans_july.csv" in said, said
    assert july_pathway_plans(warehouse) == pytest.approx(93.0)  # the July file: 93 of 100
    newest = load_log(db=warehouse).iloc[-1]
    assert (newest["file_name"], newest["loaded_by"], newest["outcome"]) == (
        "pathway_plans_july.csv",
        "p.analyst",
        "loaded",
    )


def test_an_undo_through_the_second_server_undoes_a_load_made_through_the_first(
    servers, warehouse: str, tmp_path: Path
) -> None:
    a, b = servers
    analyst = Browser("p.analyst", page_from=a)
    corrected = tmp_path / "pathway_plans_july_corrected.csv"
    corrected.write_text(
        "period,metric_id,team,numerator,denominator\n2023-07,pathway_plans,Demo County Council,97,100\n",
        encoding="utf-8",
    )
    before = july_pathway_plans(warehouse)
    load(analyst, a, a, upload_and_check(analyst, a, a, corrected))  # through A alone
    assert july_pathway_plans(warehouse) == pytest.approx(97.0)
    newest = load_log(db=warehouse).iloc[-1]
    assert newest["file_name"] == corrected.name
    # Undone through B: the figure is what it was before A's load.
    said = analyst.call(
        b, "data-undo-modal.is_open", {"data-undo-confirm.n_clicks": 1, "data-undo-target.data": int(newest["load_id"])}
    )
    assert "was not undone" not in _text(said["data-undo-result.children"])
    assert july_pathway_plans(warehouse) == pytest.approx(before)
    log = load_log(db=warehouse).set_index("load_id")
    assert (log.loc[int(newest["load_id"]), "outcome"], log.loc[int(newest["load_id"]), "undone_by"]) == (
        "undone",
        "p.analyst",
    )


def test_a_note_written_through_one_server_shows_on_the_other(servers) -> None:
    a, b = servers
    board = Browser("board.1", page_from=a)
    params = {"metric_id": "pathway_plans", "period": "2023-07", "level": "la", "unit": "Demo County Council"}
    saved = board.call(
        a,
        "note-current.children",
        {"note-save.n_clicks": 1, "note-text.value": "Written through A", "note-params.data": params},
    )
    assert "Saved" in _text(saved["note-message.children"])
    # B's KPI page, as the page router builds it, shows the note.
    page = board.call(
        b,
        "_pages_content.children",
        {"_pages_location.pathname": "/kpi/pathway_plans", "_pages_location.search": "?period=2023-07&level=la"},
    )
    assert "Written through A" in json.dumps(page["_pages_content.children"])


def test_a_child_list_opened_on_each_server_writes_one_access_log(servers) -> None:
    a, b = servers
    address = "/kpi/seen_5wd/children.csv?period=2023-07&level=service&unit=Assessment%20and%20Intervention"
    for user, server in (("board.1", a), ("board.2", b)):
        answer = requests.get(server + address, headers={"X-Remote-User": user}, timeout=60)
        assert answer.status_code == 200 and answer.text.count("\n") > 1, answer.text[:300]
    analyst = Browser("p.analyst", page_from=a)
    # Each server's data page shows the one log: both views, newest first.
    for server in (a, b):
        shown = _text(
            analyst.call(server, "data-access-log.children", {"data-refresh.data": 1})["data-access-log.children"]
        )
        assert "board.1" in shown and "board.2" in shown, shown[:500]
        assert shown.index("board.2") < shown.index("board.1")


def _undated(text: str) -> str:
    """A pack's words without the minute it was made ("Produced 7 December 2026, 22:18")."""
    return re.sub(r"(?i)produced \d{1,2} \w+ \d{4},? \d\d:\d\d", "produced (when)", text)


def test_the_board_pack_is_the_same_from_either_server(servers) -> None:
    import openpyxl
    from pypdf import PdfReader

    a, b = servers
    board = requests.Session()
    board.headers["X-Remote-User"] = "board.1"
    packs = {}
    for server in (a, b):
        pdf = board.get(server + "/boardpack.pdf?period=2023-07&level=la", timeout=300)
        xlsx = board.get(server + "/boardpack.xlsx?period=2023-07&level=la", timeout=300)
        assert pdf.status_code == 200 and xlsx.status_code == 200
        pages = [_undated(page.extract_text()) for page in PdfReader(io.BytesIO(pdf.content)).pages]
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
        sheets = {
            ws.title: [
                [_undated(c.value) if isinstance(c.value, str) else c.value for c in row] for row in ws.iter_rows()
            ]
            for ws in book.worksheets
        }
        packs[server] = (pages, sheets)
    # Every page's words and every cell the same; only the minute each was made may differ.
    assert packs[a][0] == packs[b][0]
    assert packs[a][1] == packs[b][1]
    assert "Board pack: July 2023" in packs[a][0][0]


def test_a_job_works_for_the_person_and_authority_that_started_it(tmp_path: Path, monkeypatch) -> None:
    """A worker has no request: it takes the viewer and authority from the headers and cookies Dash hands
    the job (as the Celery manager does), so a regional lead working on 846 loads into 846, not metrics.yml's."""
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from dashboard.gate import AUTHORITY_COOKIE, as_requested
    from etl.privacy import access
    from etl.store import authority

    access_file = tmp_path / "access.yml"
    access_file.write_text(
        'default_role: none\nusers:\n  r.lead: {role: analyst, authorities: ["938", "846"]}\n', encoding="utf-8"
    )
    monkeypatch.setenv("CPIP_ACCESS", str(access_file))
    seen = []
    token = context_value.set(AttributeDict())
    try:
        for cookie in ("846", "938", "999"):  # 999: not one of theirs, so their first, 938
            context_value.set(AttributeDict(headers={"X-Remote-User": "r.lead"}, cookies={AUTHORITY_COOKIE: cookie}))
            with as_requested():
                seen.append((access.current_viewer().name, authority.current_code()))
        # Somebody the access file does not name gets nothing done.
        context_value.set(AttributeDict(headers={}, cookies={}))
        with pytest.raises(access.AccessDenied), as_requested():
            pass
    finally:
        context_value.reset(token)
    assert seen == [("r.lead", "846"), ("r.lead", "938"), ("r.lead", "938")]


def test_a_worker_without_redis_says_what_to_set() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "CPIP_REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "cpip.cli", "worker"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "CPIP_REDIS_URL is not set" in done.stderr and "Traceback" not in done.stderr
