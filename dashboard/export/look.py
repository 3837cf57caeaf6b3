"""The pack's look, taken from the dashboard's theme and formatters so the pack
looks like the dashboard: the same RAG palette and symbols, the same number
formats. Only the font differs: print needs a font that is installed and can
be embedded, so it uses Liberation Sans (metric-compatible with Arial, which
is in the dashboard's font stack), with DejaVu Sans for symbols.
"""

from __future__ import annotations

from dashboard import theme
from dashboard.components.format import format_fraction, format_target, format_value, long_month_label

PRINT_FONT = '"Liberation Sans", "DejaVu Sans", Arial, sans-serif'
CHART_FONT = "Liberation Sans, DejaVu Sans, Arial, sans-serif"

MONITORED = "Not rated"  # the theme's word for a monitored KPI: it carries no RAG

__all__ = [
    "CHART_FONT",
    "MONITORED",
    "PRINT_FONT",
    "format_fraction",
    "format_target",
    "format_value",
    "long_month_label",
    "rag_style",
    "theme",
]


def rag_style(word: str) -> theme.RagStyle:
    """The theme's style for a RAG word; anything unknown looks like "No data"."""
    return theme.RAG.get(word, theme.RAG["No data"])
