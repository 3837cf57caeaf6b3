"""The analysts' data page: upload extracts, check them, load or cancel; the
load history with undo; how fresh each extract and KPI is.

Nothing is stored until "Load": a dropped file is written to a private
staging folder and checked with `etl.ingest.load.preview_file`, which commits
nothing. The check and the load run as Dash background callbacks (a separate
process with results in a disk cache every gunicorn worker shares, or a Celery
worker on any machine with CPIP_REDIS_URL: dashboard/jobs.py), so a large
file shows its progress and no web worker is held while it is read. Pages
never write the warehouse themselves: `etl.ingest.load` does, through
`etl.store.warehouse.writer()`, which swaps a new file in atomically, so every
other page keeps serving during a load and shows the new data after it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from dashboard import jobs
from dashboard.components import data_report as report
from dashboard.components import upload
from dashboard.components.controls import labelled_select
from dashboard.components.tables import scroll_region
from dashboard.gate import in_job
from dashboard.identity import current_user
from dashboard.pages.common import per_load

dash.register_page(__name__, path="/data", name="Data", title="Data · CPIP scorecard", order=90)

log = logging.getLogger(__name__)
SHOW: dict = {}
HIDE = {"display": "none"}
TICK = 0.5  # seconds between progress updates while a file is read
DEFAULT_WINDOW_MONTHS = 6  # Ofsted's Annex A lists: the six months before the extract (docs/spec/windows.md)
RECENT_MONTHS = 3  # a change to a figure older than this many months asks for a second confirmation
_PERCENT = re.compile(r"\((\d{1,3})%\)\s*$")


# On this machine, or through Celery on Redis with CPIP_REDIS_URL (dashboard/jobs.py): then any
# server can poll a check or load that another started, and any worker can run it.
MANAGER = jobs.manager()


def _parse_as_of(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else date.today()
    except ValueError:
        return date.today()


def layout(**_kwargs: Any) -> html.Div:
    """The page as a person first sees it, whole: the load history, freshness, reconciliation, access
    check and access log are in this one response (the callbacks below run only when something changes;
    ten callbacks after the page arrived took longer than the page)."""
    limit_mb = upload.max_upload_mb()
    reconcile_year = _default_reconcile_year()
    return html.Div(
        [
            html.H1("Data", className="h3 mb-1"),
            html.P(
                [
                    "Load extracts, check what a load did, undo it, and see how fresh each figure is. ",
                    # "You are root" read as a puzzle: say what the name is for.
                    html.Span(
                        [
                            "Loads and undos you make are recorded as made by ",
                            html.Strong(current_user(), id="data-who"),
                            ".",
                        ]
                    ),
                ],
                className="text-muted",
            ),
            dcc.Store(id="data-limit", data=upload.max_upload_bytes()),
            dcc.Store(id="data-incoming"),
            dcc.Store(id="data-staged"),
            dcc.Store(id="data-previews", data=[]),
            dcc.Store(id="data-refresh", data=0),
            dcc.Store(id="data-undo-target"),
            dcc.Store(id="data-a11y"),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Upload extracts", className="h5 mb-0")),
                    dbc.CardBody(
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dcc.Upload(
                                            id="data-upload",
                                            multiple=True,
                                            # No `accept`: the browser would drop other files silently; ours
                                            # are refused with a message instead.
                                            children=html.Div(
                                                [
                                                    html.Strong("Drag and drop CSV files or Excel workbooks here"),
                                                    html.Span(" or "),
                                                    html.U("choose files"),
                                                ]
                                            ),
                                            className="data-upload-box",
                                            style={
                                                "border": "2px dashed var(--cpip-line, #d5dae0)",
                                                "borderRadius": "0.5rem",
                                                "padding": "2rem 1rem",
                                                "textAlign": "center",
                                                "cursor": "pointer",
                                            },
                                        ),
                                        md=8,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label("Extract taken on (as-of date)", html_for="data-as-of"),
                                            dbc.Input(id="data-as-of", type="date", value=date.today().isoformat()),
                                            dbc.Label(
                                                "Annex A lists hold every record of the last (months)",
                                                html_for="data-window-months",
                                                className="mt-2",
                                            ),
                                            dbc.Input(
                                                id="data-window-months",
                                                type="number",
                                                min=1,
                                                max=120,
                                                step=1,
                                                value=DEFAULT_WINDOW_MONTHS,
                                            ),
                                        ],
                                        md=4,
                                    ),
                                ],
                                className="g-3",
                            ),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "A CSV holds every record from (optional)", html_for="data-window-from"
                                            ),
                                            dbc.Input(id="data-window-from", type="date"),
                                        ],
                                        md=4,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label("to", html_for="data-window-to"),
                                            dbc.Input(id="data-window-to", type="date"),
                                        ],
                                        md=4,
                                    ),
                                ],
                                className="g-3 mt-1",
                            ),
                            html.P(
                                f'CSV files ("CSV UTF-8" from Excel) or .xlsx workbooks (an Ofsted Annex A workbook'
                                f" loads as it is, list by list), up to {limit_mb:g} MB each. Each file "
                                "is checked first; nothing is stored until you press Load. A file with the same "
                                "name as one waiting replaces it.",
                                className="text-muted small mt-2",
                            ),
                            html.Div(id="data-status", role="status", **{"aria-live": "polite"}, className="mb-2"),
                            html.Div(
                                [
                                    # The words above the bar, not in it: a short bar would cut them off.
                                    html.Div(id="data-progress-label", className="small mb-1"),
                                    dbc.Progress(id="data-progress", value=0, striped=True, animated=True),
                                ],
                                id="data-progress-wrap",
                                style=HIDE,
                                className="mb-3",
                            ),
                            html.Div(id="data-reports"),
                            html.Div(
                                [
                                    dbc.Checklist(id="data-valid-only", options=[], value=[], className="mb-3"),
                                    # Figures older than the last three months would change: a second yes.
                                    dbc.Checklist(id="data-confirm-old", options=[], value=[], className="mb-3"),
                                    dbc.Button(
                                        "Load", id="data-load", color="primary", className="me-2", disabled=True
                                    ),
                                    dbc.Button("Cancel", id="data-cancel", color="secondary", outline=True),
                                ],
                                id="data-actions",
                                style=HIDE,
                            ),
                            html.Div(id="data-load-result", className="mt-3"),
                        ]
                    ),
                ],
                className="mb-4",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Load history", className="h5 mb-0")),
                    dbc.CardBody(
                        [
                            html.Div(id="data-undo-result"),
                            html.Div(show_history(None), id="data-history"),
                            html.Div(id="data-findings-panel", className="mt-3"),
                        ]
                    ),
                ],
                className="mb-4",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Freshness", className="h5 mb-0")),
                    dbc.CardBody(
                        [
                            html.P(
                                "For each extract type and each KPI: the latest month loaded and the as-of date "
                                "of the load it came from.",
                                className="text-muted small",
                            ),
                            html.Div(show_freshness(None), id="data-freshness"),
                        ]
                    ),
                ],
                className="mb-4",
            ),
            organisation_card(),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Reconciliation with DfE's published figures", className="h5 mb-0")),
                    dbc.CardBody(
                        [
                            html.P(
                                "The authority's figures for a collection year computed from its loaded returns "
                                "(the CIN census: load the year before too, for re-referrals), beside the figures "
                                "DfE published from its returns for the same year.",
                                className="text-muted small",
                            ),
                            labelled_select(
                                "data-reconcile-year",
                                "Collection year",
                                [(y, y) for y in reversed(RECONCILE_YEARS)],
                                reconcile_year,
                                width="sm",
                            ),
                            html.Div(show_reconciliation(reconcile_year, None), id="data-reconcile", className="mt-2"),
                        ]
                    ),
                ],
                className="mb-4",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.H2("Who looked at child lists", className="h5 mb-0")),
                    dbc.CardBody(html.Div(show_access_log(None), id="data-access-log")),
                ],
                className="mb-4",
            ),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Undo this load?", id="data-undo-title")),
                    dbc.ModalBody(id="data-undo-question"),
                    dbc.ModalFooter(
                        [
                            dbc.Button("Undo the load", id="data-undo-confirm", color="danger"),
                            dbc.Button("Keep it", id="data-undo-cancel", color="secondary", outline=True),
                        ]
                    ),
                ],
                id="data-undo-modal",
                is_open=False,
                labelledby="data-undo-title",  # the dialog's accessible name is its title
            ),
        ],
        className="data-page",
        **{"data-page-title": "Data: load, check and undo extracts – CPIP"},
    )


# dcc.Upload renders a bare <input type=file>; name it for screen readers.
clientside_callback(
    upload.LABEL_INPUT_JS,
    Output("data-a11y", "data"),
    Input("data-upload", "id"),
)

# 1. In the browser: refuse what is not a CSV or is too big before it is sent.
clientside_callback(
    upload.FILTER_UPLOADS_JS,
    Output("data-incoming", "data"),
    Output("data-status", "children"),
    Output("data-upload", "contents"),  # cleared, so the same file can be dropped again
    Input("data-upload", "contents"),
    State("data-upload", "filename"),
    State("data-limit", "data"),
    prevent_initial_call=True,
)


@callback(
    Output("data-staged", "data"),
    Output("data-incoming", "data", allow_duplicate=True),
    Output("data-status", "children", allow_duplicate=True),
    Input("data-incoming", "data"),
    running=[(Output("data-upload", "disabled"), True, False)],
    prevent_initial_call=True,
)
def save_uploads(incoming: list[dict] | None) -> tuple:
    """2. Write each upload to the staging folder. The browser's copy is
    dropped (a 50 MB file is 67 MB of text in the page's memory)."""
    if not incoming:
        return no_update, no_update, no_update
    upload.sweep()
    staged = []
    for item in incoming:
        name = str(item.get("name") or "file")
        if item.get("refused"):
            staged.append(upload.StagedFile("", upload.safe_file_name(name), 0, refused=str(item["refused"])).to_dict())
            continue
        try:
            staged.append(upload.stage_upload(name, item.get("contents")).to_dict())
        except OSError as exc:  # a full disk, say: the person gets a sentence, the log the detail
            log.exception("could not stage an upload")
            staged.append(
                upload.StagedFile(
                    "", upload.safe_file_name(name), 0, refused=f"it could not be saved on the server ({exc.strerror})."
                ).to_dict()
            )
    return staged, None, f"Received {len(staged)} {'file' if len(staged) == 1 else 'files'}; checking…"


def window_options(months: Any = None, first: str | None = None, last: str | None = None) -> dict:
    """The analyst's window fields as the loader's options (docs/spec/windows.md): a CSV's span when both
    dates are given, else an Annex A list's months. ValueError with a sentence when they do not make sense."""
    if first or last:
        if not (first and last):
            raise ValueError("give both dates of a CSV's window, or neither")
        from etl.ingest.windows import parse_window

        return {"window": parse_window(f"{first}:{last}")}
    if months in (None, ""):
        return {}
    try:
        n = int(months)
    except (TypeError, ValueError):
        raise ValueError(f"{months!r} is not a number of months") from None
    if not 1 <= n <= 120:
        raise ValueError("an Annex A list's window is 1 to 120 months")
    return {} if n == DEFAULT_WINDOW_MONTHS else {"window_months": n}


def _preview(
    paths: list[Path], *, as_of: date, names: list[str], on_progress, options: dict | None = None
) -> list[Any]:
    """etl.ingest.load.preview_group (one report per list: a workbook has several; one per return given as
    several files), its stages shown in the label."""
    from etl.ingest.load import preview_group

    return preview_group(paths, as_of=as_of, display_names=names, progress=on_progress, **(options or {}))


def _returns_together(staged: list[dict]) -> list[dict]:
    """Files uploaded together that are one return (an SSDA903's CSV tables) become one item to check and load,
    carrying every file's token and name."""
    from etl.readers import registry

    ready = [i for i, item in enumerate(staged) if not item.get("refused") and item.get("token")]
    paths = [upload.staged_path(staged[i]["token"], staged[i].get("name") or "file") for i in ready]
    merged: dict[int, dict] = {}
    absorbed: set[int] = set()
    for _, group in registry.gather(paths) if paths else []:
        if len(group) < 2:
            continue
        items = [staged[ready[g]] for g in group]
        merged[ready[group[0]]] = {
            "name": " + ".join(item.get("name") or "file" for item in items),
            "size": sum(item.get("size") or 0 for item in items),
            "token": items[0]["token"],
            "tokens": [item["token"] for item in items],
            "names": [item.get("name") or "file" for item in items],
        }
        absorbed.update(ready[g] for g in group[1:])
    return [merged.get(i, item) for i, item in enumerate(staged) if i not in absorbed]


def check_staged(staged: list[dict], *, as_of: date, set_progress=None, options: dict | None = None) -> list[dict]:
    """Check each staged file (nothing is committed) and return its report as a dict.

    While one file is read the bar moves against an estimate from its size and
    the label names the loader's stage (reading, validating, comparing).
    """
    out = []
    staged = _returns_together(staged)
    total = len(staged)
    for i, item in enumerate(staged):
        name, size, token = item.get("name") or "file", item.get("size") or 0, item.get("token") or None
        if item.get("refused"):
            out.append(report.refused_dict(name, str(item["refused"]), token=None, size=size))
            continue
        base = f"Reading and checking {name} ({upload.format_size(size)}), file {i + 1} of {total}"
        latest = {"note": ""}

        def tick(done: float, note: str = "", base: str = base, i: int = i) -> None:
            if set_progress is not None:
                set_progress((round(100 * (i + done) / total), f"{base}{note}"))

        def on_progress(message: Any, latest: dict = latest) -> None:
            latest["note"] = f": {message}"

        tick(0)
        result: dict[str, Any] = {}

        def work(result: dict = result, token: str = token, name: str = name) -> None:
            try:
                tokens, names = item.get("tokens") or [token], item.get("names") or [name]  # noqa: B023
                paths = [upload.staged_path(t, n) for t, n in zip(tokens, names, strict=True)]
                result["report"] = _preview(paths, as_of=as_of, names=names, on_progress=on_progress, options=options)
            except Exception as exc:  # never a traceback for the person: a refusal with the reason
                log.exception("checking %s failed", name)
                result["error"] = exc  # noqa: B023 - read before the next file starts

        # The bar moves against an estimate from the file size (a 47 MB,
        # 900,000-row extract took 4-5 s on this kind of machine: about 10 MB
        # a second) and stops short of the end until the file is really done;
        # the label counts real seconds.
        expected = 0.5 + size / 10e6
        started = time.monotonic()
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(TICK)
            if worker.is_alive():
                elapsed = time.monotonic() - started
                tick(min(0.9, elapsed / expected), latest["note"] or f": {elapsed:.0f} s")
        if "report" in result:
            for one in result["report"]:
                together = {"tokens": item["tokens"], "names": item["names"]} if item.get("tokens") else {}
                extra = {"source_name": name, "window_options": _jsonable(options)} | together
                out.append(report.report_to_dict(one, token=token, size=size) | extra)
        else:
            exc = result.get("error")
            out.append(report.refused_dict(name, f"it could not be read: {_plain(exc)}", token=token, size=size))
        tick(1)
    return out


def _jsonable(options: dict | None) -> dict:
    """Window options for a dcc.Store (dates as text)."""
    out = dict(options or {})
    if "window" in out:
        out["window"] = [d.isoformat() for d in out["window"]]
    return out


def _options_of(preview: dict) -> dict:
    """The window options a file was checked with, for its load (the same window it was checked with)."""
    out = dict(preview.get("window_options") or {})
    if "window" in out:
        out["window"] = tuple(date.fromisoformat(d) for d in out["window"])
    return out


def _plain(exc: BaseException | None) -> str:
    """One line for a person; ValueError-type messages are the loader's own words."""
    if exc is None:
        return "unknown problem"
    text = str(exc.args[0]) if exc.args else exc.__class__.__name__
    return text if isinstance(exc, ValueError | LookupError) else f"{exc.__class__.__name__}: {text}"


def merge_previews(waiting: list[dict] | None, new: list[dict]) -> tuple[list[dict], list[str]]:
    """New reports join those waiting; one with the same file name replaces the
    older (the corrected file). Returns the list and the tokens no longer needed."""

    def source(p: dict) -> str | None:  # a workbook's lists are one upload
        return p.get("source_name") or p.get("file_name")

    names = {source(p) for p in new}
    kept, dropped = [], []
    for p in waiting or []:
        if source(p) in names:
            if p.get("token") and p["token"] not in dropped:
                dropped.append(p["token"])
        else:
            kept.append(p)
    return kept + new, dropped


def nothing_to_load(previews: list[dict]) -> list[str]:
    """The tokens of uploads none of whose lists can be loaded (refused or skipped): once the check
    has said so, nothing needs them, and they may hold personal data."""
    needed = {p["token"] for p in previews if p.get("token") and report.file_status(p) in ("ready", "errors")}
    return list(dict.fromkeys(p["token"] for p in previews if p.get("token") and p["token"] not in needed))


def _status_after_check(previews: list[dict]) -> html.Div:
    clean, _partial, left = report.loadable(previews, [])
    errors = [p for p in left if report.file_status(p) == "errors"]
    refused = [p for p in left if report.file_status(p) == "refused"]
    files = len({p.get("source_name") or p.get("file_name") for p in previews})
    lists = f" ({len(previews)} lists)" if len(previews) > files else ""
    parts = [f"{files} {'file' if files == 1 else 'files'}{lists} checked: {len(clean)} ready to load"]
    if errors:
        parts.append(f"{len(errors)} with errors")
    if refused:
        parts.append(f"{len(refused)} refused")
    return html.Div(", ".join(parts) + ". Nothing has been stored yet.")


def _background_job(also_running: list | None = None) -> dict:
    """A check or a load runs as a background job: the progress bar and its label show
    while it runs, the Load/Cancel buttons hide (and whatever `also_running` names)."""
    return {
        "background": True,
        "manager": MANAGER,
        "progress": [Output("data-progress", "value"), Output("data-progress-label", "children")],
        "progress_default": [0, ""],
        "running": [
            (Output("data-progress-wrap", "style"), SHOW, HIDE),
            (Output("data-actions", "className"), "d-none", ""),
            *(also_running or []),
        ],
        "prevent_initial_call": True,
    }


@callback(
    Output("data-previews", "data", allow_duplicate=True),
    Output("data-status", "children", allow_duplicate=True),
    Input("data-staged", "data"),
    State("data-previews", "data"),
    State("data-as-of", "value"),
    State("data-window-months", "value"),
    State("data-window-from", "value"),
    State("data-window-to", "value"),
    **_background_job(),
)
@in_job  # the request's viewer and authority, wherever the job runs (dashboard/gate.py)
def check_files(
    set_progress,
    staged: list[dict] | None,
    waiting: list[dict] | None,
    as_of: str | None,
    months: Any = None,
    first: str | None = None,
    last: str | None = None,
) -> tuple:
    """3. Check the staged files with the loader's preview (the load itself, discarded); nothing is stored."""
    if not staged:
        return no_update, no_update
    try:
        options = window_options(months, first, last)
    except ValueError as exc:
        return no_update, f"Not checked: {exc}."
    return check_and_keep(staged, waiting, as_of=_parse_as_of(as_of), set_progress=set_progress, options=options)


def check_and_keep(
    staged: list[dict], waiting: list[dict] | None, *, as_of: date, set_progress=None, options: dict | None = None
) -> tuple[list[dict], html.Div]:
    """Check the staged files, join them to those waiting, and keep only the uploads a Load may
    still need: a replaced or refused file's upload is deleted once its verdict is read, and
    anything older than an hour is swept. (previews, status)"""
    new = check_staged(staged, as_of=as_of, set_progress=set_progress, options=options)
    previews, dropped = merge_previews(waiting, new)
    upload.discard(dropped + nothing_to_load(new))
    upload.sweep()
    return previews, _status_after_check(previews)


@callback(
    Output("data-reports", "children"),
    Output("data-valid-only", "options"),
    Output("data-valid-only", "value"),
    Output("data-actions", "style"),
    Output("data-load", "disabled"),
    Output("data-load", "children"),
    Input("data-previews", "data"),
    Input("data-valid-only", "value"),
    # Not prevent_initial_call: with it, a checked workbook's report did not appear
    # (tests/browser/test_windows_data_page.py); this callback also feeds its own input, data-valid-only.
)
def show_previews(previews: list[dict] | None, chosen: list[str] | None) -> tuple:
    """4. A report per file; the valid-rows-only choice for files with errors;
    Load names how many files it would load."""
    previews = previews or []
    if not previews:
        return [], [], [], HIDE, True, "Load"
    firsts = {}
    for i, p in enumerate(previews):
        if report.file_status(p) in ("ready", "errors"):
            firsts.setdefault(p.get("token") or i, i)  # a workbook's lists share one list of changed figures
    cards = [report.file_report(p, index=i, show_changes=i in firsts.values()) for i, p in enumerate(previews)]
    # A workbook with a bad list: its good lists too wait for the choice (a workbook loads whole or not at all).
    spoiled = report.spoiled_tokens(previews)
    with_errors = [
        p
        for p in previews
        if report.file_status(p) == "errors" or (report.file_status(p) == "ready" and p.get("token") in spoiled)
    ]
    # A workbook's lists share a token: one choice loads the valid rows of each of its lists.
    options = list({p["token"]: {"label": valid_only_label(p), "value": p["token"]} for p in with_errors}.values())
    value = [t for t in (chosen or []) if t in {o["value"] for o in options}]
    clean, partial, _left = report.loadable(previews, value)
    n = len(clean) + len(partial)
    files = len({p.get("token") for p in clean + partial})
    lists = f" ({n} lists)" if n > files else ""  # a workbook: its lists load together
    label = "Load" if n == 0 else f"Load {files} {'file' if files == 1 else 'files'}{lists}"
    return cards, options, value, SHOW, n == 0, label


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def valid_only_label(preview: dict) -> str:
    """The explicit choice offered for a file with errors."""
    rejected = preview.get("rejected") or 0
    valid = (preview.get("rows_read") or 0) - rejected
    source = preview.get("source_name")
    if source and source != preview.get("file_name"):  # a list of a workbook: the choice is the workbook's
        return (
            f"Load the good lists and valid rows only of {source}: the lists and rows with errors are left out"
            " (kept in the load log with their reasons)"
        )
    return (
        f"Load the valid rows only of {preview.get('file_name')}: {_rows(valid)} loaded, "
        f"{_rows(rejected)} rejected (kept in the load log with their reasons)"
    )


def load_checked(
    previews: list[dict], chosen: list[str] | None, *, as_of: date, who: str, set_progress=None
) -> tuple[list[dict], list[Any], list[dict]]:
    """Load the files that passed, and the valid rows of those explicitly chosen.

    Returns (the reports of what was loaded, as dicts; lines for the person;
    the files left waiting)."""
    from etl.ingest.load import load_files

    clean, partial, left = report.loadable(previews, chosen)
    done: list[dict] = []
    lines: list[Any] = []
    batches = [(clean, False), (partial, True)]
    total = len(clean) + len(partial)
    count = 0
    for batch, valid_only in batches:
        if not batch:
            continue
        # A workbook's lists share one staged file (token): it is loaded once, all its lists together.
        # Files checked with different windows load in separate calls, each with the window it was checked with.
        by_options: dict[str, list[dict]] = {}
        for p in batch:
            by_options.setdefault(repr(sorted((p.get("window_options") or {}).items())), []).append(p)
        if len(by_options) > 1:
            for group in by_options.values():
                d, ln, lf = load_checked(
                    group,
                    [p["token"] for p in group] if valid_only else [],
                    as_of=as_of,
                    who=who,
                    set_progress=set_progress,
                )
                done += d
                lines += ln
                left += [p for p in lf if p not in left]
            count += len(batch)
            continue
        options = _options_of(batch[0])
        # A return uploaded as several files (its tokens and names) is loaded with all of them.
        files = list(
            {
                t: n
                for p in batch
                for t, n in zip(
                    p.get("tokens") or [p["token"]],
                    p.get("names") or [p.get("source_name") or p["file_name"]],
                    strict=True,
                )
            }.items()
        )
        paths = [upload.staged_path(token, name) for token, name in files]

        def progress(message: Any, count: int = count, size: int = len(batch)) -> None:
            # The loader ends each message with its share of this call done, "(40%)".
            if set_progress is not None:
                match = _PERCENT.search(str(message))
                share = int(match.group(1)) / 100 if match else 0
                set_progress((round(100 * (count + share * size) / max(total, 1)), f"Loading {message}"))

        if set_progress is not None:
            set_progress((round(100 * count / max(total, 1)), f"Loading {len(batch)} file(s)…"))
        try:
            reports = load_files(
                paths,
                as_of=as_of,
                who=who,
                valid_rows_only=valid_only,
                progress=progress,
                display_names=[name for _, name in files],
                **options,
            )
        except Exception as exc:  # the warehouse is unchanged (atomic swap); say so plainly
            log.exception("load failed")
            lines.append(
                f"Nothing was loaded from {', '.join(p['file_name'] for p in batch)}: {_plain(exc)}. "
                "The data is as it was."
            )
            left.extend(batch)
            continue
        for r in reports:
            token = next(
                (t for t, name in files if r.file_name == name or r.file_name.startswith(f"{name}, sheet ")),
                next((p["token"] for p in batch if p.get("file_name") == r.file_name), None),  # a return
            )
            done.append(report.report_to_dict(r, token=token))
            lines.append(r.summary())
        count += len(batch)
        upload.discard([t for p in batch for t in (p.get("tokens") or [p.get("token")]) if t])
    return done, lines, left


@callback(
    Output("data-previews", "data", allow_duplicate=True),
    Output("data-load-result", "children"),
    Output("data-refresh", "data"),
    Output("data-status", "children", allow_duplicate=True),
    Input("data-load", "n_clicks"),
    State("data-previews", "data"),
    State("data-valid-only", "value"),
    State("data-as-of", "value"),
    State("data-confirm-old", "value"),
    **_background_job(also_running=[(Output("data-upload", "disabled"), True, False)]),
)
@in_job  # the request's viewer and authority, wherever the job runs (dashboard/gate.py)
def load_clicked(
    set_progress,
    n_clicks: int | None,
    previews: list[dict] | None,
    chosen: list[str] | None,
    as_of: str | None,
    confirmed: list[str] | None = None,
) -> tuple:
    """5. Commit the files that passed (and the valid rows of those chosen)."""
    if not n_clicks or not previews:
        return no_update, no_update, no_update, no_update
    old = old_changes(previews, _parse_as_of(as_of))
    if old and "yes" not in (confirmed or []):
        alert = dbc.Alert(
            "Nothing was loaded: these files change figures older than the last three months. Tick the box that "
            "names them above Load if that is what you mean, then press Load again.",
            color="warning",
            dismissable=True,
            id="data-load-alert",
        )
        return no_update, alert, no_update, no_update
    done, lines, left = load_checked(
        previews, chosen, as_of=_parse_as_of(as_of), who=current_user(), set_progress=set_progress
    )
    failed = len(done) == 0
    result = dbc.Alert(
        [html.Strong("Loaded." if not failed else "Nothing was loaded."), html.Ul([html.Li(x) for x in lines])],
        color="danger" if failed else "success",
        dismissable=True,
        id="data-load-alert",
    )
    left_note = f"{len(left)} {'file is' if len(left) == 1 else 'files are'} still waiting." if left else ""
    return left, result, time.time(), left_note


def old_changes(previews: list[dict] | None, as_of: date) -> list[dict]:
    """The figure changes of the checked files older than their last three months (up to the newest month
    the files hold; the as-of date's month when they say none)."""
    from etl.rules.calendar import add_months

    latest = max((p["last_period"] for p in previews or [] if p.get("last_period")), default=f"{as_of:%Y-%m}")
    first_recent = add_months(latest, 1 - RECENT_MONTHS)
    seen, out = set(), []
    for p in previews or []:
        for change in p.get("changes") or []:
            key = (change["metric_id"], change["period"])
            if change["period"] < first_recent and key not in seen:
                seen.add(key)
                out.append(change)
    return out


@callback(
    Output("data-confirm-old", "options"),
    Output("data-confirm-old", "value"),
    Input("data-previews", "data"),
    State("data-as-of", "value"),
    prevent_initial_call=True,  # no files waiting: nothing to confirm
)
def ask_about_old_changes(previews: list[dict] | None, as_of: str | None) -> tuple:
    """A second confirmation, naming them, when figures older than the last three months would change."""
    old = old_changes(previews, _parse_as_of(as_of))
    if not old:
        return [], []
    named = ", ".join(f"{c['metric_id']} {c['period']}" for c in old[:12])
    more = f" and {len(old) - 12} more" if len(old) > 12 else ""
    label = (
        f"Yes, change {len(old)} {'figure' if len(old) == 1 else 'figures'} older than the last three months: "
        f"{named}{more}"
    )
    return [{"label": label, "value": "yes"}], []


@callback(
    Output("data-previews", "data", allow_duplicate=True),
    Output("data-status", "children", allow_duplicate=True),
    Output("data-load-result", "children", allow_duplicate=True),
    Input("data-cancel", "n_clicks"),
    State("data-previews", "data"),
    prevent_initial_call=True,
)
def cancel_clicked(n_clicks: int | None, previews: list[dict] | None) -> tuple:
    """Cancel: discard the files waiting; nothing was stored."""
    if not n_clicks:
        return no_update, no_update, no_update
    upload.discard([p["token"] for p in previews or [] if p.get("token")])
    upload.sweep()
    return [], "Cancelled: the files were discarded and nothing was stored.", ""


# The next five are in the layout when the page opens: here they redraw after a load or an undo.
@callback(Output("data-history", "children"), Input("data-refresh", "data"), prevent_initial_call=True)
def show_history(_refresh: Any) -> Any:
    """The load history (newest first) with an Undo button per load."""
    try:
        from etl.ingest.load import load_log

        return report.history_table(per_load(load_log))  # a load or an undo is a new warehouse version
    except Exception:
        log.exception("load history failed")
        return dbc.Alert("The load history cannot be shown just now; please reload the page.", color="warning")


@callback(Output("data-freshness", "children"), Input("data-refresh", "data"), prevent_initial_call=True)
def show_freshness(_refresh: Any) -> Any:
    """For each extract type and KPI: the latest month loaded and its as-of date."""
    try:
        from etl.catalogue.metrics import catalogue
        from etl.serve.queries import freshness

        names = {m.metric_id: m.label for m in catalogue().metrics}
        return report.freshness_table(per_load(freshness), metric_names=names)
    except Exception:
        log.exception("freshness failed")
        return dbc.Alert("Freshness cannot be shown just now; please reload the page.", color="warning")


@callback(Output("data-access-log", "children"), Input("data-refresh", "data"), prevent_initial_call=True)
def show_access_log(_refresh: Any) -> Any:
    """Every view or download of a child list: who, when, which list, how many children (latest 200)."""
    from dashboard.components.child_tables import access_log_table
    from etl.privacy.access_log import entries

    try:
        return access_log_table(entries(limit=200))
    except Exception:  # in the layout now: one part failing must not take the page with it
        log.exception("access log failed")
        return dbc.Alert("The access log cannot be shown just now; please reload the page.", color="warning")


# The collection years DfE's published files cover that a return can be set beside.
RECONCILE_YEARS = ("2020/21", "2021/22", "2022/23", "2023/24", "2024/25")


def _default_reconcile_year() -> str:
    """The latest collection year whose census referrals are loaded (re-referrals need the year before), else the
    latest year published."""
    try:
        from etl.store.warehouse import reading

        with reading() as con:
            [(latest,)] = con.execute("SELECT max(referral_date) FROM referrals").fetchall()
    except Exception:  # the validation layout is built before any warehouse is asked for
        return RECONCILE_YEARS[-1]
    if latest is None:
        return RECONCILE_YEARS[-1]
    first = latest.year if latest.month >= 4 else latest.year - 1
    year = f"{first}/{(first + 1) % 100:02d}"
    return year if year in RECONCILE_YEARS else RECONCILE_YEARS[-1]


def _figure_text(numerator: Any, denominator: Any, percent: Any) -> str:
    if numerator is None and denominator is None and percent is None:
        return "–"
    counts = f"{numerator:,} of {denominator:,}" if numerator is not None and denominator is not None else "–"
    return counts + (f" ({percent:g}%)" if percent is not None else "")


def reconcile_table(rows: list[dict], year: str) -> Any:
    """The reconciliation as a table: one row per published indicator, ours beside DfE's, and why they differ."""
    if not rows:
        return html.P("No indicator is reconciled.", className="text-muted")
    head = ["Indicator", "Ours", "Published", "Difference (points)", "Matches", "Why"]
    body = [
        html.Tr(
            [
                html.Th(r["indicator"], scope="row"),
                html.Td(_figure_text(r["ours_numerator"], r["ours_denominator"], r["ours_percent"])),
                html.Td(_figure_text(r["published_numerator"], r["published_denominator"], r["published_percent"])),
                html.Td("–" if r["difference"] is None else f"{r['difference']:+.1f}"),
                html.Td("Yes" if r["matches"] else "No"),
                html.Td(r["reason"]),
            ],
            id=f"data-reconcile-{r['metric_id']}",
        )
        for r in rows
    ]
    return scroll_region(
        dbc.Table(
            [html.Thead(html.Tr([html.Th(h, scope="col") for h in head])), html.Tbody(body)],
            striped=True,
            size="sm",
            id="data-reconcile-table",
        ),
        label=f"Our figures beside DfE's published figures, {year}",
        plain=True,
    )


@callback(
    Output("data-reconcile", "children"),
    Input("data-reconcile-year", "value"),
    Input("data-refresh", "data"),
    prevent_initial_call=True,
)
def show_reconciliation(year: str | None, _refresh: Any) -> Any:
    """Our figures for the year from the loaded returns beside DfE's published ones (etl.serve.reconcile)."""
    year = year if year in RECONCILE_YEARS else RECONCILE_YEARS[-1]
    try:
        from etl.serve.reconcile import reconcile

        # DfE's files are read whole for each indicator (about a second): once per load is enough
        return reconcile_table(per_load(reconcile, year), year)
    except Exception:
        log.exception("reconciliation failed")
        return dbc.Alert("The reconciliation cannot be shown just now; please reload the page.", color="warning")


def _triggered_index(values: list[int | None]) -> int | None:
    """The load id of the pattern-matched button that was really clicked (a
    table redraw fires the callback with n_clicks None)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(values or []):
        return None
    for item in ctx.triggered:
        if item.get("value"):
            return int(trigger["index"])
    return None


@callback(
    Output("data-undo-modal", "is_open"),
    Output("data-undo-target", "data"),
    Output("data-undo-question", "children"),
    Input({"type": "data-undo", "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def ask_undo(clicks: list[int | None]) -> tuple:
    """Undo asks first: what the load was, and what undoing it does."""
    load_id = _triggered_index(clicks)
    if load_id is None:
        return no_update, no_update, no_update
    return True, load_id, undo_question(load_id)


def pd_isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _records(n: Any) -> str:
    n = int(n or 0)
    return f"{n:,} record" if n == 1 else f"{n:,} records"


def undo_question(load_id: int) -> Any:
    try:
        from etl.ingest.load import load_log

        frame = load_log()
        row = frame[frame["load_id"] == load_id]
    except Exception:
        row = None
    if row is None or row.empty:
        return f"Undo load {load_id}?"
    r = row.iloc[0]
    batch = r.get("batch_id") if "batch_id" in row.columns else None
    if batch is not None and not pd_isna(batch):
        together = frame[(frame["batch_id"] == batch) & (frame["load_id"] != load_id)]
        together = together[together["outcome"].isin(report.UNDOABLE)]
        if not together.empty:
            file_name = str(r.get("file_name")).split(", sheet ")[0]
            lists = ", ".join(f"load {int(i)}" for i in sorted([load_id, *together["load_id"].tolist()]))
            return html.Div(
                [
                    html.P(f"Undo {file_name}, loaded by {r.get('loaded_by')}: every list of it ({lists})?"),
                    html.P(
                        "Its records will be removed, and which version of each record counts is worked out "
                        "again from the loads left: records it replaced or retired come back. The KPIs are "
                        "recalculated."
                    ),
                ]
            )
    return html.Div(
        [
            html.P(
                f"Undo load {load_id}: {r.get('file_name')} ({r.get('extract_type') or 'unknown type'}), "
                f"loaded by {r.get('loaded_by')}?"
            ),
            html.P(
                f"The {_records(r.get('rows_added'))} it added will be removed and the "
                f"{_records(r.get('rows_replaced'))} it replaced will come back, exactly as they were "
                "before it. The KPIs are recalculated."
            ),
        ]
    )


@callback(
    Output("data-undo-modal", "is_open", allow_duplicate=True),
    Output("data-undo-result", "children"),
    Output("data-refresh", "data", allow_duplicate=True),
    Input("data-undo-confirm", "n_clicks"),
    State("data-undo-target", "data"),
    prevent_initial_call=True,
)
def confirm_undo(n_clicks: int | None, load_id: int | None) -> tuple:
    """Undo the load after the confirmation."""
    if not n_clicks or load_id is None:
        return no_update, no_update, no_update
    from etl.ingest.load import undo_load

    try:
        message = undo_load(int(load_id), who=current_user())
    except Exception as exc:
        log.exception("undo failed")
        alert = dbc.Alert(f"Load {load_id} was not undone: {_plain(exc)}", color="danger", dismissable=True)
        return False, alert, time.time()
    return False, dbc.Alert(message, color="success", dismissable=True, id="data-undo-alert"), time.time()


@callback(
    Output("data-undo-modal", "is_open", allow_duplicate=True),
    Input("data-undo-cancel", "n_clicks"),
    prevent_initial_call=True,
)
def cancel_undo(n_clicks: int | None) -> Any:
    return False if n_clicks else no_update


@callback(
    Output("data-findings-panel", "children"),
    Input({"type": "data-findings", "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def show_findings(clicks: list[int | None]) -> Any:
    """The rejected rows (and warnings) a load kept in the load log."""
    load_id = _triggered_index(clicks)
    if load_id is None:
        return no_update
    try:
        from etl.ingest.load import load_findings

        return report.findings_frame_table(load_findings(load_id), load_id)
    except Exception:
        log.exception("findings failed")
        return dbc.Alert("The findings cannot be shown just now.", color="warning")


# --- the organisation reference and the access file (issue 25) ---------------------------------
# Kept apart from the check, load and undo above: what the reference is, how teams are added, and
# which names of the access file it lacks (checked again after every load: `data-refresh`).


def organisation_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("Organisation reference and access file", className="h5 mb-0")),
            dbc.CardBody(
                [
                    html.P(
                        "The organisation reference lists every team with its service and area; a list naming a "
                        "team it lacks is refused. Add teams by loading an organisation file (columns team, "
                        "service, area) above, or from the command line: cpip teams --unknown FILE lists the "
                        "teams a file names that the reference lacks.",
                        className="small",
                        id="data-org-help",
                    ),
                    html.Div(show_access_check(None), id="data-org-access"),
                    html.H3("Unknown teams in the files checked", className="h6 mt-3"),
                    dcc.Store(id="data-map-names", data=[]),
                    html.Div(show_unknown_teams([])[0], id="data-map-form"),
                    dbc.Button(
                        "Save the mapping", id="data-map-save", color="primary", className="mt-2", disabled=True
                    ),
                    html.Div(id="data-map-result", className="mt-2", role="status"),
                ]
            ),
        ],
        className="mb-4",
    )


@callback(Output("data-org-access", "children"), Input("data-refresh", "data"), prevent_initial_call=True)
def show_access_check(_refresh: Any) -> Any:
    """The access file's teams and services the organisation reference does not name."""
    from etl.privacy.access import check_access_file

    try:
        found = check_access_file()
    except Exception:
        log.exception("checking the access file failed")
        return dbc.Alert("The access file cannot be checked just now; please reload the page.", color="warning")
    if not found:
        return html.P(
            "Every team and service the access file names is in the organisation reference.",
            className="small text-muted mb-0",
            id="data-org-access-ok",
        )
    return dbc.Alert(
        [
            html.Strong("The access file names teams or services the reference lacks:"),
            html.Ul([html.Li(sentence) for sentence in found]),
        ],
        color="warning",
        id="data-org-access-warning",
    )


NEW_TEAM = "__new__"  # the choice that adds an unknown name as a team of its own


def map_form(names: list[str], known: list[str]) -> list:
    """A row per unknown team: map it to a known team (the closest first) or add it with its
    service and area. Each control sits inside its label, so it is named for a screen reader."""
    from etl.ingest.team_map import closest

    rows = []
    for i, name in enumerate(names):
        near = closest(name, known)
        options = [{"label": "Choose…", "value": ""}, {"label": "Add as a new team", "value": NEW_TEAM}]
        options += [{"label": f"{t} (closest)", "value": t} for t in near]
        options += [{"label": t, "value": t} for t in known if t not in near]
        rows.append(
            html.Fieldset(
                [
                    html.Legend(name, className="h6 mb-1"),
                    html.Label(
                        [
                            "Is the team",
                            dbc.Select(id={"type": "data-map-choice", "index": i}, options=options, value=""),
                        ],
                        className="me-3",
                    ),
                    html.Label(
                        ["Service (a new team)", dbc.Input(id={"type": "data-map-service", "index": i})],
                        className="me-3",
                    ),
                    html.Label(["Area (a new team)", dbc.Input(id={"type": "data-map-area", "index": i})]),
                ],
                className="cpip-map-row mb-2",
                id=f"data-map-row-{i}",
            )
        )
    return rows


@callback(
    Output("data-map-form", "children"),
    Output("data-map-names", "data"),
    Output("data-map-save", "disabled"),
    Input("data-previews", "data"),
    prevent_initial_call=True,  # no files checked: the layout says "None"
)
def show_unknown_teams(previews: list[dict] | None) -> tuple:
    """The unknown teams of every file checked, each to map or add (the check's own findings)."""
    from etl.ingest.team_map import known_teams, unknown_in

    names: dict[str, None] = {}
    for preview in previews or []:
        for name in unknown_in(preview.get("findings") or []):
            names.setdefault(name, None)
    if not names:
        return (
            html.P(
                "None: every team the checked files name is in the reference.",
                className="small text-muted mb-0",
                id="data-map-none",
            ),
            [],
            True,
        )
    try:
        known = known_teams()
    except Exception:
        log.exception("reading the organisation reference failed")
        return dbc.Alert("The organisation reference cannot be read just now.", color="warning"), [], True
    intro = html.P(
        f"{len(names)} {'team' if len(names) == 1 else 'teams'} the files name {'is' if len(names) == 1 else 'are'} "
        "not in the organisation reference. Say which team each is (kept as its other name, so next month's "
        "lists map themselves) or add it with its service and area, save, then check the files again.",
        className="small",
        id="data-map-intro",
    )
    return [intro, *map_form(list(names), known)], list(names), False


@callback(
    Output("data-map-result", "children"),
    Input("data-map-save", "n_clicks"),
    State("data-map-names", "data"),
    State({"type": "data-map-choice", "index": ALL}, "value"),
    State({"type": "data-map-service", "index": ALL}, "value"),
    State({"type": "data-map-area", "index": ALL}, "value"),
    prevent_initial_call=True,
)
def save_mapping(_clicks: Any, names: list[str] | None, choices: list, services: list, areas: list) -> Any:
    """Write the mapping through the loader (etl.ingest.team_map): aliases and new teams."""
    from etl.ingest.team_map import NewTeam, map_teams

    aliases: dict[str, str] = {}
    new: list[NewTeam] = []
    for i, name in enumerate(names or []):
        choice = (choices[i] if i < len(choices) else "") or ""
        if choice == NEW_TEAM:
            new.append(NewTeam(name, (services[i] or "").strip(), (areas[i] or "").strip()))
        elif choice:
            aliases[name] = choice
    if not aliases and not new:
        return dbc.Alert("Choose a team for at least one name first.", color="info", id="data-map-alert")
    try:
        reports = map_teams(aliases, new, who=current_user())
    except ValueError as exc:
        return dbc.Alert(str(exc), color="warning", id="data-map-alert")
    except Exception:
        log.exception("saving the team mapping failed")
        return dbc.Alert("The mapping could not be saved just now; try again.", color="danger", id="data-map-alert")
    refused = [r for r in reports if not r.ok]
    if refused:
        problems = [f.describe(r.file_name) for r in refused for f in r.findings[:5]]
        return dbc.Alert([html.Strong("Nothing was saved: "), html.Ul([html.Li(p) for p in problems])],
                         color="warning", id="data-map-alert")  # fmt: skip
    said = [f"{t.team} added ({t.service}, {t.area})" for t in new] + [f"{a} is {t}" for a, t in aliases.items()]
    return dbc.Alert(
        f"Saved: {'; '.join(said)}. Check the files again to load them.", color="success", id="data-map-alert"
    )
