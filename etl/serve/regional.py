"""The regional view: one KPI for each member authority, side by side, month by month.

Every authority's figure is its own mart's authority-level row (kpi_monthly,
level `la`): the same SQL rules over each council's own records, so the
figures compare on the same definitions every month (DfE's published tables
give one figure a year). Percentages are each authority's pooled numerator
over denominator; a month an authority has no data for is NaN, never 0.

On PostgreSQL it is one query, in a transaction confined to the authorities
asked for (row-level security); on DuckDB each authority's file is read in
turn (a file not made yet holds no data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from etl.catalogue.metrics import SCALE, catalogue
from etl.store import authority, warehouse
from etl.store.db import Db

COLUMNS = ["la_code", "authority", "period", "numerator", "denominator", "value"]

_SQL = (
    "SELECT la_code, period, numerator, denominator FROM kpi_monthly "
    "WHERE metric_id = ? AND level = 'la' ORDER BY la_code, period"
)


def regional(metric_id: str, authorities: Sequence[str], *, db: Db = None) -> pd.DataFrame:
    """One row per authority and month: `la_code`, `authority` (its name), `period` ('2023-07'),
    `numerator`, `denominator`, `value` (0-100 for a percentage, the count for a count)."""
    metric = catalogue().metric(metric_id)
    codes = tuple(dict.fromkeys(authority.check_code(c) for c in authorities))
    if not codes:
        return pd.DataFrame(columns=COLUMNS)
    frames = []
    with authority.using(codes):  # refused for an authority the viewer may not see
        if warehouse.is_postgres(db):
            with warehouse.reading(db) as con:
                frames.append(con.execute(_SQL, [metric.metric_id]).df())
        else:
            for code in codes:
                if not warehouse.warehouse_path(db, code).exists():
                    continue
                with authority.using(code), warehouse.reading(db) as con:
                    frame = con.execute(_SQL, [metric.metric_id]).df()
                frame["la_code"] = code  # the file is the authority's
                frames.append(frame)
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    data = pd.concat(frames, ignore_index=True)
    data["period"] = pd.to_datetime(data["period"]).dt.strftime("%Y-%m")
    data["numerator"] = data["numerator"].astype(float)
    data["denominator"] = data["denominator"].astype(float)
    if metric.unit != "count":  # a percentage (x 100) or a rate (as it divides)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = SCALE[metric.unit]
            data["value"] = np.where(data["denominator"] > 0, scale * data["numerator"] / data["denominator"], np.nan)
    else:
        data["value"] = data["numerator"]
    data["authority"] = data["la_code"].map(lambda c: authority.authority(c).name)
    order = {c: i for i, c in enumerate(codes)}
    data = data.sort_values(["period", "la_code"], key=lambda s: s.map(order) if s.name == "la_code" else s)
    return data[COLUMNS].reset_index(drop=True)


def side_by_side(frame: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """`regional()`'s rows as a table: one row per month, one column of values per authority (its name),
    every month from the first to the last any authority has (a gap stays NaN)."""
    names = [authority.authority(c).name for c in codes]
    if frame.empty:
        return pd.DataFrame(columns=["period", *names])
    table = frame.pivot_table(index="period", columns="authority", values="value", aggfunc="first", dropna=False)
    table = table.reindex(columns=names)
    return table.reset_index().rename_axis(None, axis=1)
