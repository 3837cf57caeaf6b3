"""Case audit grades by month or quarter, filtered by team, service, area or audit type."""

from __future__ import annotations

import pandas as pd

from etl.catalogue.contract import audit_type_key
from etl.catalogue.metrics import catalogue
from etl.serve.common import _month_text, _resolve
from etl.serve.units import _resolve_unit
from etl.store.db import Db
from etl.store.warehouse import reading

# --- audits --------------------------------------------------------------------

AUDIT_COLUMNS = [
    "period", "audits", "moderated", "outstanding", "good", "requires_improvement", "inadequate",
    "outstanding_pct", "good_pct", "requires_improvement_pct", "inadequate_pct",
]  # fmt: skip

# A financial-year quarter label from a month: 2023-07 -> 2023/24 Q2.
_FY_START_SQL = (
    "CAST(extract(year FROM audit_month) AS INTEGER) - CASE WHEN extract(month FROM audit_month) < 4 THEN 1 ELSE 0 END"
)
_QUARTER_SQL = f"""
    CAST({_FY_START_SQL} AS VARCHAR) || '/' || substr(CAST({_FY_START_SQL} + 1 AS VARCHAR), 3, 2)
    || ' Q' || CASE WHEN extract(month FROM audit_month) BETWEEN 4 AND 6 THEN '1'
                    WHEN extract(month FROM audit_month) BETWEEN 7 AND 9 THEN '2'
                    WHEN extract(month FROM audit_month) BETWEEN 10 AND 12 THEN '3' ELSE '4' END
"""


def audit_grades(
    by: str = "month",
    *,
    team: str | None = None,
    service: str | None = None,
    area: str | None = None,
    audit_type: str | None = None,
    db: Db = None,
) -> pd.DataFrame:
    """The audit-grade table of the published report, by month (`2023-04`) or
    financial-year quarter (`2023/24 Q1`). `audits` counts every audit, `moderated`
    the moderated ones; grade counts and percentages (0-100, unrounded) are shares
    of the moderated audits by moderated grade."""
    if by not in ("month", "quarter"):
        raise ValueError(f"{by!r}: audits are grouped by month or quarter")
    label = _month_text("audit_month") if by == "month" else _QUARTER_SQL
    filters, params = ["true"], {}
    with reading(db) as con:
        # Names match as the loader matches them; one it does not know is an error naming those it does.
        for column, value in (("team", team), ("service", service), ("area", area)):
            if value:
                params[column] = _resolve_unit(con, column, value)
                filters.append(f"a.team IN (SELECT team FROM organisation WHERE {column} = ${column})")
        if audit_type:
            known = [t for (t,) in con.execute("SELECT DISTINCT audit_type FROM case_audits ORDER BY 1").fetchall()]
            known += [m.audit_type for m in catalogue().metrics if m.audit_type and m.audit_type not in known]
            params["audit_type"] = _resolve("audit type", audit_type, known, key=audit_type_key)
            filters.append("a.audit_type = $audit_type")
        sql = f"""
            WITH a AS (
                SELECT CAST(date_trunc('month', a.audit_date) AS DATE) AS audit_month,
                       nullif(lower(trim(a.moderated_grade)), '') AS grade
                FROM case_audits a WHERE {" AND ".join(filters)}
            ),
            counted AS (
                SELECT {label} AS period, min(audit_month) AS first_month,
                       count(*) AS audits,
                       count(grade) AS moderated,
                       count(*) FILTER (WHERE grade = 'outstanding') AS outstanding,
                       count(*) FILTER (WHERE grade = 'good') AS good,
                       count(*) FILTER (WHERE grade IN ('requires improvement', 'ri')) AS requires_improvement,
                       count(*) FILTER (WHERE grade = 'inadequate') AS inadequate
                FROM a GROUP BY 1
            )
            SELECT period, audits, moderated, outstanding, good, requires_improvement, inadequate,
                   100.0 * CAST(outstanding AS DOUBLE PRECISION) / nullif(moderated, 0) AS outstanding_pct,
                   100.0 * CAST(good AS DOUBLE PRECISION) / nullif(moderated, 0) AS good_pct,
                   100.0 * CAST(requires_improvement AS DOUBLE PRECISION) / nullif(moderated, 0)
                       AS requires_improvement_pct,
                   100.0 * CAST(inadequate AS DOUBLE PRECISION) / nullif(moderated, 0) AS inadequate_pct
            FROM counted ORDER BY first_month
        """
        frame = con.execute(sql, params).df()
    counts = {c: "int64" for c in AUDIT_COLUMNS[1:] if not c.endswith("_pct")}
    return frame[AUDIT_COLUMNS].astype(counts | {c: float for c in AUDIT_COLUMNS if c.endswith("_pct")})
