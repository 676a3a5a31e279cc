"""Integration keys: scoped like roles, revocable, rate limited, and named in the audit trail."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.models import AuditEvent
from tests.integrations.helpers import api_client, bearer
from tests.treatments.helpers import ready_patient


def test_patients_read_key_reads_patients_and_nothing_clinical(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    patient, episode = ready_patient(client, therapist)
    created = api_client(client, admin, ["patients:read"])
    assert created["key"].startswith("imk_") and created["key_prefix"] == created["key"][:12]
    key = bearer(created["key"])
    assert client.get(f"/api/v1/patients/{patient['id']}", headers=key).status_code == 200
    assert client.get("/api/v1/patients", headers=key).status_code == 200
    for path in (f"/api/v1/patients/{patient['id']}/chart", f"/api/v1/patients/{patient['id']}/assessments",
                 f"/api/v1/patients/{patient['id']}/treatments", f"/api/v1/episodes/{episode['id']}",
                 "/api/v1/audit-events", "/api/v1/users"):
        response = client.get(path, headers=key)
        assert response.status_code == 403, path
        assert "scopes" in response.json()["detail"]
    write = client.post("/api/v1/patients", json={"given_name": "A", "family_name": "B", "birth_date": "1990-01-01"},
                        headers=key)
    assert write.status_code == 403
    reads = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == uuid.UUID(created["id"]),
                                                AuditEvent.outcome == "success")).all()
    assert {r.actor_type for r in reads} == {"api_client"}
    assert {r.actor_label for r in reads} == {"Booking system"}


def test_key_is_shown_once_listed_without_it_and_revocable(client, staff):
    admin = staff("admin")
    created = api_client(client, admin, ["patients:read", "patients:write"])
    listing = client.get("/api/v1/api-clients", headers=admin.headers).json()
    assert [c["id"] for c in listing] == [created["id"]] and "key" not in listing[0]
    key = bearer(created["key"])
    assert client.get("/api/v1/patients", headers=key).status_code == 200
    assert client.get(f"/api/v1/api-clients/{created['id']}", headers=admin.headers).json()["last_used_at"]
    revoked = client.post(f"/api/v1/api-clients/{created['id']}/revoke", headers=admin.headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert client.get("/api/v1/patients", headers=key).status_code == 401
    assert client.post(f"/api/v1/api-clients/{created['id']}/revoke", headers=admin.headers).status_code == 409


def test_only_admins_manage_keys_and_scopes_are_validated(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    assert client.post("/api/v1/api-clients", json={"name": "x", "scopes": ["patients:read"]},
                       headers=therapist.headers).status_code == 403
    bad = client.post("/api/v1/api-clients", json={"name": "x", "scopes": ["root"]}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "scopes[0]"
    key = bearer(api_client(client, admin, ["patients:read"])["key"])
    assert client.post("/api/v1/api-clients", json={"name": "y", "scopes": ["patients:read"]},
                       headers=key).status_code == 403  # a key can never mint keys


def test_rate_limit_per_key(client, staff):
    admin = staff("admin")
    slow = bearer(api_client(client, admin, ["patients:read"], rate_limit_per_minute=3)["key"])
    other = bearer(api_client(client, admin, ["patients:read"])["key"])
    first = client.get("/api/v1/patients", headers=slow)
    assert first.headers["ratelimit-limit"] == "3" and first.headers["ratelimit-remaining"] == "2"
    client.get("/api/v1/patients", headers=slow)
    client.get("/api/v1/patients", headers=slow)
    limited = client.get("/api/v1/patients", headers=slow)
    if limited.status_code != 429:  # the minute window rolled over between calls: try once more
        client.get("/api/v1/patients", headers=slow)
        client.get("/api/v1/patients", headers=slow)
        limited = client.get("/api/v1/patients", headers=slow)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1 and limited.headers["ratelimit-remaining"] == "0"
    assert client.get("/api/v1/patients", headers=other).status_code == 200  # per key


def test_rate_limit_headers_come_with_errors_too(client, staff):
    admin = staff("admin")
    key = bearer(api_client(client, admin, ["patients:read"], rate_limit_per_minute=50)["key"])
    for response in (client.get("/api/v1/audit-events", headers=key),                      # 403
                     client.get(f"/api/v1/patients/{uuid.uuid4()}", headers=key),           # 404
                     client.get("/api/v1/patients", params={"limit": 0}, headers=key)):     # 422
        assert response.status_code in (403, 404, 422), response.text
        assert response.headers["ratelimit-limit"] == "50", response.status_code
        assert int(response.headers["ratelimit-remaining"]) < 50 and response.headers["ratelimit-reset"]
    assert "ratelimit-limit" not in client.get("/api/v1/patients", headers=admin.headers).headers  # staff: none
