"""Arrange integration scenes: API keys, webhook subscriptions, one worker pass, signature checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.integrations.delivery import deliver_due
from tests.factories import Member


def api_client(client: TestClient, admin: Member, scopes: list[str], **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/api-clients", json={"name": "Booking system", "scopes": scopes, **extra},
                           headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


SECRET = "receiver-secret-0123456789"
READ_ALL = ("patients:read", "clinical:read")  # a subscription that reads every patient and clinical event


def subscribe(client, admin, url, events=("*",), scopes=READ_ALL, **extra):
    response = client.post("/api/v1/webhooks", json={"url": url, "event_types": list(events), "secret": SECRET,
                                                     "scopes": list(scopes), **extra}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


def run_worker(app, **kwargs) -> int:
    with httpx.Client() as http:
        return deliver_due(app.state.sessionmaker, http, allow_plain_http_loopback=True, **kwargs)


def verify(request: dict) -> dict:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    expected = hmac.new(SECRET.encode(), f"{headers['ims-timestamp']}.".encode() + request["body"],
                        hashlib.sha256).hexdigest()
    assert headers["ims-signature"] == f"sha256={expected}"
    event = json.loads(request["body"])
    assert headers["ims-event-id"] == event["id"]
    return event
