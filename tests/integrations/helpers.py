from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Member


def api_client(client: TestClient, admin: Member, scopes: list[str], **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/api-clients", json={"name": "Booking system", "scopes": scopes, **extra},
                           headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
