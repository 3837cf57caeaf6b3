"""The plain answers the gate and sign-in give instead of a page: a short HTML page for a browser,
one line of text otherwise (a callback, a CSV download, a script)."""

from __future__ import annotations

import html

from flask import Response, request


def wants_html() -> bool:
    return request.method == "GET" and request.accept_mimetypes.accept_html and not request.path.endswith(".csv")


def plain_page(title: str, sentence: str, status: int, *, link: tuple[str, str] | None = None) -> Response:
    """A plain answer; `link` is (words, address), "Back to the scorecard" unless given."""
    words, address = link or ("Back to the scorecard", "/")
    if wants_html():
        body = (
            '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)} · CPIP scorecard</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            '<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">'
            f'<main><h1>{html.escape(title)}</h1><p id="cpip-refusal">{html.escape(sentence)}</p>'
            f'<p><a href="{html.escape(address)}">{html.escape(words)}</a></p></main></body></html>'
        )
        return Response(body, status=status, mimetype="text/html")
    return Response(sentence + "\n", status=status, mimetype="text/plain")
