"""National scale: many authorities in one warehouse, on DuckDB and on PostgreSQL, each against a baseline
measured in the same run.

    .venv/bin/python benchmarks/scale.py [--engine duckdb|postgresql|both] [--authorities 1,10,152] [--quick]
        [--pg-url URL] [--data DIR] [--years 5] [--repeats 30] [--clients 20] [--workers 2]
        [--no-two-servers] [--note-saves 5]

`--quick`: two years of extracts, 1, 10 and 19 authorities, 15 calls a timing and 5 page requests a client
(each still overridable): both engines in about ten minutes on a 2-core machine.

The extracts come from benchmarks/national.py (every authority's files in the contract layouts, five financial
years to March 2025, and the month after), generated into a temporary folder (or `--data DIR`, kept and reused).
For each engine and each number of authorities, into a new warehouse (DuckDB: a folder of one file per
authority, `warehouse.duckdb` for metrics.yml's 938 and `warehouse.<code>.duckdb` beside it; PostgreSQL: a new
database on tests/pg_server.py's throwaway server, or on `--pg-url`'s, created and dropped here):

1. Load: every authority's files, one authority after another, organisation first (`etl.ingest.load.load_files(...,
   authority=CODE)`, what `cpip load --authority CODE` does), in a process of its own: records a second and the
   process's peak RSS (its max RSS from wait4; on PostgreSQL the server's own memory is not in it), with where
   the time went. Then, beside it, the last authority loaded is loaded again into a new warehouse holding only
   the one loaded before it (in one process, so both pay the same start-up): a load that slows as other
   authorities are added shows as the gap between the two. Each authority's
   kpi_monthly rows are counted (as the superuser on PostgreSQL, past row-level security): an authority left
   without rows, or rows of a code never loaded, would be a KPI rebuild reaching past its authority.
2. One authority's scorecard at team level, the largest authority loaded (`with etl.store.authority.using(code):
   etl.serve.queries.scorecard_table(period, "team")`, and one team's `scorecard(period, "team", unit)`): p50/p95
   over repeated calls; goal under 50 ms. Baseline: a plain SELECT of that authority's team rows of the 12
   months from kpi_monthly through the same `etl.store.warehouse.reading()` (a connection opened per call on DuckDB,
   one from the pool on PostgreSQL). And where a call's time goes: opening and closing `reading()` alone, and
   the published-figures comparison (`etl.serve.comparators._comparators`) on an open connection.
3. The regional view (`etl.serve.regional.regional(metric, codes)`) for the South East's 19 authorities when all are
   loaded, else the first 19 loaded (with 10 loaded: those 10); baseline: a plain SELECT of their
   authority-level rows of the metric through `reading()` (one transaction for all on PostgreSQL, each file in
   turn on DuckDB, as the view reads them).
4. Page updates with 20 concurrent clients (threads, each its own session) posting the Dash page router's
   callback (benchmarks/dashboard.py's payload and gunicorn helpers: a random month of the last 12, level and
   unit, on the scorecard and on a KPI page) for the largest authority (gunicorn with `CPIP_AUTHORITIES` the
   authorities loaded, each request with the `cpip_authority` cookie), first with nothing else running (the
   baselines: one client alone, which is the service time, then the 20), then while another process loads the
   next month's files of every authority loaded. p50/p95 and the failed requests (an error, a status other
   than 200, or a body without the page): goal zero failed.
5. Two web servers (PostgreSQL only; `--no-two-servers` to skip): a second gunicorn beside the first, with
   state and temp folders of its own, on the same database (README, "On two or more machines"). Page updates
   from the same number of clients spread over both (client i on server i mod 2), against the first server
   alone; then notes saved by the clients (`--note-saves` each, a new version every time, the KPI page's save
   POST) through one server and through both: p50/p95, and how many saves the app confirmed are missing from
   the notes store afterwards (goal: none lost). On one 2-core machine both servers share the cores, so this
   measures what a second server costs, not what a second machine gains.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would shadow the `etl` package with benchmarks/etl.py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # pg_server, the throwaway PostgreSQL server

from benchmarks import dashboard as http  # noqa: E402  (its gunicorn helpers and the router's payload)
from benchmarks import national  # noqa: E402

SCORECARD_GOAL_MS = 50.0
REGION = "South East"  # 19 authorities in DfE's 2025 neighbour model
REGIONAL_SIZE = 19
REGIONAL_METRIC = "assessments_45wd"
WHO = "scale benchmark"
QUICK = {"years": 2, "authorities": "1,10,19", "repeats": 15, "quiet_requests": 5}
DEFAULTS = {"years": 5, "authorities": "1,10,152", "repeats": 30, "quiet_requests": 10}


# --- the engines ----------------------------------------------------------------------------------------------


class Engine:
    name = ""

    def new_warehouse(self, label: str) -> str:
        raise NotImplementedError

    def drop(self, db: str) -> None:
        raise NotImplementedError

    def size_mb(self, db: str) -> float:
        raise NotImplementedError

    def kpi_rows(self, db: str, codes: list[str]) -> dict[str, int]:
        """{la_code: kpi_monthly rows} over the whole warehouse, row-level security aside."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def new_warehouse(self, label: str) -> str:
        folder = self.folder / f"duckdb-{label}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return str(folder / "warehouse.duckdb")

    def drop(self, db: str) -> None:
        shutil.rmtree(Path(db).parent, ignore_errors=True)

    def size_mb(self, db: str) -> float:
        return sum(p.stat().st_size for p in Path(db).parent.glob("*.duckdb")) / 1e6

    def kpi_rows(self, db: str, codes: list[str]) -> dict[str, int]:
        import duckdb

        from etl.store import warehouse

        out: dict[str, int] = {}
        for code in codes:
            path = warehouse.warehouse_path(db, code)
            if not path.exists():
                continue
            con = duckdb.connect(str(path), read_only=True)
            try:
                for la_code, n in con.execute("SELECT la_code, count(*) FROM kpi_monthly GROUP BY la_code").fetchall():
                    # A file holds one authority: a row of another code in it is filed under "<file>:<code>".
                    key = la_code if la_code == code else f"{code}:{la_code}"
                    out[key] = out.get(key, 0) + n
            finally:
                con.close()
        return out


class PostgresEngine(Engine):
    name = "postgresql"

    def __init__(self, server_url: str, server=None) -> None:
        self.server_url = server_url
        self.server = server  # a tests/pg_server.PgServer this run started, or None

    @classmethod
    def start(cls, pg_url: str | None) -> PostgresEngine:
        import pg_server

        if pg_url:
            return cls(pg_url)
        server = pg_server.PgServer().start()
        return cls(server.url, server)

    def new_warehouse(self, label: str) -> str:
        import pg_server

        return pg_server.create_database(self.server_url, f"cpip_scale_{label.replace('-', '_')}_{os.getpid()}")

    def drop(self, db: str) -> None:
        import pg_server

        from etl.store import db as dbs

        dbs.close_pool(db)
        pg_server.drop_database(self.server_url, urlsplit(db).path.lstrip("/"))

    def size_mb(self, db: str) -> float:
        import psycopg

        with psycopg.connect(db) as con:
            return con.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6

    def kpi_rows(self, db: str, codes: list[str]) -> dict[str, int]:
        import psycopg

        # The server's superuser (the URL's), which row-level security does not confine.
        with psycopg.connect(db) as con:
            return dict(con.execute("SELECT la_code, count(*) FROM kpi_monthly GROUP BY la_code").fetchall())

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


# --- loading, in a process of its own ---------------------------------------------------------------------


def load_worker(argv: list[str]) -> int:
    """`scale.py --load-worker DB DATA AS_OF NEXT CODE...`: load each authority's files (organisation first),
    printing a JSON line per authority and one of stage times at the end."""
    db, data, as_of, next_month, *codes = argv
    from etl.ingest.load import load_files

    stages: dict[str, float] = {}
    mark = [time.perf_counter(), "opening (hashing the files, copying the warehouse, schema)"]

    def stage_of(message: str) -> str:
        text = message.split(": ", 1)[-1]
        for key, label in (
            ("reading", "reading"),
            ("validating", "validating"),
            ("comparing", "comparing with the warehouse"),
            ("writing the load log", "writing the load log"),
            ("writing", "writing records"),
            ("rebuilding", "KPI rebuild, commit, checkpoint, swap"),
        ):
            if text.startswith(key):
                return label
        return "opening (hashing the files, copying the warehouse, schema)"  # a file's outcome: the next opens

    def progress(message: str) -> None:
        now = time.perf_counter()
        stages[mark[1]] = stages.get(mark[1], 0.0) + now - mark[0]
        mark[:] = [now, stage_of(message)]

    for code in codes:
        files = national.paths(Path(data), code, next_month=next_month == "next")
        started = time.perf_counter()
        mark[:] = [started, "opening (hashing the files, copying the warehouse, schema)"]
        reports = load_files(files, as_of=as_of, who=WHO, db=db, progress=progress, authority=code)
        seconds = time.perf_counter() - started
        refused = [r.summary() for r in reports if not r.ok]
        print(
            json.dumps(
                {
                    "code": code,
                    "seconds": seconds,
                    "rows": sum(r.rows_read for r in reports),
                    "added": sum(r.added for r in reports),
                    "replaced": sum(r.replaced for r in reports),
                    "warnings": sum(r.warnings for r in reports),
                    "refused": refused,
                }
            ),
            flush=True,
        )
    print(json.dumps({"stages": stages}), flush=True)
    return 0


@dataclass
class LoadRun:
    seconds: float = 0.0  # the loads alone, interpreter start-up and imports left out
    wall: float = 0.0  # the whole process
    rows: int = 0
    added: int = 0
    replaced: int = 0
    warnings: int = 0
    max_rss_mb: float = 0.0
    refused: list[str] = field(default_factory=list)
    per_authority: list[dict] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    returncode: int = 0
    error: str = ""

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class Loading:
    """The loading process, its output going to `log`; a thread waits for it with wait4, which gives this
    child's own peak RSS (not the largest of every child, as getrusage(RUSAGE_CHILDREN) would)."""

    def __init__(self, db: str, data: Path, as_of: str, codes: list[str], *, next_month: bool, log: Path) -> None:
        args = [sys.executable, str(Path(__file__).resolve()), "--load-worker", db, str(data), as_of]
        args += ["next" if next_month else "main", *codes]
        self.log = log
        with open(log, "w") as out:
            self.process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.started = time.perf_counter()
        self.ended = threading.Event()
        self.status = self.usage = None
        self.wall = 0.0
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        _, self.status, self.usage = os.wait4(self.process.pid, 0)
        self.wall = time.perf_counter() - self.started
        self.process.returncode = os.waitstatus_to_exitcode(self.status)
        self.ended.set()

    def done(self) -> bool:
        return self.ended.is_set()

    def finish(self) -> LoadRun:
        self._waiter.join()
        return _load_run(self.log, self.process.returncode, self.wall, self.usage.ru_maxrss / 1024)


def load(db: str, data: Path, as_of: str, codes: list[str], *, next_month: bool, log: Path) -> LoadRun:
    return Loading(db, data, as_of, codes, next_month=next_month, log=log).finish()


def _load_run(log: Path, returncode: int, wall: float, max_rss_mb: float) -> LoadRun:
    run = LoadRun(wall=wall, max_rss_mb=max_rss_mb, returncode=returncode)
    for line in log.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if "stages" in item:
            run.stages = item["stages"]
            continue
        run.per_authority.append(item)
        run.seconds += item["seconds"]
        run.rows += item["rows"]
        run.added += item["added"]
        run.replaced += item["replaced"]
        run.warnings += item["warnings"]
        run.refused += item["refused"]
    if run.returncode != 0:
        run.error = log.read_text()[-2000:]
    return run


def _authorities(n: int) -> str:
    return f"{n} authorit{'y' if n == 1 else 'ies'}"


def print_load(label: str, run: LoadRun) -> None:
    print(
        f"  {label}: {run.rows:,} records of {_authorities(len(run.per_authority))} in {run.seconds:.1f} s "
        f"({run.per_second:,.0f} records a second; process {run.wall:.1f} s), peak RSS {run.max_rss_mb:,.0f} MB; "
        f"{run.added:,} added, {run.replaced:,} replaced, {run.warnings:,} warnings"
    )
    if run.error:
        print(f"    the loading process failed ({run.returncode}):\n{run.error}")
    for summary in run.refused[:5]:
        print(f"    refused: {summary[:300]}")
    if run.stages:
        total = sum(run.stages.values()) or 1.0
        parts = sorted(run.stages.items(), key=lambda kv: -kv[1])
        print("    where the time went: " + "; ".join(f"{k} {v:.1f} s ({100 * v / total:.0f}%)" for k, v in parts))
    if len(run.per_authority) > 1:
        first, last = run.per_authority[0], run.per_authority[-1]
        print(
            f"    first authority {first['code']}: {first['rows']:,} records in {first['seconds']:.1f} s; "
            f"last {last['code']}: {last['rows']:,} in {last['seconds']:.1f} s"
        )


# --- timing ------------------------------------------------------------------------------------------------------


def _ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def repeat(fn: Callable[[], object], n: int) -> list[float]:
    fn()  # warm: metrics.yml parsed, the file in the OS cache
    return [_ms(fn) for _ in range(n)]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def line(label: str, values: list[float], extra: str = "") -> dict:
    row = {"p50": p(values, 50), "p95": p(values, 95), "n": len(values)}
    print(f"    {label:62s} p50 {row['p50']:7.1f}  p95 {row['p95']:7.1f} ms, n={row['n']} {extra}")
    return row


# --- page updates from many clients ----------------------------------------------------------------------------


@dataclass
class Burst:
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def fire(
    base: str | list[str],
    code: str,
    cases: list[tuple[str, str]],
    clients: int,
    *,
    until: Callable[[], bool],
    least: int,
) -> Burst:
    """`clients` threads, each with its own session and authority `code`'s cookie, posting page updates (cases
    drawn in turn) until `until()` and at least `least` each. With several servers, client i uses server i mod n
    (a load balancer's round robin, by connection)."""
    import requests

    burst, lock = Burst(), threading.Lock()
    bases = [base] if isinstance(base, str) else base

    def client(i: int) -> None:
        base = bases[i % len(bases)]
        session = requests.Session()
        session.headers.update(
            {"Content-Type": "application/json", "Accept-Encoding": "gzip", "Cookie": f"cpip_authority={code}"}
        )
        rng = random.Random(i)
        done = 0
        while done < least or not until():
            pathname, query = rng.choice(cases)
            body = json.dumps(http.router_payload(pathname, query))
            start = time.perf_counter()
            try:
                response = session.post(base + "/_dash-update-component", data=body, timeout=60)
                elapsed = (time.perf_counter() - start) * 1000
                problem = (
                    None
                    if response.status_code == 200 and "_pages_content" in response.text
                    else f"{response.status_code} {pathname}{query}: {response.text[:200]}"
                )
            except requests.RequestException as exc:
                elapsed, problem = (time.perf_counter() - start) * 1000, f"{type(exc).__name__} {pathname}{query}"
            with lock:
                burst.times.append(elapsed)
                if problem:
                    burst.failures.append(problem)
            done += 1
        session.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return burst


def note_payload(metric_id: str, period: str, text: str) -> dict:
    """What the browser posts when someone saves a note on a KPI page (the authority-level note)."""
    params = {"metric_id": metric_id, "period": period, "level": "la", "unit": None}
    return {
        "output": "..note-current.children...note-message.children..",
        "outputs": [{"id": "note-current", "property": "children"}, {"id": "note-message", "property": "children"}],
        "inputs": [{"id": "note-save", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "note-text", "property": "value", "value": text},
            {"id": "note-params", "property": "data", "value": params},
        ],
        "changedPropIds": ["note-save.n_clicks"],
    }


def save_notes(
    bases: list[str], code: str, metric_ids: list[str], period: str, clients: int, each: int, tag: str
) -> tuple[Burst, list[tuple[str, str]]]:
    """`clients` people each saving `each` notes (a new version every time) through server i mod n.
    Returns the timings and failures, and (metric_id, text) of every save the app said was saved."""
    import requests

    burst, lock, saved = Burst(), threading.Lock(), []

    def client(i: int) -> None:
        session = requests.Session()
        session.headers.update({"Content-Type": "application/json", "Cookie": f"cpip_authority={code}"})
        base, metric_id = bases[i % len(bases)], metric_ids[i % len(metric_ids)]
        for n in range(each):
            text = f"{tag}: client {i}, note {n}"
            start = time.perf_counter()
            try:
                response = session.post(
                    base + "/_dash-update-component", data=json.dumps(note_payload(metric_id, period, text)), timeout=60
                )
                elapsed = (time.perf_counter() - start) * 1000
                ok = response.status_code == 200 and "Saved" in response.text
                problem = None if ok else f"{response.status_code} note: {response.text[:200]}"
            except requests.RequestException as exc:
                elapsed, ok, problem = (time.perf_counter() - start) * 1000, False, f"{type(exc).__name__} note"
            with lock:
                burst.times.append(elapsed)
                if ok:
                    saved.append((metric_id, text))
                else:
                    burst.failures.append(str(problem))
        session.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return burst, saved


def notes_kept(db: str, code: str, period: str, saved: list[tuple[str, str]], state: Path) -> int:
    """How many of the saves the app confirmed are in the notes store, read here rather than through a server
    (where notes are SQLite files, the first server's, in `state`; on PostgreSQL they are in the database)."""
    from etl.people import notes
    from etl.store import authority

    found: set[tuple[str, str]] = set()
    previous = os.environ.get("CPIP_STATE_DIR")
    os.environ["CPIP_STATE_DIR"] = str(state)
    try:
        with authority.using(code):
            for metric_id in {m for m, _ in saved}:
                found |= {(metric_id, n.text) for n in notes.note_history(metric_id, period, "la", None, db=db)}
    finally:
        if previous is None:
            os.environ.pop("CPIP_STATE_DIR", None)
        else:
            os.environ["CPIP_STATE_DIR"] = previous
    return sum(1 for item in saved if item in found)


def two_servers(db: str, code: str, cases: list, period: str, env: dict, args, tmp: Path, base: str) -> dict:
    """5. A second web server beside the first (its own state and temp folders, the same database): page updates
    from the same number of clients spread over both, against the first server alone just before; then notes
    saved by the clients through one server and through both: p95 and whether any confirmed save is missing."""
    import requests

    from etl.catalogue.metrics import catalogue

    out: dict = {}
    folder = tmp / "server-b"
    for sub in ("state", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    env_b = {**env, "CPIP_STATE_DIR": str(folder / "state"), "TMPDIR": str(folder / "tmp")}
    log_b = tmp / "gunicorn-b.log"
    server_b, base_b = http.start_app(env_b, args.workers, log_b)
    session = requests.Session()
    session.headers["Cookie"] = f"cpip_authority={code}"
    try:
        if not http.wait_until_serving(session, base_b, server_b, log_b):
            out["two_error"] = "the second server did not start"
            out["failed"] = out.get("failed", 0) + 1
            return out
        fire(base_b, code, cases, args.workers * 2, until=lambda: True, least=4)  # warm the second one too
        # One server again just before two, so both see the same machine (others' work comes and goes).
        one = fire(base, code, cases, args.clients, until=lambda: True, least=args.quiet_requests)
        both = fire([base, base_b], code, cases, args.clients, until=lambda: True, least=args.quiet_requests)
        metric_ids = catalogue().ids[:5]
        one_notes, one_saved = save_notes([base], code, metric_ids, period, args.clients, args.note_saves, "one")
        two_notes, two_saved = save_notes(
            [base, base_b], code, metric_ids, period, args.clients, args.note_saves, "two"
        )
        asked = args.clients * args.note_saves
        state = Path(env["CPIP_STATE_DIR"])
        kept_one, kept_two = (notes_kept(db, code, period, saved, state) for saved in (one_saved, two_saved))
        print(f"  two web servers, {args.workers} workers each, {args.clients} clients spread over both (ms):")
        out["pages_one"] = line("  baseline: the same clients on one server", one.times, f"{len(one.failures)} failed")
        out["pages_two"] = line("page updates, two servers", both.times, f"{len(both.failures)} failed")
        out["notes_one"] = line(
            "  baseline: notes saved through one server",
            one_notes.times,
            f"{len(one_saved)} of {asked} saved, {len(one_saved) - kept_one} lost",
        )
        out["notes_two"] = line(
            "notes saved through two servers",
            two_notes.times,
            f"{len(two_saved)} of {asked} saved, {len(two_saved) - kept_two} lost",
        )
        out["notes_lost"] = (len(one_saved) - kept_one) + (len(two_saved) - kept_two)
        failures = one.failures + both.failures + one_notes.failures + two_notes.failures
        out["failed"] = len(failures)
        for problem in failures[:5]:
            print(f"      failed: {problem}")
        print(f"    goal: no note lost: {'met' if out['notes_lost'] == 0 else 'NOT met'}")
    finally:
        session.close()
        server_b.terminate()
        try:
            server_b.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server_b.kill()
    return out


# --- one engine, one number of authorities ---------------------------------------------------------------------


def run_one(engine: Engine, data: Path, manifest: dict, authorities: list, args, tmp: Path) -> dict:
    from etl.rules.calendar import add_months, parse_period
    from etl.serve import comparators as serve_comparators
    from etl.serve import queries, regional
    from etl.store import authority, warehouse

    n = len(authorities)
    codes = [a.code for a in authorities]
    result: dict = {"engine": engine.name, "authorities": n}
    print(f"\n== {engine.name}, {_authorities(n)} ==")
    db = engine.new_warehouse(str(n))
    try:
        # 1. Load, and the last authority again alone into an empty warehouse.
        run = load(db, data, manifest["as_of"], codes, next_month=False, log=tmp / "load.log")
        print_load("load", run)
        result["load"] = run
        if run.returncode != 0 or run.refused:
            return result
        result["warehouse_mb"] = engine.size_mb(db)
        print(f"  warehouse: {result['warehouse_mb']:,.0f} MB")
        if n > 1:
            # The same authority's load into a warehouse holding one small other (loaded first in the same
            # process, so the imports, the schema and DfE's figures are paid for before it, as in the full run).
            last, warm = run.per_authority[-1], run.per_authority[-2]
            alone_db = engine.new_warehouse(f"{n}-alone")
            try:
                alone = load(
                    alone_db, data, manifest["as_of"], [warm["code"], last["code"]], next_month=False, log=tmp / "a.log"
                )
                alone_rows = engine.kpi_rows(alone_db, [last["code"]]).get(last["code"], 0)
            finally:
                engine.drop(alone_db)
            alone_s = alone.per_authority[-1]["seconds"] if alone.per_authority else 0.0
            result["last_among"], result["last_alone"] = last["seconds"], alone_s
            print(
                f"  the last authority, {last['code']} ({last['rows']:,} records): {last['seconds']:.2f} s after "
                f"{n - 1} others, {alone_s:.2f} s after only {warm['code']} in a new warehouse "
                f"({last['seconds'] / alone_s if alone_s else 0:.2f}x)"
            )
        else:
            alone_rows = None
        kpi = engine.kpi_rows(db, codes)
        empty = [c for c in codes if not kpi.get(c)]
        strays = sorted(k for k in kpi if k not in codes)
        largest = max(authorities, key=lambda a: a.share)
        result["kpi_largest"] = kpi.get(largest.code, 0)
        scoped_ok = not empty and not strays
        if alone_rows is not None:
            same = kpi.get(codes[-1], 0) == alone_rows
            scoped_ok = scoped_ok and same
            also = f"; {codes[-1]}'s {kpi.get(codes[-1], 0):,} rows {'=' if same else '!='} {alone_rows:,} alone"
        else:
            also = ""
        result["kpi_scoped"] = scoped_ok
        print(
            f"  kpi_monthly: {sum(kpi.values()):,} rows, {largest.code}'s {result['kpi_largest']:,}; "
            f"authorities without rows: {len(empty)}; rows of codes not loaded: {strays or 'none'}{also}"
        )

        # 2. One authority's scorecard at team level, against a plain SELECT of its rows.
        period = manifest["as_of"][:7]
        first, last_month = parse_period(add_months(period, -11)), parse_period(period)
        sql = "SELECT * FROM kpi_monthly WHERE la_code = ? AND level = 'team' AND period BETWEEN ? AND ?"
        params = [largest.code, first, last_month]

        def plain() -> int:
            with warehouse.reading(db) as con:
                return len(con.execute(sql, params).fetchall())

        def just_open() -> None:
            with warehouse.reading(db):
                pass

        rng = random.Random(5)
        with authority.using(largest.code):
            teams = queries.units_at("team", db=db)
            table = repeat(lambda: queries.scorecard_table(period, "team", db=db), args.repeats)
            one = repeat(lambda: queries.scorecard(period, "team", rng.choice(teams), db=db), args.repeats)
            rows = plain()
            base = repeat(plain, args.repeats)
            opened = repeat(just_open, args.repeats)
            with warehouse.reading(db) as con:
                compared = repeat(lambda: serve_comparators._comparators(con, period), args.repeats)
        print(f"  {largest.name} ({largest.code}), {len(teams)} teams, {period}; {args.repeats} calls each (ms):")
        result["scorecard_table"] = line("scorecard_table(period, 'team'): every team", table)
        result["scorecard_team"] = line("scorecard(period, 'team', unit): one team", one)
        result["plain"] = line(f"  baseline: plain SELECT of its team rows, 12 months ({rows:,} rows)", base)
        result["open"] = line("  of a call: opening and closing reading() alone", opened)
        result["comparators"] = line("  of a call: the published-figures comparison, connection open", compared)
        met = result["scorecard_table"]["p95"] < SCORECARD_GOAL_MS
        print(
            f"    goal: the team-level scorecard under {SCORECARD_GOAL_MS:.0f} ms at p95: {'met' if met else 'NOT met'}"
        )

        # 3. The regional view.
        region = [a.code for a in authorities if a.region == REGION]
        chosen = region if len(region) == REGIONAL_SIZE else codes[:REGIONAL_SIZE]
        if n < 2:
            print("  regional view: one authority loaded, nothing to set side by side")
        else:
            rsql = (
                "SELECT la_code, period, numerator, denominator FROM kpi_monthly WHERE metric_id = ? AND level = 'la'"
            )

            def regional_plain() -> int:
                if warehouse.is_postgres(db):
                    with authority.using(chosen), warehouse.reading(db) as con:
                        return len(con.execute(rsql, [REGIONAL_METRIC]).fetchall())
                got = 0
                for code in chosen:
                    with authority.using(code), warehouse.reading(db) as con:
                        got += len(con.execute(rsql, [REGIONAL_METRIC]).fetchall())
                return got

            view = repeat(lambda: regional.regional(REGIONAL_METRIC, chosen, db=db), args.repeats)
            base = repeat(regional_plain, args.repeats)
            label = REGION if chosen == region else f"the first {len(chosen)} loaded"
            print(f"  regional view, {REGIONAL_METRIC}, {label} ({len(chosen)} authorities):")
            result["regional_n"] = len(chosen)
            result["regional"] = line("regional(metric_id, codes)", view)
            result["regional_plain"] = line(
                f"  baseline: plain SELECT of their authority rows ({regional_plain():,})", base
            )

        # 4. Page updates from 20 clients, quiet and while the next month loads.
        result.update(pages(db, largest, period, codes, data, manifest, args, tmp))
    finally:
        from etl.store import db as dbs

        if engine.name == "postgresql":
            dbs.close_pool(db)
        engine.drop(db)
    return result


def pages(db: str, largest, period: str, codes: list[str], data: Path, manifest, args, tmp: Path) -> dict:
    import requests

    from etl.catalogue.metrics import catalogue
    from etl.rules.calendar import add_months
    from etl.serve import queries
    from etl.store import authority

    out: dict = {}
    code = largest.code
    rng = random.Random(11)
    months = [add_months(period, -i) for i in range(12)]
    with authority.using(code):
        units = {level: queries.units_at(level, db=db) for level in ("area", "service", "team")}
    units["la"] = [None]
    metric_ids = catalogue().ids
    cases = []
    for _ in range(200):
        level = rng.choice(("la", "area", "service", "team", "team"))
        query = http.search(rng.choice(months), level, rng.choice(units[level]))
        cases.append(("/", query) if rng.random() < 0.5 else (f"/kpi/{rng.choice(metric_ids)}", query))
    state = tmp / "state"
    state.mkdir(exist_ok=True)
    env = {**os.environ, "CPIP_DB": db, "CPIP_AUTHORITIES": ",".join(codes), "CPIP_STATE_DIR": str(state)}
    for name in ("CPIP_INBOX_INTERVAL", "CPIP_ACCESS", "CPIP_NOTES", "CPIP_ACCESS_LOG"):
        env.pop(name, None)
    log_path = tmp / "gunicorn.log"
    server, base = http.start_app(env, args.workers, log_path)
    session = requests.Session()
    session.headers["Cookie"] = f"cpip_authority={code}"
    try:
        if not http.wait_until_serving(session, base, server, log_path):
            out["pages_error"] = "the app did not start"
            out["failed"] = 1
            return out
        if len(codes) > 1 and f"Showing {largest.name}" not in session.get(base + "/", timeout=30).text:
            print(f"  page updates: the app does not show {largest.name} with its cookie")
        warm = fire(base, code, cases, args.workers * 2, until=lambda: True, least=4)
        alone = fire(base, code, cases, 1, until=lambda: True, least=args.quiet_requests * 2)
        quiet = fire(base, code, cases, args.clients, until=lambda: True, least=args.quiet_requests)
        loading = Loading(db, data, manifest["next_as_of"], codes, next_month=True, log=tmp / "next.log")
        busy = fire(base, code, cases, args.clients, until=loading.done, least=3)
        later = loading.finish()
        print(
            f"  page updates (Dash router POSTs) of {code}, {args.clients} clients, "
            f"gunicorn {args.workers} workers (ms):"
        )
        out["pages_alone"] = line("  baseline: one client alone", alone.times, f"{len(alone.failures)} failed")
        out["pages_quiet"] = line("  baseline: nothing else running", quiet.times, f"{len(quiet.failures)} failed")
        out["pages_busy"] = line("while the next month's files load", busy.times, f"{len(busy.failures)} failed")
        failures = warm.failures + alone.failures + quiet.failures + busy.failures
        out["failed"] = len(failures)
        for problem in failures[:5]:
            print(f"      failed: {problem}")
        print(f"    goal: no failed request: {'met' if out['failed'] == 0 else 'NOT met'}")
        print_load("the next month's load, meanwhile", later)
        out["next_load"] = later
        from etl.store import warehouse

        if args.two_servers and warehouse.is_postgres(db):  # several servers share one database, never a file
            extra = two_servers(db, code, cases, period, env, args, tmp, base)
            out["failed"] += extra.pop("failed", 0)
            out.update(extra)
    finally:
        session.close()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    return out


# --- the table ---------------------------------------------------------------------------------------------------


def print_table(results: list[dict], clients: int) -> None:
    print(
        "\nsummary (ms: p50/p95; scorecard = every team of the largest authority, plain = its baseline, open = "
        "reading() alone, pub = the published-figures comparison; regional = regional(), n authorities, and its "
        "plain baseline; last: the last authority's load after all the others / after one, s; two: page updates "
        "over two servers; notes 1/2: note saves through one server / two; lost: confirmed saves not stored)"
    )
    print(
        f"  {'engine':10s} {'LAs':>4s} {'records':>10s} {'rec/s':>7s} {'RSS MB':>6s} {'db MB':>6s} "
        f"{'scorecard':>9s} {'team':>8s} {'plain':>6s} {'open':>6s} {'pub':>6s} {'regional':>12s} {'r.plain':>7s} "
        f"{'page, 1':>9s} {f'quiet {clients}':>10s} {f'busy {clients}':>11s} {'fail':>4s} {'next rec/s':>10s} "
        f"{'last':>11s} {'kpi ok':>6s} {f'two {clients}':>9s} {'notes 1':>8s} {'notes 2':>8s} {'lost':>4s}"
    )

    def pp(row: dict | None) -> str:
        return f"{row['p50']:.0f}/{row['p95']:.0f}" if row else "-"

    for r in results:
        if "skipped" in r:
            print(f"  {r['engine']:10s} {r['authorities']:>4d}  not run: {r['skipped']}")
            continue
        load, later = r.get("load") or LoadRun(), r.get("next_load")
        regional = f"{pp(r.get('regional'))} ({r['regional_n']})" if r.get("regional") else "-"
        last = f"{r['last_among']:.1f}/{r['last_alone']:.1f}" if "last_alone" in r else "-"
        print(
            f"  {r['engine']:10s} {r['authorities']:>4d} {load.rows:>10,} {load.per_second:>7,.0f} "
            f"{load.max_rss_mb:>6,.0f} {r.get('warehouse_mb', 0):>6,.0f} {pp(r.get('scorecard_table')):>9s} "
            f"{pp(r.get('scorecard_team')):>8s} {pp(r.get('plain')):>6s} {pp(r.get('open')):>6s} "
            f"{pp(r.get('comparators')):>6s} {regional:>12s} {pp(r.get('regional_plain')):>7s} "
            f"{pp(r.get('pages_alone')):>9s} {pp(r.get('pages_quiet')):>10s} {pp(r.get('pages_busy')):>11s} "
            f"{r.get('failed', '-')!s:>4s} {f'{later.per_second:,.0f}' if later else '-':>10s} {last:>11s} "
            f"{('yes' if r['kpi_scoped'] else 'NO') if 'kpi_scoped' in r else '-':>6s} "
            f"{pp(r.get('pages_two')):>9s} {pp(r.get('notes_one')):>8s} {pp(r.get('notes_two')):>8s} "
            f"{r.get('notes_lost', '-')!s:>4s}"
        )


def _extracts(data: Path, authorities: list, years: int) -> dict:
    """The manifest of extracts in `data` holding these authorities, generated there unless they already are."""
    if (data / "manifest.json").exists():
        manifest = national.read_manifest(data)
        have = {a["code"] for a in manifest["authorities"]}
        if manifest["years"] == years and {a.code for a in authorities} <= have:
            print(f"\nextracts reused from {data} (generated in {manifest['seconds']:.1f} s):")
            national.print_summary(manifest)
            return manifest
        shutil.rmtree(data)
    manifest = national.generate(data, authorities, years=years)
    print(f"\nextracts generated into {data}:")
    national.print_summary(manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--load-worker"]:
        return load_worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("duckdb", "postgresql", "both"), default="both")
    parser.add_argument("--authorities", help="comma-separated counts (default 1,10,152; --quick 1,10,19)")
    parser.add_argument("--quick", action="store_true", help="2 years, 1,10,19 authorities, fewer calls")
    parser.add_argument("--pg-url", help="a PostgreSQL server whose databases this run may create and drop")
    parser.add_argument("--data", type=Path, help="where the extracts are (generated there if missing, kept)")
    parser.add_argument("--years", type=int, help="financial years of extracts (default 5; --quick 2)")
    parser.add_argument("--repeats", type=int, help="calls per query timing (default 30; --quick 15)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent page-update clients (default 20)")
    parser.add_argument("--quiet-requests", type=int, help="requests per client, nothing loading (10; --quick 5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: this machine's cores)")
    parser.add_argument(
        "--two-servers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on PostgreSQL, also a second web server: page updates and note saves over two against one",
    )
    parser.add_argument("--note-saves", type=int, default=5, help="notes each client saves (default 5)")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    counts = sorted({int(c) for c in args.authorities.split(",")})
    started = time.perf_counter()
    print(
        f"scale run: {args.engine}, {args.authorities} authorities, {args.years} years, {args.repeats} calls a "
        f"timing, {args.clients} clients; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )

    everyone = national.all_authorities()
    chosen = {c: national.subset(everyone, c) for c in counts}
    if REGIONAL_SIZE in counts:  # 19 authorities: the South East's, as the regional view is meant for
        chosen[REGIONAL_SIZE] = sorted((a for a in everyone if a.region == REGION), key=lambda a: a.rank)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cpip-scale-") as tmp_name:
        tmp = Path(tmp_name)
        engines: list[Engine] = []
        if args.engine in ("duckdb", "both"):
            engines.append(DuckDBEngine(tmp))
        try:
            if args.engine in ("postgresql", "both"):
                engines.append(PostgresEngine.start(args.pg_url))
            data = args.data or tmp / "extracts"
            wanted = {a.code: a for c in counts for a in chosen[c]}
            manifest = _extracts(data, sorted(wanted.values(), key=lambda a: a.rank), args.years)
            for engine in engines:
                for c in counts:
                    results.append(run_one(engine, data, manifest, chosen[c], args, tmp))
                    print(
                        f"  ({(time.perf_counter() - started) / 60:.1f} min so far; load average "
                        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})"
                    )
        finally:
            for engine in engines:
                engine.close()
        print_table(results, args.clients)
    print(f"\nwhole run {(time.perf_counter() - started) / 60:.1f} min")
    failed = any(r.get("failed") or r.get("notes_lost") for r in results) or any(
        r.get("load") and (r["load"].returncode or r["load"].refused) for r in results
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
