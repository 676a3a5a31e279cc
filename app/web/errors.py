"""Errors on pages are pages: a 403/404 under /app renders the layout with the reason, while page
script (and every API route) keeps getting the one problem+json format."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.kit.errors import DomainError
from app.web.deps import SignInRequired, sign_in_redirect, wants_json
from app.web.templates import render


def install(app: FastAPI) -> None:
    api_handler: Any = app.exception_handlers[DomainError]

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if not request.url.path.startswith("/app") or wants_json(request):
            response: Response = await api_handler(request, exc)
            return response
        if isinstance(exc, SignInRequired):
            return sign_in_redirect(request)
        return render(request, "error.html", status_code=exc.status, page=getattr(request.state, "page", None),
                      title=exc.title, detail=exc.detail)

    app.add_exception_handler(DomainError, handler)
