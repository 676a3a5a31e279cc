"""One Encounter per visit: an assessment and the same-day treatment linked to it are one visit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.jobs.runner import run_due
from tests.assessments.helpers import assessment_body
from tests.chart.test_chart import counting
from tests.fhir.test_bulk import kick_off
from tests.fhir.test_fhir import validate
from tests.treatments.helpers import ready_patient, record_session


def assess(client, therapist, patient, episode, **overrides):
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", headers=therapist.headers,
                           json=assessment_body(episode["id"], **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def treat(client, therapist, patient, episode, assessment, minutes=35):
    start = datetime.now(UTC)  # after the consents on file, and after the assessment
    response = record_session(client, therapist, patient["id"], episode["id"], assessment_id=assessment["id"],
                              needles_removed=6, started_at=start.isoformat(),
                              ended_at=(start + timedelta(minutes=minutes)).isoformat())
    assert response.status_code == 201, response.text
    return response.json()


def everything(client, therapist, patient):
    response = client.get(f"/fhir/Patient/{patient['id']}/$everything", headers=therapist.headers)
    assert response.status_code == 200, response.text
    resources = [e["resource"] for e in response.json()["entry"]]
    for resource in resources:
        validate(resource)
    return resources


def encounter_refs(resources):
    return {r["id"]: r["encounter"]["reference"] for r in resources if "encounter" in r}


def test_assessment_and_same_day_treatment_are_one_encounter(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    a = assess(client, therapist, patient, episode)
    t = treat(client, therapist, patient, episode, a)
    resources = everything(client, therapist, patient)
    [visit] = [r for r in resources if r["resourceType"] == "Encounter"]
    assert visit["id"] == f"{a['id']}-visit"
    assert datetime.fromisoformat(visit["period"]["start"]) == datetime.fromisoformat(a["assessed_at"])
    assert datetime.fromisoformat(visit["period"]["end"]) == datetime.fromisoformat(t["ended_at"])
    assert [x["text"] for x in visit["type"]] == ["Gunn segmental assessment", "IMS treatment session"]
    assert visit["participant"] == [{"individual": {"reference": f"Practitioner/{therapist.id}"}}]  # deduplicated
    assert visit["status"] == "in-progress"
    refs = encounter_refs(resources)
    assert refs[t["id"]] == f"Encounter/{a['id']}-visit"  # the Procedure
    assert refs[f"{t['id']}-pain-pre"] == refs[f"{a['id']}-f0-panel"] == f"Encounter/{a['id']}-visit"
    assert set(refs.values()) == {f"Encounter/{a['id']}-visit"}

    h = therapist.headers
    gone = client.get(f"/fhir/Encounter/{t['id']}-visit", headers=h)
    assert gone.status_code == 404 and gone.json()["resourceType"] == "OperationOutcome"
    validate(gone.json())
    searched = client.get("/fhir/Encounter", params={"patient": patient["id"]}, headers=h).json()
    assert searched["total"] == 1 and searched["entry"][0]["resource"]["id"] == visit["id"]

    # Finished only when every record of the visit is signed.
    assert client.post(f"/api/v1/assessments/{a['id']}/sign", headers=h).status_code == 200
    assert client.get(f"/fhir/Encounter/{a['id']}-visit", headers=h).json()["status"] == "in-progress"
    assert client.post(f"/api/v1/treatments/{t['id']}/sign", headers=h).status_code == 200
    read = client.get(f"/fhir/Encounter/{a['id']}-visit", headers=h).json()
    validate(read)
    assert read["status"] == "finished" and read["period"] == visit["period"]


def test_a_treatment_linked_to_an_earlier_days_assessment_is_its_own_visit(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    a = assess(client, therapist, patient, episode, assessed_at=(datetime.now(UTC) - timedelta(days=2)).isoformat())
    t = treat(client, therapist, patient, episode, a)
    resources = everything(client, therapist, patient)
    encounters = {r["id"]: r for r in resources if r["resourceType"] == "Encounter"}
    assert set(encounters) == {f"{a['id']}-visit", f"{t['id']}-visit"}
    assert [x["text"] for x in encounters[f"{t['id']}-visit"]["type"]] == ["IMS treatment session"]
    assert [x["text"] for x in encounters[f"{a['id']}-visit"]["type"]] == ["Gunn segmental assessment"]
    refs = encounter_refs(resources)
    assert refs[t["id"]] == refs[f"{t['id']}-pain-post"] == f"Encounter/{t['id']}-visit"
    assert refs[f"{a['id']}-f0-panel"] == f"Encounter/{a['id']}-visit"
    assert client.get(f"/fhir/Encounter/{t['id']}-visit", headers=therapist.headers).status_code == 200


def test_visit_queries_do_not_grow_with_linked_treatments(client, staff, app, steady_clinic_profile):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    a = assess(client, therapist, patient, episode)
    url, params = "/fhir/Encounter", {"patient": patient["id"]}

    def queries() -> int:
        with counting(app.state.engine) as statements:
            assert client.get(url, params=params, headers=therapist.headers).status_code == 200
        return len(statements)

    treat(client, therapist, patient, episode, a)
    one = queries()
    for _ in range(3):
        treat(client, therapist, patient, episode, a)
    assert queries() == one
    [visit] = [e["resource"] for e in client.get(url, params=params, headers=therapist.headers).json()["entry"]]
    assert visit["id"] == f"{a['id']}-visit"


def test_bulk_export_has_no_dangling_encounter_references(client, staff, app, settings):
    therapist, admin = staff("therapist"), staff("admin")
    patient, episode = ready_patient(client, therapist)
    a = assess(client, therapist, patient, episode)
    t = treat(client, therapist, patient, episode, a)
    other, other_episode = ready_patient(client, therapist)
    earlier = assess(client, therapist, other, other_episode,
                     assessed_at=(datetime.now(UTC) - timedelta(days=3)).isoformat())
    alone = treat(client, therapist, other, other_episode, earlier)
    poll = kick_off(client, admin)
    run_due(app.state.sessionmaker, settings.data_dir)
    exported: dict[str, list[dict]] = {}
    for output in client.get(poll, headers=admin.headers).json()["output"]:
        text = client.get(output["url"].replace("http://testserver", ""), headers=admin.headers).text
        exported[output["type"]] = [json.loads(line) for line in text.splitlines()]
    for resources in exported.values():
        for resource in resources:
            validate(resource)
    encounters = {f"Encounter/{r['id']}" for r in exported["Encounter"]}
    assert encounters == {f"Encounter/{a['id']}-visit", f"Encounter/{earlier['id']}-visit",
                          f"Encounter/{alone['id']}-visit"}
    references = [r["encounter"]["reference"] for kind in ("Procedure", "Observation") for r in exported[kind]
                  if "encounter" in r]
    assert references and set(references) <= encounters
    assert f"Encounter/{t['id']}-visit" not in references
