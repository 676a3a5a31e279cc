"""Wires the pages into the app: routes (left out of the OpenAPI document), static files, error pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.web import errors, outcomes, pages, signin, visit
from app.web.templates import STATIC_DIR, STATIC_PREFIX


class VersionedStaticFiles(StaticFiles):
    """Pages link `app.js?v=<content hash>`: such a URL never changes content, so browsers keep it for a year;
    a plain URL is revalidated (ETag) every time."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        versioned = b"v=" in scope.get("query_string", b"")
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
        return response


def install(app: FastAPI) -> None:
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(outcomes.router)
    app.include_router(visit.router)  # the visit: exam grid, needling log, sign
    app.mount(STATIC_PREFIX, VersionedStaticFiles(directory=STATIC_DIR), name="app-static")
    errors.install(app)
