"""Sign-in, sign-out and the session probe for page script. Sign-in is `app.auth.service.login` itself:
the same lockout, the same audit rows, the same token with its idle timeout and lifetime."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.auth import browser
from app.auth import service as auth
from app.auth.passwords import MAX_PASSWORD_LENGTH
from app.db import SessionDep
from app.kit.errors import NotAuthenticated, TooManyRequests
from app.web.deps import PageSession, safe_next, wants_json
from app.web.templates import render

router = APIRouter(prefix="/app", include_in_schema=False)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _insecure_origin(request: Request) -> bool:
    """Secure cookies are kept only over https or on the machine itself (a browser's secure contexts)."""
    return request.url.scheme != "https" and (request.url.hostname or "") not in LOOPBACK_HOSTS


def _form(request: Request, next_path: str | None, *, status_code: int = 200, error: str | None = None,
          email: str = "") -> Response:
    token, fresh = browser.login_nonce(request)
    response = render(request, "login.html", status_code=status_code, next=safe_next(next_path), error=error,
                      email=email, login_csrf=token, insecure=_insecure_origin(request), page=None)
    browser.set_login_cookie(response, fresh)
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if wants_json(request):  # the re-authentication dialog asks for a fresh form token
        token, fresh = browser.login_nonce(request)
        response = JSONResponse({"login_csrf": token})
        browser.set_login_cookie(response, fresh)
        return response
    return _form(request, next)


@router.post("/login")
def login(request: Request, session: SessionDep,
          email: Annotated[str, Form(max_length=320)] = "",
          password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)] = "",
          csrf_token: Annotated[str, Form(max_length=128)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/app") -> Response:
    as_json = wants_json(request)
    if not browser.login_csrf_ok(request, csrf_token):  # checked before the password: nothing counted or written
        message = "The sign-in form expired; please try again."
        if as_json:
            return JSONResponse({"title": "Missing or wrong CSRF token", "status": 403, "detail": message},
                                status_code=403, media_type="application/problem+json")
        return _form(request, next, status_code=403, error=message, email=email)
    state = request.app.state
    try:
        issued = auth.login(session, state.settings, state.token_key, email, password)
    except (NotAuthenticated, TooManyRequests) as exc:
        status = 429 if isinstance(exc, TooManyRequests) else 401
        if as_json:
            return JSONResponse({"title": exc.title, "status": status, "detail": exc.detail}, status_code=status,
                                media_type="application/problem+json", headers=exc.headers)
        response = _form(request, next, status_code=status, error=exc.detail, email=email)
        response.headers.update(exc.headers if status == 429 else {})
        return response
    csrf = browser.csrf_of_raw(session, state.token_key, issued.access_token)
    response = (JSONResponse({"csrf_token": csrf}) if as_json
                else RedirectResponse(safe_next(next), status_code=303))
    browser.set_session_cookie(response, issued.access_token)
    browser.set_login_cookie(response, None)
    response.delete_cookie(browser.LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(session: SessionDep, page: PageSession) -> Response:
    auth.logout(session, page.actor)  # revokes the token (the cookie is dead everywhere) and audits
    response = RedirectResponse("/app/login", status_code=303)
    browser.clear_session_cookie(response)
    return response


@router.get("/session")
def session_probe(page: PageSession) -> JSONResponse:
    """Who is signed in and the session's CSRF token, for page script (same origin only: no CORS)."""
    return JSONResponse({"email": page.email, "name": page.name, "role": page.actor.role,
                         "csrf_token": page.csrf_token})
