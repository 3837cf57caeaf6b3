"""What a load is the whole truth for (docs/spec/windows.md), written once for every format: its window,
the dates a newer file may not erase, and the write of a record-level load by the version that counts
(etl/ingest/resolve.py), with what it added, replaced, kept for history and retired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from etl.catalogue.contract import ExtractType
from etl.ingest import write
from etl.ingest.resolve import IN_FORCE_SQL, Pending, keys_on, resolve
from etl.store.db import dialect_of, touch


class DuplicateKeys(Exception):
    """The rows written are not one per record key: the load is refused, nothing committed."""

    def __init__(self, extract: ExtractType, rows: int, keys: int) -> None:
        self.extract, self.rows, self.keys = extract, rows, keys
        super().__init__(
            f"{rows - keys:,} rows repeat the record key ({' + '.join(extract.key)}) of another row: "
            f"{rows:,} rows were written for {keys:,} records, so the file was refused and nothing loaded. "
            "Correct the repeated rows and load the file again"
        )


@dataclass(frozen=True)
class Window:
    first: date
    last: date

    def words(self) -> str:
        return f"{_day(self.first)} to {_day(self.last)}"


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


record_noun = write.record_noun  # kept here for its callers; write.py names retired records with it


def months_before(as_of: date, months: int) -> date:
    """The first day of a window of `months` months ending on `as_of`: 31 Jul 2023, 6 -> 1 Feb 2023."""
    index = as_of.year * 12 + as_of.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    import calendar

    day = min(as_of.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=1)


def window_for(
    extract: ExtractType,
    annex,
    as_of: date,
    *,
    window: tuple[date, date] | None = None,
    window_months: int | None = None,
) -> Window | None:
    """The window a load of `extract` is the whole truth for: an Annex A list's months before the
    as-of date (the list's own period, or `window_months`); a CSV's only when the analyst gives one."""
    if extract.window_date is None or extract.snapshot or not extract.record_level:
        return None
    if window is not None:
        return Window(*window)
    # A layout's list declares the months it covers (Annex A's: 6 unless the list says otherwise); a layout
    # that declares none is read as a CSV is, whole truth for nothing unless the analyst says so.
    months = window_months or getattr(annex, "window_months", None)
    if annex is not None and months:
        return Window(months_before(as_of, months), as_of)
    return None


def parse_window(text: str) -> tuple[date, date]:
    """`2023-04-01:2023-07-31` -> (first day, last day); ValueError with a sentence otherwise."""
    first, sep, last = text.partition(":")
    try:
        if not sep:
            raise ValueError
        span = (date.fromisoformat(first.strip()), date.fromisoformat(last.strip()))
    except ValueError:
        raise ValueError(f"window {text!r} is not two dates like 2023-04-01:2023-07-31") from None
    if span[0] > span[1]:
        raise ValueError(f"window {text!r} ends before it starts")
    return span


def uncounted(con, extract: ExtractType) -> list[str]:
    """The KPIs this file's records cannot count: a column given only as Yes/No (`or_flag`) cannot
    time the event a KPI needs the date of."""
    from etl.catalogue.metrics import catalogue
    from etl.rules.kpis import NEEDS

    out = []
    for column in extract.columns:
        if not column.or_flag:
            continue
        [(flags,)] = con.execute(f'SELECT count(*) FROM good WHERE "{column.or_flag}" IS NOT NULL').fetchall()
        if flags:
            out += [
                m.metric_id
                for m in catalogue().metrics
                if m.source == extract.name and NEEDS.get(m.metric_id) == column.name
            ]
    return out


def _materialise_good(con) -> None:
    """DuckDB's `good` is a view over the validated rows: make it a table so it can be updated."""
    if dialect_of(con).postgres:
        return
    kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'good'").fetchall()
    if kind and kind[0][0] == "VIEW":
        con.execute("DROP TABLE IF EXISTS _good")
        con.execute("CREATE TEMP TABLE _good AS SELECT * FROM good")
        con.execute("DROP VIEW good")
        con.execute("CREATE TEMP TABLE good AS SELECT * FROM _good")
        con.execute("DROP TABLE _good")


def keep_dates(con, extract: ExtractType, as_of: date) -> int:
    """A date this file leaves blank or gives only as Yes/No, where the version in force (from a load
    no newer than this one) gave it, is kept: the newer file says less, not something different.
    Returns how many dates were kept."""
    dates = [c for c in extract.columns if c.type in ("date", "datetime") and c.name not in extract.key]
    if not dates:
        return 0
    table = extract.table
    said_less = " OR ".join(f'(g."{c.name}" IS NULL AND t."{c.name}" IS NOT NULL)' for c in dates)
    [(found,)] = con.execute(
        f'SELECT count(*) FROM good g JOIN "{table}" t ON {keys_on(extract, "g", "t")} '
        f"WHERE t.as_of <= ? AND ({said_less})",
        [as_of],
    ).fetchall()
    if not found:
        return 0
    _materialise_good(con)
    kept = 0
    for column in dates:
        name = column.name
        where = (
            f"{keys_on(extract, 'good', 't')} AND t.as_of <= $as_of "
            f'AND good."{name}" IS NULL AND t."{name}" IS NOT NULL'
        )
        [(n,)] = con.execute(
            f'SELECT count(*) FROM good JOIN "{table}" t ON {keys_on(extract, "good", "t")} '
            f'WHERE t.as_of <= $as_of AND good."{name}" IS NULL AND t."{name}" IS NOT NULL',
            {"as_of": as_of},
        ).fetchall()
        if not n:
            continue
        kept += n
        flag = f', "{column.or_flag}" = NULL' if column.or_flag else ""
        con.execute(f'UPDATE good SET "{name}" = t."{name}"{flag} FROM "{table}" t WHERE {where}', {"as_of": as_of})
    return kept


@dataclass
class Written:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    redated: int = 0
    retired: int = 0
    held: int = 0  # versions kept for history: a list with a later as-of date speaks for them
    retired_keys: list[tuple] | None = None
    held_by: date | None = None  # the latest as-of date of the lists that speak for them


def _window_keys(con, extract: ExtractType, window: Window | None) -> None:
    """Temp table `_wk`: the keys this load speaks for (those it holds, those its window covers)."""
    keys = ", ".join(f'"{k}"' for k in extract.key)
    select = f"SELECT {keys} FROM good"
    params = None
    if window is not None:
        wd = extract.window_date
        select += f' UNION SELECT {keys} FROM "{extract.table}" WHERE CAST("{wd}" AS DATE) BETWEEN $first AND $last'
        params = {"first": window.first, "last": window.last}
    dialect_of(con).temp_table(con, "_wk", select, params)


def write_versions(con, extract: ExtractType, load_id: int, as_of: date, window: Window | None) -> Written:
    """Write a record-level load and work out again which version of each record it speaks for counts."""
    table = extract.table
    touch(con, table, f"{table}_replaced", f"{table}_seen")
    keys = ", ".join(f'"{k}"' for k in extract.key)
    added, replaced, unchanged, redated = write.compare_records(con, extract, as_of)
    if window is None and not added and not replaced and _latest(con, extract, load_id, as_of):
        return _write_unchanged(con, extract, load_id, as_of, unchanged, redated)
    _window_keys(con, extract, window)
    dialect_of(con).temp_table(
        con,
        "_before",
        f'SELECT {", ".join(f"t.{chr(34)}{k}{chr(34)}" for k in extract.key)}, t.load_id, t.as_of FROM "{table}" t '
        f"WHERE EXISTS (SELECT 1 FROM _wk k WHERE {keys_on(extract, 't', 'k')})",
    )
    write.write_records(con, extract, load_id, as_of, added, replaced)
    _check_one_per_key(con, extract, load_id)
    spoke_alone = resolve(
        con, extract, "_wk", Pending(load_id, as_of, window.first if window else None, window.last if window else None)
    )
    if spoke_alone:
        # No other version of any record (`resolve.alone`): every row written is added, nothing else moved.
        out = Written(added=added, retired_keys=[])
        for temp in ("_wk", "_before", "matched", "changed"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        return out
    out = Written()
    [(out.added, out.replaced, out.redated)] = con.execute(
        f"SELECT count(*) FILTER (WHERE t.load_id = $load AND b.load_id IS NULL), "
        f"count(*) FILTER (WHERE t.load_id = $load AND b.load_id IS NOT NULL), "
        f"count(*) FILTER (WHERE t.load_id <> $load AND t.load_id = b.load_id AND t.as_of IS DISTINCT FROM b.as_of) "
        f'FROM "{table}" t JOIN _wk k ON {keys_on(extract, "t", "k")} '
        f"LEFT JOIN _before b ON {keys_on(extract, 't', 'b')}",
        {"load": load_id},
    ).fetchall()
    [(out.unchanged,)] = con.execute(
        f'SELECT count(*) FROM "{table}_seen" s JOIN "{table}" t ON {keys_on(extract, "s", "t")} '
        "AND t.load_id = s.version_load WHERE s.load_id = ?",
        [load_id],
    ).fetchall()
    [(total,)] = con.execute("SELECT count(*) FROM good").fetchall()
    out.held = total - out.added - out.replaced - out.unchanged
    if out.held:
        [(out.held_by,)] = con.execute(
            f'SELECT max(l.as_of) FROM "{table}_replaced" r JOIN loads l ON l.load_id = r.replaced_by '
            "WHERE r.load_id = ?",
            [load_id],
        ).fetchall()
    retired = con.execute(
        f"SELECT {keys} FROM _before b WHERE NOT EXISTS "
        f'(SELECT 1 FROM "{table}" t WHERE {keys_on(extract, "t", "b")}) ORDER BY {keys}'
    ).fetchall()
    out.retired, out.retired_keys = len(retired), retired
    for temp in ("_wk", "_before", "matched", "changed"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return out


def _latest(con, extract: ExtractType, load_id: int, as_of: date) -> bool:
    """Whether no other load in force of the type is dated later than this one (so this one, the newest,
    decides every record it holds)."""
    [(later,)] = con.execute(
        f"SELECT count(*) FROM loads WHERE extract_type = $type AND load_id <> $load AND outcome IN {IN_FORCE_SQL} "
        "AND as_of > $as_of",
        {"type": extract.name, "load": load_id, "as_of": as_of},
    ).fetchall()
    return not later


def _write_unchanged(con, extract: ExtractType, load_id: int, as_of: date, unchanged: int, redated: int) -> Written:
    """A load without a window whose every record is stored unchanged, dated no earlier than any load in force
    (the same file again): what `resolve` would work out, without working it out. This load decides each
    record it holds, and the version that counts is the one in the table already: nothing moves between the
    table and `_replaced`; each record is re-dated to this load's as-of date where that is later, `_seen`
    remembers that this load held it (so undo of the load that wrote it leaves it in force), and the versions
    waiting in `_replaced` are now held back by this load."""
    table = extract.table
    write.write_records(con, extract, load_id, as_of, 0, 0)
    _check_one_per_key(con, extract, load_id)
    con.execute(
        f'UPDATE "{table}_replaced" r SET replaced_by = $load WHERE r.replaced_by IS DISTINCT FROM $load '
        f"AND EXISTS (SELECT 1 FROM good g WHERE {keys_on(extract, 'r', 'g')})",
        {"load": load_id},
    )
    for temp in ("matched", "changed"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return Written(unchanged=unchanged, redated=redated, retired_keys=[])


def _check_one_per_key(con, extract: ExtractType, load_id: int) -> None:
    """The rows this load wrote (versions and the records it held unchanged) are one per record key,
    whatever the engine made of the file's duplicate-key check: refused (DuplicateKeys) if not."""
    table = extract.table
    keys = ", ".join(f'"{k}"' for k in extract.key)
    written = " UNION ALL ".join(
        f'SELECT {keys} FROM "{t}" WHERE load_id = $load' for t in (table, f"{table}_replaced", f"{table}_seen")
    )
    [(rows, distinct)] = con.execute(
        f"SELECT sum(n), count(*) FROM (SELECT {keys}, count(*) AS n FROM ({written}) AS w GROUP BY {keys}) AS d",
        {"load": load_id},
    ).fetchall()
    if rows and rows != distinct:
        raise DuplicateKeys(extract, int(rows), int(distinct))
