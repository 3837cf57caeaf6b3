"""The board pack as an Excel workbook: Scorecard, Data and Definitions sheets.

Every text cell goes through `etl.serve.safe_csv.neutralise` and is typed as a
string, so a team named `=HYPERLINK("x")` opens as text, never as a formula
(the same rule as every CSV the product writes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dashboard.export import look
from dashboard.export.model import BoardPack
from etl.serve.safe_csv import neutralise

PERCENT_FORMAT = '0.0"%"'  # values are already 0-100
COUNT_FORMAT = "#,##0"
RATE_FORMAT = "#,##0.0"  # a rate (cases per FTE) and its denominator (FTE): one decimal, no %


def _argb(colour: str) -> str:
    """`#b3261e` -> `FFB3261E` (opaque), as openpyxl stores colours."""
    return "FF" + colour.lstrip("#").upper()


HEADER_FILL = PatternFill("solid", fgColor=_argb(look.theme.PRIMARY))
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color=_argb(look.theme.LINE))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None) -> Cell:
    """Write one cell so that it can never run as a formula."""
    cell = ws.cell(row=row, column=column)
    if _blank(value):
        return cell
    if isinstance(value, str):
        # A control character (a note stored before the checks, a team's name) would make openpyxl
        # refuse the whole workbook: it is left out.
        cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # belt and braces: openpyxl types any "=..." string as a formula
    elif isinstance(value, bool):
        cell.value = value
    elif isinstance(value, int | float):
        cell.value = float(value) if isinstance(value, float) else value
        if number_format:
            cell.number_format = number_format
    else:
        cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
        cell.data_type = "s"
    return cell


def _header(ws: Worksheet, row: int, names: list[str], widths: list[int]) -> None:
    for i, (name, width) in enumerate(zip(names, widths, strict=True), start=1):
        cell = put(ws, row, i, name)
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        ws.column_dimensions[get_column_letter(i)].width = width


def _finish(ws: Worksheet, header_row: int, columns: int, last_row: int) -> None:
    """Frozen header and filters over the table."""
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(columns)}{max(last_row, header_row)}"


def _rag_styles(wb: Workbook) -> None:
    """One named style per RAG word, registered once: styling thousands of Data
    cells one by one with fresh fill and font objects takes seconds."""
    for word in look.theme.RAG:
        style = look.rag_style(word)
        named = NamedStyle(name=f"RAG {word}")
        named.fill = PatternFill("solid", fgColor=_argb(style.background))
        named.font = Font(bold=word in ("Red", "Amber", "Green"), color=_argb(style.text))
        named.alignment = Alignment(horizontal="center")
        named.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
        wb.add_named_style(named)


def _rag_cell(cell: Cell, word: str) -> None:
    cell.style = f"RAG {word if word in look.theme.RAG else 'No data'}"


def _number_format(unit: str) -> str:
    return {"percent": PERCENT_FORMAT, "rate": RATE_FORMAT}.get(unit, COUNT_FORMAT)


def _denominator_format(unit: str) -> str:
    return RATE_FORMAT if unit == "rate" else COUNT_FORMAT


SCORECARD_COLUMNS = [
    ("Improvement area", 34),
    ("KPI", 58),
    ("Metric ID", 22),
    ("Value", 10),
    ("Numerator", 11),
    ("Denominator", 12),
    ("Target", 9),
    ("RAG", 10),
    ("Previous month", 11),
    ("Direction of travel", 14),
    ("Owner", 36),
    ("Variation (SPC)", 22),
    ("Assurance (SPC)", 20),
    ("Published year (to 31 March)", 12),
    ("Published (ours)", 11),
    ("England", 10),
    ("Region", 10),
    ("Statistical neighbours (median)", 13),
    ("Quartile band", 9),
    ("Note for the Board", 60),
]


def _scorecard(ws: Worksheet, pack: BoardPack) -> None:
    ws.title = "Scorecard"
    title = put(ws, 1, 1, f"{pack.authority} – CPIP scorecard – {pack.period_label}")
    title.font = Font(bold=True, size=14, color=_argb(look.theme.PRIMARY))
    as_of = pack.as_of.strftime("%-d %B %Y") if pack.as_of else "not recorded"
    put(ws, 2, 1, f"{pack.scope_label} · data as of {as_of} · produced {pack.generated_at:%-d %B %Y %H:%M}")
    header_row = 4
    _header(ws, header_row, [c for c, _ in SCORECARD_COLUMNS], [w for _, w in SCORECARD_COLUMNS])
    r = header_row
    for row in pack.rows:
        r += 1
        fmt = _number_format(row.unit)
        put(ws, r, 1, row.area)
        put(ws, r, 2, row.name)
        put(ws, r, 3, row.metric_id)
        put(ws, r, 4, row.value if row.value is not None else "No data", fmt)
        put(ws, r, 5, row.numerator, COUNT_FORMAT)
        put(ws, r, 6, row.denominator, _denominator_format(row.unit))
        put(ws, r, 7, row.target, fmt)
        _rag_cell(put(ws, r, 8, row.rag), row.rag)
        put(ws, r, 9, row.previous, fmt)
        put(ws, r, 10, row.direction)
        put(ws, r, 11, row.owner)
        put(ws, r, 12, row.variation)
        put(ws, r, 13, row.assurance)
        put(ws, r, 14, row.benchmark_year)
        for column, value in ((15, row.published), (16, row.england), (17, row.region), (18, row.sn_median)):
            put(ws, r, column, value, fmt)
        put(ws, r, 19, row.quartile or None)
        note = pack.row_notes.get(row.metric_id)
        put(ws, r, 20, f"{note.text} ({note.author}, {note.written_text})" if note else
            "No commentary yet" if row.rag == "Red" else None)  # fmt: skip
    _finish(ws, header_row, len(SCORECARD_COLUMNS), r)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0


DATA_COLUMNS = [
    ("KPI", 50),
    ("Metric ID", 22),
    ("Period", 9),
    ("Level", 8),
    ("Org unit", 30),
    ("Numerator", 11),
    ("Denominator", 12),
    ("Value", 10),
    ("RAG", 10),
]


def _data(ws: Worksheet, pack: BoardPack) -> None:
    _header(ws, 1, [c for c, _ in DATA_COLUMNS], [w for _, w in DATA_COLUMNS])
    units = {row.metric_id: row.unit for row in pack.rows}
    r = 1
    for rec in pack.data.itertuples(index=False):
        r += 1
        unit = units.get(rec.metric_id, "percent")
        put(ws, r, 1, rec.kpi)
        put(ws, r, 2, rec.metric_id)
        put(ws, r, 3, rec.period)
        put(ws, r, 4, rec.level)
        put(ws, r, 5, rec.org_unit)
        put(ws, r, 6, rec.numerator, COUNT_FORMAT)
        put(ws, r, 7, rec.denominator, _denominator_format(unit))
        put(ws, r, 8, rec.value, _number_format(unit))
        if isinstance(rec.rag, str) and rec.rag:
            _rag_cell(put(ws, r, 9, rec.rag), rec.rag)
    _finish(ws, 1, len(DATA_COLUMNS), r)


DEFINITION_COLUMNS = [
    ("Metric ID", 22),
    ("KPI", 50),
    ("Improvement area", 34),
    ("Unit", 8),
    ("Polarity", 16),
    ("Definition", 70),
    ("Owner", 34),
    ("Source", 16),
    ("Target", 9),
    ("Green threshold", 10),
    ("Amber threshold", 10),
    ("Benchmark", 26),
]


def _definitions(ws: Worksheet, pack: BoardPack) -> None:
    _header(ws, 1, [c for c, _ in DEFINITION_COLUMNS], [w for _, w in DEFINITION_COLUMNS])
    r = 1
    for rec in pack.definitions.itertuples(index=False):
        r += 1
        fmt = _number_format(rec.unit)
        for c, value in enumerate(
            (rec.metric_id, rec.kpi, rec.area, rec.unit, rec.polarity, rec.definition, rec.owner, rec.source),
            start=1,
        ):
            put(ws, r, c, value).alignment = Alignment(wrap_text=True, vertical="top")
        put(ws, r, 9, rec.target, fmt)
        put(ws, r, 10, rec.green, fmt)
        put(ws, r, 11, rec.amber, fmt)
        put(ws, r, 12, rec.benchmark)
    _finish(ws, 1, len(DEFINITION_COLUMNS), r)


def write_xlsx(pack: BoardPack, out: Path) -> Path:
    wb = Workbook()
    _rag_styles(wb)
    _scorecard(wb.active, pack)
    _data(wb.create_sheet("Data"), pack)
    _definitions(wb.create_sheet("Definitions"), pack)
    wb.properties.title = f"CPIP scorecard {pack.period} – {pack.scope_label}"
    wb.properties.creator = "cpip-dashboard"
    wb.save(out)
    return out
