"""Exports are privileged (issue 5 item 7): the admin exports anyone; a therapist only the patients in their care.

The same rule guards FHIR Patient/{id}/$everything; ordinary FHIR reads stay clinical reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from tests.assessments.helpers import assessment_body, open_episode
from tests.factories import make_patient
from tests.fhir.test_fhir import seeded  # noqa: F401
from tests.treatments.helpers import consent, record_session, screen


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
    assert refused.json()["status"] == 403 and "your own patients" in refused.json()["detail"]
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


def _episode(client, member, pid, episode_id):
    open_episode(client, member, pid)


def _assessment(client, member, pid, episode_id):
    response = client.post(f"/api/v1/patients/{pid}/assessments", json=assessment_body(episode_id),
                           headers=member.headers)
    assert response.status_code == 201, response.text


def _treatment(client, member, pid, episode_id):
    assert record_session(client, member, pid, episode_id).status_code == 201


def _consent(client, member, pid, episode_id):
    consent(client, member, pid, kind="data_sharing")


def _screening(client, member, pid, episode_id):
    screen(client, member, pid)


def _outcome(client, member, pid, episode_id):
    response = client.post(f"/api/v1/patients/{pid}/outcomes", json={"instrument": "nprs", "responses": [5]},
                           headers=member.headers)
    assert response.status_code == 201, response.text


CARE: dict[str, Callable[..., Any]] = {"episode": _episode, "assessment": _assessment, "treatment": _treatment,
                                       "consent": _consent, "screening": _screening, "outcome": _outcome}


@pytest.mark.parametrize("care", list(CARE))
def test_any_care_relationship_makes_a_patient_yours(client, staff, care):
    colleague, therapist = staff("therapist"), staff("therapist")
    patient = make_patient(client, staff("reception"))
    episode = open_episode(client, colleague, patient["id"])
    consent(client, colleague, patient["id"])
    consent(client, colleague, patient["id"], kind="electrical_stimulation")
    screen(client, colleague, patient["id"])
    assert export(client, therapist, patient["id"]).status_code == 403  # not yet in their care
    CARE[care](client, therapist, patient["id"], episode["id"])
    assert export(client, therapist, patient["id"]).status_code == 200
    assert everything(client, therapist, patient["id"]).status_code == 200


def test_registering_a_patient_is_not_caring_for_them(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)  # demographics only: the front desk's job, not care
    assert export(client, therapist, patient["id"]).status_code == 403
