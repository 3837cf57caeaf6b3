"""The web app's one gate for who may see what.

Every request passes `before_request` here first (before Dash's own hooks):
the signed-in user comes from the sign-on header (dashboard/identity.py), or
from the app's own OpenID Connect session when CPIP_OIDC_ISSUER is set
(dashboard/signin.py; /signin, its callback and /signout are open to all), the
access policy (etl/privacy/access.py) gives their role, and the request is refused
with HTTP 403 and a plain sentence unless the role may use what it asks for.
Nothing here is hidden buttons: an edited address or a hand-made callback POST
is judged exactly like a click.

What each request needs is decided from the request alone:

- a route, by its path (`ROUTES`): the data page needs `data`, child lists and
  the due list `children`, everything else `aggregates`;
- a Dash callback POST (/_dash-update-component), by the ids of its outputs
  (`CALLBACK_PREFIXES`: a `data-...` output belongs to the data page), and the
  page router's callback by the page address it asks for.

For a child list, the teams behind it are also checked against the viewer's
teams or services (`etl.privacy.children.check_scope`), and the query layer checks
them again when it reads the records. The viewer is handed to the query layer
for the rest of the request (`etl.privacy.access.set_viewer`); pages and callbacks
never test a role themselves.

The authority of each request is chosen here too: one of those the viewer may
see (the access file's `authorities`, else metrics.yml's; any the installation
serves in single-user mode), from the `cpip_authority` cookie that
`/authority/<code>` sets. The query layer works on it for the rest of the
request (`etl.store.authority`), and may name no other (`etl.store.authority.permit`); on
PostgreSQL row-level security holds the transaction to it as well.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, redirect, request

from dashboard import signin
from dashboard.answers import plain_page
from dashboard.identity import user_from_headers
from etl.privacy import access
from etl.privacy.access import AGGREGATES, CHILDREN, DATA, NOTES, PLANS, AccessDenied, os_user
from etl.store import authority

log = logging.getLogger(__name__)

CALLBACK_PATH = "/_dash-update-component"
ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/data/?$"), DATA),
    (re.compile(r"^/kpi/[^/]+/children(\.csv)?/?$"), CHILDREN),
    (re.compile(r"^/due(\.csv)?/?$"), CHILDREN),
)
CALLBACK_PREFIXES: tuple[tuple[str, str], ...] = (
    ("data-", DATA),
    ("children-", CHILDREN),
    ("due-", CHILDREN),
    ("note-", NOTES),  # writing a note (etl.people.notes checks the unit against the viewer's again)
    ("plan-edit-", PLANS),  # editing actions and a KPI's chart events
)
PAGE_ROUTER_OUTPUT = "_pages_content"
_CHILD_PAGE = re.compile(r"^/kpi/([^/]+)/children(\.csv)?/?$")
_DUE_PAGE = re.compile(r"^/due(\.csv)?/?$")


def normal_path(path: str) -> str:
    """`//kpi/x/%63hildren` -> `/kpi/x/children`: the path as Dash's page router will
    match it (repeated and trailing slashes and percent-escapes would otherwise dodge a rule)."""
    return "/" + re.sub(r"/+", "/", unquote(path or "/")).strip("/")


def capability_of_path(path: str) -> str:
    """What a route needs: `data`, `children` or `aggregates`."""
    path = normal_path(path)
    for pattern, capability in ROUTES:
        if pattern.match(path):
            return capability
    return AGGREGATES


def _output_ids(outputs: object) -> list[str]:
    """The component ids (a pattern-matching id by its `type`) of a callback's outputs."""
    found: list[str] = []
    items = outputs if isinstance(outputs, list) else [outputs]
    for item in items:
        if isinstance(item, list):
            found += _output_ids(item)
        elif isinstance(item, dict):
            cid = item.get("id")
            found.append(str(cid.get("type", "")) if isinstance(cid, dict) else str(cid))
    return found


def capability_of_output(component_id: str) -> str:
    for prefix, capability in CALLBACK_PREFIXES:
        if component_id.startswith(prefix):
            return capability
    return AGGREGATES


_ORDER = {AGGREGATES: 0, CHILDREN: 1, NOTES: 2, PLANS: 3, DATA: 4}


def callback_request(body: object) -> tuple[str, str | None, str]:
    """(what a callback POST needs, the page path it routes to or None, that page's query string)."""
    if not isinstance(body, dict) or "outputs" not in body:
        return DATA, None, ""  # not a callback we know: only the most trusted role gets past
    ids = _output_ids(body.get("outputs"))
    if not ids:
        return DATA, None, ""
    need = max((capability_of_output(i) for i in ids), key=_ORDER.__getitem__)
    if PAGE_ROUTER_OUTPUT in ids:
        values = {i.get("property"): i.get("value") for i in body.get("inputs") or [] if isinstance(i, dict)}
        path = normal_path(str(values.get("pathname") or "/"))
        need = max(need, capability_of_path(path), key=_ORDER.__getitem__)
        return need, path, str(values.get("search") or "")
    return need, None, ""


def _check_child_scope(path: str, query: dict[str, list[str]]) -> None:
    """For a child list or the due list, refuse (AccessDenied) teams outside the viewer's."""
    from etl.privacy.children import check_scope

    def one(name: str) -> str | None:
        values = query.get(name) or []
        return values[0] if values else None

    if _CHILD_PAGE.match(path):
        try:
            check_scope(level=one("level") or "la", unit=one("unit"))
        except ValueError:
            return  # an address that names no real unit: the page says so in words
    elif _DUE_PAGE.match(path):
        try:
            check_scope(team=one("team"))
        except ValueError:
            return


def _oidc_on() -> bool:
    """Whether this app signs people in itself (OpenID Connect) rather than trusting a proxy's header."""
    return has_app_context() and bool(current_app.config.get("CPIP_OIDC"))


def refused(sentence: str) -> Response:
    # Signed in through the app, the one way on may be to sign in as somebody else.
    link = ("Sign out", signin.SIGNOUT_PATH) if _oidc_on() else None
    return plain_page("Not allowed", sentence, 403, link=link)


def not_signed_in() -> Response:
    return plain_page(
        "Not signed in",
        "You are not signed in. Open the dashboard through the council's sign-on, then try again.",
        401,
    )


def refusal_for(viewer: access.Viewer, *, method: str, path: str, query_string: str, body: object) -> str | None:
    """Why `viewer` may not make this request (a plain sentence), or None when they may.
    Judged from the request alone, before anything of the app runs."""
    query = parse_qs(query_string)
    if path == CALLBACK_PATH and method == "POST":
        need, page, search = callback_request(body)
        if page is not None:
            path, query = page, parse_qs(search.lstrip("?"))
    else:
        path = normal_path(path)
        need = capability_of_path(path)
    if not viewer.may(need):
        return viewer.refusal(need)
    if need == CHILDREN:
        try:
            with access.viewing(viewer):
                _check_child_scope(path, query)
        except AccessDenied as exc:
            return str(exc)
    return None


def _signed_in_name() -> tuple[str | None, Response | None]:
    """Who this request is from: the OpenID Connect session's user (dashboard/signin.py) when sign-in is
    the app's own, else the proxy's header. The second value answers a request that must sign in first."""
    if not _oidc_on():
        return user_from_headers(request.headers), None
    name = signin.signed_in_user()
    if name is None:
        return None, signin.needs_signin()
    signin.act_as_proxy(name)
    return name, None


def _before() -> Response | None:
    if _oidc_on() and request.path in signin.OWN_PATHS:
        return None  # the way in and out is open to everyone
    name, answer = _signed_in_name()
    if answer is not None:
        return answer
    policy = access.policy()
    try:
        viewer = policy.viewer_for(name, local_user=os_user())
    except AccessDenied as exc:
        return refused(str(exc))
    if viewer is None:
        return not_signed_in()
    g.cpip_viewer_token = access.set_viewer(viewer)
    g.cpip_permit_token = authority.permit(viewer.permitted)
    g.cpip_authority_token = authority.enter([chosen_authority(viewer)])
    body = request.get_json(silent=True) if request.method == "POST" and request.path == CALLBACK_PATH else None
    why = refusal_for(
        viewer,
        method=request.method,
        path=request.path,
        query_string=request.query_string.decode("utf-8", "replace"),
        body=body,
    )
    return refused(why) if why else None


def _teardown(_exc: BaseException | None) -> None:
    for name, reset in (
        ("cpip_authority_token", authority.leave),
        ("cpip_permit_token", authority.end_permit),
        ("cpip_viewer_token", access.reset_viewer),
    ):
        token = g.pop(name, None)
        if token is not None:
            try:
                reset(token)
            except ValueError:  # reset from another context: the context itself is gone with the request
                pass


AUTHORITY_COOKIE = "cpip_authority"


def authority_choices(viewer: access.Viewer) -> tuple[str, ...]:
    """The authorities `viewer` may choose from, in the order the access file lists them."""
    permitted = viewer.permitted
    return permitted if permitted is not None else authority.served()


def chosen_authority(viewer: access.Viewer, cookies: Mapping[str, str] | None = None) -> str:
    """The authority of this request (or of the `cookies` a background job was handed):
    the cookie's, when the viewer may see it; else their first."""
    choices = authority_choices(viewer)
    wanted = (request.cookies if cookies is None else cookies).get(AUTHORITY_COOKIE, "")
    return wanted if wanted in choices else choices[0]


@contextmanager
def as_requested() -> Iterator[None]:
    """Inside a background job, the viewer and authority the gate chose for the request that started it.

    A job runs where there is no request: in a Celery worker on any machine (CPIP_REDIS_URL), or in the
    disk cache's process. Dash hands it that request's headers and cookies, copied after the gate ran (so
    with OpenID Connect the user header is the one the gate wrote); the same choice is made from them.
    Within a request (a job run inline) the gate's own choice stands."""
    if has_request_context():
        yield
        return
    from dash import callback_context
    from dash.exceptions import MissingCallbackContextException

    try:
        headers = callback_context.headers or {}
        cookies = callback_context.cookies or {}
    except MissingCallbackContextException:  # called as a plain function (a script, a test): no request to follow
        yield
        return
    viewer = access.policy().viewer_for(user_from_headers(headers), local_user=os_user())
    if viewer is None:
        raise AccessDenied("You are not signed in.")
    tokens = (access.set_viewer(viewer), authority.permit(viewer.permitted))
    entered = authority.enter([chosen_authority(viewer, cookies)])
    try:
        yield
    finally:
        authority.leave(entered)
        authority.end_permit(tokens[1])
        access.reset_viewer(tokens[0])


def in_job(fn: Callable) -> Callable:
    """A background callback runs `as_requested` (put it under `@callback`)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with as_requested():
            return fn(*args, **kwargs)

    return run


def choose_authority(code: str) -> Response:
    """`/authority/<code>?next=/teams`: work on that authority from now on (a cookie), then go back."""
    viewer = access.current_viewer()
    if viewer is None or code not in authority_choices(viewer):
        name = authority.authority(code).name if authority.CODE.match(code) else code
        return refused(f"You have not been given access to {name}. Ask the performance team if you need it.")
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # only ever back into this dashboard
    response = redirect(target, code=303)
    response.set_cookie(AUTHORITY_COOKIE, code, samesite="Lax", httponly=True, secure=request.is_secure)
    return response


def _denied(exc: AccessDenied) -> Response:
    """The query layer refused: the same plain 403 as the gate."""
    return refused(str(exc))


def who_line() -> str:
    """The page header's line saying who is using the dashboard and as what (HTML)."""
    try:
        viewer = access.current_viewer()
    except AccessDenied:
        viewer = None
    if viewer is None:
        return ""
    if viewer.single_user:
        text = (
            f"Single-user mode: you ({viewer.name}) are the analyst. No access file is set (CPIP_ACCESS), "
            "so everyone who can open this address can see child lists and load data."
        )
    else:
        text = f"Signed in as {viewer.describe()}"
    signout = f' <a class="cpip-signout" href="{signin.SIGNOUT_PATH}">Sign out</a>' if _oidc_on() else ""
    # An <aside> (a landmark of its own): every piece of a page sits in one, for screen readers.
    return (
        f'<aside class="cpip-who" id="cpip-who" aria-label="Who is signed in">{html.escape(text)}'
        f"{_authority_links(viewer)}{signout}</aside>"
    )


def _authority_links(viewer: access.Viewer) -> str:
    """With more than one authority to choose from, which one the pages show (the header offers the others)."""
    if len(authority_choices(viewer)) < 2:
        return ""
    return f'<span class="cpip-authorities">. Showing {html.escape(authority.current().name)}.</span>'


def authority_switch() -> list[tuple[str, str]]:
    """(name, address) of each other authority the current viewer may switch to; [] with one to choose from."""
    try:
        viewer = access.current_viewer()
    except AccessDenied:
        return []
    if viewer is None:
        return []
    choices = authority_choices(viewer)
    if len(choices) < 2:
        return []
    current = authority.current_code()
    return [(authority.authority(c).name, f"/authority/{c}?next=/") for c in choices if c != current]


def install(app) -> None:
    """Put the gate in front of every route and callback of a Dash app, and the
    who-line at the top of every page."""
    server: Flask = app.server
    access.require_policy()  # a broken access file stops here with one line
    access.gate_installed()
    server.config["CPIP_OIDC"] = signin.install(server)  # sign-in without a proxy, when its settings are there
    server.before_request_funcs.setdefault(None, []).insert(0, _before)
    server.teardown_request(_teardown)
    server.register_error_handler(AccessDenied, _denied)
    server.register_error_handler(authority.NotPermitted, _denied)
    server.add_url_rule("/authority/<code>", "choose_authority", choose_authority)
    interpolate = app.interpolate_index

    def with_who_line(**parts: str) -> str:
        page = interpolate(**parts)
        return page.replace("<body>", "<body>" + who_line(), 1)

    app.interpolate_index = with_who_line
