"""Browser sessions: the API's own bearer token, carried in a cookie, plus a CSRF token bound to it.

A sign-in at /app/login goes through `app.auth.service.login` (lockout, audit, token row), so a browser
session *is* an `AuthToken`: the same idle timeout, absolute lifetime, revocation on sign-out or
deactivation. Only the carrier differs: the raw token sits in a `__Host-` cookie that is Secure (Chromium,
like every current browser, treats http://127.0.0.1 and http://localhost as secure contexts, so the flag
is always set), HttpOnly (page script never sees it) and SameSite=Strict (no other site's page, link or
form ever makes the browser send it).

The CSRF token is HMAC(server key, token id): bound to one session, unforgeable without the server's key,
and it changes at every sign-in. Forms send it as the `csrf_token` field, page script as `X-CSRF-Token`.
Before sign-in there is no session to bind to, so the login form uses a double-submit nonce cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import State

from app.auth import tokens
from app.auth.permissions import ROLE_PERMISSIONS
from app.kit.actor import Actor
from app.kit.errors import CsrfRefused, NotAuthenticated
from app.models.user import AuthToken

SESSION_COOKIE = "__Host-imschart_session"
LOGIN_COOKIE = "__Host-imschart_login"  # the login form's double-submit nonce
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class BrowserSession:
    """Plain values (no ORM object): error pages render them after the request's transaction has ended."""

    actor: Actor
    name: str
    email: str
    csrf_token: str


def csrf_for(key: bytes, token_id: uuid.UUID) -> str:
    return hmac.new(key, b"imschart-csrf-v1:" + token_id.bytes, hashlib.sha256).hexdigest()


def login_csrf_for(key: bytes, nonce: str) -> str:
    return hmac.new(key, b"imschart-login-csrf-v1:" + nonce.encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def resolve(request: Request, session: Session) -> BrowserSession:
    """The signed-in user behind the session cookie, or NotAuthenticated (absent, expired, revoked, ...)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise NotAuthenticated("Sign in to continue")
    state = request.app.state
    user, token = tokens.resolve(session, state.token_key, state.settings, raw)
    actor = Actor(id=user.id, type="user", role=user.role, label=user.email,
                  permissions=ROLE_PERMISSIONS.get(user.role, frozenset()), token_id=token.id)
    return BrowserSession(actor=actor, name=user.full_name, email=user.email,
                          csrf_token=csrf_for(state.token_key, token.id))


def csrf_of_raw(session: Session, key: bytes, raw: str) -> str | None:
    """The CSRF token of the session a raw token opens (None when there is no such token)."""
    if not raw.startswith(tokens.TOKEN_PREFIX) or len(raw) > 100:
        return None
    token_id = session.scalar(select(AuthToken.id).where(AuthToken.token_hash == tokens.hash_token(key, raw)))
    return csrf_for(key, token_id) if token_id else None


def principal_of_cookie(state: State, session: Session, cookie_header: str, csrf: str) -> uuid.UUID | None:
    """The user of a live browser session named in a Cookie header, if `csrf` is that session's token."""
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    if morsel is None:
        return None
    try:
        user, token = tokens.resolve(session, state.token_key, state.settings, morsel.value)
    except NotAuthenticated:
        return None
    return user.id if same(csrf, csrf_for(state.token_key, token.id)) else None


def set_session_cookie(response: Response, raw_token: str) -> None:
    # No Max-Age: the cookie ends with the browser; the server ends the session sooner (idle, lifetime).
    response.set_cookie(SESSION_COOKIE, raw_token, path="/", secure=True, httponly=True, samesite="strict")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def login_nonce(request: Request) -> tuple[str, str | None]:
    """The login form's token, and a new nonce to set in the login cookie when the browser has none."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    fresh = None
    if not nonce or len(nonce) > 64:
        nonce = fresh = secrets.token_urlsafe(24)
    return login_csrf_for(request.app.state.token_key, nonce), fresh


def set_login_cookie(response: Response, nonce: str | None) -> None:
    if nonce is not None:
        response.set_cookie(LOGIN_COOKIE, nonce, path="/", secure=True, httponly=True, samesite="strict")


def login_csrf_ok(request: Request, sent: str | None) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE)
    return bool(nonce) and same(sent, login_csrf_for(request.app.state.token_key, nonce or ""))


def api_actor_from_cookie(request: Request, session: Session) -> BrowserSession | None:
    """For the REST API: the cookie speaks for its user only with the session's CSRF header beside it.

    Page script then calls the API's own routes (same validation, If-Match, audit — no second copy), while a
    cross-site request, which can neither read the token nor set a custom header without a CORS preflight
    (the API answers none), gets no further than a request without credentials.
    """
    sent = request.headers.get(CSRF_HEADER)
    if not sent or SESSION_COOKIE not in request.cookies:
        return None
    found = resolve(request, session)
    if not same(sent, found.csrf_token):
        raise CsrfRefused("The X-CSRF-Token header does not belong to this session; reload the page")
    return found
