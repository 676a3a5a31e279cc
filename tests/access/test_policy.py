"""The clinical access policy (issue 10 item 5; README "Access policy"): care teams, break-the-glass,
consent withdrawal, and the FHIR searches that used to hand any therapist any patient's chart."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.models import AuditEvent, CareRelationship
from app.models.base import utcnow
from tests.factories import join_care_team, make_patient
from tests.fhir.test_fhir import seeded  # noqa: F401  (the realistic chart fixture)
from tests.treatments.helpers import consent

CHART_TYPES = ("Procedure", "Observation", "Encounter", "Condition", "Consent", "Provenance")
GLASS = {"reason": "patient arrived in acute pain; their therapist is away"}


def search(client, member, rtype: str, patient_id: str):
    return client.get(f"/fhir/{rtype}", params={"patient": patient_id}, headers=member.headers)


def break_glass(client, member, patient_id: str, **body):
    return client.post(f"/api/v1/patients/{patient_id}/break-glass", json=body or GLASS, headers=member.headers)


@pytest.mark.parametrize("rtype", CHART_TYPES)
def test_fhir_searches_follow_the_care_relationship(client, staff, db, seeded, rtype):  # noqa: F811
    therapist, patient, *_ = seeded
    stranger, colleague = staff("therapist"), staff("therapist")
    refused = search(client, stranger, rtype, patient["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome" and "entry" not in refused.json()
    assert search(client, therapist, rtype, patient["id"]).json()["total"] >= 1  # the registering therapist
    join_care_team(client, therapist, patient["id"], colleague)
    assert search(client, colleague, rtype, patient["id"]).status_code == 200
    [denial] = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == stranger.id)).all()
    assert (denial.action, denial.outcome, denial.detail["reason"]) == ("access", "denied",
                                                                        "no care relationship with this patient")
    assert str(denial.patient_id) == patient["id"]


def test_fhir_reads_by_id_follow_the_care_relationship_but_demographics_do_not(client, staff, seeded):  # noqa: F811
    _, patient, episode, _, treatment = seeded
    stranger = staff("therapist")
    assert client.get(f"/fhir/Procedure/{treatment['id']}", headers=stranger.headers).status_code == 403
    condition = f"/fhir/Condition/{episode['id']}-{episode['conditions'][0].replace('_', '-')}"
    assert client.get(condition, headers=stranger.headers).status_code == 403
    assert client.get(f"/fhir/Procedure/{uuid.uuid4()}", headers=stranger.headers).status_code == 404
    assert client.get(f"/fhir/Patient/{patient['id']}", headers=stranger.headers).status_code == 200
    assert client.get("/fhir/Patient", headers=stranger.headers).status_code == 200
    auditor = staff("auditor")  # clinic-wide, read-only
    assert search(client, auditor, "Procedure", patient["id"]).status_code == 200


def test_break_the_glass_is_time_limited_audited_and_reads_but_never_exports(client, staff, db, seeded):  # noqa: F811
    _, patient, *_ = seeded
    covering = staff("therapist")
    short = break_glass(client, covering, patient["id"], reason="need it")
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "reason"
    opened = break_glass(client, covering, patient["id"])
    assert opened.status_code == 201, opened.text
    access = opened.json()
    assert access["kind"] == "break_glass" and access["expires_at"] is not None

    assert search(client, covering, "Procedure", patient["id"]).status_code == 200
    assert client.get(f"/api/v1/patients/{patient['id']}/chart", headers=covering.headers).status_code == 200
    assert client.get(f"/api/v1/patients/{patient['id']}/export", headers=covering.headers).status_code == 403
    assert client.get(f"/fhir/Patient/{patient['id']}/$everything", headers=covering.headers).status_code == 403

    opened_row = db.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass")).one()
    assert opened_row.detail["reason"] == GLASS["reason"] and opened_row.actor_id == covering.id
    uses = db.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass_access")).all()
    assert {u.detail["path"] for u in uses} == {"/fhir/Procedure", f"/api/v1/patients/{patient['id']}/chart"}
    assert all(u.detail["access_id"] == access["id"] and u.detail["reason"] == GLASS["reason"] for u in uses)

    # Once it expires the chart is shut again.
    db.execute(update(CareRelationship).where(CareRelationship.id == uuid.UUID(access["id"]))
               .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert search(client, covering, "Procedure", patient["id"]).status_code == 403


def test_break_the_glass_is_only_for_therapists_outside_the_care_team(client, staff, seeded):  # noqa: F811
    therapist, patient, *_ = seeded
    assert break_glass(client, therapist, patient["id"]).status_code == 409  # already on the team
    for role in ("admin", "auditor", "reception"):
        assert break_glass(client, staff(role), patient["id"]).status_code == 403, role


def test_the_lifetime_of_break_the_glass_is_configurable(app, client, staff, settings):
    app.state.settings = settings.model_copy(update={"break_glass_minutes": 15})
    patient = make_patient(client, staff("reception"))
    before = utcnow()
    from datetime import datetime

    access = break_glass(client, staff("therapist"), patient["id"]).json()
    assert timedelta(minutes=15) <= datetime.fromisoformat(access["expires_at"]) - before <= timedelta(minutes=16)


def test_who_may_withdraw_a_consent(client, staff, seeded):  # noqa: F811
    obtained_by, patient, *_ = seeded
    pid = patient["id"]

    def withdraw(member, consent_id):
        return client.post(f"/api/v1/patients/{pid}/consents/{consent_id}/withdraw", json={"reason": "patient asked"},
                           headers=member.headers)

    stranger, covering, teammate = staff("therapist"), staff("therapist"), staff("therapist")
    first, second, third = (consent(client, obtained_by, pid, kind="data_sharing")["id"] for _ in range(3))
    assert withdraw(stranger, first).status_code == 403          # no relationship at all
    assert break_glass(client, covering, pid).status_code == 201
    assert withdraw(covering, first).status_code == 403          # break-the-glass reaches no colleague's consent
    join_care_team(client, obtained_by, pid, teammate)
    assert withdraw(teammate, first).status_code == 200          # the care team acts on the patient's word
    assert withdraw(obtained_by, second).status_code == 200      # its own clinician
    assert withdraw(staff("admin"), third).status_code == 200    # an admin


def test_joining_a_care_team(client, staff, db):
    therapist, reception, outsider = staff("therapist"), staff("reception"), staff("therapist")
    patient = make_patient(client, reception)
    url = f"/api/v1/patients/{patient['id']}/care-team"
    self_invite = client.post(url, json={"user_id": str(outsider.id)}, headers=outsider.headers)
    assert self_invite.status_code == 403  # a therapist outside the team cannot let themselves in
    not_clinician = client.post(url, json={"user_id": str(staff("auditor").id)}, headers=reception.headers)
    assert not_clinician.status_code == 422 and not_clinician.json()["errors"][0]["field"] == "user_id"
    first = client.post(url, json={"user_id": str(therapist.id), "reason": "booked"}, headers=reception.headers)
    again = client.post(url, json={"user_id": str(therapist.id)}, headers=reception.headers)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    started = db.scalars(select(AuditEvent).where(AuditEvent.action == "care_start",
                                                  AuditEvent.patient_id == uuid.UUID(patient["id"]))).one()
    assert started.actor_id == reception.id and started.detail == {
        "user_id": str(therapist.id), "kind": "care_team", "reason": "booked", "expires_at": None}
    # A therapist may leave, not remove a colleague.
    colleague = join_care_team(client, therapist, patient["id"], outsider)
    assert client.post(f"{url}/{colleague['user_id']}/end", headers=therapist.headers).status_code == 403
    assert client.post(f"{url}/{therapist.id}/end", headers=therapist.headers).status_code == 200
    assert [m["user_id"] for m in client.get(url, headers=reception.headers).json()] == [str(outsider.id)]


def test_the_changes_feed_shows_a_therapist_only_their_patients_clinical_changes(client, staff, seeded):  # noqa: F811
    _, patient, episode, *_ = seeded
    outsider = staff("therapist")
    own = make_patient(client, outsider)
    items = client.get("/api/v1/changes", params={"limit": 1000}, headers=outsider.headers).json()["items"]
    clinical = {i["resource_id"] for i in items if i["resource_type"] != "patient"}
    assert episode["id"] not in clinical
    assert {patient["id"], own["id"]} <= {i["resource_id"] for i in items if i["resource_type"] == "patient"}
    admin_items = client.get("/api/v1/changes", params={"limit": 1000}, headers=staff("admin").headers).json()
    assert episode["id"] in {i["resource_id"] for i in admin_items["items"]}
