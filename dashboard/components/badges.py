"""Small, reusable pieces of text: the RAG chip, direction of travel, the RAG summary.

The RAG is never colour alone: each chip carries its word and a shape; the
direction carries an arrow and a word. Colours come from CSS classes whose
values are the theme's (dashboard/theme.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from dash import html

from dashboard import theme


def rag_slug(rag: str | None) -> str:
    """CSS class suffix: "No data" -> "no-data"; a monitored metric ("") -> "not-rated"."""
    word = rag if rag in theme.RAG else ("Not rated" if not rag else "No data")
    return word.lower().replace(" ", "-")


def rag_word(rag: str | None) -> str:
    """The word shown for a RAG value; monitored metrics (rated "") say "Not rated"."""
    if rag in theme.RAG:
        return rag  # type: ignore[return-value]
    return "Not rated" if not rag else "No data"


def rag_chip(rag: str | None, *, small: bool = False) -> html.Span:
    """A chip with the RAG's word on its colour. Its shape (theme.RAG[...].symbol)
    is drawn by the stylesheet (`::before`, silent to screen readers), which
    keeps a chip one component: a KPI page has hundreds of them."""
    word = rag_word(rag)
    return html.Span(word, className=f"cpip-rag cpip-rag-{rag_slug(rag)}" + (" cpip-rag-small" if small else ""))


def arrow_for(value: float | None, previous: float | None) -> str:
    """The arrow says which way the number moved; the word says whether that is good."""
    if value is None or previous is None or value != value or previous != previous:
        return "–"
    if value > previous:
        return "↑"
    if value < previous:
        return "↓"
    return "→"


def direction_badge(direction: str | None, value: float | None, previous: float | None) -> html.Span:
    """Direction of travel against the previous month: an arrow and a word,
    coloured by the metric's polarity (improving green, worsening red)."""
    key = direction if direction in theme.DIRECTION else ""
    word, _colour = theme.DIRECTION[key]
    slug = key.replace(" ", "-") or "none"
    return html.Span(
        [html.Span(arrow_for(value, previous), className="cpip-dir-arrow", **{"aria-hidden": "true"}), word],
        className=f"cpip-dir cpip-dir-{slug}",
    )


def rag_counts(rags: Iterable[str | None]) -> dict[str, int]:
    """How many Red, Amber, Green and No data (monitored metrics are not counted)."""
    counts = dict.fromkeys(theme.RAG_ORDER, 0)
    for rag in rags:
        if rag in counts:
            counts[rag] += 1
    return counts


def rag_summary(rags: Iterable[str | None], *, id_prefix: str) -> html.Div:
    """The summary strip: a tile per RAG with its count and word."""
    counts = rag_counts(rags)
    tiles = [
        html.Div(
            [
                html.Span(str(counts[word]), className="cpip-summary-count", id=f"{id_prefix}-count-{rag_slug(word)}"),
                rag_chip(word),
            ],
            className=f"cpip-summary-tile cpip-summary-{rag_slug(word)}",
        )
        for word in theme.RAG_ORDER
    ]
    return html.Div(
        tiles,
        className="cpip-summary",
        role="group",
        **{"aria-label": "How many KPIs are Red, Amber, Green or have no data"},
    )
