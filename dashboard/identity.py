"""Who is using the dashboard, for the load log.

Behind the council's single sign-on proxy the server knows the signed-in
person from a header the proxy sets (`X-Remote-User` unless CPIP_USER_HEADER
names another). Without it (a laptop, a test) the operating-system user that
runs the app is recorded instead. The header is only trusted because the
proxy strips it from incoming requests; on a bare server anyone could send it.
With an access file (CPIP_ACCESS) the name also decides what the person may see
(dashboard/gate.py), so never expose the app without the proxy in front.

With OpenID Connect sign-in (CPIP_OIDC_*, dashboard/signin.py) there is no
proxy: the gate reads the signed-in name from the session and writes it into
this same header itself, over anything the browser sent, so everything here
reads the one trusted name either way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from etl.privacy.access import os_user

DEFAULT_USER_HEADER = "X-Remote-User"
# Printable, short and without control characters: a header value ends up in
# the load log, in CSV exports and on screen.
_UNSAFE = re.compile(r"[^\w .@'\\-]")
_MAX_LENGTH = 120


def user_header() -> str:
    """The header the sign-on proxy puts the user name in (env CPIP_USER_HEADER)."""
    return os.environ.get("CPIP_USER_HEADER", "").strip() or DEFAULT_USER_HEADER


def clean_name(value: str) -> str:
    """A user name safe to store and show: unexpected characters dropped, length capped."""
    return _UNSAFE.sub("", value).strip()[:_MAX_LENGTH]


def user_from_headers(headers: Mapping[str, str] | None) -> str | None:
    """The signed-in user named by the proxy's header, or None when there is none."""
    if not headers:
        return None
    wanted = user_header().lower()
    # Header names are case-insensitive; a plain dict (Dash's copy of the
    # request headers in a background callback) is not.
    name = next((value for key, value in headers.items() if str(key).lower() == wanted), None)
    if name is None:
        return None
    cleaned = clean_name(str(name))
    return cleaned or None


def current_user(headers: Mapping[str, str] | None = None) -> str:
    """The person behind this request: the sign-on header if present, else the OS user.

    Without `headers`, the current request's headers are used: Flask's inside
    an ordinary callback, or the copy Dash hands a background callback (which
    runs in another process, with no request), so callbacks can simply call
    `current_user()`.
    """
    if headers is None:
        headers = _request_headers()
    return user_from_headers(headers) or os_user()


def _request_headers() -> Mapping[str, str] | None:
    try:
        from flask import has_request_context, request

        if has_request_context():
            return request.headers
        from dash import callback_context
        from dash.exceptions import MissingCallbackContextException

        try:
            return callback_context.headers or None
        except MissingCallbackContextException:  # outside any callback: a script or the scheduler
            return None
    except ImportError:  # the ETL side may run without Dash
        return None
