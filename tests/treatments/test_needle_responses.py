"""Treatment responses: the grasp and its release, fibrotic resistance, flare, retention without e-stim, a
per-muscle retest before/after, and soreness reported at the next visit - through the whole lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.assessments.helpers import assessment_body
from tests.assessments.test_gunn_exam import exam
from tests.treatments.helpers import needle, ready_patient, record_session, six_needles

RETEST = {"muscle": "gluteus_medius", "side": "left", "movement": "hip internal rotation", "rom_before_deg": 20,
          "rom_after_deg": 35, "tenderness_before": 7, "tenderness_after": 3}


def needles_with_responses() -> list[dict[str, Any]]:
    needles = six_needles()
    needles[5]["response_details"] = {"grasp_release_s": 90, "fibrotic_resistance": "marked", "local_flare": True,
                                      "retention_min": 10}
    needles[2]["response_details"] = {"fibrotic_resistance": "mild"}
    return needles


def first_and_second_visit(client, therapist):
    patient, episode = ready_patient(client, therapist)
    first = record_session(client, therapist, patient["id"], episode["id"])
    assert first.status_code == 201, first.text
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()  # the next visit (within the clock skew)
    second = record_session(client, therapist, patient["id"], episode["id"], started_at=soon,
                            needles=needles_with_responses(),
                            needles_removed=6, muscle_retests=[RETEST],
                            soreness_since_last_visit={"treatment_id": first.json()["id"], "present": True,
                                                       "nprs": 4, "duration_hours": 36, "location": "left buttock"})
    return patient, episode, first.json(), second


def test_responses_flow_through_record_sign_amend_history_export_and_fhir(client, staff):
    therapist = staff("therapist")
    patient, _, first, created = first_and_second_visit(client, therapist)
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["needles"][5]["response_details"] == {"grasp_release_s": 90, "fibrotic_resistance": "marked",
                                                         "local_flare": True, "retention_min": 10}
    assert session["muscle_retests"][0]["rom_after_deg"] == 35 and session["warnings"] == []
    assert session["soreness_since_last_visit"]["treatment_id"] == first["id"]
    url = f"/api/v1/treatments/{session['id']}"
    patched = client.patch(url, json={"muscle_retests": [{**RETEST, "tenderness_after": 2}]},
                           headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert patched.status_code == 200, patched.text
    assert client.post(f"{url}/sign", headers=therapist.headers).status_code == 200
    amended = client.post(f"{url}/amendments", headers=therapist.headers, json={
        "reason": "Release time misread", "changes": {"needles": [
            *needles_with_responses()[:5],
            {**needles_with_responses()[5], "response_details": {"grasp_release_s": 120, "fibrotic_resistance":
                                                                 "marked", "local_flare": True,
                                                                 "retention_min": 10}}]}})
    assert amended.status_code == 201, amended.text
    history = client.get(f"{url}/history", headers=therapist.headers).json()
    assert history[1]["changed"] == ["needles[5].response_details.grasp_release_s"]
    original = client.get(f"{url}/history/1", headers=therapist.headers).json()
    assert original["content"]["needles"][5]["response_details"]["grasp_release_s"] == 90
    assert original["content"]["muscle_retests"][0]["tenderness_after"] == 2

    exported = client.get(f"/api/v1/patients/{patient['id']}/export", headers=therapist.headers).json()
    stored = {t["id"]: t for t in exported["treatments"]}[session["id"]]["content"]
    assert stored["soreness_since_last_visit"]["nprs"] == 4 and stored["muscle_retests"][0]["rom_before_deg"] == 20
    bundle = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "fhir"},
                        headers=therapist.headers).json()
    observations = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"}
    soreness = observations[f"{session['id']}-soreness"]
    assert soreness["valueBoolean"] is True and soreness["derivedFrom"] == [{"reference": f"Procedure/{first['id']}"}]
    retest = observations[f"{session['id']}-retest-0"]
    assert {c["code"]["coding"][0]["code"]: c.get("valueQuantity", c.get("valueInteger"))
            for c in retest["component"] if c["code"]["coding"][0]["code"].startswith("tenderness")} == {
        "tenderness-before": 7, "tenderness-after": 2}


def test_a_retest_of_a_muscle_not_needled_is_a_warning(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    response = record_session(client, therapist, patient["id"], episode["id"],
                              muscle_retests=[{**RETEST, "muscle": "piriformis"}])
    assert response.status_code == 201, response.text
    assert {"field": "muscle_retests[0].muscle",
            "message": "piriformis left was retested but not needled in this session"} in response.json()["warnings"]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"needles": [needle("tibialis_anterior", "L5", response_details={"grasp_release_s": 30})]},
     "needles[0].response_details.grasp_release_s"),  # no grasp among the responses
    ({"needles": [needle("tibialis_anterior", "L5", response_details={"retention_min": 500})]},
     "needles[0].response_details.retention_min"),
    ({"needles": [needle("tibialis_anterior", "L5", response_details={"fibrotic_resistance": "gritty"})]},
     "needles[0].response_details.fibrotic_resistance"),
    ({"muscle_retests": [{**RETEST, "muscle": "not_a_muscle"}]}, "muscle_retests[0].muscle"),
    ({"muscle_retests": [{k: v for k, v in RETEST.items() if k != "rom_after_deg"}]}, "muscle_retests[0]"),
    ({"muscle_retests": [{"muscle": "gluteus_medius", "side": "left"}]}, "muscle_retests[0]"),
    ({"muscle_retests": [{**RETEST, "tenderness_after": 11}]}, "muscle_retests[0].tenderness_after"),
    ({"muscle_retests": [RETEST, RETEST]}, "muscle_retests[1].muscle"),
    ({"soreness_since_last_visit": {"present": False, "nprs": 3}}, "soreness_since_last_visit"),
    ({"soreness_since_last_visit": {"present": True, "duration_hours": 400}},
     "soreness_since_last_visit.duration_hours"),
    ({"soreness_since_last_visit": {"present": True, "treatment_id": "0190a0a0-0000-7000-8000-000000000000"}},
     "soreness_since_last_visit.treatment_id"),
])
def test_invalid_responses_are_422_naming_the_field(client, staff, overrides, field):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    response = record_session(client, therapist, patient["id"], episode["id"], **overrides)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_soreness_must_follow_an_earlier_session_of_the_same_patient(client, staff):
    therapist = staff("therapist")
    patient, episode, first, second = first_and_second_visit(client, therapist)
    other, other_episode = ready_patient(client, therapist)
    foreign = record_session(client, therapist, other["id"], other_episode["id"],
                             soreness_since_last_visit={"present": True, "treatment_id": first["id"]})
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "soreness_since_last_visit.treatment_id"
    earlier = record_session(client, therapist, patient["id"], episode["id"],  # now: before `second`
                             soreness_since_last_visit={"present": True, "treatment_id": second.json()["id"]})
    assert earlier.status_code == 422 and "earlier session" in earlier.json()["errors"][0]["message"]
    url = f"/api/v1/treatments/{first['id']}"
    itself = client.patch(url, json={"soreness_since_last_visit": {"present": False, "treatment_id": first["id"]}},
                          headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert itself.status_code == 422
    assert itself.json()["errors"][0]["field"] == "soreness_since_last_visit.treatment_id"


def test_sessions_without_responses_stay_valid(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    response = record_session(client, therapist, patient["id"], episode["id"])
    assert response.status_code == 201
    body = response.json()
    assert body["muscle_retests"] == [] and body["soreness_since_last_visit"] is None
    assert body["needles"][0]["response_details"] is None


def test_the_printed_chart_shows_retests_soreness_and_the_exam_detail(client, staff):
    import io

    from pypdf import PdfReader

    therapist = staff("therapist")
    patient, episode, _, second = first_and_second_visit(client, therapist)
    assert client.post(f"/api/v1/treatments/{second.json()['id']}/sign", headers=therapist.headers).status_code == 200
    a = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"], **exam()),
                    headers=therapist.headers).json()
    assert client.post(f"/api/v1/assessments/{a['id']}/sign", headers=therapist.headers).status_code == 200
    pdf = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "pdf"}, headers=therapist.headers)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())
    assert "Retest gluteus medius left: hip internal rotation 20 -> 35; tenderness 7 -> 3" in text
    assert "Soreness since last visit: yes (4/10, 36 h)" in text
    assert "DN4 4/10 (positive)" in text and "Spondylosis: L4-L5 left (imaging)" in text
    assert "L5 left: reflex normal, MRC 4/5, light touch reduced, pin prick normal" in text
