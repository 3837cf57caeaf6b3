"""One pass over the inbox folder that analysts drop extracts into.

`cpip inbox [FOLDER]` (cron, a scheduled task) and the dashboard's optional
scheduler (dashboard/inbox_schedule.py) both call `process_inbox`. Each file
waiting in the folder is loaded or refused on its own, all or nothing as the
contract says (never "valid rows only": that needs a person to choose it),
then moved to `processed/` or `rejected/` with a short report file beside it,
so the folder tells an analyst what happened without opening the dashboard.

A pass holds a lock file in the folder: a cron job and the dashboard's
scheduler, or several gunicorn workers, never work the same files at once.
File names come from whoever filled the share, so they are sanitised before
they become part of any path we write.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from etl.paths import ROOT

DEFAULT_INBOX = ROOT / "data" / "inbox"
PROCESSED = "processed"
REJECTED = "rejected"
LOCK_NAME = ".inbox.lock"
REPORT_SUFFIX = ".report.txt"
# Names that say "still being written": a copy in progress, an editor's backup.
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", "~")
_MAX_NAME = 100


def safe_file_name(name: str, *, default: str = "file.csv") -> str:
    """A file name that is safe to use as the last part of a path.

    Any folder part is dropped (both / and \\), the text is normalised, every
    character other than letters, digits, space, dot, dash, underscore and
    brackets becomes `_`, leading dots go (no hidden files, no `..`), and the
    length is capped with the extension kept. `../../etc/passwd` becomes
    `passwd`; a name with nothing left becomes `default`.
    """
    base = re.split(r"[/\\]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch if (ch.isascii() and (ch.isalnum() or ch in " ._-()")) else "_" for ch in base)
    base = re.sub(r"_+", "_", base).strip(" ._")
    if not base:
        return default
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:
        stem, ext = base, ""
    ext = ext[:10]
    stem = stem[: _MAX_NAME - len(ext) - 1].rstrip(" ._") or "file"
    return f"{stem}.{ext}" if ext else stem


@dataclass
class InboxOutcome:
    """What happened to one file of the inbox."""

    file_name: str  # the name it had in the inbox
    outcome: str  # the loader's outcome ("loaded", "no change", "refused", ...)
    moved_to: Path
    report_path: Path
    summary: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome != "refused"

    def line(self, folder: Path) -> str:
        where = self.moved_to.relative_to(folder) if self.moved_to.is_relative_to(folder) else self.moved_to
        return f"{self.file_name}: {self.summary} -> {where}"


@dataclass
class InboxResult:
    """One pass: an outcome per file, in the order they were taken."""

    folder: Path
    outcomes: list[InboxOutcome] = field(default_factory=list)
    note: str | None = None  # e.g. another pass was already running

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    def lines(self) -> list[str]:
        if self.note:
            return [self.note]
        if not self.outcomes:
            return [f"inbox: no files waiting in {self.folder}"]
        return [o.line(self.folder) for o in self.outcomes]


@contextmanager
def _pass_lock(folder: Path) -> Iterator[bool]:
    """True when this pass holds the folder's lock, False when another pass does."""
    with open(folder / LOCK_NAME, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def waiting_files(folder: Path, *, db: str | os.PathLike | None = None) -> list[Path]:
    """The files a pass would take: regular files at the top of the folder,
    not hidden, not half-copied, oldest first (then by name). The warehouse
    and its lock, copy and WAL are never taken, wherever the inbox points."""
    from etl.store.warehouse import warehouse_path

    live = warehouse_path(db).resolve()
    files = []
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith(".") or name.lower().endswith(_PARTIAL_SUFFIXES) or name.endswith(REPORT_SUFFIX):
            continue
        if entry.resolve().parent == live.parent and name.startswith(live.name):
            continue
        if entry.is_symlink() or not entry.is_file():  # a link could point anywhere
            continue
        files.append(entry)
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def _unique_target(folder: Path, name: str) -> Path:
    target = folder / name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while target.exists() or target.with_name(target.name + REPORT_SUFFIX).exists():
        target = folder / (f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
        n += 1
    return target


def _move(source: Path, target_dir: Path, stamp: str) -> Path:
    target_dir.mkdir(exist_ok=True)
    target = _unique_target(target_dir, f"{stamp}_{safe_file_name(source.name)}")
    shutil.move(str(source), str(target))
    return target


def _load_group(paths: list[Path], names: list[str], who: str, as_of: date, db: str | os.PathLike | None):
    """(outcome, summary, problem lines) for files loaded together (one file; or an SSDA903's tables, one
    return); never raises for a bad file."""
    from etl.readers import registry

    if any(path.suffix.lower() not in registry.suffixes() for path in paths):
        return "refused", f"refused: not {registry.accepted_words()} (save the extract as CSV UTF-8)", []
    from etl.ingest.findings import group_findings
    from etl.ingest.load import load_files

    try:
        reports = load_files(paths, as_of=as_of, who=who, db=db, display_names=names)
    except Exception as exc:  # a file that breaks the reader must not stop the pass
        return "refused", f"refused: the file could not be read ({exc.__class__.__name__}: {exc})", []
    problems = [g.describe(r.file_name, r.load_id) for r in reports for g in group_findings(r.findings)]
    outcomes = [r.outcome for r in reports]
    if "refused" in outcomes:
        outcome = "refused"
    else:
        outcome = next(
            (o for o in outcomes if o.startswith("loaded")), "no change" if "no change" in outcomes else "skipped"
        )
    return outcome, "\n".join(r.summary() for r in reports), problems


def _write_report(path: Path, *, original: str, who: str, outcome: str, summary: str, problems: list[str]) -> None:
    lines = [
        f"file: {original}",
        f"processed: {datetime.now().isoformat(timespec='seconds')} by {who}",
        f"outcome: {outcome}",
        summary,
    ]
    if problems:
        lines += ["", f"{len(problems)} finding(s):", *problems]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def process_inbox(
    folder: Path | None = None,
    who: str = "inbox",
    *,
    as_of: date | None = None,
    db: str | os.PathLike | None = None,
) -> InboxResult:
    """Load or refuse every file waiting in `folder` (default data/inbox/), then
    move each to processed/ or rejected/ with a `.report.txt` beside it."""
    folder = Path(folder) if folder is not None else DEFAULT_INBOX
    if folder == DEFAULT_INBOX:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise ValueError(f"there is no inbox folder at {folder}")
    result = InboxResult(folder=folder)
    with _pass_lock(folder) as mine:
        if not mine:
            result.note = f"inbox: another pass is already working on {folder}; nothing done"
            return result
        waiting = waiting_files(folder, db=db)
        # Files that are one return (an SSDA903's CSV tables dropped together) load as one; the rest one by one.
        from etl.readers import registry

        groups = [[waiting[i] for i in group] for _, group in registry.gather(waiting)] if waiting else []
        for paths in groups:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            displays = [safe_file_name(path.name) for path in paths]
            outcome, summary, problems = _load_group(paths, displays, who, as_of or date.today(), db)
            ok = outcome != "refused"
            for path in paths:
                target = _move(path, folder / (PROCESSED if ok else REJECTED), stamp)
                report_path = target.with_name(target.name + REPORT_SUFFIX)
                _write_report(
                    report_path, original=path.name, who=who, outcome=outcome, summary=summary, problems=problems
                )
                result.outcomes.append(InboxOutcome(path.name, outcome, target, report_path, summary, problems))
    return result
