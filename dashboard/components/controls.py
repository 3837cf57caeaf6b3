"""Controls and the URL: every view is a URL.

The URL is the one source of truth. A page's layout is built from its query
parameters (`period`, `level`, `unit`, ...), so a link pasted into an email
opens the same view. Each control writes the URL: a clientside callback sets
the `search` of the page's own `dcc.Location(refresh="callback-nav")`, which
pushes the new address into the history without reloading (like
refresh=False) and, unlike refresh=False, tells Dash's page router, which then
rebuilds the page from the new URL: one request per change, and the Back
button works. React keeps the controls mounted across the rebuild, so
keyboard focus stays on the control that was used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from dashboard.components.format import long_month_label, month_label
from etl.catalogue.contract import match_name
from etl.catalogue.levels import LEVELS

LEVEL_LABELS = {"la": "Authority", "area": "Area", "service": "Service", "team": "Team"}


def query_string(params: Mapping[str, str | None]) -> str:
    """`?period=2023-07&level=team&unit=Coastal%20FS%201`, dropping empty values.
    Spaces become %20 (not +) so the link reads the same everywhere."""
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return ("?" + urlencode(clean, quote_via=_quote)) if clean else ""


def _quote(text: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    from urllib.parse import quote

    return quote(text, safe="", encoding=encoding, errors=errors)


def view_href(path: str, period: str | None, level: str | None, unit: str | None, **extra: str | None) -> str:
    """The URL of a view: a path plus the month, level and unit (and any extras)."""
    return path + query_string({"period": period, "level": level, "unit": unit, **extra})


@dataclass
class Selection:
    """The month and org unit a page shows, after checking the URL's values."""

    period: str | None
    level: str
    unit: str | None
    periods: list[str]
    units: list[str]
    notes: list[str] = field(default_factory=list)


def resolve_selection(
    period: str | None,
    level: str | None,
    unit: str | None,
    *,
    periods: Sequence[str],
    units_at: Callable[[str], list[str]],
    default_level: str = "la",
    allowed_levels: Sequence[str] = LEVELS,
) -> Selection:
    """Check the URL's period, level and unit against what the warehouse holds.
    A value that is not there falls back to the default (the latest month, the
    authority, the first unit) with a note saying so, never an error."""
    notes: list[str] = []
    periods = list(periods)
    if not periods:
        chosen_period = None
    elif period in periods:
        chosen_period = period
    else:
        chosen_period = periods[-1]
        if period:
            notes.append(
                f"There is no data for {period!s}; showing {long_month_label(chosen_period)}, the latest month."
            )
    if level not in allowed_levels:
        if level:
            notes.append(f"{level!s} is not a level; showing {LEVEL_LABELS[default_level].lower()} instead.")
        level = default_level
    units = units_at(level)
    # Matched as the loader matches names: `coastal fs 1` in an edited address is Coastal FS 1.
    matched = match_name(unit, units) if unit else None
    if matched is not None:
        chosen_unit = matched
    else:
        chosen_unit = units[0] if units else None
        if unit and chosen_unit:
            word = LEVEL_LABELS[level].lower()
            article = "an" if word[0] in "aeiou" else "a"  # "an authority", "an area", "a team"
            notes.append(f"{unit!s} is not {article} {word}; showing {chosen_unit} (choose another from the list).")
    return Selection(chosen_period, level, chosen_unit, periods, units, notes)


def labelled_select(
    control_id: str,
    label: str,
    options: Sequence[tuple[str, str]] | Sequence[dict],
    value: str | None,
    *,
    width: str = "md",
) -> html.Div:
    """A native <select> with a visible <label> bound to it: the most keyboard-
    and screen-reader-friendly control there is."""
    opts = [o if isinstance(o, dict) else {"label": o[1], "value": o[0]} for o in options]
    return html.Div(
        [
            dbc.Label(label, html_for=control_id, className="cpip-control-label"),
            dbc.Select(id=control_id, options=opts, value=value, className=f"cpip-select cpip-select-{width}"),
        ],
        className="cpip-control",
    )


def period_options(periods: Sequence[str]) -> list[tuple[str, str]]:
    """Newest month first, labelled `Jul 2023`."""
    return [(p, month_label(p)) for p in reversed(periods)]


def level_options(levels: Sequence[str] = LEVELS) -> list[tuple[str, str]]:
    return [(lv, LEVEL_LABELS[lv]) for lv in levels]


def unit_options(units: Sequence[str]) -> list[tuple[str, str]]:
    return [(u, u) for u in units]


def url_sync(prefix: str, params: Sequence[str], *, resets: Mapping[str, Sequence[str]] | None = None) -> None:
    """Register the clientside callback that writes a page's controls into its
    URL: `{prefix}-{param}` controls -> `{prefix}-url.search`. `resets` names,
    per parameter, the controls whose change drops it (a new level drops the
    unit, which the page then defaults)."""
    clientside_callback(
        ClientsideFunction("cpip", "syncSearch"),
        Output(f"{prefix}-url", "search"),
        [Input(f"{prefix}-{p}", "value") for p in params],
        # The parameter names and resets travel as a constant in a dcc.Store.
        State(f"{prefix}-url-spec", "data"),
        prevent_initial_call=True,
    )
    _SPECS[prefix] = {
        "params": list(params),
        "resets": {k: [f"{prefix}-{v}" for v in vs] for k, vs in (resets or {}).items()},
    }


_SPECS: dict[str, dict] = {}


def url_parts(prefix: str) -> list:
    """The page's own Location and the constant that tells the sync script which controls map to which
    parameters."""
    return [
        dcc.Location(id=f"{prefix}-url", refresh="callback-nav"),
        dcc.Store(id=f"{prefix}-url-spec", data=_SPECS.get(prefix, {"params": [], "resets": {}})),
    ]


def refusal(sentence: str, field_id: str | None) -> html.Span:
    """An editor's refusal for its status line, naming the field it is about:
    assets/cpip.js marks that field invalid (`aria-invalid`, described by this
    sentence) and puts focus on it (WCAG 3.3.1), not only the status line."""
    return html.Span(sentence, className="cpip-error", **({"data-field": field_id} if field_id else {}))
