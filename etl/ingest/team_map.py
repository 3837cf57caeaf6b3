"""Unknown teams mapped (issue 25): every real Annex A names the council's own teams, so the first
wall an analyst meets is "Locality 4 Duty Team is not in the organisation reference". Each unknown
name is either another name of a known team (a row of `team_aliases`, so next month's list maps
itself) or a new team with its service and area (a row of the organisation reference).

Both are written through the loader (`load_files`), as the files an analyst would otherwise type:
validated (an alias must name a known team), logged, and undone like any load. Used by the data
page and `cpip teams --map`.
"""

from __future__ import annotations

import csv
import difflib
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from etl.catalogue.contract import name_key
from etl.ingest.findings import unknown_teams
from etl.ingest.load import load_files
from etl.ingest.report import LoadReport
from etl.store.db import Db
from etl.store.warehouse import reading


@dataclass(frozen=True)
class NewTeam:
    team: str
    service: str
    area: str


def known_teams(db: Db = None) -> list[str]:
    with reading(db) as con:
        return [t for (t,) in con.execute("SELECT team FROM organisation ORDER BY team").fetchall()]


def closest(name: str, known: Sequence[str], n: int = 3) -> list[str]:
    """The known teams most like `name`, closest first (case aside)."""
    folded = {k.casefold(): k for k in known}
    return [folded[m] for m in difflib.get_close_matches(name.casefold(), list(folded), n=n, cutoff=0.4)]


def unknown_in(findings: Iterable[Mapping]) -> list[str]:
    """The unknown teams of a check's findings (as the data page keeps them: dicts)."""
    return unknown_teams(SimpleNamespace(column=f.get("column"), reason=f.get("reason") or "") for f in findings)


def map_teams(
    aliases: Mapping[str, str],
    new_teams: Sequence[NewTeam] = (),
    *,
    who: str,
    as_of: date | None = None,
    db: Db = None,
) -> list[LoadReport]:
    """Add the new teams to the organisation reference and each alias -> team to team_aliases, as
    one call of the loader (the organisation first, so an alias may name a team added with it).
    ValueError, before anything is written, for an alias that is already a team's own name."""
    known = {name_key(t) for t in known_teams(db)} | {name_key(t.team) for t in new_teams}
    clash = sorted(a for a in aliases if name_key(a) in known)
    if clash:
        raise ValueError(f"{clash[0]!r} is already a team of the organisation reference: it needs no mapping")
    for t in new_teams:
        if not (t.team.strip() and t.service.strip() and t.area.strip()):
            raise ValueError(f"a new team needs its name, service and area ({t.team or 'unnamed'!r})")
    if not aliases and not new_teams:
        return []
    with tempfile.TemporaryDirectory(prefix="cpip-teams-") as folder:
        files = []
        if new_teams:
            files.append(_write(Path(folder) / "new-teams.csv", ["team", "service", "area"],
                                [[t.team, t.service, t.area] for t in new_teams]))  # fmt: skip
        if aliases:
            files.append(
                _write(Path(folder) / "team-aliases.csv", ["alias", "team"], [[a, t] for a, t in aliases.items()])
            )
        return load_files(files, as_of=as_of or date.today(), who=who, db=db)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
