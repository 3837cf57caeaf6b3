"""The board pack as PDF: HTML from a Jinja template, printed by WeasyPrint.

WeasyPrint subsets and embeds every font it uses (Liberation Sans, with
DejaVu Sans for the arrows), so the file prints the same anywhere. It is
written as PDF/UA-1 (tagged: a structure tree of headings, tables with their
header cells, lists and figures in reading order, the title shown and the
language set), because board papers are published on the council's website and
a public body's documents must be accessible. Each chart's alternative text is
the chart in words (its `<desc>`, export/svg.py): figures, trend and target.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from dashboard.components.spc_figure import icon_svg, icon_text, icon_word, reason_words
from dashboard.export import look
from dashboard.export.model import BoardPack, ScoreRow
from etl.rules.spc import assurance_icon_kind, variation_icon_kind

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
CSS_FILE = HERE / "static" / "boardpack.css"


def _slug(word: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(word).lower()).strip("-")


def _data_uri(image: bytes) -> str:
    kind = "svg+xml" if image.lstrip().startswith(b"<") else "png"
    return f"data:image/{kind};base64," + base64.b64encode(image).decode("ascii")


def _alt(image: bytes | None) -> str:
    """A chart's alternative text: its SVG's <desc> (the figures, the trend, the target), else its <title>."""
    if not image:
        return ""
    try:
        root = ET.fromstring(image)
    except ET.ParseError:
        return ""
    words = [root.findtext(f"{{http://www.w3.org/2000/svg}}{tag}") for tag in ("desc", "title")]
    return next((w for w in words if w), "")


def _css_string(text: str) -> Markup:
    """Text safe inside a CSS "string" in the <style> element (the page footer):
    no quote, backslash or angle bracket, so it can neither end the string nor
    the element; HTML escaping does not apply inside <style>."""
    return Markup(re.sub(r'["\\\n\r<>]', " ", str(text)))


def chip(rag: str) -> Markup:
    """The RAG as the dashboard shows it: colour, a shape and the word, never colour alone."""
    style = look.rag_style(rag)
    return Markup('<span class="chip rag-{}"><span class="sym">{}</span> {}</span>').format(
        _slug(style.word), style.symbol, rag
    )


def direction(row: ScoreRow) -> Markup:
    """▲/▼ for which way the value moved, and the word for whether that is good."""
    if not row.direction:
        return Markup('<span class="dir muted">–</span>')
    arrow = "►"
    if row.value is not None and row.previous is not None:
        if row.value > row.previous:
            arrow = "▲"
        elif row.value < row.previous:
            arrow = "▼"
    return Markup('<span class="dir">{} {}</span>').format(arrow, row.direction)


def sparkline(values: tuple[float | None, ...], unit: str = "percent") -> Markup:
    """The last 12 months as a small vector line, as the dashboard's scorecard
    shows it: drawn here as SVG (no browser needed), gaps left as gaps, the
    last point marked. Its alternative text gives the months' figures (a tagged
    PDF's figure needs one)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return Markup("")
    width, height, pad = 100.0, 22.0, 2.5
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> str:
        return f"{pad + i * step:.1f},{height - pad - (v - low) / span * (height - 2 * pad):.1f}"

    runs, run = [], []
    for i, v in enumerate(values):
        if v is None:
            runs, run = [*runs, run] if len(run) > 1 else runs, []
        else:
            run.append(point(i, v))
    if len(run) > 1:
        runs.append(run)
    colour = look.theme.SPARK_LINE
    lines = "".join(
        f'<polyline points="{" ".join(r)}" fill="none" stroke="{colour}" stroke-width="1.6" '
        'stroke-linejoin="round" stroke-linecap="round"/>'
        for r in runs
    )
    x, y = point(*known[-1]).split(",")
    dot = f'<circle cx="{x}" cy="{y}" r="2.2" fill="{look.theme.SPARK_POINT}"/>'
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}">{lines}{dot}</svg>'
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    gap = next(i for i, v in enumerate(values) if v is not None)  # months before the first figure
    said = ", ".join(look.format_value(v, unit) if v is not None else "no data" for v in values[gap:])
    before = f"no data for {gap} months, then " if gap else ""
    return Markup('<img class="spark" src="{}" alt="{}">').format(
        uri, f"Last {len(values)} months, oldest first: {before}{said}"
    )


_VARIATION_WORDS = {
    "common cause": "Common cause",
    "special cause improving": "Improving",
    "special cause concerning": "Concerning",
    "special cause neutral": "Special cause",
}
_ASSURANCE_WORDS = {
    "consistently passing": "Passing",
    "consistently failing": "Failing",
    "hit and miss": "Hit and miss",
}


def spc_icon(kind: str) -> Markup:
    """A Making Data Count icon as an inline SVG image (base64, as the sparkline),
    its words as the alt text. The icon's letter (H/L, P/F/?) and the word printed
    beside it keep it legible in black and white."""
    svg = icon_svg(kind)
    if not svg:
        return Markup("")
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup('<img class="spc-icon" src="{}" alt="{}">').format(uri, icon_text(kind))


def variation(row: ScoreRow) -> Markup:
    """Making Data Count variation: its icon, then a few words, with ↑/↓ for a
    high or low special cause."""
    if not row.variation:
        # No icon: say why (too few points since the rebase, no data), as the scorecard does.
        return Markup('<span class="spc-word">{}</span>').format(reason_words(row.spc_note))
    word = _VARIATION_WORDS.get(row.variation, row.variation)
    icon = row.variation_icon or variation_icon_kind(row.variation, None)
    arrow = "↑" if icon.endswith("_high") else "↓" if icon.endswith("_low") else ""
    return Markup('<span class="spc">{}<span class="spc-word">{}{}</span></span>').format(
        spc_icon(icon), word, f" {arrow}" if arrow else ""
    )


def assurance(row: ScoreRow) -> Markup:
    """Making Data Count assurance: its icon, then the word."""
    if not row.assurance:
        return Markup("")
    return Markup('<span class="spc">{}<span class="spc-word">{}</span></span>').format(
        spc_icon(assurance_icon_kind(row.assurance)), _ASSURANCE_WORDS.get(row.assurance, row.assurance)
    )


def matrix_cell(cell: dict) -> Markup:
    """One service's icons for one KPI in the pack's matrix, with their words; the
    reason in words when there are none."""
    kinds = [k for k in (cell.get("variation_icon"), cell.get("assurance_icon")) if k]
    if not kinds:
        return Markup('<span class="spc-word">{}</span>').format(reason_words(cell.get("spc_note") or "") or "No data")
    words = " · ".join(icon_word(k) for k in kinds)
    return Markup('<span class="spc">{}<span class="spc-word">{}</span></span>').format(
        Markup("").join(spc_icon(k) for k in kinds), words
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["slug"] = _slug
    env.filters["data_uri"] = _data_uri
    env.filters["css_string"] = _css_string
    env.filters["alt"] = _alt
    env.globals["chip"] = chip
    env.globals["direction"] = direction
    env.globals["sparkline"] = sparkline
    env.globals["variation"] = variation
    env.globals["assurance"] = assurance
    env.globals["matrix_cell"] = matrix_cell
    return env


def render_html(pack: BoardPack) -> str:
    as_of = pack.as_of.strftime("%-d %B %Y") if pack.as_of else "not recorded (no load in the log)"
    theme = look.theme
    return (
        _environment()
        .get_template("boardpack.html")
        .render(
            pack=pack,
            css=Markup(CSS_FILE.read_text(encoding="utf-8")),  # our own file: not to be escaped
            colours={
                "primary": theme.PRIMARY,
                "ink": theme.INK,
                "muted": theme.MUTED,
                "line": theme.LINE,
                "page": theme.PAGE,
            },
            rag=theme.RAG,
            font=Markup(look.PRINT_FONT),
            as_of_text=as_of,
        )
    )


def write_pdf(pack: BoardPack, out: Path) -> Path:
    from weasyprint import HTML  # imported late: it loads Pango, which the dashboard does not need

    html = render_html(pack)
    HTML(string=html, base_url=str(HERE)).write_pdf(out, pdf_variant="pdf/ua-1")
    return out
