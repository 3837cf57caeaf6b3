"""Pieces every page uses: the page heading, the safe wrapper that turns any
failure into a plain message, and the org-unit controls.

(Not a page itself: Dash's page discovery skips modules that never register one.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashboard.components.controls import (
    LEVELS,
    Selection,
    labelled_select,
    level_options,
    period_options,
    unit_options,
)
from dashboard.components.glossary import with_abbreviations

log = logging.getLogger("cpip.dashboard")

_cache: dict[tuple, Any] = {}
_cache_lock = threading.Lock()
_CACHE_LIMIT = 256


def warehouse_version() -> tuple:
    """Identifies the current contents of the authority in hand's warehouse: on DuckDB the ETL never
    writes the live file but swaps a new one in (a new inode), on PostgreSQL the load log changes
    (etl.store.warehouse.data_version)."""
    from etl.store.warehouse import data_version

    return data_version()


def per_load(function: Callable, *args: Any) -> Any:
    """`function(*args)`, remembered until the next load. For the answers that
    only change when data is loaded (the months, the org units, freshness,
    benchmarks): each call of an etl.serve.queries function opens the warehouse
    (about 12 ms), and a page change should not pay that for lists it already has."""
    key = (warehouse_version(), getattr(function, "__qualname__", repr(function)), args)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    value = function(*args)
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = value
    return value


def remembered(key: tuple, build: Callable[[], Any]) -> Any:
    """`build()`, remembered under `key` until the next load: for what is built from the warehouse alone
    and costs a page its time, a chart above all (plotly's figure objects take a KPI page 100-300 ms).
    `key` must name everything else the answer depends on (the KPI, unit, month, the events drawn on it).
    The answer is shared between requests: never change it after it is built."""
    full = (warehouse_version(), "remembered", key)
    with _cache_lock:
        if full in _cache:
            return _cache[full]
    value = build()
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[full] = value
    return value


def view_title(title: str, subtitle: str | None = None) -> str:
    """The browser tab's title for a view: the page, then what it shows, then
    the service ("Teams: Family Safeguarding · July 2023 – CPIP"), so two tabs
    or two history entries are told apart (WCAG 2.4.2)."""
    return f"{title}: {subtitle} – CPIP" if subtitle else f"{title} – CPIP"


def page_header(title: str, subtitle: str | None = None, *, actions: list | None = None) -> html.Div:
    """The page's <h1>, its subtitle (what the view shows) and its actions. It
    carries the view's tab title (`data-page-title`, set by assets/cpip.js)."""
    return html.Div(
        [
            html.Div(
                [
                    html.H1(with_abbreviations(title), className="cpip-h1"),
                    html.P(subtitle, className="cpip-subtitle", id="page-subtitle") if subtitle else None,
                ]
            ),
            html.Div(actions, className="cpip-header-actions d-print-none") if actions else None,
        ],
        className="cpip-page-header",
        **{"data-page-title": view_title(title, subtitle)},
    )


def safely(build: Callable[[], list], *, what: str) -> list:
    """Build a page; if anything fails, say so in plain words (and log the
    details for the analysts), never show a traceback."""
    try:
        return build()
    except Exception:  # the last line of defence for a page
        log.exception("building the %s failed", what)
        return [
            page_header(what.capitalize()),
            html.Div(
                dbc.Alert(
                    [
                        html.Strong(f"The {what} could not be shown. "),
                        "The warehouse may be being updated or a value in the address is not understood. "
                        "Try again in a moment, or open the page from the menu.",
                    ],
                    color="danger",
                ),
                role="alert",
            ),
        ]


def unit_controls(prefix: str, sel: Selection, *, levels: Sequence[str] = LEVELS, with_period: bool = True) -> list:
    """Month, level and org unit selects, labelled, ids `{prefix}-period/level/unit`."""
    out = []
    if with_period:
        out.append(labelled_select(f"{prefix}-period", "Month", period_options(sel.periods), sel.period, width="sm"))
    out.append(labelled_select(f"{prefix}-level", "Level", level_options(levels), sel.level, width="sm"))
    out.append(labelled_select(f"{prefix}-unit", "Org unit", unit_options(sel.units), sel.unit, width="lg"))
    return out


def no_data_message() -> html.Div:
    return html.Div(
        dbc.Alert(
            [
                html.Strong("No data has been loaded yet. "),
                "Load the extracts (cpip load, or the Data page) or the demo data (cpip demo) and reload this page.",
            ],
            color="info",
        ),
        role="status",
    )
