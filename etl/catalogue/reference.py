"""DfE's published figures for every English authority (data/reference/dfe/), read
into the warehouse, and the comparators computed from them.

The files are DfE's official statistics as its CSC Outcomes and Enablers dashboard
keeps them (README.md, "Published figures"). They are read as they are published, by
these rules, never hand-copied:

- columns are found by name, never by position (between files `la_name` and
  `new_la_code` change places; one file starts with a byte-order mark);
- an authority is its three-digit DfE code (`old_la_code`), which stays put when
  the ONS code changes (North Yorkshire E10000023 -> E06000065 in 2024);
- a cell is a number or one of DfE's symbols, kept as the row's `marker` with no
  value: c (suppressed), k (rounds to 0), u (low reliability), x (not available),
  z (not applicable), low (the workforce file's: below half a per cent), or blank. Anything else
  refuses the whole load (ReferenceError);
- an authority, region or England appears once per indicator and year.

Comparators (`comparator_frame`): for one authority, one indicator and one year,
England, the authority's region (from the 2025 neighbour model; London boroughs
take London, not Inner or Outer London), the median of its ten statistical
neighbours that have a figure that year, the authority's own figure, and its
quartile band in the KPI's polarity: authorities with a figure that year ranked
best first, tied values sharing the better (smaller) rank; rank r of n is band A
when 4r <= n, B when 4r <= 2n, C when 4r <= 3n, else D. A monitored KPI has no
band: neither end is better.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas only where a frame is made: `cpip load` never needs it
    import pandas as pd

from etl.paths import REFERENCE_DIR

NEIGHBOUR_FILE = "sn_model_2025_wide.csv"
NEIGHBOURS = 10
# DfE's symbols for a figure not given (see the module docstring).
# "low" is the workforce file's: an agency rate below half a per cent.
MARKERS = ("c", "k", "u", "x", "z", "low", "")


class ReferenceError(ValueError):
    """A published file is not as its declared layout says; the message names the file."""


@dataclass(frozen=True)
class Indicator:
    """One published figure: which file, which rows (`where`: column -> value) and
    which column holds the percentage."""

    indicator: str
    name: str
    file: str
    value: str
    where: dict[str, str] = field(default_factory=dict)
    source: str = ""
    # What the published figure counts, said on screen where it differs from the KPI beside it.
    counts: str = ""


INDICATORS: dict[str, Indicator] = {
    i.indicator: i
    for i in (
        Indicator(
            "re_referrals_within_12m_pct",
            "Referrals that were re-referrals within 12 months",
            "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv",
            "rereferral_percent",
            source="CIN census, table C1",
        ),
        Indicator(
            "repeat_cp_plan_pct",
            "Child protection plans starting in the year that were a second or subsequent plan",
            "d3_cpps_subsequent_plan_2013_to_2025.csv",
            "CPP_subsequent_percent",
            source="CIN census, table D3",
        ),
        Indicator(
            "cla_3plus_placements_in_year_pct",
            "Children looked after at 31 March with 3 or more placements during the year",
            "la_cla_placement_stability.csv",
            "children_percent",
            {"cla_group": "CLA on 31 March", "placement_stability": "With 3 or more placements during the year"},
            source="SSDA903, placement stability",
        ),
        Indicator(
            "cla_long_term_stability_pct",
            "Children looked after 2.5 years or more, under 16, with the same carer for at least 2 years",
            "la_cla_placement_stability.csv",
            "children_percent",
            {
                "cla_group": "Children looked after continuously for at least 2.5 years on 31 March aged under 16"
                " years",
                "placement_stability": "Living with the same carer for at least 2 years",
            },
            source="SSDA903, placement stability",
        ),
        Indicator(
            "cla12m_health_assessment_pct",
            "Children looked after 12 months who had their annual health assessment",
            "la_conviction_health_outcome_cla.csv",
            "children_percent",
            {
                "characteristic": "Health assessments: Children looked after all ages",
                "breakdown": "Had their annual health assessment",
            },
            source="SSDA903, outcomes (OC2)",
        ),
        Indicator(
            "cla12m_dental_check_pct",
            "Children looked after 12 months who had their teeth checked by a dentist",
            "la_conviction_health_outcome_cla.csv",
            "children_percent",
            {
                "characteristic": "Health assessments: Children looked after all ages",
                "breakdown": "Had their teeth checked by a dentist",
            },
            source="SSDA903, outcomes (OC2)",
        ),
        Indicator(
            "cla12m_immunisations_pct",
            "Children looked after 12 months whose immunisations were up to date",
            "la_conviction_health_outcome_cla.csv",
            "children_percent",
            {
                "characteristic": "Health assessments: Children looked after all ages",
                "breakdown": "Had their immunisations up to date",
            },
            source="SSDA903, outcomes (OC2)",
        ),
        Indicator(
            "cla12m_sdq_received_pct",
            "Children looked after 12 months, aged 5 to 16, with an SDQ score",
            "la_conviction_health_outcome_cla.csv",
            "children_percent",
            {"characteristic": "Ages 5 to 16 years with SDQ score", "breakdown": "SDQ score was received"},
            source="SSDA903, outcomes (OC2)",
        ),
        Indicator(
            "care_leavers_19_21_suitable_accom_pct",
            "Care leavers aged 19 to 21 in suitable accommodation",
            "la_care_leavers_accommodation_suitability.csv",
            "care_leaver_percent",
            {"care_leaver_age": "19 to 21 years", "breakdown": "Accommodation considered suitable"},
            source="SSDA903, care leavers",
        ),
        Indicator(
            "new_placements_out_20mi_pct",
            "New placements in the year made outside the authority and more than 20 miles from home",
            "la_cla_during_year_new_placements.csv",
            "children_percent",
            {
                "characteristic": "Location of new placements during the year",
                "breakdown": "Placed outside LA boundary more than 20 miles from home",
            },
            source="SSDA903, new placements during the year",
            counts="DfE counts the placements made during the year; ours counts the children in care at each month "
            "end, wherever their placement began",
        ),
        # The social work workforce (CSWW, children and family social workers at 30 September), one row an
        # authority a year: what a workforce KPI fed by kpi_values is compared with.
        Indicator(
            "csww_caseload_fte",
            "Average caseload per children and family social worker (FTE)",
            "csww_indicators_2017_to_2025.csv",
            "caseload_fte",
            source="Children's social work workforce",
            counts="DfE counts the cases held by case-holding social workers over their FTE on 30 September, for the "
            "whole authority; ours is each month end, for each unit",
        ),
        Indicator(
            "csww_agency_rate_fte",
            "Agency children and family social workers as a share of all (FTE)",
            "csww_indicators_2017_to_2025.csv",
            "agency_rate_fte",
            source="Children's social work workforce",
            counts="DfE counts agency workers' FTE over all children and family social workers' FTE on 30 September, "
            "for the whole authority; ours is each month end, for each unit",
        ),
        Indicator(
            "csww_turnover_rate_fte",
            "Turnover of children and family social workers in the year (FTE)",
            "csww_indicators_2017_to_2025.csv",
            "turnover_rate_fte",
            source="Children's social work workforce",
            counts="DfE counts the employed social workers who left in the year to 30 September over those in post on "
            "that day (FTE), for the whole authority; ours is the 12 months to each month end",
        ),
        Indicator(
            "csww_vacancy_rate_fte",
            "Vacancy rate of children and family social workers (FTE)",
            "csww_indicators_2017_to_2025.csv",
            "vacancy_rate_fte",
            source="Children's social work workforce",
            counts="DfE counts vacant posts on 30 September over vacant and filled posts (FTE), for the whole "
            "authority, whether or not an agency worker covers them; ours is each month end, for each unit",
        ),
    )
}

# The columns every published file must have (found by name, in any order).
GEOGRAPHY_COLUMNS = ("time_period", "geographic_level", "region_name", "old_la_code", "la_name")
LEVELS = {"National": "national", "Regional": "regional", "Local authority": "la"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """A table's columns: lower-cased name -> the name as written in the file's header."""
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {r[0].strip().lower(): r[0] for r in rows}


def _read(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> dict[str, str]:
    """The file as text columns in temporary table `table` (the byte-order mark, if
    any, is DuckDB's to drop); its header."""
    if not path.exists():
        raise ReferenceError(f"{path.name}: missing from {path.parent}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv(?, all_varchar = true, header = true, "
            "delim = ',', quote = '\"', escape = '\"')",
            [str(path)],
        )
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ReferenceError(f"{path.name}: not a CSV file with one value per column on every line ({first})") from None
    return _columns(con, table)


def _need(path: Path, header: dict[str, str], names: tuple[str, ...] | list[str]) -> None:
    missing = [n for n in names if n.lower() not in header]
    if missing:
        raise ReferenceError(f"{path.name}: no column {', '.join(missing)} (the header has {', '.join(header)})")


def reference_files(folder: Path = REFERENCE_DIR) -> list[Path]:
    return sorted(folder.glob("*.csv"))


def reference_hash(folder: Path = REFERENCE_DIR) -> str:
    """Identifies the shipped files, so a warehouse reloads them when they change."""
    digest = hashlib.sha256()
    for path in reference_files(folder):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _indicator_sql(table: str, header: dict[str, str], ind: Indicator) -> str:
    path = Path(ind.file)
    _need(path, header, [*GEOGRAPHY_COLUMNS, ind.value, *ind.where])
    col = {name: _q(header[name.lower()]) for name in [*GEOGRAPHY_COLUMNS, ind.value, *ind.where]}
    # The filter values are this module's constants, never a user's.
    filters = " AND ".join(f"trim({col[c]}) = '{v.replace(chr(39), chr(39) * 2)}'" for c, v in ind.where.items())
    return f"""
        SELECT '{ind.indicator}' AS indicator, '{ind.file}' AS file,
               trim({col["time_period"]}) AS year_text, trim({col["geographic_level"]}) AS level_text,
               nullif(trim({col["old_la_code"]}), '') AS la_code, nullif(trim({col["la_name"]}), '') AS la_name,
               nullif(trim({col["region_name"]}), '') AS region_name, trim(coalesce({col[ind.value]}, '')) AS raw
        FROM {table}
        -- Two councils returning jointly ("940 / 941", the Northamptonshires in the workforce file) are
        -- neither one's figure: left out, as an authority with no figure that year.
        WHERE {filters or "true"} AND coalesce(strpos({col["old_la_code"]}, '/'), 0) = 0
    """


def load_reference(con: duckdb.DuckDBPyConnection, folder: Path = REFERENCE_DIR) -> dict[str, int]:
    """Replace the warehouse's `published`, `authorities` and `neighbours` tables with
    the files in `folder`, checked by the rules above; {table: rows}. Raises
    ReferenceError (nothing replaced) when a file breaks a rule. The files are read
    once per process and contents (a test suite makes hundreds of warehouses)."""
    frames = _reference_tables(str(folder), reference_hash(folder))
    for table, frame in frames.items():
        con.execute(f"DELETE FROM {table}")
        if hasattr(con, "copy_rows"):  # PostgreSQL (etl.store.db.PgConnection): COPY, NULL for a missing value
            rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
            con.copy_rows(table, list(frame.columns), rows)
            continue
        con.register("_reference_frame", frame)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _reference_frame")
        finally:
            con.unregister("_reference_frame")
    return {table: len(frame) for table, frame in frames.items()}


@lru_cache(maxsize=4)
def _reference_tables(folder_name: str, _digest: str) -> dict[str, pd.DataFrame]:
    """The three tables from the files, read and checked in a private in-memory database."""
    folder = Path(folder_name)
    con = duckdb.connect()
    try:
        return _read_reference(con, folder)
    finally:
        con.close()


def _read_reference(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, pd.DataFrame]:
    files = sorted({ind.file for ind in INDICATORS.values()})
    tables = {f: f"_file_{i}" for i, f in enumerate(files)}
    headers = {f: _read(con, folder / f, tables[f]) for f in files}
    parts = [_indicator_sql(tables[i.file], headers[i.file], i) for i in INDICATORS.values()]
    con.execute("CREATE OR REPLACE TEMP TABLE _published_raw AS " + " UNION ALL ".join(parts))
    bad = con.execute(
        """
        SELECT file, year_text, coalesce(la_code, region_name, level_text), raw FROM _published_raw
        WHERE (try_cast(raw AS DOUBLE) IS NULL AND lower(raw) NOT IN (SELECT unnest($markers::VARCHAR[])))
           OR try_cast(year_text AS INTEGER) IS NULL
           OR level_text NOT IN ('National', 'Regional', 'Local authority')
           OR (level_text = 'Local authority' AND (la_code IS NULL OR NOT regexp_full_match(la_code, '\\d{3}')))
           OR (level_text = 'Regional' AND region_name IS NULL)
        LIMIT 5
        """,
        {"markers": list(MARKERS)},
    ).fetchall()
    if bad:
        file, year, where, raw = bad[0]
        raise ReferenceError(
            f"{file}: {year}, {where}: {raw!r} is neither a number nor one of DfE's symbols "
            f"({', '.join(m for m in MARKERS if m)}), or the year, level or code is not understood"
        )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _published AS
        SELECT indicator, CAST(year_text AS INTEGER) AS year,
               CASE level_text WHEN 'National' THEN 'national' WHEN 'Regional' THEN 'regional' ELSE 'la' END AS level,
               CASE level_text WHEN 'National' THEN 'England' WHEN 'Regional' THEN region_name ELSE la_code END AS code,
               CASE level_text WHEN 'National' THEN 'England' WHEN 'Regional' THEN region_name ELSE la_name END AS name,
               try_cast(raw AS DOUBLE) AS value,
               CASE WHEN try_cast(raw AS DOUBLE) IS NULL THEN lower(raw) END AS marker
        FROM _published_raw
        """
    )
    twice = con.execute(
        "SELECT indicator, year, code, count(*) FROM _published GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    if twice:
        indicator, year, code, n = twice[0]
        raise ReferenceError(f"{INDICATORS[indicator].file}: {code} appears {n} times in {year}")

    path = folder / NEIGHBOUR_FILE
    header = _read(con, path, "_sn")
    sn = [f"sn_{i}" for i in range(1, NEIGHBOURS + 1)]
    _need(path, header, ["old_la_code", "la_name", "region_name", *sn])
    code, name, region = (_q(header[c]) for c in ("old_la_code", "la_name", "region_name"))
    unpivot = " UNION ALL ".join(
        f"SELECT trim({code}) AS la_code, {i} AS rank, trim({_q(header[f'sn_{i}'])}) AS neighbour_code, "
        f"nullif(trim({_q(header.get(f'sn_{i}p', header[f'sn_{i}']))}), '') AS closeness FROM sn"
        if f"sn_{i}p" in header
        else f"SELECT trim({code}) AS la_code, {i} AS rank, trim({_q(header[f'sn_{i}'])}) AS neighbour_code, "
        "NULL AS closeness FROM sn"
        for i in range(1, NEIGHBOURS + 1)
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _neighbours AS WITH sn AS (SELECT * FROM _sn) {unpivot}")
    bad_sn = con.execute(
        """
        SELECT la_code, neighbour_code FROM _neighbours
        WHERE NOT regexp_full_match(la_code, '\\d{3}') OR NOT regexp_full_match(coalesce(neighbour_code, ''), '\\d{3}')
           OR neighbour_code NOT IN (SELECT trim(old_la_code) FROM _sn) OR neighbour_code = la_code
        LIMIT 1
        """
    ).fetchall()
    if bad_sn:
        raise ReferenceError(
            f"{NEIGHBOUR_FILE}: {bad_sn[0][0]}: neighbour {bad_sn[0][1]!r} is not an authority of the model"
        )

    return {
        "published": con.execute("SELECT indicator, year, level, code, name, value, marker FROM _published").df(),
        "authorities": con.execute(
            f"SELECT trim({code}) AS la_code, trim({name}) AS la_name, trim({region}) AS region_name FROM _sn"
        ).df(),
        "neighbours": con.execute("SELECT la_code, rank, neighbour_code, closeness FROM _neighbours").df(),
    }


# --- comparators -------------------------------------------------------------------

COMPARATOR_COLUMNS = [
    "metric_id", "indicator", "benchmark_year", "published", "england", "region", "region_name", "sn_median",
    "sn_count", "rank", "ranked", "quartile",
]  # fmt: skip

_COMPARATORS_SQL = """
WITH wanted AS (
    SELECT generate_subscripts($metric_ids::VARCHAR[], 1) AS ord, unnest($metric_ids::VARCHAR[]) AS metric_id,
           unnest($indicators::VARCHAR[]) AS indicator,
           unnest($polarities::VARCHAR[]) AS polarity, unnest($years::INTEGER[]) AS year
),
me AS (SELECT la_code, la_name, region_name FROM authorities WHERE la_code = $la_code),
-- the latest year published at or before the one asked for (any figure at all that year)
chosen AS (
    SELECT w.ord, w.metric_id, w.indicator, w.polarity,
           (SELECT max(p.year) FROM published p
            WHERE p.indicator = w.indicator AND p.year <= w.year AND p.value IS NOT NULL) AS year
    FROM wanted w
),
ranked AS (
    SELECT c.metric_id, c.year, p.code, p.value,
           CASE WHEN c.polarity = 'lower_is_better'
                THEN rank() OVER (PARTITION BY c.metric_id, c.year ORDER BY p.value ASC)
                ELSE rank() OVER (PARTITION BY c.metric_id, c.year ORDER BY p.value DESC) END AS rank,
           count(*) OVER (PARTITION BY c.metric_id, c.year) AS ranked
    FROM chosen c JOIN published p
      ON p.indicator = c.indicator AND p.year = c.year AND p.level = 'la' AND p.value IS NOT NULL
)
SELECT c.metric_id, c.indicator, c.year AS benchmark_year,
       (SELECT value FROM published p WHERE p.indicator = c.indicator AND p.year = c.year AND p.level = 'la'
            AND p.code = $la_code) AS published,
       (SELECT value FROM published p WHERE p.indicator = c.indicator AND p.year = c.year
            AND p.level = 'national') AS england,
       (SELECT value FROM published p WHERE p.indicator = c.indicator AND p.year = c.year AND p.level = 'regional'
            AND p.code = (SELECT region_name FROM me)) AS region,
       (SELECT region_name FROM me) AS region_name,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p.value) FROM published p
            JOIN neighbours n ON n.neighbour_code = p.code
            WHERE n.la_code = $la_code AND p.indicator = c.indicator AND p.year = c.year AND p.level = 'la'
              AND p.value IS NOT NULL) AS sn_median,
       (SELECT count(p.value) FROM published p JOIN neighbours n ON n.neighbour_code = p.code
            WHERE n.la_code = $la_code AND p.indicator = c.indicator AND p.year = c.year AND p.level = 'la')
            AS sn_count,
       CASE WHEN c.polarity <> 'monitored' THEN r.rank END AS rank, r.ranked,
       CASE WHEN c.polarity = 'monitored' OR r.rank IS NULL THEN NULL
            WHEN 4 * r.rank <= r.ranked THEN 'A' WHEN 4 * r.rank <= 2 * r.ranked THEN 'B'
            WHEN 4 * r.rank <= 3 * r.ranked THEN 'C' ELSE 'D' END AS quartile
FROM chosen c LEFT JOIN ranked r ON r.metric_id = c.metric_id AND r.year = c.year AND r.code = $la_code
ORDER BY c.ord
"""


def comparator_frame(
    con: duckdb.DuckDBPyConnection, la_code: str | None, wanted: list[tuple[str, str, str, int]]
) -> pd.DataFrame:
    """Comparators for `la_code`: one row per (metric_id, indicator, polarity, year)
    asked for, with COMPARATOR_COLUMNS (NaN / None where there is no figure; the
    year is the latest published at or before the one asked for)."""
    if not wanted:
        import pandas as pd

        return pd.DataFrame(columns=COMPARATOR_COLUMNS)
    metric_ids, indicators, polarities, years = (list(x) for x in zip(*wanted, strict=True))
    frame = con.execute(
        _COMPARATORS_SQL,
        {
            "metric_ids": metric_ids,
            "indicators": indicators,
            "polarities": polarities,
            "years": [int(y) for y in years],
            "la_code": la_code or "",
        },
    ).df()
    frame = frame.astype({c: float for c in ("published", "england", "region", "sn_median")})
    for c in ("benchmark_year", "rank", "ranked", "sn_count"):
        frame[c] = frame[c].astype("Int64")
    frame["quartile"] = frame["quartile"].astype(object).where(frame["quartile"].notna(), None)
    return frame[COMPARATOR_COLUMNS]


COMPARISON_COLUMNS = ["year", "role", "code", "name", "value", "marker", "rank"]


def comparison_frame(con: duckdb.DuckDBPyConnection, la_code: str | None, indicator: str) -> pd.DataFrame:
    """Year by year, the authority, each of its ten neighbours (closest first) and England,
    for the comparison chart: year, role (authority | neighbour | england), code, name,
    value (NaN when not published that year), marker (DfE's symbol then), rank (the
    neighbour's closeness rank; 0 for the authority and England)."""
    return (
        con.execute(
            """
        WITH years AS (SELECT DISTINCT year FROM published WHERE indicator = $indicator),
        who AS (
            SELECT 'authority' AS role, la_code AS code, la_name AS name, 0 AS rank FROM authorities
            WHERE la_code = $la_code
            UNION ALL
            SELECT 'neighbour', n.neighbour_code, a.la_name, n.rank FROM neighbours n
            JOIN authorities a ON a.la_code = n.neighbour_code WHERE n.la_code = $la_code
        ),
        rows AS (
            SELECT y.year, w.role, w.code, w.name, p.value, p.marker, w.rank FROM years y CROSS JOIN who w
            LEFT JOIN published p ON p.indicator = $indicator AND p.year = y.year AND p.level = 'la' AND p.code = w.code
            UNION ALL
            SELECT p.year, 'england', 'England', 'England', p.value, p.marker, 0 FROM published p
            WHERE p.indicator = $indicator AND p.level = 'national'
        )
        SELECT * FROM rows ORDER BY CASE role WHEN 'authority' THEN 0 WHEN 'england' THEN 2 ELSE 1 END, rank, year
        """,
            {"indicator": indicator, "la_code": la_code or ""},
        )
        .df()[COMPARISON_COLUMNS]
        .astype({"value": float})
    )
