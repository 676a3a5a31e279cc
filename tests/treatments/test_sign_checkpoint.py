"""Issue 16 item 4: signing is a documentation checkpoint, and only a current roster signs."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from app.models import User
from tests.treatments.helpers import needle, ready_patient, record_session

BLEEDING = {"kind": "bleeding", "severity": "mild", "action_taken": "pressure"}


def _draft(client, therapist, **overrides):
    patient, episode = ready_patient(client, therapist)
    response = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=1, needles_removed=1,
                              needles=[needle("gluteus_medius", "L5")], **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def _sign(client, member, treatment_id):
    return client.post(f"/api/v1/treatments/{treatment_id}/sign", headers=member.headers)


def test_signing_needs_sharps_verbal_consent_and_haemostasis(client, staff):
    therapist = staff("therapist")
    draft = _draft(client, therapist, sharps_disposed=None, verbal_consent_today=False, adverse_events=[BLEEDING])
    response = _sign(client, therapist, draft["id"])
    assert response.status_code == 409, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["sharps_disposed", "verbal_consent_today",
                                                               "adverse_events[0].haemostasis"]
    fixed = client.patch(f"/api/v1/treatments/{draft['id']}", headers={
        **therapist.headers, "If-Match": f'W/"{draft["version"]}"'}, json={
        "sharps_disposed": True, "verbal_consent_today": True,
        "adverse_events": [{**BLEEDING, "haemostasis": "2 min firm pressure; bleeding stopped"}]})
    assert fixed.status_code == 200, fixed.text
    assert _sign(client, therapist, draft["id"]).status_code == 200


def test_an_amendment_cannot_undo_the_checkpoint(client, staff):
    therapist = staff("therapist")
    draft = _draft(client, therapist)
    assert _sign(client, therapist, draft["id"]).status_code == 200
    response = client.post(f"/api/v1/treatments/{draft['id']}/amendments", headers=therapist.headers,
                           json={"reason": "correcting", "changes": {"sharps_disposed": False}})
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "changes.sharps_disposed"


def test_the_roster_records_registration_and_expiry_and_an_expired_roster_cannot_sign(client, staff, db):
    admin, therapist = staff("admin"), staff("therapist")
    draft = _draft(client, therapist)
    db.execute(update(User).where(User.id == therapist.id).values(roster_expires_on=date.today() - timedelta(days=2)))
    expired = _sign(client, therapist, draft["id"])
    assert expired.status_code == 403 and "roster_expires_on" in expired.json()["detail"]
    db.execute(update(User).where(User.id == therapist.id).values(roster_expires_on=None))
    unknown = _sign(client, therapist, draft["id"])
    assert unknown.status_code == 403 and "incomplete" in unknown.json()["detail"]
    user = client.get(f"/api/v1/users/{therapist.id}", headers=admin.headers)
    renewed = client.patch(f"/api/v1/users/{therapist.id}", json={"roster_expires_on": "2099-03-31"},
                           headers={**admin.headers, "If-Match": user.headers["etag"]})
    assert renewed.status_code == 200 and renewed.json()["roster_expires_on"] == "2099-03-31"
    assert _sign(client, therapist, draft["id"]).status_code == 200
    created = client.post("/api/v1/users", headers=admin.headers, json={
        "email": "rostered@clinic.example", "full_name": "R. Ostered", "role": "therapist",
        "password": "a long enough password", "registration_number": "R9", "authorized_to_needle": True,
        "roster_expires_on": "2027-01-31"})
    assert created.status_code == 201 and created.json()["roster_expires_on"] == "2027-01-31"
    bad = client.patch(f"/api/v1/users/{therapist.id}", json={"roster_expires_on": "soon"},
                       headers={**admin.headers, "If-Match": renewed.headers["etag"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "roster_expires_on"
