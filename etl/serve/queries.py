"""The read side: what pages, the board pack and the CLI ask of the warehouse. The module callers import; the
queries themselves live beside it by theme (units, scorecard, series, comparators, audits, freshness, with the
helpers they share in common and rag).

Every function opens its own read-only connection (`etl.store.warehouse.reading`),
so a load that swaps a new warehouse file in is seen by the next call. KPI
values come from the `kpi_monthly` mart only (pages never count records
themselves); percentages are pooled by summing numerators and denominators,
never averaged. RAG and direction of travel are computed over whole columns
(numpy), not row by row, because the scorecard must answer in well under
200 ms on 100 teams x 60 months. The SQL is written in the dialect DuckDB and
PostgreSQL share (see etl/store/db.py), so it runs unchanged on either warehouse.

Conventions: periods are months as text (`2023-07`); levels are `la`, `area`,
`service`, `team`; the `la` unit is the name of the authority of the work in
hand (`etl.store.authority.current()`; metrics.yml's by default). A value is 0-100
for a percentage (unrounded) and the count for a count; no data is NaN (None
in lists and dicts), rated "No data", never 0 and never Red.
"""

from __future__ import annotations

from etl.catalogue.levels import LEVELS
from etl.serve.audits import AUDIT_COLUMNS, audit_grades
from etl.serve.common import CHILD_LEVEL, UnknownName
from etl.serve.comparators import (
    comparators,
    comparison,
    england_by_year,
    published_year_for,
    reference_authority,
)
from etl.serve.freshness import freshness, latest_complete_period
from etl.serve.rag import AMBER, GREEN, NO_DATA, RED, direction_array, direction_for, exact, rag_array, rag_for
from etl.serve.scorecard import (
    MATRIX_COLUMNS,
    SCORECARD_COLUMNS,
    SCORECARD_TABLE_COLUMNS,
    icon_matrix,
    matrix_counts,
    scorecard,
    scorecard_table,
)
from etl.serve.series import breakdown, pooled, series, spc_of_series, spc_series, team_grid, team_matrix
from etl.serve.units import latest_period, org_units, periods, resolve_unit, units_at
from etl.store.db import Db

__all__ = [
    "AMBER",
    "AUDIT_COLUMNS",
    "CHILD_LEVEL",
    "GREEN",
    "LEVELS",
    "MATRIX_COLUMNS",
    "NO_DATA",
    "RED",
    "SCORECARD_COLUMNS",
    "SCORECARD_TABLE_COLUMNS",
    "Db",
    "UnknownName",
    "audit_grades",
    "breakdown",
    "comparators",
    "comparison",
    "direction_array",
    "direction_for",
    "england_by_year",
    "exact",
    "freshness",
    "icon_matrix",
    "latest_complete_period",
    "latest_period",
    "matrix_counts",
    "org_units",
    "periods",
    "pooled",
    "published_year_for",
    "rag_array",
    "rag_for",
    "reference_authority",
    "resolve_unit",
    "scorecard",
    "scorecard_table",
    "series",
    "spc_of_series",
    "spc_series",
    "team_grid",
    "team_matrix",
    "units_at",
]
