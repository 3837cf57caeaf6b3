"""The authority's figures computed from its loaded returns beside DfE's published figures for the same
year (docs/spec/returns.md, "Reconciliation with what DfE publishes").

A registry of reconciled indicators (`RECONCILED`): each names the KPI whose records give our figure, how
our figure for a collection year is taken from them (`ours`: by default the rows of the KPI's one
record-level rule counted in the year's twelve months, whatever their team: met over counted; figures given
upstream as kpi_values are no return and count for nothing here), and where DfE publishes its own (the
file, the rows and the numerator, denominator and percentage columns, and the precision DfE rounds the
percentage to). A return adds its indicators with `register` (the CIN census: C1 and D3; the SSDA903:
placement stability, OC2 and care leavers).

The published side is read from DfE's files as published (data/reference/dfe/, or a folder given),
columns by name, the authority by its three-digit code, DfE's symbols (c, k, u, x, z) kept as a marker and
never as a number. Percentages are compared after rounding ours half up to DfE's precision
(`decimal.ROUND_HALF_UP`, as DfE rounds; Python's `round()` rounds half to even).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from etl.catalogue.reference import MARKERS, ReferenceError, _need, _read
from etl.formats.ssda903 import Year
from etl.paths import REFERENCE_DIR
from etl.store import authority
from etl.store.db import Connection, Db

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "indicator", "metric_id", "ours_numerator", "ours_denominator", "ours_percent",
    "published_numerator", "published_denominator", "published_percent", "difference", "matches", "reason",
)  # fmt: skip

MATCHES = "matches the published figure"

# What DfE's symbols mean, in words for the reason column.
MARKER_WORDS = {
    "c": "suppressed by DfE (c: a small number, or one that would reveal one)",
    "k": "published as k (a percentage that rounds to 0 but is not 0)",
    "u": "published as u (low reliability)",
    "x": "not available from DfE (x)",
    "z": "not applicable (z)",
    "": "left blank by DfE",
}

# One collection year type for the returns and their reconciliation (the SSDA903's, which also knows the year
# of an as-of date).
CollectionYear = Year


# Our figure for a year: (numerator, denominator), or None when the loaded returns give none.
Ours = Callable[[Connection, "Reconciled", CollectionYear], "tuple[int, int] | None"]


def pooled_year(con: Connection, indicator: Reconciled, year: CollectionYear) -> tuple[int, int] | None:
    """The KPI's authority figure over the year's twelve months, from its records alone (figures given upstream
    as kpi_values are not a return): the rows of its one record-level rule counted in those months, met over
    counted. None when no record is counted in the year."""
    from etl.catalogue.contract import RECORD_SOURCES
    from etl.catalogue.metrics import catalogue
    from etl.rules.kpis import COUNTED, record_params, record_sql

    source = catalogue().metric(indicator.metric_id).source
    if source not in RECORD_SOURCES:
        return None
    sql = record_sql(source)
    counted = ", ".join(f"'{o}'" for o in COUNTED)
    [(met, total)] = con.execute(
        f"SELECT count(*) FILTER (WHERE outcome = 'met'), count(*) FILTER (WHERE outcome IN ({counted}))"
        f" FROM ({sql}\n) AS r WHERE metric_id = $metric AND period BETWEEN $first AND $last",
        {**record_params(sql), "metric": indicator.metric_id, "first": year.start, "last": year.end},
    ).fetchall()
    return (int(met), int(total)) if total else None


def year_end(con: Connection, indicator: Reconciled, year: CollectionYear) -> tuple[int, int] | None:
    """The KPI's authority figure at the year end (March of the year): the SSDA903's measures, worked out on
    31 March (placements at the month end; OC2 and OC3 counted in March)."""
    row = con.execute(
        "SELECT numerator, denominator FROM kpi_monthly WHERE metric_id = ? AND level = 'la' AND period = ?",
        [indicator.metric_id, date(year.first + 1, 3, 1)],
    ).fetchone()
    if not row or row[1] is None:
        return None
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Reconciled:
    """One published figure set beside ours: DfE's table (`indicator`, e.g. `C1 re-referrals within 12
    months`), the KPI (`metric_id`), the file and the rows (`where`: column -> value), the columns of the
    numerator, denominator and percentage, the decimals DfE rounds the percentage to (CIN tables 1, CLA
    tables 0), the smallest and largest count a suppressed cell may hide, and how ours is taken."""

    indicator: str
    metric_id: str
    file: str
    numerator: str
    denominator: str
    percent: str
    where: dict[str, str] = field(default_factory=dict)
    decimals: int = 1
    suppressed: tuple[int, int] = (1, 5)
    ours: Ours = pooled_year
    returns: str = ""  # the return it is computed from, in words: "CIN census"
    # DfE's CLA files are long: one row per measure, named in this column (`breakdown`); `numerator` and
    # `denominator` are then the names of the two rows, their counts in `count` and the percentage in the
    # numerator row's `percent`.
    breakdown: str | None = None
    count: str = ""


RECONCILED: dict[str, Reconciled] = {
    r.indicator: r
    for r in (
        # CIN census, table C1: referrals in the year and those within 12 months of a previous referral
        # (which may be in last year's census: load it too).
        Reconciled(
            "C1 re-referrals within 12 months",
            "rereferrals_12m",
            "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv",
            "rereferral_count",
            "referral_count",
            "rereferral_percent",
            returns="CIN census for the year and the year before",
        ),
        # CIN census, table D3: child protection plans starting in the year, and those that were a second or
        # subsequent plan (NumberOfPreviousCPP 1 or more).
        Reconciled(
            "D3 second or subsequent child protection plans",
            "repeat_cp_plans",
            "d3_cpps_subsequent_plan_2013_to_2025.csv",
            "CPP_subsequent",
            "CPP_start",
            "CPP_subsequent_percent",
            returns="CIN census",
        ),
    )
}


# SSDA903: DfE's CLA tables, percentages to whole numbers, the figures at 31 March.
_903 = "SSDA903 return for the year (and the year before, for the placements of the 12 months)"
for _indicator in (
    Reconciled(
        "Placement stability: 3 or more placements",
        "placements_3plus",
        "la_cla_placement_stability.csv",
        "With 3 or more placements during the year",
        "Total children",
        "children_percent",
        where={"cla_group": "CLA on 31 March"},
        decimals=0,
        ours=year_end,
        returns=_903,
        breakdown="placement_stability",
        count="children_count",
    ),
    Reconciled(
        "OC2 dental checks",
        "dental_up_to_date",
        "la_conviction_health_outcome_cla.csv",
        "Had their teeth checked by a dentist",
        "Total all ages",
        "children_percent",
        where={"characteristic": "Health assessments: Children looked after all ages"},
        decimals=0,
        ours=year_end,
        returns="SSDA903 return (OC2)",
        breakdown="breakdown",
        count="children_count",
    ),
    Reconciled(
        "OC2 annual health assessments",
        "cla_health_assessments",
        "la_conviction_health_outcome_cla.csv",
        "Had their annual health assessment",
        "Total all ages",
        "children_percent",
        where={"characteristic": "Health assessments: Children looked after all ages"},
        decimals=0,
        ours=year_end,
        returns="SSDA903 return (OC2)",
        breakdown="breakdown",
        count="children_count",
    ),
    Reconciled(
        "OC2 SDQ scores (ages 5 to 16)",
        "sdq_completed",
        "la_conviction_health_outcome_cla.csv",
        "SDQ score was received",
        "Total ages 5 to 16 years",
        "children_percent",
        where={"characteristic": "Ages 5 to 16 years with SDQ score"},
        decimals=0,
        ours=year_end,
        returns="SSDA903 return (OC2)",
        breakdown="breakdown",
        count="children_count",
    ),
    Reconciled(
        "Care leavers aged 19 to 21 in suitable accommodation",
        "care_leavers_accommodation",
        "la_care_leavers_accommodation_suitability.csv",
        "Accommodation considered suitable",
        "Suitability total",
        "care_leaver_percent",
        where={"care_leaver_age": "19 to 21 years"},
        decimals=0,
        ours=year_end,
        returns="SSDA903 return (OC3)",
        breakdown="breakdown",
        count="care_leaver_count",
    ),
):
    RECONCILED[_indicator.indicator] = _indicator


def register(indicator: Reconciled) -> None:
    """Add an indicator to the reconciliation (each return's module registers its own)."""
    RECONCILED[indicator.indicator] = indicator


def unregister(indicator: Reconciled) -> None:
    RECONCILED.pop(indicator.indicator, None)


def half_up(value: float | Decimal, decimals: int) -> Decimal:
    """Rounded as DfE rounds: half away from zero, never half to even (24.45 -> 24.5, 0.5 -> 1)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def percent(numerator: int, denominator: int, decimals: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP
    )


@dataclass(frozen=True)
class Cell:
    """A published cell: a number, or one of DfE's symbols (`marker`), or absent (no row)."""

    value: Decimal | None
    marker: str | None = None

    @property
    def given(self) -> bool:
        return self.value is not None


def _cell(text: str | None) -> Cell:
    if text is None:
        return Cell(None, "")
    cleaned = text.strip().replace(",", "")
    if cleaned.lower() in MARKERS:
        return Cell(None, cleaned.lower())
    try:
        return Cell(Decimal(cleaned))
    except ArithmeticError:
        raise ReferenceError(f"{cleaned!r} is neither a number nor one of DfE's symbols") from None


def published_row(folder: Path, indicator: Reconciled, la_code: str, year: CollectionYear) -> dict[str, Cell] | None:
    """The authority's published numerator, denominator and percentage for the year, or None (no row)."""
    if indicator.breakdown:
        return _published_long(folder, indicator, la_code, year)
    path = folder / indicator.file
    con = duckdb.connect()
    try:
        header = _read(con, path, "published")
        wanted = ["time_period", "geographic_level", "old_la_code", indicator.numerator, indicator.denominator]
        _need(path, header, [*wanted, indicator.percent, *indicator.where])
        conditions = [
            f"trim({_q(header['time_period'])}) = ?",
            f"trim({_q(header['geographic_level'])}) = 'Local authority'",
            f"trim({_q(header['old_la_code'])}) = ?",
        ]
        params: list[object] = [str(year.time_period), la_code]
        for column, value in indicator.where.items():
            conditions.append(f"trim({_q(header[column.lower()])}) = ?")
            params.append(value)
        names = (indicator.numerator, indicator.denominator, indicator.percent)
        rows = con.execute(
            f"SELECT {', '.join(_q(header[n.lower()]) for n in names)} FROM published WHERE {' AND '.join(conditions)}",
            params,
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return None
    if len(rows) > 1:
        raise ReferenceError(f"{path.name}: {len(rows)} rows for authority {la_code} in {year.time_period}")
    try:
        return {"numerator": _cell(rows[0][0]), "denominator": _cell(rows[0][1]), "percent": _cell(rows[0][2])}
    except ReferenceError as exc:
        raise ReferenceError(f"{path.name}: {exc}") from None


def _published_long(folder: Path, indicator: Reconciled, la_code: str, year: CollectionYear) -> dict[str, Cell] | None:
    """A long file's two rows (numerator and denominator measures) as one published figure."""
    path = folder / indicator.file
    con = duckdb.connect()
    try:
        header = _read(con, path, "published")
        measure = indicator.breakdown or ""
        _need(
            path,
            header,
            [
                "time_period",
                "geographic_level",
                "old_la_code",
                measure,
                indicator.count,
                indicator.percent,
                *indicator.where,
            ],
        )
        conditions = [
            f"trim({_q(header['time_period'])}) = ?",
            f"trim({_q(header['geographic_level'])}) = 'Local authority'",
            f"trim({_q(header['old_la_code'])}) = ?",
        ]
        params: list[object] = [str(year.time_period), la_code]
        for column, value in indicator.where.items():
            conditions.append(f"trim({_q(header[column.lower()])}) = ?")
            params.append(value)
        rows = con.execute(
            f"SELECT trim({_q(header[measure.lower()])}), {_q(header[indicator.count.lower()])}, "
            f"{_q(header[indicator.percent.lower()])} FROM published WHERE {' AND '.join(conditions)}",
            params,
        ).fetchall()
    finally:
        con.close()
    found = {name: (count, pct) for name, count, pct in rows}
    if indicator.numerator not in found and indicator.denominator not in found:
        return None
    try:
        top = found.get(indicator.numerator, (None, None))
        return {
            "numerator": _cell(top[0]),
            "denominator": _cell(found.get(indicator.denominator, (None, None))[0]),
            "percent": _cell(top[1]),
        }
    except ReferenceError as exc:
        raise ReferenceError(f"{path.name}: {exc}") from None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compare(
    indicator: Reconciled, ours: tuple[int, int] | None, published: dict[str, Cell] | None, year: CollectionYear
) -> dict[str, object]:
    """One row of the reconciliation: both figures, the difference in percentage points, whether they
    match, and why not where they differ by construction."""
    row: dict[str, object] = dict.fromkeys(COLUMNS)
    row["indicator"], row["metric_id"] = indicator.indicator, indicator.metric_id
    our_percent = None
    if ours is not None:
        row["ours_numerator"], row["ours_denominator"] = ours
        our_percent = percent(ours[0], ours[1], indicator.decimals)
        row["ours_percent"] = None if our_percent is None else float(our_percent)
    if published is None:
        row["matches"] = False
        row["reason"] = f"DfE publishes no figure for this authority in {year}"
        return row
    cells = (published["numerator"], published["denominator"], published["percent"])
    for key, cell in zip(("published_numerator", "published_denominator", "published_percent"), cells, strict=True):
        if cell.given:
            row[key] = float(cell.value) if key == "published_percent" else int(cell.value)
    if ours is None:
        row["matches"] = False
        row["reason"] = f"no figure from the loaded returns for {year}: load the {indicator.returns or 'return'}"
        return row
    if our_percent is not None and cells[2].given:
        row["difference"] = float(our_percent - cells[2].value)
    hidden = [c.marker for c in cells if not c.given]
    if hidden:
        row["matches"] = _within_suppression(indicator, ours, cells)
        words = "; ".join(dict.fromkeys(MARKER_WORDS.get(m or "", m or "") for m in hidden))
        row["reason"] = (
            f"{words}: ours is consistent with what DfE shows"
            if row["matches"]
            else f"{words}; ours differs from what DfE shows"
        )
        return row
    counts_equal = (ours[0], ours[1]) == (int(cells[0].value), int(cells[1].value))
    percent_equal = our_percent == cells[2].value
    row["matches"] = counts_equal and percent_equal
    if row["matches"]:
        row["reason"] = MATCHES
    elif counts_equal:
        row["reason"] = (
            f"the counts match; DfE's percentage is rounded differently ({cells[2].value} published,"
            f" {our_percent} rounded half up to {indicator.decimals} decimal place"
            f"{'' if indicator.decimals == 1 else 's'})"
        )
        row["matches"] = True
    else:
        row["reason"] = (
            f"the counts differ ({ours[0]:,} of {ours[1]:,} here, {int(cells[0].value):,} of {int(cells[1].value):,}"
            " published): a return amended after publication, or records taken on another day than DfE's"
        )
    return row


def _within_suppression(indicator: Reconciled, ours: tuple[int, int], cells: tuple[Cell, Cell, Cell]) -> bool:
    """Every cell DfE gives equals ours, and every suppressed count could hide ours."""
    low, high = indicator.suppressed
    for value, cell in zip(ours, cells[:2], strict=True):
        if cell.given and int(cell.value) != value:
            return False
        if cell.marker == "c" and not low <= value <= high:
            return False
    our_percent = percent(ours[0], ours[1], indicator.decimals)
    if cells[2].given and our_percent != cells[2].value:
        return False
    # k: rounds to 0 at DfE's precision but is not 0.
    return cells[2].marker != "k" or (ours[0] > 0 and our_percent == 0)


@authority.scoped
def reconcile(year: str, *, published: str | Path | None = None, db: Db = None) -> list[dict[str, object]]:
    """One row per reconciled indicator (COLUMNS) for the authority in hand and the collection year."""
    from etl.store.warehouse import reading

    wanted = CollectionYear.parse(year)
    folder = Path(published) if published is not None else REFERENCE_DIR
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder of DfE's published files")
    code = authority.current().code
    rows = []
    with reading(db) as con:
        for indicator in RECONCILED.values():
            ours = indicator.ours(con, indicator, wanted)
            if not (folder / indicator.file).is_file():
                # A folder of one return's files (the census's, say) reconciles that return: the others say so.
                row = compare(indicator, ours, None, wanted)
                row["reason"] = f"DfE's {indicator.file} is not in {folder}: nothing to compare with"
                rows.append(row)
                continue
            theirs = published_row(folder, indicator, code, wanted)
            rows.append(compare(indicator, ours, theirs, wanted))
    return rows


def reconcile_frame(year: str, *, published: str | Path | None = None, db: Db = None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(reconcile(year, published=published, db=db), columns=list(COLUMNS))
