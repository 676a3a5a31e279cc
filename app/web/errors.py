"""Errors on pages are pages: a 403/404 under /app renders the layout with the reason, while page
script (and every API route) keeps getting the one problem+json format.

A page address that cannot exist — an unknown path under /app, or an id that is not a UUID — answers the
"Page not found" page (404, HTML) to a browser: a 422 problem about a path parameter means nothing to a
person who followed a stale link. Page script asking for JSON still gets the API's own answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.kit.errors import DomainError, SignInRequired
from app.web.deps import sign_in_redirect, wants_json
from app.web.templates import render

NOT_FOUND = "Page not found"
NOT_FOUND_DETAIL = "There is no such page or record here. The link may be mistyped or out of date."


def _page_request(request: Request) -> bool:
    path = request.url.path
    return (path == "/app" or path.startswith("/app/")) and not path.startswith("/app/static/") \
        and not wants_json(request)


def _not_found(request: Request) -> Response:
    return render(request, "error.html", status_code=404, page=getattr(request.state, "page", None),
                  title=NOT_FOUND, detail=NOT_FOUND_DETAIL)


def install(app: FastAPI) -> None:
    api_handler: Any = app.exception_handlers[DomainError]
    validation_handler: Any = app.exception_handlers[RequestValidationError]
    http_handler: Any = app.exception_handlers[StarletteHTTPException]

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if not request.url.path.startswith("/app") or wants_json(request):
            response: Response = await api_handler(request, exc)
            return response
        if isinstance(exc, SignInRequired):
            return sign_in_redirect(request)
        return render(request, "error.html", status_code=exc.status, page=getattr(request.state, "page", None),
                      title=exc.title, detail=exc.detail)

    async def invalid(request: Request, exc: Exception) -> Response:
        """A page's path parameter that does not parse (a bad UUID) is a page that does not exist."""
        assert isinstance(exc, RequestValidationError)
        if _page_request(request) and request.method in ("GET", "HEAD") \
                and all(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
            return _not_found(request)
        response: Response = await validation_handler(request, exc)
        return response

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and _page_request(request):
            return _not_found(request)
        response: Response = await http_handler(request, exc)
        return response

    app.add_exception_handler(DomainError, handler)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http)
