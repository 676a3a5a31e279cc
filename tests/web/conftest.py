from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture
def browser_client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient that keeps cookies like a browser: over https, since the session cookie is Secure."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client
