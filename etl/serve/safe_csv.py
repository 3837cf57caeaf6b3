"""CSV and spreadsheet output that cannot run as a formula.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab or carriage
return) is prefixed with an apostrophe, the OWASP advice against CSV
injection, so a team named `=HYPERLINK("x")` opens in Excel as text.
Numbers are left alone: -3 is a number, not a formula.
"""

from __future__ import annotations

import io
from typing import IO, Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            # Only the cells that would run as a formula change: numbers keep their type.
            risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).astype(bool)
            if risky.any():
                values = values.astype(object).copy()
                values[risky] = "'" + values[risky].astype(str)
                out[column] = values
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def to_csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    neutralise_frame(frame).to_csv(buffer, index=False)
    return buffer.getvalue()


def write_csv(frame: pd.DataFrame, target: str | IO[str]) -> None:
    if isinstance(target, str):
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(to_csv_text(frame))
    else:
        target.write(to_csv_text(frame))
