"""The frame around every page: skip link, header with the authority's name and
logo, navigation, the page itself, a footer. Also the HTML template, which
carries the theme's colours as CSS custom properties so that the palette is
defined once (dashboard/theme.py) and the stylesheet only refers to it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator

import dash
from dash import Input, Output, clientside_callback, dcc, html
from dash.development.base_component import Component
from flask import g

from dashboard import theme
from etl.catalogue.metrics import catalogue
from etl.privacy import access
from etl.store import authority as authorities

DEFAULT_LOGO = "logo.svg"
APP_TITLE = "CPIP scorecard"


def logo_src(get_asset_url, logo: str | None) -> str:
    """Where the header's logo comes from: the catalogue's `authority.logo`
    (an address, or a file name in dashboard/assets/), else the plain default."""
    if not logo:
        return get_asset_url(DEFAULT_LOGO)
    if logo.startswith(("/", "http://", "https://", "data:")):
        return logo
    return get_asset_url(logo)


# No <link rel="preload"> of the chart's code (Dash's graph chunk, plotly.js: 1.4 MB compressed): asked for
# on every page, it made every first visit slower, a chart's page too (fresh headless Chromium, 5 each,
# alternated, 8 December 2026, load average 15: 1.12-1.58x the time without it). Dash fetches it when a
# page draws a chart.


def index_string() -> str:
    """Dash's page template with the theme's palette inlined as CSS variables
    and the page language set (screen readers need it). Dash's own template
    wraps its scripts in a <footer>, a second contentinfo landmark beside the
    shell's footer: here they sit in a plain <div>."""
    variables = ";".join(f"{k}:{v}" for k, v in theme.css_variables().items())
    return f"""<!DOCTYPE html>
<html lang="en-GB">
    <head>
        {{%metas%}}
        <title>{{%title%}}</title>
        {{%favicon%}}
        <style>:root{{{variables};--cpip-font:{theme.FONT_FAMILY.replace('"', "'")}}}{theme.rag_symbol_css()}</style>
        {{%css%}}
    </head>
    <body>
        {{%app_entry%}}
        <div class="cpip-scripts">
            {{%config%}}
            {{%scripts%}}
            {{%renderer%}}
        </div>
    </body>
</html>"""


NAV_PAGES = ("/", "/teams", "/audits", "/plans", "/due", "/data")


def _may_open(path: str) -> bool:
    """Whether the current viewer's role opens this page (the gate's own rule for the path), so the
    menu never offers a page that would refuse them. Outside a request (no viewer): every page."""
    from dashboard.gate import capability_of_path

    need = capability_of_path(path)
    try:
        viewer = access.current_viewer()
    except access.AccessDenied:  # no viewer named for this request: what every role may open
        return need == access.AGGREGATES
    return viewer is None or viewer.may(need)


def nav_items() -> list[tuple[str, str]]:
    """(label, path) for the main navigation, from Dash's page registry, in a
    fixed order, only the pages the viewer's role may open; pages reached only
    by drill-down (a KPI) are not listed."""
    by_path = {p["path"]: p for p in dash.page_registry.values() if not p.get("path_template")}
    items = []
    for path in NAV_PAGES:
        page = by_path.get(path)
        if page is not None and _may_open(path):
            items.append((page.get("name") or page["title"], path))
    return items


def _authority_nav() -> list:
    """For a viewer of several authorities: the others to switch to, and the regional view (plain links:
    each sets the request's authority on the server, dashboard/gate.py)."""
    from dashboard.gate import authority_switch

    others = authority_switch()
    if not others:
        return []
    links = [html.Li(html.A(name, href=href, className="cpip-nav-link")) for name, href in others]
    links.append(html.Li(html.A("All side by side", href="/regional", className="cpip-nav-link")))
    return [
        html.Nav(
            [html.Span("Switch authority:", className="cpip-switch-label"), html.Ul(links, className="cpip-nav-list")],
            className="cpip-nav cpip-authority-switch",
            id="cpip-authority-switch",
            **{"aria-label": "Authorities"},
        )
    ]


def build_shell(get_asset_url) -> html.Div:
    authority = authorities.current()
    logo = catalogue().authority.logo
    nav = html.Ul(
        [
            html.Li(html.A(label, href=path, id={"type": "nav-link", "path": path}, className="cpip-nav-link"))
            for label, path in nav_items()
        ],
        className="cpip-nav-list",
    )
    return html.Div(
        [
            html.A("Skip to main content", href="#main-content", className="cpip-skip-link"),
            html.Header(
                html.Div(
                    [
                        dcc.Link(
                            [
                                html.Img(
                                    src=logo_src(get_asset_url, logo),
                                    alt="",  # decorative: the authority's name follows as text
                                    className="cpip-logo",
                                    height=40,
                                ),
                                html.Span(
                                    [
                                        html.Span(authority.name, className="cpip-authority"),
                                        html.Span(APP_TITLE, className="cpip-app-title"),
                                    ],
                                    className="cpip-brand-text",
                                ),
                            ],
                            href="/",
                            className="cpip-brand",
                            id="cpip-home-link",
                        ),
                        html.Nav(nav, className="cpip-nav", **{"aria-label": "Main"}),
                        *_authority_nav(),
                    ],
                    className="cpip-header-inner",
                ),
                className="cpip-header",
            ),
            html.Main(dash.page_container, id="main-content", className="cpip-main", tabIndex="-1"),
            # assets/cpip.js writes the new page's title here when a link opens another page.
            html.Div(id="cpip-announce", role="status", className="visually-hidden"),
            html.Footer(
                html.Div(
                    [
                        html.Span(f"{authority.name} · Continual Practice Improvement Plan"),
                        html.Span("Figures are counted from the loaded extracts; see each KPI's definition."),
                        # Every term and abbreviation, in plain text a keyboard reaches (not a tooltip).
                        html.A("Glossary: what the words mean", href="/glossary", className="cpip-footer-link"),
                    ],
                    className="cpip-footer-inner",
                ),
                className="cpip-footer",
            ),
        ],
        className="cpip-shell",
    )


# Keep the month and org unit when moving between pages, and mark the current
# page for screen readers (aria-current), without a round trip to the server.
clientside_callback(
    """
    function(pathname, search, ids) {
        const params = new URLSearchParams(search || "");
        const keep = new URLSearchParams();
        ["period", "level", "unit"].forEach(k => { if (params.get(k)) { keep.set(k, params.get(k)); } });
        const query = keep.toString();
        const hrefs = ids.map(id => id.path + (query ? "?" + query : ""));
        const current = ids.map(id => {
            const here = (pathname || "/").replace(/\\/$/, "") || "/";
            const mine = id.path === "/" ? (here === "/" || here.startsWith("/kpi")) : here.startsWith(id.path);
            return mine ? "page" : null;
        });
        return [hrefs, current];
    }
    """,
    Output({"type": "nav-link", "path": dash.ALL}, "href"),
    Output({"type": "nav-link", "path": dash.ALL}, "aria-current"),
    Input("_pages_location", "pathname"),
    Input("_pages_location", "search"),
    dash.State({"type": "nav-link", "path": dash.ALL}, "id"),
)


# --- the validation layout ---------------------------------------------------------------------
# Dash embeds a "validation layout" in every page it serves (its `_dash-config`), so the browser can
# check each callback's ids. With pages, Dash builds it once per worker by calling every page's
# layout in the first request's context: that viewer's name, authority, notes and figures would
# then go to everyone the worker serves. The renderer needs only each callback's components (type
# and id), so that is all the skeleton keeps.


def _callback_ids(callback_map: dict) -> tuple[set[str], set[str]]:
    """(plain ids, pattern-matching `type`s) of every component a registered callback names."""
    plain: set[str] = set()
    types: set[str] = set()
    for spec in callback_map.values():
        outputs = spec.get("output")
        items = outputs if isinstance(outputs, list | tuple) else [outputs]
        named = [o.component_id_str() for o in items if hasattr(o, "component_id_str")]
        named += [d["id"] for d in [*spec.get("inputs", []), *spec.get("state", [])]]
        for cid in named:
            if cid.startswith("{"):
                types.add(str(json.loads(cid).get("type", "")))
            else:
                plain.add(cid)
    return plain, types


def _bare(component: Component, cid: object) -> Component:
    """The component with its id alone: no text, no data, no children."""
    bare = copy.copy(component)  # keeps the type and what it needs to be sent; its props go below
    props = set(component._prop_names) | {k for k in vars(component) if k.startswith(("data-", "aria-"))}
    for name in props & set(vars(bare)):
        del bare.__dict__[name]
    bare.__dict__["id"] = cid
    return bare


def _components(node: object) -> Iterator[Component]:
    """Every component in a tree, wherever it sits: children, or any other property holding components
    (Dash's own walk follows `children` only)."""
    if isinstance(node, Component):
        yield node
        for name, value in vars(node).items():
            if not name.startswith("_"):
                yield from _components(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _components(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _components(item)


def skeleton(layout: Component, callback_map: dict) -> html.Div:
    """`layout` cut down to the components callbacks name, each with its id alone (the values
    of a pattern-matching id other than its `type` blanked: they can carry a unit's name)."""
    plain, types = _callback_ids(callback_map)
    kept: dict[str, Component] = {}
    for component in _components(layout):
        cid = getattr(component, "id", None)
        if isinstance(cid, str) and cid in plain:
            kept.setdefault(cid, _bare(component, cid))
        elif isinstance(cid, dict) and str(cid.get("type", "")) in types:
            blank = {k: v if k == "type" else ("" if isinstance(v, str) else 0) for k, v in cid.items()}
            kept.setdefault(json.dumps(blank, sort_keys=True), _bare(component, blank))
    return html.Div(list(kept.values()))


def install_skeleton(app: dash.Dash) -> None:
    """Have Dash build its validation layout as nobody in particular (the command line's view of
    metrics.yml's authority, before the gate names this request's viewer), then cut it down to its
    skeleton, whenever Dash (re)builds it."""
    server = app.server
    funcs = server.before_request_funcs.setdefault(None, [])
    router = next((f for f in funcs if getattr(f, "__name__", "") == "router_sync"), None)
    done: dict[str, object] = {}

    def _build_as_nobody() -> None:
        if router is None or app._got_first_request.get("pages"):
            return
        with access.viewing(None):  # Dash's router builds it on a worker's first request: not as its user
            router()
        # Cut down by `_replace` below, once Dash has gathered every page's callbacks (its `_setup_server`).

    def _replace() -> None:
        current = app.validation_layout
        if current is not None and current is not done.get("skeleton"):
            done["skeleton"] = app.validation_layout = skeleton(current, app.callback_map)

    funcs.insert(0, _build_as_nobody)  # before the gate names the request's viewer and authority
    server.before_request(_replace)  # after Dash's own hooks: the page is rendered only after this
    _first_requests_alone(app)


def _first_requests_alone(app: dash.Dash) -> None:
    """Until Dash has set itself up (its page registry, callbacks and validation layout, built on a
    worker's first request), let one request in at a time. Dash marks that work done as it starts it,
    so with threads in a worker (gunicorn.conf.py) a second request could otherwise be answered from
    the half-built state (a page whose callbacks name ids "not found in layout")."""
    server = app.server
    lock = threading.Lock()
    ready = threading.Event()

    def _alone() -> None:
        if ready.is_set():
            return
        lock.acquire()
        g.cpip_alone = True

    def _done(_exc: BaseException | None = None) -> None:
        if g.pop("cpip_alone", False):
            if all(app._got_first_request.values()):
                ready.set()
            lock.release()

    server.before_request_funcs.setdefault(None, []).insert(0, _alone)
    server.teardown_request(_done)
