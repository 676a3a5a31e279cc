"""Registering and correcting patient demographics: validation that names the field, nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Patient
from tests.factories import luhn_complete, make_patient, patient_body

PATIENTS = "/api/v1/patients"


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(Patient))


def test_register_with_every_field(client, staff):
    reception = staff("reception")
    hcn = luhn_complete("128684402")
    body = patient_body(chart_number="A-100", preferred_name="Meg", gender_identity="woman",
                        health_card_number=f"{hcn[:4]} {hcn[4:7]}-{hcn[7:]} ab",
                        emergency_contact={"name": "Lars Lindqvist", "relationship": "spouse", "phone": "416-555-0199"},
                        referring_physician={"name": "Dr Osei", "fax": "416-555-0100", "billing_number": "012345"},
                        notes="Prefers morning appointments")
    response = client.post(PATIENTS, json=body, headers=reception.headers)
    assert response.status_code == 201, response.text
    patient = response.json()
    assert patient["health_card_number"] == f"{hcn}AB" and patient["health_card_province"] == "ON"
    assert patient["chart_number"] == "A-100" and patient["active"] is True and patient["version"] == 1
    assert patient["address"]["postal_code"] == "M5H 2N2"
    assert patient["emergency_contact"]["relationship"] == "spouse"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"{PATIENTS}/{patient['id']}"


def test_chart_numbers_are_generated_in_sequence_and_skip_taken_ones(client, staff):
    therapist = staff("therapist")
    first = make_patient(client, therapist)
    make_patient(client, therapist, chart_number="000002")
    third = make_patient(client, therapist)
    assert first["chart_number"] == "000001"
    assert third["chart_number"] == "000003"
    clash = client.post(PATIENTS, json=patient_body(chart_number="000001"), headers=therapist.headers)
    assert clash.status_code == 409


@pytest.mark.parametrize("number", ["12345", "1286844022ABC", "12868440X2", luhn_complete("128684402")[:-1] + "0"
                                    if luhn_complete("128684402")[-1] != "0" else "1286844021"])
def test_invalid_ontario_health_numbers_are_refused(client, staff, db, number):
    therapist = staff("therapist")
    response = client.post(PATIENTS, json=patient_body(health_card_number=number), headers=therapist.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["health_card_number"]
    assert count(db) == 0


def test_other_provinces_use_their_own_format(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist, health_card_number="9876 543 210", health_card_province="BC")
    assert patient["health_card_number"] == "9876543210" and patient["health_card_province"] == "BC"


@pytest.mark.parametrize(("change", "field"), [
    ({"given_name": ""}, "given_name"),
    ({"birth_date": "2999-01-01"}, "birth_date"),
    ({"birth_date": "17/04/1961"}, "birth_date"),
    ({"email": "not-an-email"}, "email"),
    ({"sex_at_birth": "sometimes"}, "sex_at_birth"),
    ({"address": {"postal_code": "M5H", "planet": "Mars"}}, "address.planet"),
    ({"id": "00000000-0000-0000-0000-000000000001"}, "id"),
    ({"version": 9}, "version"),
    ({"active": False}, "active"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ({"phone": "call me maybe"}, "phone"),
])
def test_bad_input_gets_422_naming_the_field_and_writes_nothing(client, staff, db, change, field):
    therapist = staff("therapist")
    response = client.post(PATIENTS, json=patient_body(**change), headers=therapist.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].startswith("https://")
    assert field in [e["field"] for e in problem["errors"]]
    assert count(db) == 0


def test_missing_required_fields_are_each_named(client, staff):
    therapist = staff("therapist")
    response = client.post(PATIENTS, json={}, headers=therapist.headers)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"given_name", "family_name", "birth_date"}


def test_malformed_json_and_wrong_types(client, staff, db):
    therapist = staff("therapist")
    headers = {**therapist.headers, "Content-Type": "application/json"}
    response = client.post(PATIENTS, content=b'{"given_name": "Ann",', headers=headers)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    response = client.post(PATIENTS, json=["not", "an", "object"], headers=therapist.headers)
    assert response.status_code == 422
    assert count(db) == 0


def test_oversized_bodies_get_413(client, staff, db, settings):
    therapist = staff("therapist")
    huge = patient_body(notes="x" * (settings.max_body_bytes + 10))
    response = client.post(PATIENTS, json=huge, headers=therapist.headers)
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"

    def chunks():  # no Content-Length: the limit is enforced while streaming
        yield b'{"given_name": "Ann", "family_name": "Lee", "birth_date": "1970-01-01", "notes": "'
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b"y" * 1024
        yield b'"}'

    headers = {**therapist.headers, "Content-Type": "application/json"}
    response = client.post(PATIENTS, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert count(db) == 0


def test_unknown_and_malformed_ids(client, staff):
    therapist = staff("therapist")
    missing = client.get(f"{PATIENTS}/00000000-0000-0000-0000-000000000000", headers=therapist.headers)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get(f"{PATIENTS}/12345", headers=therapist.headers).status_code == 422


def test_deactivate_never_deletes(client, staff):
    reception = staff("reception")
    patient = make_patient(client, reception)
    url = f"{PATIENTS}/{patient['id']}"
    assert client.delete(url, headers=reception.headers).status_code == 405
    response = client.post(f"{url}/deactivate", headers=reception.headers)
    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["deactivated_at"] is not None
    assert client.get(url, headers=reception.headers).json()["active"] is False
    inactive = client.get(PATIENTS, params={"active": "false"}, headers=reception.headers).json()["items"]
    active = client.get(PATIENTS, params={"active": "true"}, headers=reception.headers).json()["items"]
    assert [p["id"] for p in inactive] == [patient["id"]] and active == []


def test_every_read_search_and_write_is_audited(client, staff, db):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    url = f"{PATIENTS}/{patient['id']}"
    read = client.get(url, headers=therapist.headers)
    client.patch(url, json={"phone": "905-555-0101"}, headers={**therapist.headers, "If-Match": 'W/"1"'})
    client.get(PATIENTS, params={"q": "lind"}, headers=therapist.headers)
    rows = db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "Patient")
                      .order_by(AuditEvent.occurred_at)).all()
    assert [r.action for r in rows] == ["create", "read", "update", "search"]
    assert all(r.actor_id == therapist.id and r.actor_role == "therapist" for r in rows)
    assert [str(r.patient_id) for r in rows[:3]] == [patient["id"]] * 3
    assert rows[3].detail["result_ids"] == [patient["id"]]
    assert rows[1].request_id == read.headers["x-request-id"]
    assert rows[2].detail == {"fields": ["phone"]}
