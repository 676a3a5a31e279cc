"""The API docs page works in a clinic with no internet: every file it loads comes from the app itself."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")
ANY_URL = re.compile(r"""[a-z][a-z0-9+.-]*://[^\s"'<>]+|//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>]*""", re.IGNORECASE)


@pytest.fixture
def page(client) -> str:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_the_docs_page_names_no_other_host(page):
    assert ANY_URL.findall(page) == []  # no http(s)://, no protocol-relative //cdn...
    references = [a or b for a, b in REFERENCE.findall(page)]
    assert len(references) >= 4  # css, favicon, the Swagger UI script, the OpenAPI document
    for reference in references:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc and reference.startswith("/"), reference


def test_every_file_the_docs_page_loads_is_served_by_the_app(client, page):
    references = [a or b for a, b in REFERENCE.findall(page)]
    expected = {"/docs/assets/swagger-ui-bundle.js": "javascript", "/docs/assets/swagger-ui.css": "text/css",
                "/docs/assets/favicon-32x32.png": "image/png", "/openapi.json": "application/json"}
    assert set(references) == set(expected)
    for reference, media_type in expected.items():
        response = client.get(reference)
        assert response.status_code == 200, reference
        assert media_type in response.headers["content-type"], (reference, response.headers["content-type"])
        assert len(response.content) > 100
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_only_the_files_the_page_needs_are_served(client):
    # The package's demo page points at a public petstore; it is not ours to serve, nor are source maps.
    for path in ("/docs/assets/index.html", "/docs/assets/swagger-initializer.js",
                 "/docs/assets/swagger-ui-bundle.js.map", "/docs/assets/../../secret", "/docs/assets/"):
        assert client.get(path).status_code == 404, path
    assert client.get("/redoc").status_code == 404  # no second docs page that would need a CDN
