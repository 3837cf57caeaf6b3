"""Glossary: what the dashboard's abbreviations and terms mean, in words a
head of service knows (statistical process control, variation and assurance,
RAG and polarity). Every page links here.

URL: `/glossary`.
"""

from __future__ import annotations

import dash
from dash import html

from dashboard.components.glossary import ABBREVIATIONS, TERMS
from dashboard.pages.common import page_header

dash.register_page(__name__, path="/glossary", name="Glossary", title="Glossary – CPIP", order=95)


def layout(**_other: str) -> list:
    terms = []
    for term, meaning in TERMS:
        terms += [html.Dt(term), html.Dd(meaning)]
    # Plural forms ("KPIs") are left out: the singular says it.
    shown = {k: v for k, v in ABBREVIATIONS.items() if not (k.endswith("s") and k[:-1] in ABBREVIATIONS)}
    abbreviations = []
    for short, long in sorted(shown.items(), key=lambda kv: kv[0].lower()):
        abbreviations += [html.Dt(short), html.Dd(long[:1].upper() + long[1:])]
    return [
        page_header("Glossary", "What the words and abbreviations on these pages mean"),
        html.Div(
            [
                html.H2("Terms", className="cpip-h2 mt-0"),
                html.Dl(terms, className="cpip-definition cpip-glossary", id="glossary-terms"),
            ],
            className="cpip-card",
        ),
        html.Div(
            [
                html.H2("Abbreviations", className="cpip-h2 mt-0"),
                html.Dl(abbreviations, className="cpip-definition cpip-glossary", id="glossary-abbreviations"),
            ],
            className="cpip-card",
        ),
    ]
