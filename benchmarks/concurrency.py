"""Twenty people at once: page updates with no think time, quiet and while loads run, against one person.

    .venv/bin/python benchmarks/concurrency.py [--clients 20] [--requests 15] [--workers 2]

Builds the demo warehouse (`cpip demo` in a temporary CPIP_HOME, as benchmarks/pages.py does) and serves
the app with gunicorn (`app:server`, 2 workers, ./gunicorn.conf.py's settings). Each client is a thread
with its own HTTP session that, with no pause between them, asks for what opening a page asks the server
for: the page router's update (the POST Dash makes when the address changes, the same body the browser
sends) for the scorecard, a KPI, the teams page or the icon matrix, at a random month (last 12), level
and org unit. Phases, in this order, so that other load on the machine falls on the baseline and the
crowd alike: one client, twenty, one, twenty (quiet), then twenty and one while `cpip load` and `cpip undo`
run back to back (each writes a copy of the warehouse and swaps it in, as the data page's load does).

Baseline in the same run: one client's 95th percentile with nothing loading (the two quiet one-client
phases together). Goal (issue 27): twenty clients' p95 under 3x that with nothing loading, under 4x while
loads run, and no failed request (anything but a 200 carrying the page).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would shadow the `etl` package with benchmarks/etl.py.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

GOAL_QUIET = 3.0
GOAL_LOADING = 4.0


def _sibling(name: str):
    """benchmarks/<name>.py, loaded by path (see the sys.path note)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pages = _sibling("pages")
dashboard = _sibling("dashboard")


def cases(db: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (pathname, search) page openings: scorecard, KPI, teams and icon matrix, random month,
    level and unit."""
    from etl.catalogue.metrics import catalogue
    from etl.serve import queries

    rng = random.Random(seed)
    months = queries.periods(db=db)[-12:]
    units = {level: queries.units_at(level, db=db) for level in ("la", "area", "service", "team")}
    ids = catalogue().ids
    out = []
    for _ in range(count):
        period = rng.choice(months)
        kind = rng.choice(("scorecard", "kpi", "teams", "icons"))
        if kind == "teams":
            level = rng.choice(("service", "area"))
            out.append(("/teams", dashboard.search(period, level, rng.choice(units[level]))))
            continue
        level = rng.choice(("la", "area", "service", "team", "team"))
        query = dashboard.search(period, level, rng.choice(units[level]) if level != "la" else None)
        if kind == "kpi":
            out.append((f"/kpi/{rng.choice(ids)}", query))
        elif kind == "icons":
            level = rng.choice(("la", "area", "service"))
            unit = rng.choice(units[level]) if level != "la" else None
            out.append(("/", dashboard.search(period, level, unit) + "&view=icons"))
        else:
            out.append(("/", query))
    return out


class Crowd:
    """`clients` threads, each with its own session, each opening its share of `work` with no pause."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.failures: list[str] = []

    def one(self, session: requests.Session, pathname: str, query: str) -> float:
        body = json.dumps(dashboard.router_payload(pathname, query))
        start = time.perf_counter()
        try:
            response = session.post(self.base + "/_dash-update-component", data=body, timeout=60)
            ok = response.status_code == 200 and "_pages_content" in response.text
            why = f"{response.status_code} {response.text[:120]!r}"
        except requests.RequestException as exc:
            ok, why = False, repr(exc)
        elapsed = (time.perf_counter() - start) * 1000
        if not ok:
            self.failures.append(f"{pathname}{query}: {why}")
        return elapsed

    def run(self, clients: int, work: list[tuple[str, str]]) -> list[float]:
        times: list[float] = []
        lock = threading.Lock()
        shares = [work[i::clients] for i in range(clients)]
        gate = threading.Barrier(clients)

        def client(share: list[tuple[str, str]]) -> None:
            session = requests.Session()
            session.headers.update({"Content-Type": "application/json", "Accept-Encoding": "gzip"})
            gate.wait()  # all start together
            mine = [self.one(session, p, q) for p, q in share]
            with lock:
                times.extend(mine)

        threads = [threading.Thread(target=client, args=(share,)) for share in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return times


class Loads:
    """`cpip load` and `cpip undo` of the demo's case audits, back to back, until stopped: each a real write
    (1,230 records added, then taken away) of a copy of the warehouse, swapped in."""

    def __init__(self, home: Path) -> None:
        self.env = {**os.environ, "CPIP_HOME": str(home), "PYTHONPATH": str(ROOT)}
        self.env.pop("CPIP_DB", None)
        self.file = home / "data" / "demo" / "case_audits.csv"
        self.stopping = threading.Event()
        self.done = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._loop)

    def _cpip(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from cpip.cli import main; sys.exit(main(sys.argv[1:]))", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            self.errors.append(f"cpip {' '.join(args)}: {(done.stdout + done.stderr)[-300:]}")
        return done.stdout

    def _latest_load(self) -> str | None:
        """The id of the newest load of the case audits still in force (the load log as CSV, newest last)."""
        lines = [
            line for line in self._cpip("loads").splitlines() if line[:1].isdigit() and f",{self.file.name}," in line
        ]
        return lines[-1].split(",")[0] if lines else None

    def _loop(self) -> None:
        # The demo's own load of the file first, so that each load after it adds its rows and each undo takes them
        # away again (loading the same file twice changes nothing, and writes nothing).
        first = self._latest_load()
        if first:
            self._cpip("undo", first)
        while not self.stopping.is_set():
            self._cpip("load", "--as-of", "2024-04-05", str(self.file))
            latest = self._latest_load()
            if latest:
                self._cpip("undo", latest)
            self.done += 1

    def __enter__(self) -> Loads:
        self.thread.start()
        time.sleep(1.0)  # the first load under way
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=15, help="page openings per client in a crowd (default 15)")
    parser.add_argument("--single", type=int, default=60, help="page openings of the lone client (default 60)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cpip-crowd-") as tmp:
        folder = Path(tmp)
        home = folder / "home"
        db = pages.build_demo(home)
        env = {**os.environ, "CPIP_DB": str(db), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        for name in ("CPIP_INBOX_INTERVAL", "CPIP_ACCESS", "CPIP_REDIS_URL"):
            env.pop(name, None)
        app, base = pages.serve("app:server", ROOT, env, args.workers, folder / "app.log")
        crowd = Crowd(base)
        results: dict[str, list[float]] = {}
        try:
            crowd.run(2 * args.workers, cases(db, 8 * args.workers, seed=1))  # warm every worker
            crowd.failures.clear()
            print(
                f"concurrency: the demo warehouse; gunicorn, {args.workers} workers (./gunicorn.conf.py); "
                f"{args.clients} clients x {args.requests} page openings, no think time; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            seed = 100
            for phase in ("1 quiet", "crowd quiet", "1 quiet", "crowd quiet"):
                seed += 1
                if phase.startswith("1"):
                    times = crowd.run(1, cases(db, args.single, seed))
                else:
                    times = crowd.run(args.clients, cases(db, args.clients * args.requests, seed))
                results.setdefault(phase, []).extend(times)
            with Loads(home) as loads:
                results["crowd loading"] = crowd.run(args.clients, cases(db, args.clients * args.requests, 201))
                results["1 loading"] = crowd.run(1, cases(db, args.single, 202))
            print(f"  (loads and undos finished while the crowd ran: {loads.done} pairs)")
        finally:
            pages.stop(app)
        log_text = (folder / "app.log").read_text(encoding="utf-8")

    baseline = dashboard.percentile(results["1 quiet"], 95)
    names = {
        "1 quiet": "one client, nothing loading (baseline)",
        "crowd quiet": f"{args.clients} clients, nothing loading",
        "crowd loading": f"{args.clients} clients, loads running",
        "1 loading": "one client, loads running",
    }
    for key, label in names.items():
        row = dashboard.summary(label, results[key])
        print(f"  {'':58s} p95 = {row['p95'] / baseline:.2f} x baseline")
    quiet = dashboard.percentile(results["crowd quiet"], 95) / baseline
    loading = dashboard.percentile(results["crowd loading"], 95) / baseline
    failed = len(crowd.failures) + ("Traceback" in log_text)
    if crowd.failures:
        print("failed requests:", *crowd.failures[:10], sep="\n  ")
    if loads.errors:
        print("load errors:", *loads.errors[:5], sep="\n  ")
    ok = quiet < GOAL_QUIET and loading < GOAL_LOADING and not failed
    print(
        f"goal: p95 under {GOAL_QUIET:.0f}x quiet ({quiet:.2f}x), under {GOAL_LOADING:.0f}x while loading "
        f"({loading:.2f}x), no failed request ({len(crowd.failures)} failed): {'met' if ok else 'NOT met'}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
