"""The edge of every response: errors that escape everything else, and the headers every answer carries.

`ErrorBoundaryMiddleware` sits just inside the request-context middleware, so an error raised by a
middleware (the idempotency claim while the database is down) or one that escaped the exception
handlers still gets the house answer — a 503 with Retry-After for an outage, a 409 for a lost race,
otherwise a 500 — with the request id in the body and `X-Request-ID`, and is logged once without its
message (no SQL parameters, no note text). Nothing is re-raised, so the server adds no traceback of
its own.

`SecurityHeadersMiddleware` is outermost: every response, errors included, says nosniff, no referrer,
no framing; API responses are `Cache-Control: no-store` (they carry patient data, and a shared cache
or the browser's disk must not keep them) unless a route chose its own caching; the docs page and SVG
images get a Content-Security-Policy (the /app pages one that allows only our own script and styles);
HSTS is sent when the request came over https.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit import db_faults
from app.kit.errors import database_problem, internal_error

log = logging.getLogger("imschart")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# API answers are data, never a page: nothing may run, load or frame them.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# The docs page runs Swagger UI from our own origin (no CDN); it may fetch /openapi.json from us.
DOCS_CSP = (b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            b"img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
            b"base-uri 'none'; form-action 'none'")
# The charting pages (/app) run only our own script and styles, and talk only to us.
APP_CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
           b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
APP_PATHS = ("/app/",)
# An SVG opened directly is a document that could run script: it may only draw.
SVG_CSP = b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
HSTS = b"max-age=31536000; includeSubDomains"
DOCS_PATHS = ("/docs", "/redoc")


class ErrorBoundaryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            what = f"{scope.get('method')} {scope.get('path')}"
            if started:  # too late for an error answer: the connection just ends
                db_faults.log_unexpected(log, exc, what + " (after the response started)")
                return
            response = database_problem(exc, what) if _is_database(exc) else internal_error(exc, what)
            await response(scope, receive, send)


def _is_database(exc: BaseException) -> bool:
    return db_faults.is_unavailable(exc) or db_faults.is_unique_violation(exc) or type(exc).__module__.startswith(
        "sqlalchemy")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if b"content-security-policy" not in present:
                    if path.startswith(DOCS_PATHS):
                        csp = DOCS_CSP
                    elif path == "/app" or path.startswith(APP_PATHS):
                        csp = APP_CSP
                    elif content_type.startswith(b"image/svg"):
                        csp = SVG_CSP
                    else:
                        csp = API_CSP
                    headers.append((b"content-security-policy", csp))
                if b"cache-control" not in present and not path.startswith(DOCS_PATHS):
                    headers.append((b"cache-control", b"no-store"))
                if https:
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
