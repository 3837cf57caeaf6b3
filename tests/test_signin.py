"""Sign-in without a proxy: OpenID Connect against a local provider the tests start.

The provider is `oidc-provider-mock` (PyPI): its authorisation form takes a
subject (`sub`) and an "Authorize" button; the claims each subject's ID token
carries are set beforehand through its PUT /users/<sub>. The app runs with
CPIP_OIDC_* pointing at it and an access file whose default role is "none",
and is driven over HTTP the way a browser would: redirects followed, cookies
kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from kpi_helpers import new_warehouse
from servers import free_port, running_app

pytestmark = pytest.mark.slow

ACCESS = """
default_role: none
users:
  p.analyst: {role: analyst}
  j.smith: {role: team_manager, teams: [Team C]}
"""
# Subjects are opaque ids, as Entra ID's are; the user name is the preferred_username claim.
PEOPLE = {
    "0a1b-analyst": {"preferred_username": "p.analyst", "email": "p.analyst@example.org"},
    "7c8d-manager": {"preferred_username": "j.smith", "email": "j.smith@example.org"},
    "9e9f-stranger": {"preferred_username": "stranger", "email": "stranger@example.org"},
}
CLIENT = {"CPIP_OIDC_CLIENT_ID": "cpip-dashboard", "CPIP_OIDC_CLIENT_SECRET": "not-so-secret"}
CALLBACK = "/_dash-update-component"


@contextmanager
def provider(log_path: Path) -> Iterator[str]:
    """oidc-provider-mock on a free loopback port, its subjects' claims set; yields its issuer URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--host", "127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(url + "/.well-known/openid-configuration", timeout=5):
                        break
                except (urllib.error.URLError, OSError):
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the provider did not start:\n{log_path.read_text()[-2000:]}") from None
                    time.sleep(0.2)
            for sub, claims in PEOPLE.items():
                requests.put(f"{url}/users/{sub}", json=claims, timeout=10).raise_for_status()
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Iterator[str]:
    with provider(tmp_path_factory.mktemp("oidc") / "provider.log") as url:
        yield url


@contextmanager
def app_signing_in(folder: Path, issuer: str, **env: str) -> Iterator[str]:
    folder.mkdir(parents=True, exist_ok=True)
    db = new_warehouse(folder)
    access_file = folder / "access.yml"
    access_file.write_text(ACCESS, encoding="utf-8")
    settings = {
        "CPIP_ACCESS": str(access_file),
        "CPIP_OIDC_ISSUER": issuer,
        "CPIP_CACHE_DIR": str(folder / "cache"),
        "CPIP_STATE_DIR": str(folder / "state"),
        **CLIENT,
        **env,
    }
    with running_app(db, folder / "app.log", env=settings, ready_path="/signout") as url:
        yield url


@pytest.fixture(scope="module")
def app_url(issuer: str, tmp_path_factory) -> Iterator[str]:
    with app_signing_in(tmp_path_factory.mktemp("app"), issuer) as url:
        yield url


def sign_in(app_url: str, sub: str, *, path: str = "/") -> tuple[requests.Session, requests.Response]:
    """Open `path` in a new browser, sign in at the provider as `sub` (the Authorize button), land back."""
    browser = requests.Session()
    form = browser.get(app_url + path, timeout=30)
    assert "Authorize" in form.text, form.text[:500]  # sent to the provider's form
    landed = browser.post(form.url, data={"sub": sub}, timeout=30)
    return browser, landed


def callback_post(browser: requests.Session, app_url: str, **headers: str) -> requests.Response:
    """The scorecard's page router callback, as the browser makes it."""
    body = {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": "/"},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
    }
    return browser.post(
        app_url + CALLBACK, data=json.dumps(body), headers={"Content-Type": "application/json", **headers}
    )


def test_signing_in_names_the_person_from_their_claim_and_keeps_them_signed_in(app_url: str) -> None:
    browser, landed = sign_in(app_url, "0a1b-analyst", path="/data")
    assert landed.status_code == 200
    assert landed.url == app_url + "/data"  # back where they were going
    # The claim, not the opaque subject, is the name the access file lists.
    assert "Signed in as p.analyst, analyst" in landed.text
    assert "0a1b-analyst" not in landed.text
    assert 'href="/signout"' in landed.text
    # The session cookie the sign-in set: signed, HttpOnly, SameSite=Lax; not Secure over plain HTTP.
    set_cookie = next(
        r.headers["Set-Cookie"] for r in landed.history if "cpip_session=" in r.headers.get("Set-Cookie", "")
    )
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Secure" not in set_cookie
    # Further pages and callbacks ride on the session, with no header from anyone.
    assert "Signed in as p.analyst" in browser.get(app_url + "/", timeout=30).text
    assert callback_post(browser, app_url).status_code == 200
    # A team manager signs in as themselves, and is refused the data page like in header mode.
    manager, landed = sign_in(app_url, "7c8d-manager")
    assert "Signed in as j.smith, team manager (Team C)" in landed.text
    assert manager.get(app_url + "/data", timeout=30).status_code == 403


def test_a_forged_session_or_header_signs_nobody_in(app_url: str) -> None:
    # Without the app's own sign-in, the proxy's header would name the user: here it counts for nothing.
    browser = requests.Session()
    answer = browser.get(app_url + "/data", headers={"X-Remote-User": "p.analyst"}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"] == "/signin?next=/data"
    browser.cookies.set("cpip_session", "eyJjcGlwX3VzZXIiOiJwLmFuYWx5c3QifQ.forged.signature")
    refused = callback_post(browser, app_url, **{"X-Remote-User": "p.analyst"})
    assert refused.status_code == 401
    assert "Reload the page to sign in again" in refused.text


def test_signing_out_ends_the_session(app_url: str) -> None:
    browser, landed = sign_in(app_url, "0a1b-analyst")
    assert "Signed in as p.analyst" in landed.text
    out = browser.get(app_url + "/signout", timeout=30)
    assert out.status_code == 200 and "You have signed out of the dashboard" in out.text
    # The next page sends them to sign in again; a callback from a page left open is told so.
    again = browser.get(app_url + "/", timeout=30, allow_redirects=False)
    assert again.status_code == 302 and again.headers["Location"].startswith("/signin")
    assert callback_post(browser, app_url).status_code == 401


def test_a_person_the_access_file_does_not_name_is_refused_in_words(app_url: str) -> None:
    _browser, landed = sign_in(app_url, "9e9f-stranger")
    assert landed.status_code == 403
    assert "You are signed in as stranger, but you have not been given access to this dashboard" in landed.text
    assert 'href="/signout"' in landed.text  # the way out: sign in as somebody else
    assert "Traceback" not in landed.text


def test_a_session_ends_when_its_hours_are_up(issuer: str, tmp_path: Path) -> None:
    # 0.001 hours is 3.6 seconds: Flask refuses a session cookie signed longer ago than that.
    with app_signing_in(tmp_path / "short", issuer, CPIP_SESSION_HOURS="0.001") as url:
        browser, landed = sign_in(url, "0a1b-analyst")
        assert "Signed in as p.analyst" in landed.text
        time.sleep(5)
        # The cookie is still sent (as a browser whose clock disagrees would), but the app no longer honours it.
        expired = callback_post(browser, url)
        assert expired.status_code == 401 and "your session has ended" in expired.text
        page = browser.get(url + "/", timeout=30, allow_redirects=False)
        assert page.status_code == 302 and page.headers["Location"].startswith("/signin")


def test_the_session_cookie_is_secure_over_https_and_half_the_settings_stop_the_app(monkeypatch) -> None:
    from flask import Flask

    from dashboard import signin

    monkeypatch.setenv("CPIP_OIDC_ISSUER", "https://login.example.org/tenant/v2.0")
    monkeypatch.setenv("CPIP_OIDC_CLIENT_ID", "cpip")
    monkeypatch.setenv("CPIP_OIDC_CLIENT_SECRET", "s3cret")
    server = Flask(__name__)
    assert signin.install(server)
    with server.test_request_context("/", base_url="https://cpip.council.example"):
        assert server.session_interface.get_cookie_secure(server) is True
    with server.test_request_context("/", base_url="http://127.0.0.1:8050"):
        assert server.session_interface.get_cookie_secure(server) is False
    assert server.config["SESSION_COOKIE_HTTPONLY"] and server.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    # Two servers with the same client secret sign sessions alike; CPIP_SECRET_KEY overrides it.
    other = Flask("other")
    signin.install(other)
    assert other.secret_key == server.secret_key
    monkeypatch.setenv("CPIP_SECRET_KEY", "council-wide key")
    assert signin.secret_key(signin.settings()) == "council-wide key"
    # A client id without its secret is a mistake said in one line at start-up, not a half-working sign-in.
    monkeypatch.delenv("CPIP_OIDC_CLIENT_SECRET")
    with pytest.raises(SystemExit, match="CPIP_OIDC_CLIENT_SECRET is not set"):
        signin.settings()
