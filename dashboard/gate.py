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
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlsplit

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
            if one("level") and one("level") != "team" and not one("team"):
                check_scope(level=one("level") or "la", unit=one("unit"))  # a service's or area's due list
            else:
                check_scope(team=one("team") or one("unit"))
        except ValueError:
            return


def _oidc_on() -> bool:
    """Whether this app signs people in itself (OpenID Connect) rather than trusting a proxy's header."""
    return has_app_context() and bool(current_app.config.get("CPIP_OIDC"))


def refused(sentence: str) -> Response:
    # Signed in through the app, the one way on may be to sign in as somebody else.
    link = ("Sign out", signin.SIGNOUT_PATH) if _oidc_on() else None
    return plain_page("Not allowed", sentence, 403, link=link)


def bad_request(sentence: str) -> Response:
    return plain_page("Not understood", sentence, 400)


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


# --- the callback Dash will run --------------------------------------------------------------

MALFORMED_CALLBACK = (
    "This request does not match any part of the dashboard (its inputs are not the ones the page sends). "
    "Reload the page and try again."
)


def _spec_entries(outputs: object) -> list[dict]:
    """A registered callback's outputs as [{"id": ..., "property": ...}] (ids as Dash spells them)."""
    items = outputs if isinstance(outputs, list | tuple) else [outputs]
    return [{"id": o.component_id_str(), "property": o.component_property} for o in items]


def _id_fits(pattern: dict, sent: object) -> bool:
    """A pattern-matching id (wildcards as ["ALL"], ["MATCH"], ["ALLSMALLER"]) against a sent id."""
    if not isinstance(sent, dict) or set(sent) != set(pattern):
        return False
    return all(isinstance(want, list) or sent[key] == want for key, want in pattern.items())


def _sent_fits(spec: dict, sent: object) -> bool:
    """Whether one sent input, state or output is the registered one: same id, same property."""
    spec_id, prop = spec["id"], spec["property"]

    def same_property(item: dict) -> bool:  # an output that may be shared is sent as `children@<hash>`
        return isinstance(item.get("property"), str) and item["property"].split("@")[0] == prop

    if spec_id.startswith("{"):  # a pattern-matching id: one item, or a list of them for ALL
        pattern = json.loads(spec_id)
        items = sent if isinstance(sent, list) else [sent]
        return all(isinstance(i, dict) and same_property(i) and _id_fits(pattern, i.get("id")) for i in items)
    return isinstance(sent, dict) and sent.get("id") == spec_id and same_property(sent)


def _all_fit(specs: list[dict], sent: object) -> bool:
    return isinstance(sent, list) and len(sent) == len(specs) and all(map(_sent_fits, specs, sent))


def callback_mismatch(body: object, callback_map: dict) -> str | None:
    """Why a callback POST is not the callback Dash will run (a sentence), or None when it is.
    Dash picks the function by `output` and hands it the inputs by position, so the gate's
    reading of the inputs by id and property holds only when they are exactly the registered ones."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return MALFORMED_CALLBACK
    registered = callback_map.get(body["output"])
    if registered is None:
        return MALFORMED_CALLBACK
    if not _all_fit(registered["inputs"], body.get("inputs")) or not _all_fit(
        registered["state"], body.get("state", [])
    ):
        return MALFORMED_CALLBACK
    if not registered.get("no_output"):
        outputs = registered.get("output")
        specs = _spec_entries(outputs)
        sent = body.get("outputs")
        if not isinstance(outputs, list | tuple):
            sent = [sent]  # a single output is sent bare
        if not _all_fit(specs, sent):
            return MALFORMED_CALLBACK
    return None


class MalformedRequest(ValueError):
    """A callback's or download's parameters are not of the shape the page sends: 400 and the sentence."""


def callback_params(params: object, *keys: str) -> dict:
    """A page's stored parameters (a dcc.Store's data) as a dict whose `keys` are text (or None),
    else MalformedRequest: a hand-made POST gets 400 and a sentence, never a 500."""
    if not isinstance(params, dict) or any(k not in params for k in keys):
        raise MalformedRequest(MALFORMED_CALLBACK)
    if any(params[k] is not None and not isinstance(params[k], str) for k in keys):
        raise MalformedRequest(MALFORMED_CALLBACK)
    return params


# --- what every response carries ----------------------------------------------------------------


# Dash 4 puts its config in a JSON <script> tag and loads its scripts from /_dash-component-suites;
# its inline scripts (the renderer's start, the clientside callbacks) are allowed by their hashes
# (Dash's own `csp_hashes`). plotly.js builds functions at run time ('unsafe-eval'), and Dash's
# components set style attributes ('unsafe-inline' for styles). Frames only from this dashboard.
def content_security_policy(script_hashes: list[str]) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'unsafe-eval' " + " ".join(script_hashes),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        )
    )


def security_headers(script_hashes: list[str]) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(script_hashes),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "SAMEORIGIN",
    }


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


_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f\\]")  # controls, space, backslash


def inside_app(target: str) -> str:
    """`target` when it is a path inside this dashboard, else "/". Browsers drop tabs and line
    breaks from an address and read a backslash as a slash, so `/<tab>/x.example` or `/<backslash>x.example`
    would leave the site: any of those, a scheme, a host or a leading `//` gives "/"."""
    if _UNSAFE_IN_PATH.search(target) or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


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
    response = redirect(inside_app(request.args.get("next", "/")), code=303)
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
    server.register_error_handler(MalformedRequest, lambda exc: bad_request(str(exc)))
    server.register_error_handler(authority.NotPermitted, _denied)
    server.add_url_rule("/authority/<code>", "choose_authority", choose_authority)

    @server.after_request
    def _security_headers(response: Response) -> Response:
        # Worked out per response: the page router adds a clientside callback on the first request.
        for name, value in security_headers(app.csp_hashes()).items():
            response.headers.setdefault(name, value)
        return response

    def _callback_is_registered() -> Response | None:
        # After Dash's own hooks (its page router registers itself on the first request), so the
        # callback map is complete: a POST must be exactly a registered callback, or it is refused.
        if request.method != "POST" or request.path != CALLBACK_PATH:
            return None
        why = callback_mismatch(request.get_json(silent=True), app.callback_map)
        return bad_request(why) if why else None

    server.before_request(_callback_is_registered)
    interpolate = app.interpolate_index

    def with_who_line(**parts: str) -> str:
        page = interpolate(**parts)
        return page.replace("<body>", "<body>" + who_line(), 1)

    app.interpolate_index = with_who_line
