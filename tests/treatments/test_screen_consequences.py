"""Issue 16 item 2: every screen item has a consequence - refusals with audited overrides, specific warnings,
a current screen to needle, and red flags that block signing until acknowledged."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent
from tests.assessments.helpers import assessment_body
from tests.integrations.helpers import api_client, bearer
from tests.treatments.helpers import needle, ready_patient, record_session, screen

PHOBIA = {"item": "needle_phobia", "reason": "patient asked to try one needle with her partner present"}


def _messages(response) -> str:
    return " | ".join(w["message"] for w in response.json()["warnings"])


def test_needle_phobia_is_refused_unless_an_override_is_recorded_and_audited(client, staff, db):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, needle_phobia=True)
    one = [needle("gluteus_medius", "L5")]
    refused = record_session(client, therapist, patient["id"], episode["id"], needles=one, needles_inserted=1)
    assert refused.status_code == 409 and "needle phobia" in refused.json()["detail"]
    short = record_session(client, therapist, patient["id"], episode["id"], needles=one, needles_inserted=1,
                           safety_overrides=[{"item": "needle_phobia", "reason": "ok"}])
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "safety_overrides[0].reason"
    done = record_session(client, therapist, patient["id"], episode["id"], needles=one, needles_inserted=1,
                          safety_overrides=[PHOBIA])
    assert done.status_code == 201, done.text
    assert "needling despite needle phobia" in _messages(done)
    row = db.scalars(select(AuditEvent).where(AuditEvent.resource_id == done.json()["id"],
                                              AuditEvent.action == "create")).one()
    assert row.detail["safety_overrides"] == [PHOBIA]


def test_an_axillary_dissection_protects_the_arm_and_chest_wall_on_that_side(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, node_dissections=["left_axilla"])
    pid, eid = patient["id"], episode["id"]
    for muscle, level in (("pectoralis_major", "C6"), ("serratus_anterior", "C6"), ("biceps_brachii", "C5"),
                          ("latissimus_dorsi", "C7")):
        refused = record_session(client, therapist, pid, eid, needles=[needle(muscle, level)], needles_inserted=1)
        assert refused.status_code == 409, (muscle, refused.text)
        assert refused.json()["errors"][0]["field"] == "needles[0]" and "left axillary" in refused.json()["detail"]
    other_side = record_session(client, therapist, pid, eid, needles_inserted=1,
                                needles=[needle("pectoralis_major", "C6", side="right")])
    assert other_side.status_code == 201, other_side.text
    legs = record_session(client, therapist, pid, eid, needles=[needle("gluteus_medius", "L5")], needles_inserted=1)
    assert legs.status_code == 201
    overridden = record_session(client, therapist, pid, eid, needles=[needle("biceps_brachii", "C5")],
                                needles_inserted=1, safety_overrides=[
                                    {"item": "lymphedema", "reason": "surgeon cleared the arm; no swelling"}])
    assert overridden.status_code == 201, overridden.text


def test_a_lymphoedematous_limb_is_refused_on_patch_too(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, lymphedema=True, lymphedema_limb="right_leg")
    draft = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=1,
                           needles=[needle("tibialis_anterior", "L5")]).json()
    response = client.patch(f"/api/v1/treatments/{draft['id']}", headers={
        **therapist.headers, "If-Match": f'W/"{draft["version"]}"'}, json={
        "needles": [needle("tibialis_anterior", "L5", side="right")]})
    assert response.status_code == 409 and "lymphoedema of the right leg" in response.json()["detail"]


def test_a_lesion_needs_its_site_and_a_needle_there_warns(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    base = f"/api/v1/patients/{patient['id']}/screenings"
    missing = client.post(base, json={"local_infection_or_lesion": True}, headers=therapist.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "lesion_sites"
    stray = client.post(base, json={"lesion_sites": [{"region": "leg", "side": "left"}]}, headers=therapist.headers)
    assert stray.status_code == 422 and stray.json()["errors"][0]["field"] == "lesion_sites"
    ear = {"local_infection_or_lesion": True, "lesion_sites": [{"region": "ear", "side": "left"}]}
    bad = client.post(base, json=ear, headers=therapist.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lesion_sites[0].region"
    screen(client, therapist, patient["id"], local_infection_or_lesion=True,
           lesion_sites=[{"region": "leg", "side": "left", "description": "cellulitis"}])
    response = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=2,
                              needles=[needle("tibialis_anterior", "L5"), needle("tibialis_anterior", "L5",
                                                                                side="right")])
    at_site = [w for w in response.json()["warnings"] if "infection or skin lesion" in w["message"]]
    assert [w["field"] for w in at_site] == ["needles[0]"] and "cellulitis" in at_site[0]["message"]


def test_vasovagal_history_warns_unless_recumbent(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, vasovagal_history=True)
    one = [needle("gluteus_medius", "L5")]
    sitting = record_session(client, therapist, patient["id"], episode["id"], needles=one, needles_inserted=1,
                             position="sitting")
    assert [w["field"] for w in sitting.json()["warnings"] if "vasovagal" in w["message"]] == ["position"]
    for position in ("prone", "side-lying", "supine"):
        lying = record_session(client, therapist, patient["id"], episode["id"], needles=one, needles_inserted=1,
                               position=position)
        assert "vasovagal" not in _messages(lying), position


def test_each_precaution_has_its_own_warning(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, immunosuppression=True, diabetes=True, epilepsy=True,
                                     metal_allergy=True, recent_surgery=True, pregnancy=True,
                                     notes="right total knee replacement 6 weeks ago")
    response = record_session(client, therapist, patient["id"], episode["id"], needles_inserted=2,
                              needles=[needle("gluteus_medius", "L5"), needle("multifidus_l5", "L5")])
    assert response.status_code == 201, response.text
    messages = _messages(response)
    for expected in ("immunosuppression: infection risk", "diabetes: infection risk", "epilepsy:",
                     "metal allergy:", "recent surgery:", "right total knee replacement", "pregnancy:"):
        assert expected in messages, expected
    assert any(w["field"] == "needles[1]" and "lumbopelvic" in w["message"] for w in response.json()["warnings"])
    clean_patient, clean_episode = ready_patient(client, therapist)
    clean = record_session(client, therapist, clean_patient["id"], clean_episode["id"], needles_inserted=1,
                           needles=[needle("gluteus_medius", "L5")])
    assert clean.json()["warnings"] == []


def _flagged_assessment(client, therapist, patient_id, episode_id, **flags):
    body = assessment_body(episode_id, subjective={"red_flags": flags})
    response = client.post(f"/api/v1/patients/{patient_id}/assessments", json=body, headers=therapist.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_red_flags_show_on_the_chart_and_block_signing_until_acknowledged(client, staff, db):
    therapist, admin = staff("therapist"), staff("admin")
    patient, episode = ready_patient(client, therapist)
    pid = patient["id"]
    exam = _flagged_assessment(client, therapist, pid, episode["id"], cauda_equina_symptoms=True, night_pain=True)
    chart = client.get(f"/api/v1/patients/{pid}/chart", headers=therapist.headers).json()
    [flags] = chart["red_flags"]
    assert flags["flags"] == ["cauda_equina_symptoms", "night_pain"]
    assert flags["outstanding"] == ["cauda_equina_symptoms"]
    draft = record_session(client, therapist, pid, episode["id"], needles_inserted=1, needles_removed=1,
                           needles=[needle("gluteus_medius", "L5")]).json()
    blocked = client.post(f"/api/v1/treatments/{draft['id']}/sign", headers=therapist.headers)
    assert blocked.status_code == 409 and [e["field"] for e in blocked.json()["errors"]] == ["red_flags"]
    acks = f"/api/v1/patients/{pid}/red-flags/acknowledgements"
    wrong = client.post(acks, json={"assessment_id": exam["id"], "flags": ["suspected_malignancy"],
                                    "action": "n/a"}, headers=therapist.headers)
    assert wrong.status_code == 409 and wrong.json()["errors"][0]["field"] == "flags"
    key = bearer(api_client(client, admin, ["clinical:read", "clinical:write", "patients:read"])["key"])
    body = {"assessment_id": exam["id"], "flags": ["cauda_equina_symptoms"],
            "action": "Bladder and saddle sensation normal on questioning; urgent GP review booked"}
    assert client.post(acks, json=body, headers=key).status_code == 403
    done = client.post(acks, json=body, headers=therapist.headers)
    assert done.status_code == 201, done.text
    assert db.scalars(select(AuditEvent).where(AuditEvent.resource_id == done.json()["id"])).one().action == "create"
    listed = client.get(f"/api/v1/patients/{pid}/red-flags", headers=therapist.headers).json()
    assert listed[0]["outstanding"] == [] and listed[0]["acknowledged"] == ["cauda_equina_symptoms"]
    assert client.post(f"/api/v1/treatments/{draft['id']}/sign", headers=therapist.headers).status_code == 200
    _flagged_assessment(client, therapist, pid, episode["id"], suspected_malignancy=True,
                        progressive_neurological_deficit=True)
    later = record_session(client, therapist, pid, episode["id"], needles_inserted=1, needles_removed=1,
                           needles=[needle("gluteus_medius", "L5")]).json()
    again = client.post(f"/api/v1/treatments/{later['id']}/sign", headers=therapist.headers)
    assert again.status_code == 409 and "suspected_malignancy" in again.json()["detail"]
