"""A retried POST with the same Idempotency-Key creates one record and replays the first answer."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Patient
from tests.factories import patient_body


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
