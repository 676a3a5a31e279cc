"""Exports are privileged (issue 5 item 7, issue 10 item 5): the admin exports anyone; a therapist only the
patients on whose care team they are. The same rule guards FHIR Patient/{id}/$everything.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.models import AuditEvent
from tests.assessments.helpers import assessment_body, open_episode
from tests.factories import join_care_team, make_patient
from tests.fhir.test_fhir import seeded  # noqa: F401


def export(client, member, patient_id: str, fmt: str = "json"):
    return client.get(f"/api/v1/patients/{patient_id}/export", params={"format": fmt}, headers=member.headers)


def everything(client, member, patient_id: str):
    return client.get(f"/fhir/Patient/{patient_id}/$everything", headers=member.headers)


def test_another_therapist_may_not_export_a_patient_outside_their_care(client, staff, db, seeded):  # noqa: F811
    _, patient, *_ = seeded
    stranger = staff("therapist")
    refused = export(client, stranger, patient["id"])
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 403 and "not in your care" in refused.json()["detail"]
    for fmt in ("fhir", "pdf"):
        assert export(client, stranger, patient["id"], fmt).status_code == 403
    fhir = everything(client, stranger, patient["id"])
    assert fhir.status_code == 403 and fhir.json()["issue"][0]["code"] == "forbidden"

    denied = db.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert len(denied) == 4
    assert all((e.action, e.actor_id, e.actor_role, e.patient_id) == ("access", stranger.id, "therapist",
                                                                        uuid.UUID(patient["id"])) for e in denied)
    assert {e.detail["path"] for e in denied} == {f"/api/v1/patients/{patient['id']}/export",
                                                  f"/fhir/Patient/{patient['id']}/$everything"}
    assert all(e.detail["permission"] == "patient:export" for e in denied)
    # Nothing was handed out: no export row for the stranger.
    assert not db.scalars(select(AuditEvent).where(AuditEvent.actor_id == stranger.id,
                                                   AuditEvent.action == "export")).all()
    # Ordinary clinical reads are still clinical reads: the stranger may read the chart the usual way.
    assert client.get(f"/fhir/Patient/{patient['id']}", headers=stranger.headers).status_code == 200


def test_the_treating_therapist_and_the_admin_may_export(client, staff, seeded):  # noqa: F811
    therapist, patient, *_ = seeded
    admin = staff("admin")
    for member in (therapist, admin):
        for fmt in ("json", "fhir", "pdf"):
            assert export(client, member, patient["id"], fmt).status_code == 200, (member.role, fmt)
        assert everything(client, member, patient["id"]).status_code == 200


def test_everything_is_an_export_not_a_clinical_read(client, staff, seeded):  # noqa: F811
    _, patient, *_ = seeded
    auditor = staff("auditor")
    assert client.get(f"/fhir/Patient/{patient['id']}", headers=auditor.headers).status_code == 200
    assert everything(client, auditor, patient["id"]).status_code == 403
    assert everything(client, staff("admin"), "00000000-0000-0000-0000-000000000000").status_code == 404


def test_recording_care_is_refused_without_a_relationship_and_starts_none(client, staff):
    colleague, therapist = staff("therapist"), staff("therapist")
    patient = make_patient(client, staff("reception"))
    join_care_team(client, staff("reception"), patient["id"], colleague)
    episode = open_episode(client, colleague, patient["id"])
    attempts = [client.post(f"/api/v1/patients/{patient['id']}/episodes", json={"conditions": ["sciatica"]},
                            headers=therapist.headers),
                client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                            headers=therapist.headers)]
    assert [r.status_code for r in attempts] == [403, 403]
    assert export(client, therapist, patient["id"]).status_code == 403


def test_the_care_team_makes_a_patient_yours_until_it_ends(client, staff):
    therapist, reception = staff("therapist"), staff("reception")
    patient = make_patient(client, reception)
    assert export(client, therapist, patient["id"]).status_code == 403
    join_care_team(client, reception, patient["id"], therapist)
    assert export(client, therapist, patient["id"]).status_code == 200
    assert everything(client, therapist, patient["id"]).status_code == 200
    ended = client.post(f"/api/v1/patients/{patient['id']}/care-team/{therapist.id}/end", headers=reception.headers)
    assert ended.status_code == 200, ended.text
    assert export(client, therapist, patient["id"]).status_code == 403


def test_registering_a_new_patient_puts_the_therapist_on_its_care_team(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)  # a new, empty chart: the registering therapist is treating them
    assert export(client, therapist, patient["id"]).status_code == 200
    team = client.get(f"/api/v1/patients/{patient['id']}/care-team", headers=therapist.headers).json()
    assert [(m["user_id"], m["kind"], m["reason"]) for m in team] == [
        (str(therapist.id), "care_team", "registered the patient")]
