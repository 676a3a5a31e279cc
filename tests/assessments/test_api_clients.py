"""An integration key may read the clinical record but never author one: clinical entries name a clinician."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.models import AuditEvent
from app.models.clinical import Assessment, Episode
from tests.assessments.helpers import assessment_body, chart_visit, open_episode, sign
from tests.factories import make_patient
from tests.integrations.helpers import api_client, bearer


def test_clinical_write_key_cannot_author_episodes_or_assessments(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    created = api_client(client, admin, ["clinical:read", "clinical:write"])
    key = bearer(created["key"])
    episodes_before = db.scalar(select(func.count()).select_from(Episode))

    response = client.post(f"/api/v1/patients/{patient['id']}/episodes", json={"conditions": ["sciatica"]},
                           headers=key)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                           headers=key)
    assert response.status_code == 403, response.text
    assert "clinician" in response.json()["detail"]

    assert db.scalar(select(func.count()).select_from(Episode)) == episodes_before
    assert db.scalar(select(func.count()).select_from(Assessment)) == 0
    denied = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == uuid.UUID(created["id"]),
                                                 AuditEvent.outcome == "denied")).all()
    # Refused by the access policy before any service runs: an access denial naming the patient and why.
    assert sorted((r.action, r.detail["method"], r.detail["reason"]) for r in denied) == [
        ("access", "POST", "api keys author no clinical content")] * 2
    assert {str(r.patient_id) for r in denied} == {patient["id"]}


def test_clinical_write_key_cannot_update_or_discharge_an_episode(client, staff, db):
    """Updates and state changes are clinical writes too: the episode keeps its conditions, goals and status."""
    admin, therapist = staff("admin"), staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    key = bearer(api_client(client, admin, ["clinical:read", "clinical:write"])["key"])
    url = f"/api/v1/episodes/{episode['id']}"

    patched = client.patch(url, json={"conditions": ["sciatica"], "goals": ["key goal"]},
                           headers={**key, "If-Match": 'W/"1"'})
    discharged = client.post(f"{url}/discharge", json={"discharge_reason": "goals_met",
                                                       "discharge_outcome": "written by a key"}, headers=key)
    assert (patched.status_code, discharged.status_code) == (403, 403), (patched.text, discharged.text)
    assert "clinician" in discharged.json()["detail"]

    after = client.get(url, headers=therapist.headers).json()
    assert (after["status"], after["version"], after["conditions"]) == ("open", 1, episode["conditions"])
    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied",
                                                 AuditEvent.patient_id == uuid.UUID(patient["id"]))).all()
    assert sorted(r.detail["path"] for r in denied) == [url, f"{url}/discharge"]


def test_clinical_write_key_cannot_edit_sign_amend_or_discard(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    _, _, draft = chart_visit(client, therapist)
    _, _, signed = chart_visit(client, therapist)
    assert sign(client, therapist, signed["id"]).status_code == 200
    key = bearer(api_client(client, admin, ["clinical:read", "clinical:write"])["key"])

    assert client.get(f"/api/v1/assessments/{draft['id']}", headers=key).status_code == 200  # reading is fine
    draft_url, signed_url = f"/api/v1/assessments/{draft['id']}", f"/api/v1/assessments/{signed['id']}"
    attempts = [
        client.patch(draft_url, json={"plan": "x"}, headers={**key, "If-Match": 'W/"1"'}),
        client.post(f"{draft_url}/sign", headers=key),
        client.delete(draft_url, headers=key),
        client.post(f"{signed_url}/amendments", json={"reason": "key tries", "changes": {"plan": "x"}}, headers=key),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403, 403], [r.text for r in attempts]
    assert client.get(draft_url, headers=therapist.headers).json()["status"] == "draft"
    assert len(client.get(f"{signed_url}/history", headers=therapist.headers).json()) == 1


def test_admins_may_still_author(client, staff):
    admin = staff("admin")
    _, episode, assessment = chart_visit(client, admin)
    assert episode["created_by"] == str(admin.id)
    assert assessment["author_id"] == str(admin.id)
    signed = sign(client, admin, assessment["id"])
    assert signed.status_code == 200 and signed.json()["signed_by"] == str(admin.id)
