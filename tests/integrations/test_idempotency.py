"""A retried POST with the same Idempotency-Key creates one record and replays the first answer."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from app.kit.idempotency import LEASE
from app.models import Patient
from app.models.base import utcnow
from app.models.integration import ApiClient, IdempotencyKey
from app.patients import service as patients_service
from tests.factories import PASSWORD, patient_body
from tests.integrations.helpers import api_client, bearer


def test_retry_with_the_same_key_creates_one_patient(client, staff, db):
    reception = staff("reception")
    headers = {**reception.headers, "Idempotency-Key": "visit-2026-11-24-001"}
    first = client.post("/api/v1/patients", json=patient_body(), headers=headers)
    second = client.post("/api/v1/patients", json=patient_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_same_key_different_body_is_422(client, staff, db):
    reception = staff("reception")
    headers = {**reception.headers, "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/patients", json=patient_body(), headers=headers).status_code == 201
    other = client.post("/api/v1/patients", json=patient_body(given_name="Someone"), headers=headers)
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_keys_belong_to_their_sender_and_failures_replay_too(client, staff, db):
    one, two = staff("reception"), staff("reception")
    key = {"Idempotency-Key": "shared-key"}
    assert client.post("/api/v1/patients", json=patient_body(), headers={**one.headers, **key}).status_code == 201
    assert client.post("/api/v1/patients", json=patient_body(), headers={**two.headers, **key}).status_code == 201
    bad = {**one.headers, "Idempotency-Key": "bad-one"}
    first = client.post("/api/v1/patients", json=patient_body(birth_date="2999-01-01"), headers=bad)
    again = client.post("/api/v1/patients", json=patient_body(birth_date="2999-01-01"), headers=bad)
    assert first.status_code == again.status_code == 422 and first.json()["errors"] == again.json()["errors"]
    assert db.scalar(select(func.count()).select_from(Patient)) == 2


# --- the key belongs to a live principal ---------------------------------------------------------------------


def test_a_revoked_key_gets_no_replay(client, staff, db):
    admin = staff("admin")
    created = api_client(client, admin, ["patients:write"])
    headers = {**bearer(created["key"]), "Idempotency-Key": "booking-42"}
    assert client.post("/api/v1/patients", json=patient_body(), headers=headers).status_code == 201
    assert client.post(f"/api/v1/api-clients/{created['id']}/revoke", headers=admin.headers).status_code == 200
    again = client.post("/api/v1/patients", json=patient_body(), headers=headers)
    assert again.status_code == 401 and "idempotent-replayed" not in again.headers
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_a_logged_out_token_gets_no_replay_but_a_fresh_token_of_the_same_user_does(client, staff, db):
    reception = staff("reception")
    key = {"Idempotency-Key": "visit-7"}
    first = client.post("/api/v1/patients", json=patient_body(), headers={**reception.headers, **key})
    assert first.status_code == 201
    assert client.post("/api/v1/auth/logout", headers=reception.headers).status_code == 204
    stale = client.post("/api/v1/patients", json=patient_body(), headers={**reception.headers, **key})
    assert stale.status_code == 401 and "idempotent-replayed" not in stale.headers
    token = client.post("/api/v1/auth/token", data={"username": reception.email, "password": PASSWORD}).json()
    fresh = client.post("/api/v1/patients", json=patient_body(),
                        headers={"Authorization": f"Bearer {token['access_token']}", **key})
    assert fresh.status_code == 201 and fresh.headers["idempotent-replayed"] == "true"
    assert fresh.json() == first.json()
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_a_one_time_secret_is_never_stored_and_a_retry_creates_nothing(client, staff, db):
    admin = staff("admin")
    headers = {**admin.headers, "Idempotency-Key": "new-integration"}
    body = {"name": "Booking", "scopes": ["patients:read"]}
    first = client.post("/api/v1/api-clients", json=body, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/api-clients", json=body, headers=headers)
    assert again.status_code == 409 and again.headers["location"] == first.headers["location"]
    assert first.json()["key"] not in again.text
    [stored] = db.scalars(select(IdempotencyKey)).all()
    assert stored.response_body is None and first.json()["key"] not in json.dumps(stored.response_headers)
    assert db.scalar(select(func.count()).select_from(ApiClient)) == 1


# --- in flight, crashed, failed -------------------------------------------------------------------------------


def test_concurrent_requests_with_one_key_run_once(client, staff, db, monkeypatch):
    """The second arrives while the first is inside the service: it gets 409 (in flight) or, if it had to wait
    for the first to finish (SQLite has one writer), the first one's response. Never a second patient."""
    reception = staff("reception")
    entered, release = threading.Event(), threading.Event()
    real_create = patients_service.create

    def slow_create(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return real_create(*args, **kwargs)

    monkeypatch.setattr(patients_service, "create", slow_create)
    headers = {**reception.headers, "Idempotency-Key": "double-click"}
    results: dict[str, httpx.Response] = {}

    def post(name: str) -> None:
        results[name] = client.post("/api/v1/patients", json=patient_body(), headers=headers)

    first = threading.Thread(target=post, args=("first",))
    first.start()
    assert entered.wait(30)
    second = threading.Thread(target=post, args=("second",))
    second.start()
    second.join(timeout=1.0)  # PostgreSQL: answered 409 at once; SQLite: waiting for the writer lock
    release.set()
    first.join(30)
    second.join(30)
    assert results["first"].status_code == 201
    other = results["second"]
    if other.status_code == 409:
        assert "in flight" in other.json()["detail"]
    else:
        assert other.status_code == 201 and other.headers["idempotent-replayed"] == "true"
        assert other.json() == results["first"].json()
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_a_server_error_releases_the_key(client, staff, db, monkeypatch):
    reception = staff("reception")
    real_create = patients_service.create
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(patients_service, "create", flaky)
    headers = {**reception.headers, "Idempotency-Key": "retry-after-500"}
    assert client.post("/api/v1/patients", json=patient_body(), headers=headers).status_code == 500
    assert db.scalars(select(IdempotencyKey)).all() == []
    retried = client.post("/api/v1/patients", json=patient_body(), headers=headers)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def _in_flight(db, member, key: str, body: bytes, claimed_at) -> None:
    request_hash = hashlib.sha256(b"\n".join([b"/api/v1/patients", b"", body])).hexdigest()
    db.add(IdempotencyKey(principal=f"user:{member.id}", key=key, request_hash=request_hash, created_at=claimed_at))
    db.flush()


def test_a_key_stuck_in_flight_after_a_crash_is_reclaimed_after_its_lease(client, staff, db):
    reception = staff("reception")
    body = json.dumps(patient_body()).encode()
    headers = {**reception.headers, "Content-Type": "application/json"}
    _in_flight(db, reception, "crashed", body, utcnow() - LEASE - timedelta(seconds=5))
    _in_flight(db, reception, "running", body, utcnow())
    busy = client.post("/api/v1/patients", content=body, headers={**headers, "Idempotency-Key": "running"})
    assert busy.status_code == 409
    reclaimed = client.post("/api/v1/patients", content=body, headers={**headers, "Idempotency-Key": "crashed"})
    assert reclaimed.status_code == 201 and "idempotent-replayed" not in reclaimed.headers
    replay = client.post("/api/v1/patients", content=body, headers={**headers, "Idempotency-Key": "crashed"})
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == reclaimed.json()
    assert db.scalar(select(func.count()).select_from(Patient)) == 1
