"""Change events are announced by the services, not inferred from the audit trail.

The published catalogue (`EventType`, shown in OpenAPI on every webhook `event_types` field) is a promise
to integrators: a clinic's ordinary week must produce every one of its event types, or a subscriber is
waiting for something that never comes. And since audit records access and events record changes, a
write that announces is sent whether or not it was audited, and an audit row alone sends nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth.permissions import ROLE_PERMISSIONS
from app.integrations.changes import ChangeOut
from app.kit import audit
from app.kit.actor import Actor
from app.kit.events import CHANGE_KINDS, EventType, announce
from app.models import AuditEvent
from app.models.integration import ChangeEvent, WebhookDelivery
from app.models.patient import Patient
from tests.appointments.helpers import book, step
from tests.assessments.helpers import chart_visit
from tests.factories import Member, make_patient
from tests.treatments.helpers import ready_patient, six_needles


def _at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json() if response.status_code != 204 else {}


def _patch(client: Any, member: Member, url: str, body: dict[str, Any], version: int) -> dict[str, Any]:
    return _ok(client.patch(url, json=body, headers={**member.headers, "If-Match": f'W/"{version}"'}))


def a_clinic_week(client: Any, staff: Any) -> None:
    """Every kind of change a clinic makes, through the API, as the people who make them."""
    admin, therapist = staff("admin"), staff("therapist")
    # demographics
    leaving = make_patient(client, admin)
    _patch(client, admin, f"/api/v1/patients/{leaving['id']}", {"phone": "416 555 0101"}, 1)
    _ok(client.post(f"/api/v1/patients/{leaving['id']}/deactivate", headers=admin.headers))
    # the clinical record: episode, consents, screen, notes, outcome
    patient, episode = ready_patient(client, therapist)
    pid = patient["id"]
    _patch(client, therapist, f"/api/v1/episodes/{episode['id']}", {"planned_frequency": "twice weekly"}, 1)
    _, _, note = chart_visit(client, therapist)
    _patch(client, therapist, f"/api/v1/assessments/{note['id']}", {"plan": "IMS weekly x4"}, 1)
    _ok(client.post(f"/api/v1/assessments/{note['id']}/sign", headers=therapist.headers))
    _ok(client.post(f"/api/v1/assessments/{note['id']}/amendments", headers=therapist.headers,
                    json={"reason": "plan corrected", "changes": {"plan": "IMS weekly x6"}}))
    _, _, dropped = chart_visit(client, therapist)
    assert client.delete(f"/api/v1/assessments/{dropped['id']}", headers=therapist.headers).status_code == 204
    body = {"episode_id": episode["id"], "needles": six_needles(e_stim=False)}
    session = _ok(client.post(f"/api/v1/patients/{pid}/treatments", json=body, headers=therapist.headers))
    _patch(client, therapist, f"/api/v1/treatments/{session['id']}",
           {"needles_removed": 6, "sharps_disposed": True, "verbal_consent_today": True}, 1)
    _ok(client.post(f"/api/v1/treatments/{session['id']}/sign", headers=therapist.headers))
    _ok(client.post(f"/api/v1/treatments/{session['id']}/amendments", headers=therapist.headers,
                    json={"reason": "post-treatment pain corrected", "changes": {"post_pain_nprs": 3}}))
    draft = _ok(client.post(f"/api/v1/patients/{pid}/treatments", json=body, headers=therapist.headers))
    assert client.delete(f"/api/v1/treatments/{draft['id']}", headers=therapist.headers).status_code == 204
    sharing = _ok(client.post(f"/api/v1/patients/{pid}/consents", headers=therapist.headers,
                              json={"kind": "data_sharing", "method": "verbal"}))
    _ok(client.post(f"/api/v1/patients/{pid}/consents/{sharing['id']}/withdraw", headers=therapist.headers,
                    json={"reason": "no longer shares data"}))
    _ok(client.post(f"/api/v1/patients/{pid}/outcomes", headers=therapist.headers,
                    json={"instrument": "nprs", "responses": [6], "episode_id": episode["id"]}))
    # the appointment book
    missed = book(client, admin, pid, therapist, _at(-2), override_hours=True)
    step(client, admin, missed, "no-show")
    seen = book(client, admin, pid, therapist, _at(-5), override_hours=True)
    step(client, admin, step(client, admin, seen, "arrive"), "complete")
    moved = book(client, admin, pid, therapist, _at(48), override_hours=True)
    url = f"/api/v1/appointments/{moved['id']}"
    _patch(client, admin, url, {"front_desk_notes": "prefers mornings"}, 1)
    _patch(client, admin, url, {"start": _at(72), "override_hours": True}, 2)
    step(client, admin, {**moved, "version": 3}, "cancel", json={"reason": "Unwell", "cancelled_by": "patient"})
    # staff and the clinic profile
    user = _ok(client.post("/api/v1/users", headers=admin.headers, json={
        "email": "locum@clinic.example", "full_name": "Locum", "role": "reception",
        "password": "a long passphrase here"}))
    _patch(client, admin, f"/api/v1/users/{user['id']}", {"full_name": "Locum (weekends)"}, 1)
    _ok(client.post(f"/api/v1/users/{user['id']}/deactivate", headers=admin.headers))
    etag = client.get("/api/v1/clinic", headers=admin.headers).headers["etag"]
    _ok(client.patch("/api/v1/clinic", json={"name": "Queen St IMS"}, headers={**admin.headers, "If-Match": etag}))


def test_every_published_event_type_is_announced_by_some_service(client, staff, db):
    a_clinic_week(client, staff)
    announced = {f"{e.resource_type}.{e.change}" for e in db.scalars(select(ChangeEvent))}
    never = sorted(set(EventType) - announced)
    assert never == [], f"in the catalogue but never announced: {never}"
    assert announced <= set(EventType), "announced but not in the catalogue"


def test_the_catalogue_is_what_openapi_publishes(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("WebhookCreate", "WebhookUpdate"):
        described = schemas[model]["properties"]["event_types"]["description"]
        assert all(f"`{t}`" in described for t in EventType), model
    change = schemas["ChangeOut"]["properties"]["change"]["enum"]
    assert set(change) == set(CHANGE_KINDS)
    assert set(ChangeOut.model_fields["change"].annotation.__args__) == set(CHANGE_KINDS)  # type: ignore[union-attr]


def _therapist_actor(member: Member) -> Actor:
    return Actor(id=member.id, type="user", role=member.role, label=member.email,
                 permissions=ROLE_PERMISSIONS[member.role])


def _new_patient(session: Any) -> Patient:
    chart = f"ua-{uuid.uuid4().hex[:8]}"
    patient = Patient(given_name="Una", family_name="Audited", birth_date=date(1980, 1, 1), chart_number=chart,
                      active=True, reminder_consent=False, given_name_norm="una", family_name_norm="audited",
                      chart_number_norm=chart)
    session.add(patient)
    session.flush()
    return patient


def test_a_write_that_announces_is_sent_even_when_it_skips_the_audit(app, client, staff, db):
    """Before, events were a side effect of audit.record: a write path that forgot to audit sent nothing.
    Now the announcement alone puts it on the changes feed and in every matching subscription's outbox."""
    admin = staff("admin")
    hook = _ok(client.post("/api/v1/webhooks", headers=admin.headers, json={
        "url": "https://127.0.0.1/h", "event_types": ["patient.*"], "scopes": ["patients:read"]}))
    audit_rows = db.scalar(select(func.count()).select_from(AuditEvent))
    with app.state.sessionmaker() as session, session.begin():
        patient = _new_patient(session)
        announce(session, EventType.PATIENT_CREATED, patient)  # no audit.record anywhere in this transaction
        patient_id = patient.id
    [event] = db.scalars(select(ChangeEvent).where(ChangeEvent.resource_id == str(patient_id))).all()
    assert (event.resource_type, event.change, event.version, event.patient_id) == ("patient", "created", 1,
                                                                                   patient_id)
    [delivery] = db.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == uuid.UUID(hook["id"])))
    assert delivery.event_type == "patient.created" and delivery.payload["resource"]["id"] == str(patient_id)
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == audit_rows  # and nothing was audited
    feed = client.get("/api/v1/changes", params={"types": "patient"}, headers=admin.headers).json()["items"]
    assert [(c["resource_id"], c["change"]) for c in feed] == [(str(patient_id), "created")]


def test_an_audit_row_alone_announces_nothing(app, staff, db):
    """Audit records access: even a "create" action on a Patient is no longer taken for a change event."""
    therapist = staff("therapist")
    with app.state.sessionmaker() as session, session.begin():
        patient = _new_patient(session)
        audit.record(session, _therapist_actor(therapist), "create", resource_type="Patient", resource_id=patient.id,
                     patient_id=patient.id, resource_version=1)
    assert db.scalars(select(ChangeEvent)).all() == []


def test_an_announcement_rolls_back_with_its_transaction(app, db):
    with pytest.raises(RuntimeError), app.state.sessionmaker() as session, session.begin():
        announce(session, EventType.PATIENT_CREATED, _new_patient(session))
        raise RuntimeError("the request failed after announcing")
    assert db.scalars(select(ChangeEvent)).all() == []


def test_only_catalogued_events_of_flushed_records_can_be_announced(app):
    with app.state.sessionmaker() as session:
        patient = _new_patient(session)
        with pytest.raises(ValueError):
            announce(session, "patient.gossiped", patient)  # type: ignore[arg-type]
        unflushed = Patient(given_name="No", family_name="Id", birth_date=date(1980, 1, 1), chart_number="x")
        with pytest.raises(ValueError, match="flush"):
            announce(session, EventType.PATIENT_CREATED, unflushed)
        session.rollback()


def test_a_repeated_deactivation_is_audited_as_the_attempt_it_is_and_announced_once(client, staff, db):
    admin = staff("admin")
    patient = make_patient(client, admin)
    url = f"/api/v1/patients/{patient['id']}/deactivate"
    first, again = (_ok(client.post(url, headers=admin.headers)) for _ in range(2))
    assert again["version"] == first["version"] == 2
    rows = db.scalars(select(AuditEvent).where(AuditEvent.resource_id == patient["id"],
                                               AuditEvent.action == "deactivate").order_by(AuditEvent.occurred_at))
    assert [(r.outcome, r.detail) for r in rows] == [("success", None), ("success", {"already_inactive": True})]
    changes = db.scalars(select(ChangeEvent.change).where(ChangeEvent.resource_id == patient["id"])).all()
    assert changes == ["created", "deactivated"]
