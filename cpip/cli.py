"""The `cpip` command. Its contract is fixed: scripts depend on it.

    cpip load [--as-of YYYY-MM-DD] [--valid-rows-only] [--window FROM:TO | --window-months N] [--dry-run] FILE...
    cpip scorecard --period YYYY-MM --level la|area|service|team [--format csv|json] [--out FILE]
    cpip regional --metric M --authorities CODE,CODE,... [--format csv|json] [--out FILE]
    cpip audits --by month|quarter [--team T | --service S] [--audit-type X] [--format csv|json]
    cpip loads [--findings LOAD_ID]
    cpip teams --unknown FILE...  |  cpip teams --map ALIAS=TEAM|FILE [--map ...]
    cpip undo LOAD_ID
    cpip demo [--if-empty]
    cpip inbox [FOLDER]
    cpip boardpack [--period YYYY-MM] [--level L --unit U] --out FILE.pdf|FILE.xlsx
    cpip children --metric M --period P --level L [--unit U] [--format csv]
    cpip due [--team T | --service S] [--days N] [--on YYYY-MM-DD] [--cutoff MONTHS] [--format csv]
    cpip access-log [--format csv|json]
    cpip comment --metric M --period P [--level L --unit U] --text TEXT
    cpip comments [--period P] [--format csv]
    cpip notes export FILE
    cpip notes import-sqlite [FILE]
    cpip plans [--overdue] [--due-in YYYY-MM] [--lead L] [--format csv]
    cpip reconcile --year 2024/25 [--published FOLDER] [--format csv|json] [--out FILE]
    cpip worker [--concurrency N]

Every command takes `--authority CODE` (the authority's DfE code, e.g. 938):
its data, loads and notes are that authority's (default: metrics.yml's). With
one authority nothing changes.

The command line is the analyst's: no roles here. Every child list it prints
is recorded in the access log all the same (who: the operating-system user).

Every problem is printed as one line (file, line, column, reason); no
traceback ever reaches the user. Exit 0 only when everything succeeded.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from etl.catalogue.levels import LEVELS

if TYPE_CHECKING:  # pandas is imported where a frame is made: `cpip load` never needs it
    import pandas as pd


def os_user() -> str:
    """The operating-system user (etl.privacy.access, imported only by the commands that record one)."""
    from etl.privacy.access import os_user

    return os_user()


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2023-07-31") from None


def _month(text: str) -> str:
    from etl.rules.calendar import parse_period

    try:
        parse_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _emit(frame: pd.DataFrame, fmt: str, out: str | None) -> None:
    if fmt == "json":
        text = frame.to_json(orient="records", indent=2, date_format="iso", double_precision=15)
        if out:
            Path(out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
    else:
        from etl.serve.safe_csv import write_csv

        write_csv(frame, out or sys.stdout)


def _collection_year(text: str) -> str:
    from etl.formats.ssda903 import Year

    try:
        return str(Year.parse(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_load(args: argparse.Namespace) -> int:
    from etl.ingest.load import load_files

    show_progress = sys.stderr.isatty()
    reports = load_files(
        [Path(f) for f in args.files],
        as_of=args.as_of or date.today(),
        who=os_user(),
        valid_rows_only=args.valid_rows_only,
        progress=(lambda msg: print(msg, file=sys.stderr, flush=True)) if show_progress else None,
        window=args.window,
        window_months=args.window_months,
        dry_run=args.dry_run,
        collection_year=args.collection_year,
    )
    from etl.ingest.findings import group_findings

    ok = True
    shown: set[int] = set()
    for report in reports:
        print(report.summary())
        # One line per kind of finding, with its first lines; every finding stays in the load log.
        for group in group_findings(report.findings):
            print(group.describe(report.file_name, report.load_id))
        ok = ok and report.ok
        if report.changes is not None and id(report.changes) not in shown:
            shown.add(id(report.changes))  # a workbook's lists share one list of changes
            _print_changes(report.changes)
    if args.dry_run:
        print("dry run: nothing was loaded")
    return 0 if ok else 1


def _print_changes(changes) -> None:
    """The authority's figures a checked file would change, before and after."""
    from etl.catalogue.metrics import catalogue

    units = {m.metric_id: m.unit for m in catalogue().metrics}
    if not changes:
        print("no figure would change")
        return
    print(f"{len(changes):,} {'figure' if len(changes) == 1 else 'figures'} would change (authority):")
    for change in changes:
        print(f"  {change.words(units.get(change.metric_id, 'percent'))}")


def _window(text: str) -> tuple[date, date]:
    from etl.ingest.windows import parse_window

    try:
        return parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _months(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 120:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of months from 1 to 120")
    return int(text)


def cmd_scorecard(args: argparse.Namespace) -> int:
    from etl.rules.kpis import caveats_at
    from etl.serve.queries import scorecard_table

    frame = scorecard_table(args.period, args.level)
    # Figures that may be incomplete (docs/spec/windows.md): the same words as the pages and the pack.
    found = caveats_at(args.period)
    frame["caveat"] = [found.get(m, "") for m in frame["metric_id"]] if "metric_id" in frame.columns else ""
    _emit(frame, args.format, args.out)
    return 0


def cmd_regional(args: argparse.Namespace) -> int:
    from etl.catalogue.metrics import catalogue
    from etl.serve.regional import regional
    from etl.store import authority

    codes = [authority.check_code(c) for c in args.authorities.split(",") if c.strip()]
    unknown = [c for c in codes if not authority.known(c)]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not authorities in DfE's list (data/reference/dfe/)")
    try:
        metric = catalogue().metric(args.metric)
    except KeyError:
        raise ValueError(f"{args.metric!r} is not a metric in metrics.yml") from None
    _emit(regional(metric.metric_id, codes), args.format, args.out)
    return 0


def cmd_audits(args: argparse.Namespace) -> int:
    from etl.serve.queries import audit_grades

    frame = audit_grades(by=args.by, team=args.team, service=args.service, audit_type=args.audit_type)
    _emit(frame, args.format, args.out)
    return 0


def cmd_loads(args: argparse.Namespace) -> int:
    from etl.ingest.load import load_findings, load_log

    if args.findings is not None:
        frame = load_findings(args.findings)
        if frame.empty and args.findings not in set(load_log()["load_id"]):
            raise ValueError(f"there is no load {args.findings}")
    else:
        frame = load_log()
    _emit(frame, args.format, None)
    return 0


def cmd_teams(args: argparse.Namespace) -> int:
    """The teams the files name that the organisation reference lacks, as an organisation file to fill in;
    or (--map) each unknown name mapped to a known team, or added with its service and area."""
    if args.map:
        return _map_teams(args.map)
    from etl.ingest.findings import unknown_teams
    from etl.ingest.load import preview_files

    names: dict[str, None] = {}
    for path in args.files:
        for report in preview_files(Path(path), as_of=date.today()):
            for name in unknown_teams(report.findings):
                names.setdefault(name, None)
    import pandas as pd

    from etl.serve.safe_csv import write_csv

    write_csv(pd.DataFrame({"team": list(names), "service": "", "area": ""}), sys.stdout)
    return 0


def _map_teams(items: list[str]) -> int:
    """`ALIAS=TEAM` pairs, and files as `cpip teams --unknown` writes them once filled in: a row with
    `maps_to` is another name of that team; a row with service and area is a new team."""
    import csv

    from etl.ingest.team_map import NewTeam, map_teams

    aliases: dict[str, str] = {}
    new: list[NewTeam] = []
    for item in items:
        if "=" in item and not Path(item).exists():
            alias, _, team = item.partition("=")
            aliases[alias.strip()] = team.strip()
            continue
        with open(item, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                if row.get("maps_to"):
                    aliases[row["team"]] = row["maps_to"]
                elif row.get("team"):
                    new.append(NewTeam(row["team"], row.get("service", ""), row.get("area", "")))
    reports = map_teams(aliases, new, who=os_user())
    for report in reports:
        if not report.ok:
            print(report.summary())
            for finding in report.findings[:5]:
                print(f"  {finding.describe(report.file_name)}")
    if not all(r.ok for r in reports):
        return 1
    for t in new:
        print(f"{t.team} added to the organisation reference ({t.service}, {t.area})")
    for alias, team in aliases.items():
        print(f"{alias} now loads as {team}")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from etl.ingest.load import undo_load

    print(undo_load(args.load_id, who=os_user()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from etl.demo.extracts import DEFAULT_FOLDER, load_demo

    code = load_demo(if_empty=args.if_empty, who=os_user())
    if not args.if_empty:
        from etl.demo.ssda903 import write_ssda903

        written = write_ssda903(DEFAULT_FOLDER)
        print(
            f"The same authority's SSDA903 returns for 2022/23 and 2023/24 are in {written[0].parent}: load its"
            " child_teams.csv, then each year's tables with --collection-year (they replace the demo's figures for"
            " the KPIs they feed, for the months they cover)"
        )
    return code


def cmd_inbox(args: argparse.Namespace) -> int:
    from etl.ingest.inbox import process_inbox

    results = process_inbox(Path(args.folder) if args.folder else None, who=os_user())
    for line in results.lines():
        print(line)
    return 0 if results.ok else 1


def cmd_boardpack(args: argparse.Namespace) -> int:
    from dashboard.export.boardpack import build_boardpack

    period = args.period
    if period is None:
        from etl.serve.queries import latest_complete_period

        period = latest_complete_period()
        if period is None:
            print("No data is loaded yet: load the extracts (cpip load) first.", file=sys.stderr)
            return 1
        print(f"Board pack for {period}, the latest complete month (--period YYYY-MM for another).")
    path = build_boardpack(period, level=args.level, unit=args.unit, out=Path(args.out))
    print(f"Board pack written to {path}")
    return 0


def cmd_children(args: argparse.Namespace) -> int:
    from etl.privacy.children import child_list

    found = child_list(args.metric, args.period, args.level, args.unit, fmt="cli")
    if args.format == "csv":
        _emit(found.rows, "csv", args.out)
        return 0
    unit = found.unit if found.level == "la" else f"{found.level} {found.unit}"
    figure = (
        f"{found.numerator:g}" if found.metric.unit == "count" and found.numerator is not None else
        f"{found.numerator:g} of {found.denominator:g}" if found.denominator else "no figure"
    )  # fmt: skip
    print(f"{found.metric.label}, {unit}, {found.period}: scorecard {figure}")
    counts = f"{len(found.rows)} records" if found.metric.unit == "count" else (
        f"{found.met} met of {found.counted} counted, {found.not_yet_due} not yet due"
    )  # fmt: skip
    print(f"this list: {counts}" + ("" if found.ties else " (does not match the scorecard: tell the data team)"))
    if not found.rows.empty:
        # Blanks as blanks, whatever the column's type (a list with no working days has an empty Int64 column).
        print(found.rows.astype(object).where(found.rows.notna(), "").to_string(index=False))
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    from etl.privacy.children import due_list

    level, unit = ("service", args.service) if args.service else (None, None)
    found = due_list(team=args.team, days=args.days, on=args.on, level=level, unit=unit, cutoff=args.cutoff, fmt="cli")
    if args.format == "csv":
        _emit(found.rows, "csv", args.out)
        return 0
    older = f" ({found.older} more overdue for longer: --cutoff 0 lists them)" if found.older else ""
    print(f"{found.scope}: {found.due} due in the next {found.days} working days, {found.overdue} overdue" + older)
    if not found.rows.empty:
        print(found.rows.to_string(index=False))
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    from etl.privacy.access_log import entries

    _emit(entries(), args.format, args.out)
    return 0


def cmd_comment(args: argparse.Namespace) -> int:
    from etl.people.notes import write_note

    note = write_note(args.metric, args.period, args.level, args.unit, args.text, author=os_user())
    unit = note.org_unit if note.level == "la" else f"{note.level} {note.org_unit}"
    print(f"Note saved on {note.metric_id}, {unit}, {note.period} (version {note.version} by {note.author})")
    return 0


def cmd_comments(args: argparse.Namespace) -> int:
    from etl.people.notes import notes_frame

    frame = notes_frame(args.period)
    if args.format == "csv":
        _emit(frame, "csv", args.out)
        return 0
    if frame.empty:
        print("No notes" + (f" for {args.period}" if args.period else "") + ".")
        return 0
    for r in frame.itertuples():
        unit = r.org_unit if r.level == "la" else f"{r.level} {r.org_unit}"
        edited = f", version {r.version}" if r.versions > 1 else ""
        print(f"{r.period} · {r.metric_id} · {unit} · {r.author}, {r.written_at[:16].replace('T', ' ')} UTC{edited}")
        for line in str(r.text).splitlines():
            print(f"    {line}")
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    from etl.people.notes import export

    counts = export(Path(args.file))
    print(
        f"Written to {args.file}: {counts['notes']} note versions, {counts['actions']} action versions, "
        f"{counts['events']} event versions. `cpip load {args.file}` brings them back."
    )
    return 0


def cmd_notes_import(args: argparse.Namespace) -> int:
    from etl.people.notes import import_sqlite

    source, added, held = import_sqlite(args.file)
    print(f"Imported from {source}: {added} versions added, {held} already held.")
    return 0


def cmd_plans(args: argparse.Namespace) -> int:
    import pandas as pd

    from etl.people.plans import plan_sections

    on, sections = plan_sections(on=args.on, overdue_only=args.overdue, due_in=args.due_in, lead=args.lead)
    rows = [
        {"area": s.area, "action_id": a.action_id, "action": a.action, "sponsor": a.sponsor, "lead": a.lead,
         "due_date": a.due_date, "status": a.state(on), "written_status": a.status, "metrics": ";".join(a.metrics)}
        for s in sections for a in s.actions
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["area", "action_id", "action", "sponsor", "lead", "due_date", "status",
                                        "written_status", "metrics"])  # fmt: skip
    if args.format == "csv":
        _emit(frame, "csv", args.out)
        return 0
    print(f"Practice Action Plans, judged on {on:%-d %B %Y}")
    for s in sections:
        print(f"\n{s.area}: {len(s.actions)} actions shown, {s.overdue} overdue")
        for a in s.actions:
            print(f"  {a.action_id:6} {a.state(on):12} {a.due_text:12} {a.lead}: {a.action}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Our figures from the loaded returns beside DfE's published ones (a report: a difference is not a failure)."""
    from etl.serve.reconcile import reconcile, reconcile_frame

    if args.format == "json":
        # Written from the rows themselves, so a percentage reads 24.4, not 24.399999999999999.
        import json

        text = json.dumps(reconcile(args.year, published=args.published), indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    _emit(reconcile_frame(args.year, published=args.published), args.format, args.out)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the data page's checks and loads for every web server (Celery on CPIP_REDIS_URL)."""
    import importlib

    from dashboard import jobs

    if jobs.redis_url() is None:
        print(
            "cpip worker: CPIP_REDIS_URL is not set. Set it (redis://host:6379/0) on the worker and on every "
            "web server; without it the web servers run their own jobs and need no worker.",
            file=sys.stderr,
        )
        return 2
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)  # app.py sits beside the packages, in the checkout
    importlib.import_module("app")  # builds every page, so each background callback is a task this worker knows
    jobs.run_worker(concurrency=args.concurrency)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cpip", description="CPIP scorecard: load extracts, read the KPIs.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="validate and load extract CSV files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--as-of", type=_iso_date, help="the date the extract was taken (default: today)")
    p.add_argument(
        "--valid-rows-only", action="store_true", help="load the rows that passed; rejected rows go to the load log"
    )
    windows = p.add_mutually_exclusive_group()
    windows.add_argument(
        "--window",
        type=_window,
        metavar="FROM:TO",
        help="the dates a CSV holds every record of (e.g. 2023-04-01:2023-07-31); records held from earlier loads "
        "in it that the file lacks are retired",
    )
    windows.add_argument(
        "--window-months",
        type=_months,
        metavar="N",
        help="an Annex A list holds every record of the N months before the as-of date (default: the list's, 6)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check only: what would load, the figures that would change, the records that would be retired",
    )
    p.add_argument(
        "--collection-year",
        type=_collection_year,
        metavar="YYYY/YY",
        help="the collection year of a statutory return (SSDA903), e.g. 2024/25 (default: the as-of date's)",
    )
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("scorecard", help="the CPIP scorecard for one month")
    p.add_argument("--period", type=_month, required=True, metavar="YYYY-MM")
    p.add_argument("--level", choices=LEVELS, default="la", help="the rows' level (default: la, the authority)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_scorecard)

    p = sub.add_parser("regional", help="one KPI for several authorities, side by side, month by month")
    p.add_argument("--metric", required=True, metavar="METRIC_ID")
    p.add_argument("--authorities", required=True, metavar="CODE,CODE,...", help="DfE codes, e.g. 938,846,845")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_regional)

    p = sub.add_parser("audits", help="case-audit grades by month or quarter")
    p.add_argument("--by", choices=("month", "quarter"), required=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--team")
    group.add_argument("--service")
    p.add_argument("--audit-type")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_audits)

    p = sub.add_parser("loads", help="the load log")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--findings", type=int, metavar="LOAD_ID", help="every error and warning of one load")
    p.set_defaults(func=cmd_loads)

    p = sub.add_parser("teams", help="teams the files name that the organisation reference lacks, and mapping them")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--unknown", nargs="+", metavar="FILE", dest="files")
    group.add_argument(
        "--map", action="append", metavar="ALIAS=TEAM|FILE",
        help="another name of a known team (ALIAS=TEAM), or the --unknown file filled in: maps_to for another "
        "name, service and area for a new team; next month's lists then map themselves",
    )  # fmt: skip
    p.set_defaults(func=cmd_teams)

    p = sub.add_parser("undo", help="undo a load, restoring exactly the state before it")
    p.add_argument("load_id", type=int, metavar="LOAD_ID")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("demo", help="write the demo extracts to data/demo/ and load them")
    p.add_argument("--if-empty", action="store_true", help="only when the warehouse holds no data yet")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("inbox", help="one pass over the inbox folder (for cron)")
    p.add_argument("folder", nargs="?")
    p.set_defaults(func=cmd_inbox)

    p = sub.add_parser("boardpack", help="the month's board pack as PDF or Excel")
    p.add_argument("--period", type=_month, metavar="YYYY-MM", help="default: the latest complete month")
    p.add_argument("--level", choices=LEVELS, default="la")
    p.add_argument("--unit")
    p.add_argument("--out", required=True, metavar="FILE.pdf|FILE.xlsx")
    p.set_defaults(func=cmd_boardpack)

    p = sub.add_parser("children", help="the children behind one figure (recorded in the access log)")
    p.add_argument("--metric", required=True, metavar="METRIC_ID")
    p.add_argument("--period", required=True, metavar="YYYY-MM|YYYY/YY Qn|YYYY/YY")
    p.add_argument("--level", choices=LEVELS, required=True)
    p.add_argument("--unit")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_children)

    p = sub.add_parser("due", help="what falls due in the next N working days, and what is overdue")
    p.add_argument("--team")
    p.add_argument("--service", help="every team of this service (instead of --team)")
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--on", type=_iso_date, help="as of this date (default: each extract's latest as-of date)")
    p.add_argument("--cutoff", type=int, default=3, help="list overdue of the last N months only (0: all; default 3)")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_due)

    p = sub.add_parser("access-log", help="who looked at which child list, newest first")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_access_log)

    p = sub.add_parser("comment", help="write a note on a KPI for a month and org unit (a new version if one exists)")
    p.add_argument("--metric", required=True, metavar="METRIC_ID")
    p.add_argument("--period", type=_month, required=True, metavar="YYYY-MM")
    p.add_argument("--level", choices=LEVELS, default="la")
    p.add_argument("--unit")
    p.add_argument("--text", required=True)
    p.set_defaults(func=cmd_comment)

    p = sub.add_parser("comments", help="the notes on KPIs (the latest version of each)")
    p.add_argument("--period", type=_month, metavar="YYYY-MM")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_comments)

    p = sub.add_parser("notes", help="notes, actions and events written in the app")
    notes_sub = p.add_subparsers(dest="notes_command", required=True)
    q = notes_sub.add_parser("export", help="write every version to one file that `cpip load` brings back")
    q.add_argument("file", metavar="FILE")
    q.set_defaults(func=cmd_notes)
    q = notes_sub.add_parser(
        "import-sqlite",
        help="on PostgreSQL: bring an earlier release's SQLite notes file into the database (once; twice adds nothing)",
    )
    q.add_argument("file", metavar="FILE", nargs="?", help="the notes file (default: the one beside this warehouse)")
    q.set_defaults(func=cmd_notes_import)

    p = sub.add_parser("plans", help="the Practice Action Plans' actions, with overdue worked out")
    p.add_argument("--overdue", action="store_true", help="only overdue actions")
    p.add_argument("--due-in", type=_month, metavar="YYYY-MM", help="only actions due in this month")
    p.add_argument("--lead", help="only actions whose lead names this")
    p.add_argument("--on", type=_iso_date, help="judge overdue on this date (default: the data's as-of date)")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_plans)

    p = sub.add_parser("reconcile", help="figures from the loaded returns beside DfE's published figures")
    p.add_argument("--year", required=True, metavar="YYYY/YY", help="the collection year, e.g. 2024/25")
    p.add_argument("--published", metavar="FOLDER", help="DfE's published files (default: data/reference/dfe/)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("worker", help="run the data page's checks and loads for every web server (CPIP_REDIS_URL)")
    p.add_argument("--concurrency", type=int, default=2, metavar="N", help="jobs run at once (default 2)")
    p.set_defaults(func=cmd_worker)

    # Every command works for one authority: metrics.yml's unless --authority names another (etl/store/authority.py).
    for command in [*sub.choices.values(), *notes_sub.choices.values()]:
        command.add_argument(
            "--authority",
            type=_authority,
            metavar="CODE",
            help="the authority's DfE code (default: metrics.yml's authority)",
        )
    return parser


def _authority(text: str) -> str:
    from etl.store import authority

    try:
        code = authority.check_code(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not authority.known(code):
        raise argparse.ArgumentTypeError(
            f"{code} is neither metrics.yml's authority nor in DfE's list of authorities (data/reference/dfe/)"
        )
    return code


def main(argv: list[str] | None = None) -> int:
    from etl.catalogue.metrics import CatalogueError, catalogue
    from etl.store import authority

    args = build_parser().parse_args(argv)
    try:
        catalogue()  # a broken metrics.yml stops here with one clear line
        with authority.using(getattr(args, "authority", None)):
            return args.func(args)
    except CatalogueError as exc:
        print(f"cpip: metrics.yml is not valid: {exc}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, LookupError, OSError) as exc:
        message = exc.args[0] if exc.args else exc.__class__.__name__
        if isinstance(exc, OSError) and exc.strerror:  # the system's words, not its number (`28`)
            message = exc.strerror + (f": {exc.filename}" if exc.filename else "")
        print(f"cpip {args.command}: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cpip: interrupted; the warehouse is unchanged", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: a clear line, never a traceback
        print(f"cpip {args.command}: unexpected error ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
