"""Interactive API docs that work without internet.

FastAPI's own /docs page loads Swagger UI from a CDN, so in a clinic with no internet (or behind a strict
proxy) it is blank. Here the page loads Swagger UI's files from the app itself, which serves them from an
installed package (`swagger-ui-bundle-v2`, the Swagger UI distribution packaged by the Connexion
maintainers) — nothing is fetched at run time. ReDoc is not offered: one docs page, fully offline.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
# Only what the page uses: the package also holds a demo index.html that points at a public petstore.
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png"})


class _SwaggerAssets(StaticFiles):
    """The Swagger UI files the docs page needs (with ETag and Last-Modified), and nothing else."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in ASSETS:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def install(app: FastAPI) -> None:
    """Serve /docs and its assets; create the app with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_URL, _SwaggerAssets(directory=str(swagger_ui_path)), name="swagger-ui-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png", oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters=_PARAMETERS)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


# Swagger UI would otherwise offer to check the document with the public validator service.
_PARAMETERS: dict[str, Any] = {"validatorUrl": None}
