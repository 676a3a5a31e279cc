"""What every page route depends on: the signed-in browser session, and the CSRF check for writes.

A page GET without a live session redirects to the sign-in form with `next=`; a fetch from page script
(it asks for JSON, or sends X-CSRF-Token) gets a 401 problem instead, so the page can re-authenticate in
a dialog and keep what was typed. Every POST/PUT/PATCH/DELETE must carry the session's CSRF token (form
field `csrf_token` or header `X-CSRF-Token`); without it the request is refused with 403 before the
handler runs, so nothing is written.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import browser
from app.auth.browser import BrowserSession
from app.db import SessionDep
from app.kit.errors import CsrfRefused, NotAuthenticated, SignInRequired

SAFE_METHODS = ("GET", "HEAD")


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return browser.CSRF_HEADER.lower() in request.headers or (
        "application/json" in accept and "text/html" not in accept)


def login_url(next_path: str | None = None) -> str:
    return "/app/login" + (f"?next={quote(next_path, safe='/')}" if next_path else "")


def safe_next(value: str | None) -> str:
    """Only a path of our own pages: never another host (`//evil`, `/\\evil`, `https://...`)."""
    if not value or not value.startswith("/app") or value.startswith("/app/login") or "\\" in value \
            or "//" in value or any(ord(c) < 32 for c in value):
        return "/app"
    return value


async def page_session(request: Request, session: SessionDep) -> BrowserSession:
    try:
        found = browser.resolve(request, session)
    except NotAuthenticated as exc:
        raise SignInRequired(exc.detail) from exc
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(browser.CSRF_HEADER)
        if sent is None and "form" in request.headers.get("content-type", ""):
            value = (await request.form()).get(browser.CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not browser.same(sent, found.csrf_token):
            raise CsrfRefused("This form is missing its security token or it belongs to another session; "
                              "reload the page and try again. Nothing was saved.")
    request.state.actor = found.actor
    request.state.page = found  # error pages show who is signed in
    return found


PageSession = Annotated[BrowserSession, Depends(page_session)]


def sign_in_redirect(request: Request) -> Response:
    """The answer to SignInRequired for a page: 303 to the login form, back here afterwards (a form POST
    that lost its session goes back to Today: its body cannot be replayed by a redirect)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = here if request.method in SAFE_METHODS else "/app"
    response = RedirectResponse(login_url(safe_next(target)), status_code=303)
    browser.clear_session_cookie(response)
    return response
