"""Charting a Gunn assessment: validation that names the field, warnings, drafts and roles."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent
from app.models.clinical import Assessment
from tests.assessments.helpers import assessment_body, chart_visit, open_episode, sciatica_findings
from tests.factories import make_patient


def test_therapist_charts_an_l5_s1_assessment(client, staff):
    therapist = staff("therapist")
    patient, episode, assessment = chart_visit(client, therapist)
    assert assessment["status"] == "draft"
    assert assessment["author_id"] == str(therapist.id)
    assert assessment["episode_id"] == episode["id"]
    assert assessment["patient_id"] == patient["id"]
    assert assessment["signed_at"] is None and assessment["content_hash"] is None
    assert assessment["version"] == 1
    l5 = assessment["findings"][0]
    assert l5["level"] == "L5" and l5["side"] == "left"
    assert [m["muscle"] for m in l5["muscle_shortening"]] == ["gluteus_medius", "tibialis_anterior", "multifidus_l5"]
    assert l5["skin_changes"]["trophedema"] is True and l5["skin_changes"]["pilomotor"] is False
    assert assessment["impression"] == [{"level": "L5", "side": "left"}, {"level": "S1", "side": "left"}]
    assert assessment["warnings"] == []
    got = client.get(f"/api/v1/assessments/{assessment['id']}", headers=therapist.headers)
    assert got.status_code == 200
    assert got.headers["etag"] == 'W/"1"'
    assert got.json()["findings"] == assessment["findings"]


def test_codes_are_forgiving_of_case(client, staff):
    therapist = staff("therapist")
    findings = [{"level": "l5", "side": "left", "muscle_shortening": [{"muscle": "Tibialis_Anterior"}]}]
    _, _, assessment = chart_visit(client, therapist, findings=findings, impression=[{"level": "l5", "side": "left"}])
    assert assessment["findings"][0]["level"] == "L5"
    assert assessment["findings"][0]["muscle_shortening"][0]["muscle"] == "tibialis_anterior"


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda f: f[1].update(level="L9"), "findings[1].level"),
    (lambda f: f[0]["tender_points"][0].update(muscle="gluteus_giganticus"), "findings[0].tender_points[0].muscle"),
    (lambda f: f[0]["muscle_shortening"][2].update(muscle="nope"), "findings[0].muscle_shortening[2].muscle"),
    (lambda f: f[0]["tender_points"][0].update(severity=4), "findings[0].tender_points[0].severity"),
    (lambda f: f[0]["muscle_shortening"][0].update(severity=-1), "findings[0].muscle_shortening[0].severity"),
    (lambda f: f[1].update(level="L5"), "findings[1].side"),
    (lambda f: f[0].update(side="middle"), "findings[0].side"),
    (lambda f: f[0]["rom"][0].pop("percent_of_normal"), "findings[0].rom[0]"),
    (lambda f: f[0]["skin_changes"].update(glowing=True), "findings[0].skin_changes.glowing"),
    (lambda f: f[1].update(level="L5", side="bilateral"), "findings[1].side"),  # overlaps L5 left
    (lambda f: (f[0].update(side="bilateral"), f[1].update(level="l5")), "findings[1].side"),
    (lambda f: f[0]["tender_points"].append({"muscle": "gluteus_medius", "severity": 1}),
     "findings[0].tender_points[1].muscle"),
    (lambda f: f[0]["muscle_shortening"].append({"muscle": "Tibialis_Anterior"}),
     "findings[0].muscle_shortening[3].muscle"),
])
def test_bad_findings_get_422_naming_the_exact_field(client, staff, db, mutate, field):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    findings = sciatica_findings()
    mutate(findings)
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments",
                           json=assessment_body(episode["id"], findings=findings), headers=therapist.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert db.scalar(select(func.count()).select_from(Assessment)) == 0


def test_unknown_impression_level_is_422(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    body = assessment_body(episode["id"], impression=[{"level": "L5", "side": "left"}, {"level": "X1", "side": "left"}])
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=body, headers=therapist.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["impression[1].level"]


def test_muscle_outside_the_level_is_accepted_with_a_warning(client, staff):
    therapist = staff("therapist")
    findings = [{"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "biceps_brachii", "severity": 1}]}]
    _, _, assessment = chart_visit(client, therapist, findings=findings, impression=[{"level": "L5", "side": "left"}])
    assert [w["field"] for w in assessment["warnings"]] == ["findings[0].muscle_shortening[0].muscle"]
    assert "L5" in assessment["warnings"][0]["message"]


def test_episode_of_another_patient_or_discharged_is_refused(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    other = make_patient(client, therapist, given_name="Other")
    foreign = open_episode(client, therapist, other["id"])
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(foreign["id"]),
                           headers=therapist.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "episode_id"
    own = open_episode(client, therapist, patient["id"])
    discharged = client.post(f"/api/v1/episodes/{own['id']}/discharge", json={"discharge_reason": "goals_met"},
                             headers=therapist.headers)
    assert discharged.status_code == 200, discharged.text
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(own["id"]),
                           headers=therapist.headers)
    assert response.status_code == 409


def test_future_assessment_time_is_refused(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    body = assessment_body(episode["id"], assessed_at="2099-01-01T10:00:00Z")
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=body, headers=therapist.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assessed_at"


def test_reception_never_sees_clinical_routes_and_auditor_only_reads(client, staff):
    therapist, reception, auditor = staff("therapist"), staff("reception"), staff("auditor")
    patient, episode, assessment = chart_visit(client, therapist)
    aid = assessment["id"]
    for method, path in [("GET", f"/api/v1/assessments/{aid}"),
                         ("GET", f"/api/v1/patients/{patient['id']}/assessments"),
                         ("GET", f"/api/v1/assessments/{aid}/segmental-summary"),
                         ("GET", f"/api/v1/assessments/{aid}/segmental-map.svg"),
                         ("GET", f"/api/v1/assessments/{aid}/history"),
                         ("GET", f"/api/v1/episodes/{episode['id']}"),
                         ("GET", f"/api/v1/patients/{patient['id']}/episodes")]:
        assert client.request(method, path, headers=reception.headers).status_code == 403, path
        assert client.request(method, path, headers=auditor.headers).status_code == 200, path
    body = assessment_body(episode["id"])
    for member in (reception, auditor):
        response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=body, headers=member.headers)
        assert response.status_code == 403
        assert client.post(f"/api/v1/assessments/{aid}/sign", headers=member.headers).status_code == 403


def test_reads_and_writes_are_audited(client, staff, db):
    therapist = staff("therapist")
    patient, _, assessment = chart_visit(client, therapist)
    client.get(f"/api/v1/assessments/{assessment['id']}", headers=therapist.headers)
    client.get(f"/api/v1/assessments/{assessment['id']}/segmental-summary", headers=therapist.headers)
    rows = db.scalars(select(AuditEvent).where(AuditEvent.resource_type == "Assessment",
                                               AuditEvent.resource_id == assessment["id"])).all()
    actions = sorted(r.action for r in rows)
    assert actions == ["create", "read", "read"]
    assert {str(r.patient_id) for r in rows} == {patient["id"]}
    assert {r.actor_id for r in rows} == {therapist.id}


def test_overlapping_entries_name_the_field_and_other_sides_are_fine(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    url = f"/api/v1/patients/{patient['id']}/assessments"
    findings = [{"level": "L5", "side": "left"}, {"level": "L5", "side": "bilateral"}]
    response = client.post(url, json=assessment_body(episode["id"], findings=findings, impression=[]),
                           headers=therapist.headers)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["findings[1].side"]
    assert "overlaps" in errors[0]["message"] and "findings[0]" in errors[0]["message"]
    impression = [{"level": "L5", "side": "bilateral"}, {"level": "L5", "side": "right"}]
    response = client.post(url, json=assessment_body(episode["id"], impression=impression),
                           headers=therapist.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["impression[1]"]
    # left and right at one level, and one muscle both shortened and tender, are fine
    findings = [{"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "gluteus_medius"}],
                 "tender_points": [{"muscle": "gluteus_medius"}]}, {"level": "L5", "side": "right"}]
    response = client.post(url, json=assessment_body(episode["id"], findings=findings,
                                                     impression=[{"level": "L5", "side": "left"}]),
                           headers=therapist.headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("finding", "field", "mentions"), [
    ({"level": "L5", "side": "left", "tender_points": [{"muscle": "masseter", "severity": 2}]},
     "findings[0].tender_points[0].muscle", "cranial nerve V"),
    ({"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "multifidus_l4", "severity": 2}]},
     "findings[0].muscle_shortening[0].muscle", "L4"),
])
def test_jaw_muscle_or_paraspinal_at_the_wrong_level_warns(client, staff, finding, field, mentions):
    therapist = staff("therapist")
    _, _, assessment = chart_visit(client, therapist, findings=[finding],
                                   impression=[{"level": "L5", "side": "left"}])
    assert [w["field"] for w in assessment["warnings"]] == [field]
    assert "L5" in assessment["warnings"][0]["message"] and mentions in assessment["warnings"][0]["message"]
    fine = {**finding, "level": "C3"} if "masseter" in str(finding) else {**finding, "level": "L4"}
    _, _, ok = chart_visit(client, therapist, findings=[fine], impression=[{"level": fine["level"], "side": "left"}])
    assert ok["warnings"] == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"findings": [{"level": "Q1", "side": "left"}]}, "findings[0].level"),
    ({"findings": [{"level": "L5", "side": "left", "tender_points": [{"muscle": "nope"}]}]},
     "findings[0].tender_points[0].muscle"),
    ({"findings": [{"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "gluteus_medius",
                                                                         "severity": 5}]}]},
     "findings[0].muscle_shortening[0].severity"),
    ({"impression": [{"level": "L5", "side": "up"}]}, "impression[0].side"),
    ({"findings": None}, "findings"),
    ({"assessed_at": "2099-01-01T00:00:00Z"}, "assessed_at"),
    ({"author_id": "00000000-0000-0000-0000-000000000000"}, "author_id"),
])
def test_patch_422_names_the_field(client, staff, changes, field):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{a['id']}"
    response = client.patch(url, json=changes, headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get(url, headers=therapist.headers).json()["version"] == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"findings": [{"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "gluteus_giganticus"}]}]},
     "changes.findings[0].muscle_shortening[0].muscle"),
    ({"findings": [{"level": "L5", "side": "left", "tender_points": [{"muscle": "gluteus_medius",
                                                                     "severity": 4}]}]},
     "changes.findings[0].tender_points[0].severity"),
    ({"findings": [{"level": "L5", "side": "left", "muscle_shortening": [{"muscle": "gluteus_medius",
                                                                         "severity": -1}]}]},
     "changes.findings[0].muscle_shortening[0].severity"),
])
def test_amendment_422_names_the_field(client, staff, changes, field):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    url = f"/api/v1/assessments/{a['id']}"
    assert client.post(f"{url}/sign", headers=therapist.headers).status_code == 200
    response = client.post(f"{url}/amendments", json={"reason": "correct the findings", "changes": changes},
                           headers=therapist.headers)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert len(client.get(f"{url}/history", headers=therapist.headers).json()) == 1
