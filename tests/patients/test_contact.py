"""Contact preference and consent to reminders (issue 14 item 8): off until the patient says yes, stamped by
the server, changed only with If-Match and audited like every patient update."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Patient
from tests.factories import make_patient, patient_body

PATIENTS = "/api/v1/patients"


def _patch(client, member, patient, body):
    return client.patch(f"{PATIENTS}/{patient['id']}", json=body,
                        headers={**member.headers, "If-Match": f'W/"{patient["version"]}"'})


def test_a_new_patient_has_no_preference_and_no_consent(client, staff):
    patient = make_patient(client, staff("reception"))
    assert (patient["contact_preference"], patient["reminder_consent"], patient["reminder_consent_at"]) == (
        None, False, None)


def test_consent_is_stamped_by_the_server_and_cleared_when_withdrawn(client, staff, db):
    reception = staff("reception")
    before = datetime.now(UTC) - timedelta(seconds=1)
    patient = make_patient(client, reception, contact_preference="sms", reminder_consent=True)
    stamped = datetime.fromisoformat(patient["reminder_consent_at"])
    assert patient["contact_preference"] == "sms" and before <= stamped <= datetime.now(UTC)

    same = _patch(client, reception, patient, {"reminder_consent": True, "contact_preference": "email"})
    assert same.status_code == 200, same.text
    assert same.json()["reminder_consent_at"] == patient["reminder_consent_at"]  # still consenting: same moment
    withdrawn = _patch(client, reception, same.json(), {"reminder_consent": False})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["reminder_consent"] is False and withdrawn.json()["reminder_consent_at"] is None
    stored = db.get(Patient, uuid.UUID(patient["id"]))
    db.refresh(stored)
    assert stored.reminder_consent is False and stored.reminder_consent_at is None

    updates = db.scalars(select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.resource_type == "Patient")
                         .order_by(AuditEvent.occurred_at, AuditEvent.id)).all()
    assert [e.detail for e in updates] == [{"fields": ["contact_preference"]}, {"fields": ["reminder_consent"]}]


def test_changes_need_the_current_version(client, staff):
    reception = staff("reception")
    patient = make_patient(client, reception)
    assert _patch(client, reception, patient, {"contact_preference": "sms"}).status_code == 200
    stale = _patch(client, reception, patient, {"reminder_consent": True})  # version 1 is gone
    assert stale.status_code == 412
    missing = client.patch(f"{PATIENTS}/{patient['id']}", json={"reminder_consent": True}, headers=reception.headers)
    assert missing.status_code == 428


@pytest.mark.parametrize(("change", "field"), [
    ({"contact_preference": "pigeon"}, "contact_preference"),
    ({"contact_preference": "SMS "}, "contact_preference"),
    ({"reminder_consent": "maybe"}, "reminder_consent"),
    ({"reminder_consent_at": "2020-01-01T00:00:00Z"}, "reminder_consent_at"),  # the server's to set
])
def test_bad_values_are_422_naming_the_field(client, staff, db, change, field):
    reception = staff("reception")
    created = client.post(PATIENTS, json=patient_body(**change), headers=reception.headers)
    assert created.status_code == 422, created.text
    assert field in [e["field"] for e in created.json()["errors"]]
    patient = make_patient(client, reception)
    changed = _patch(client, reception, patient, change)
    assert changed.status_code == 422 and changed.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in changed.json()["errors"]]
    assert db.scalar(select(Patient.contact_preference).where(Patient.id == uuid.UUID(patient["id"]))) \
        is None


def test_consent_cannot_be_nulled(client, staff):
    reception = staff("reception")
    patient = make_patient(client, reception, reminder_consent=True)
    response = _patch(client, reception, patient, {"reminder_consent": None})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reminder_consent"]
