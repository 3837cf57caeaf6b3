"""The dashboard's look, defined once: colours, the RAG palette, fonts, chart styling.

Every other module takes its colours from here (no inline hex elsewhere); the
stylesheet dashboard/assets/cpip.css mirrors these values as CSS custom
properties, and tests/test_components.py checks the two agree and that every
chip's text meets WCAG 2.2 AA contrast (4.5:1) on its background.
"""

from __future__ import annotations

from dataclasses import dataclass

FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif'

# Core palette: a deep council blue for the header and links, neutral greys for text.
INK = "#1b1f24"  # body text
MUTED = "#555f6b"  # secondary text (7.0:1 on white)
LINE = "#d5dae0"  # hairlines and gridlines
SURFACE = "#ffffff"
ON_PRIMARY = "#ffffff"  # text on the header and primary buttons
PAGE = "#f4f6f8"
PRIMARY = "#1d4f91"  # header, links, the series line
PRIMARY_DARK = "#12345f"
ACCENT = "#c05a00"  # highlights that are not RAG (orange, 4.6:1 on white)
TARGET = "#1b1f24"  # target line: dark, dashed
ENGLAND = "#6b3fa0"  # England benchmark line
NEIGHBOURS = "#00727a"  # statistical-neighbour benchmark line
NEIGHBOUR_EACH = "#8d99a6"  # each neighbour's own line in the comparison chart (behind the authority's)
FY_BOUNDARY = "#8a939e"  # financial-year boundary lines
EVENT = "#7a3b00"  # dated events on the charts (an inspection, a system change): dark orange, 8:1 on white


@dataclass(frozen=True)
class RagStyle:
    """How one RAG rating looks: the word always goes with the colour."""

    word: str
    background: str
    text: str
    band: str  # pale tint for bands shaded behind trend charts
    symbol: str  # a shape as well as a colour, for black-and-white printing


RAG: dict[str, RagStyle] = {
    "Red": RagStyle("Red", "#b3261e", "#ffffff", "rgba(179, 38, 30, 0.10)", "●"),
    "Amber": RagStyle("Amber", "#f0b323", "#1b1f24", "rgba(240, 179, 35, 0.16)", "◆"),
    "Green": RagStyle("Green", "#1e7b34", "#ffffff", "rgba(30, 123, 52, 0.10)", "▲"),
    "No data": RagStyle("No data", "#e4e7eb", "#3b434c", "rgba(0, 0, 0, 0)", "○"),
    "Not rated": RagStyle("Not rated", "#ffffff", "#3b434c", "rgba(0, 0, 0, 0)", "–"),
    # Too few records to rate (metrics.yml min_denominator): the figure stands, without a colour.
    "Small numbers": RagStyle("Small numbers", "#ffffff", "#3b434c", "rgba(0, 0, 0, 0)", "◌"),
}
RAG_ORDER = ("Red", "Amber", "Green", "No data")

# Direction of travel, in the metric's own polarity.
DIRECTION = {
    "improving": ("Improving", "#1e7b34"),
    "worsening": ("Worsening", "#b3261e"),
    "no change": ("No change", MUTED),
    # monitored metrics move up or down, but neither is better nor worse
    "up": ("Up", MUTED),
    "down": ("Down", MUTED),
    "": ("No comparison", MUTED),
}

# Audit grades in the report's order, from a single colour-blind-safe ramp
# (dark blue to orange), so no grade relies on red/green.
GRADE_COLOURS = {
    "Outstanding": "#12345f",
    "Good": "#3a6aa8",
    "Requires Improvement": "#f0a35e",
    "Inadequate": "#a3480b",
}

# The team heatmap: cividis, designed to be read by people with colour-vision
# deficiency, and independent of the RAG colours (the RAG word is in each cell).
HEATMAP_SCALE = "Cividis"
# Text on a heatmap cell is black or white, whichever contrasts more with that
# cell's colour: on Cividis one of the two always reaches 4.5:1 (the worst cell,
# mid-grey, gives 4.6:1), where plotly's own choice (#444 or white) gave 3.5:1.
HEATMAP_TEXT_DARK = "#000000"
HEATMAP_TEXT_LIGHT = "#ffffff"

SPARK_LINE = PRIMARY
SPARK_POINT = PRIMARY_DARK

CHART_LAYOUT = {
    "font": {"family": FONT_FAMILY, "size": 13, "color": INK},
    "paper_bgcolor": SURFACE,
    "plot_bgcolor": SURFACE,
    "margin": {"l": 56, "r": 24, "t": 48, "b": 48},
    "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 13}},
    "colorway": [PRIMARY, ACCENT, ENGLAND, NEIGHBOURS],
    "xaxis": {"gridcolor": LINE, "linecolor": LINE, "zeroline": False, "automargin": True},
    "yaxis": {"gridcolor": LINE, "linecolor": LINE, "zeroline": False, "automargin": True},
    # plotly draws its toolbar icons at 30% grey (1.6:1); these meet 3:1 (WCAG 1.4.11).
    "modebar": {"color": MUTED, "activecolor": PRIMARY_DARK, "bgcolor": SURFACE},
}

# Graph config shared by every chart. The toolbar holds only what a reader
# needs: save the chart as a picture, and reset it after a zoom. Nothing that
# sends a chart anywhere: "Share chart..." uploads it to Plotly Cloud, which a
# children's-services tool must never offer (so no server URL either).
# assets/cpip.js gives each toolbar one Tab stop (arrow keys move within it).
GRAPH_CONFIG = {
    "displaylogo": False,
    "modeBarButtons": [["toImage", "resetScale2d"]],
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "plotlyServerURL": "",
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
SPARK_CONFIG = {"staticPlot": True, "displayModeBar": False, "responsive": False}


def css_variables() -> dict[str, str]:
    """The palette as CSS custom properties (mirrored in assets/cpip.css)."""
    out = {
        "--cpip-ink": INK,
        "--cpip-muted": MUTED,
        "--cpip-line": LINE,
        "--cpip-page": PAGE,
        "--cpip-surface": SURFACE,
        "--cpip-on-primary": ON_PRIMARY,
        "--cpip-primary": PRIMARY,
        "--cpip-primary-dark": PRIMARY_DARK,
        "--cpip-accent": ACCENT,
    }
    for key, style in RAG.items():
        slug = key.lower().replace(" ", "-")
        out[f"--cpip-rag-{slug}-bg"] = style.background
        out[f"--cpip-rag-{slug}-fg"] = style.text
    return out


def rag_symbol_css() -> str:
    """The RAG chips' shapes as CSS `::before` content, with empty alternative
    text so screen readers say only the word."""
    rules = []
    for key, style in RAG.items():
        slug = key.lower().replace(" ", "-")
        rules.append(f'.cpip-rag-{slug}::before{{content:"{style.symbol}" / "";font-size:0.7em}}')
    return "".join(rules)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio between two `#rrggbb` colours (1 to 21)."""
    a, b = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
