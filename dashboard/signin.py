"""Sign-in without a proxy: OpenID Connect (Microsoft Entra ID or any other provider), with Authlib.

CPIP_OIDC_ISSUER, CPIP_OIDC_CLIENT_ID and CPIP_OIDC_CLIENT_SECRET turn it on
(all three, or the app refuses to start). Then:

- a person who is not signed in is sent to `/signin`, which sends them to the
  provider; the provider sends them back to `/signin/callback`, and the claim
  CPIP_OIDC_USERNAME_CLAIM (`preferred_username` unless set) of their ID token
  is their user name: the name the access file (CPIP_ACCESS) lists;
- the name is kept in a session cookie (`cpip_session`), signed with
  CPIP_SECRET_KEY (else a key derived from the client secret, which every web
  server has anyway), HttpOnly, SameSite=Lax and Secure when the dashboard is
  reached over HTTPS; it ends CPIP_SESSION_HOURS (8) after sign-in;
- `/signout` ends the session here (not at the provider: the council's other
  services stay signed in).

The gate (dashboard/gate.py) asks `signed_in_user()` instead of reading the
proxy's header, and then puts the name in that header's place itself, so the
load log, the who-line and a background job's copy of the headers all read
the one name the provider vouched for; whatever header the browser sent is
overwritten. Without these settings, header mode stays (dashboard/identity.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from flask import Flask, Request, Response, redirect, request, session
from flask.sessions import SecureCookieSessionInterface

from dashboard.answers import plain_page, wants_html
from dashboard.identity import clean_name, user_header

log = logging.getLogger(__name__)

SIGNIN_PATH = "/signin"
CALLBACK_PATH = "/signin/callback"
SIGNOUT_PATH = "/signout"
OWN_PATHS = frozenset({SIGNIN_PATH, CALLBACK_PATH, SIGNOUT_PATH})
SESSION_COOKIE = "cpip_session"
DEFAULT_CLAIM = "preferred_username"
DEFAULT_SESSION_HOURS = 8.0
_USER = "cpip_user"  # the session's key for the signed-in name
_SETTINGS = ("CPIP_OIDC_ISSUER", "CPIP_OIDC_CLIENT_ID", "CPIP_OIDC_CLIENT_SECRET")


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    claim: str
    session_hours: float
    public_url: str | None  # the address people use (behind a load balancer), for the callback

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def settings() -> Settings | None:
    """The OpenID Connect settings, or None when sign-in is the proxy's (header mode).
    Raises SystemExit with one line when only some of the three are set."""
    values = {name: os.environ.get(name, "").strip() for name in _SETTINGS}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise SystemExit(f"OpenID Connect sign-in needs {', '.join(_SETTINGS)}; {', '.join(missing)} is not set")
    try:
        hours = float(os.environ.get("CPIP_SESSION_HOURS") or DEFAULT_SESSION_HOURS)
    except ValueError:
        raise SystemExit("CPIP_SESSION_HOURS is not a number of hours (8 unless set)") from None
    if hours <= 0:
        raise SystemExit("CPIP_SESSION_HOURS must be more than 0")
    return Settings(
        issuer=values["CPIP_OIDC_ISSUER"],
        client_id=values["CPIP_OIDC_CLIENT_ID"],
        client_secret=values["CPIP_OIDC_CLIENT_SECRET"],
        claim=os.environ.get("CPIP_OIDC_USERNAME_CLAIM", "").strip() or DEFAULT_CLAIM,
        session_hours=hours,
        public_url=os.environ.get("CPIP_PUBLIC_URL", "").strip().rstrip("/") or None,
    )


def enabled() -> bool:
    return settings() is not None


def secret_key(config: Settings) -> str:
    """The key session cookies are signed with: the same on every web server, so any of them reads any session."""
    explicit = os.environ.get("CPIP_SECRET_KEY", "").strip()
    if explicit:
        return explicit
    return hashlib.sha256(b"cpip-session:" + config.client_secret.encode("utf-8")).hexdigest()


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or _is_https(request)


def _is_https(req: Request) -> bool:
    public = os.environ.get("CPIP_PUBLIC_URL", "")
    return req.is_secure or urlsplit(public).scheme == "https"


def signed_in_user() -> str | None:
    """The name of the person signed in on this request's session, or None (never signed in, signed out,
    or the session is older than CPIP_SESSION_HOURS: Flask refuses a cookie signed longer ago)."""
    name = session.get(_USER)
    return name if isinstance(name, str) and name else None


def act_as_proxy(name: str) -> None:
    """Put the signed-in name where the proxy would: the user header, replacing whatever the browser sent."""
    key = "HTTP_" + user_header().upper().replace("-", "_")
    request.environ[key] = name


def needs_signin() -> Response:
    """A request without a session: a page is sent to sign in (and back); anything else is told to reload."""
    if wants_html():
        target = request.full_path if request.query_string else request.path
        return redirect(f"{SIGNIN_PATH}?next={quote(_safe_next(target), safe='/')}", code=302)
    return plain_page(
        "Not signed in",
        "You are not signed in, or your session has ended. Reload the page to sign in again.",
        401,
        link=("Sign in", SIGNIN_PATH),
    )


def _safe_next(target: str | None) -> str:
    """Only ever back into this dashboard (never `//elsewhere` or an absolute address)."""
    if not target or not target.startswith("/") or target.startswith("//") or target.startswith(SIGNIN_PATH):
        return "/"
    return target


def _client():
    from flask import current_app

    return current_app.extensions["cpip_oidc"]


def _signin() -> Response:
    config = settings()
    assert config is not None  # the routes exist only when it is on
    session["cpip_next"] = _safe_next(request.args.get("next"))
    callback = (
        (config.public_url + CALLBACK_PATH) if config.public_url else request.host_url.rstrip("/") + CALLBACK_PATH
    )
    try:
        return _client().authorize_redirect(callback)
    except Exception as exc:  # the provider is unreachable or says something we cannot read
        log.warning("sign-in could not start: %s: %s", exc.__class__.__name__, exc)
        return plain_page(
            "Sign-in is not available",
            "The council's sign-on service did not answer. Try again in a few minutes; "
            "if it goes on, tell the performance team.",
            502,
            link=("Try again", SIGNIN_PATH),
        )


def _callback() -> Response:
    config = settings()
    assert config is not None
    try:
        token = _client().authorize_access_token()
    except Exception as exc:  # denied at the provider, a stale or forged state, or the provider failed
        log.warning("sign-in did not complete: %s: %s", exc.__class__.__name__, exc)
        return plain_page(
            "Not signed in",
            "Sign-in did not complete, so you are not signed in. Try again.",
            401,
            link=("Sign in", SIGNIN_PATH),
        )
    claims = token.get("userinfo") or {}
    name = clean_name(str(claims.get(config.claim) or ""))
    if not name:
        log.warning("sign-in: the ID token has no %s claim", config.claim)
        return plain_page(
            "Not signed in",
            f"The council's sign-on did not say who you are (no {config.claim}). Tell the performance team.",
            401,
        )
    target = _safe_next(session.pop("cpip_next", "/"))
    session.clear()  # a new session for a new sign-in: nothing carried over from before
    session.permanent = True
    session[_USER] = name
    log.info("signed in: %s", name)
    return redirect(target, code=303)


def _signout() -> Response:
    name = signed_in_user()
    session.clear()
    if name:
        log.info("signed out: %s", name)
    return plain_page(
        "Signed out",
        "You have signed out of the dashboard.",
        200,
        link=("Sign in again", SIGNIN_PATH),
    )


def install(server: Flask) -> bool:
    """Turn on OpenID Connect sign-in on the Flask server when its settings are there; True when it is on."""
    config = settings()
    if config is None:
        return False
    from authlib.integrations.flask_client import OAuth

    server.secret_key = secret_key(config)  # Dash signs its background-job handles with it too: same on every server
    server.session_interface = _SessionInterface()
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # a session ends a fixed time after sign-in, however busy
    )
    oauth = OAuth(server)
    server.extensions["cpip_oidc"] = oauth.register(
        "cpip",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.metadata_url,
        client_kwargs={"scope": "openid profile email"},
    )
    server.add_url_rule(SIGNIN_PATH, "cpip_signin", _signin)
    server.add_url_rule(CALLBACK_PATH, "cpip_signin_callback", _callback)
    server.add_url_rule(SIGNOUT_PATH, "cpip_signout", _signout, methods=["GET", "POST"])
    return True
