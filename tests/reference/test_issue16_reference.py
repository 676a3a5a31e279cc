"""Issue 16 item 7: the reference data added by migration 0011, and that existing records stay valid."""

from __future__ import annotations

import pytest

from app.reference.service import catalog
from tests.assessments.helpers import assessment_body, open_episode
from tests.factories import make_patient
from tests.treatments.helpers import needle, ready_patient, record_session

REF = "/api/v1/reference"


@pytest.mark.parametrize(("code", "roots", "region"), [
    ("longissimus_capitis", ["C3", "C4", "C5", "C6", "C7", "C8"], "neck"),
    ("longissimus_cervicis", ["C4", "C5", "C6", "C7", "C8", "T1", "T2"], "neck"),
    ("iliocostalis_cervicis", ["C6", "C7", "C8", "T1", "T2"], "neck"),
    ("semispinalis_cervicis", ["C3", "C4", "C5", "C6"], "neck"),
    ("extensor_pollicis_longus", ["C6", "C7", "C8"], "forearm"),
    ("extensor_pollicis_brevis", ["C6", "C7", "C8"], "forearm"),
    ("extensor_digiti_minimi", ["C6", "C7", "C8"], "forearm"),
    ("palmaris_longus", ["C6", "C7", "C8", "T1"], "forearm"),
    ("flexor_pollicis_brevis", ["C6", "C7", "C8", "T1"], "hand"),
    ("lumbricals_hand", ["C6", "C7", "C8", "T1"], "hand"),
    ("longus_capitis", ["C1", "C2", "C3", "C4"], "neck"),
    ("psoas_minor", ["L1", "L2"], "hip"),
    ("obturator_externus", ["L3", "L4"], "hip"),
    ("extensor_hallucis_brevis", ["L4", "L5", "S1"], "foot"),
    ("subclavius", ["C5", "C6"], "trunk"),
])
def test_the_missing_muscles_are_there_with_their_roots(client, staff, code, roots, region):
    body = client.get(f"{REF}/muscles/{code}", headers=staff("therapist").headers)
    assert body.status_code == 200, code
    assert (body.json()["levels"], body.json()["body_region"]) == (roots, region)


def test_suboccipitals_are_the_c1_c2_paraspinal_targets_and_thoracic_roots_pair_down(client, staff):
    member = staff("therapist")
    c1 = client.get(f"{REF}/muscles", params={"level": "C1", "kind": "paraspinal"}, headers=member.headers).json()
    assert {m["code"] for m in c1} == {"rectus_capitis_posterior_major", "rectus_capitis_posterior_minor",
                                       "obliquus_capitis_superior", "obliquus_capitis_inferior"}
    c2 = client.get(f"{REF}/muscles", params={"level": "C2", "kind": "paraspinal"}, headers=member.headers).json()
    assert {m["code"] for m in c1} < {m["code"] for m in c2} and "multifidus_c2" in {m["code"] for m in c2}
    levels = {lv["code"]: lv for lv in client.get(f"{REF}/levels", headers=member.headers).json()}
    assert levels["T5"]["paraspinal_levels"] == ["T5", "T6"] and levels["T12"]["paraspinal_levels"] == ["T12", "L1"]
    cn5 = client.get(f"{REF}/muscles", params={"level": "CN5"}, headers=member.headers).json()
    assert {"masseter", "temporalis", "digastric", "occipitofrontalis"} <= {m["code"] for m in cn5}
    assert levels["CN5"]["region"] == "cranial"


def test_a_tmj_finding_is_recorded_at_the_cn_v_region(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"], conditions=["tmj_disorder"])
    body = assessment_body(episode["id"], findings=[{"level": "CN5", "side": "left", "muscle_shortening": [
        {"muscle": "masseter", "severity": 2}]}], impression=[{"level": "CN5", "side": "left"}])
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=body, headers=therapist.headers)
    assert response.status_code == 201, response.text
    assert not [w for w in response.json().get("warnings", []) if "masseter" in w["message"]]
    conditions = {c["code"]: c for c in client.get(f"{REF}/conditions", headers=therapist.headers).json()}
    assert conditions["tmj_disorder"]["levels_examined_first"][0] == "CN5"
    assert conditions["headache"]["includes_cranial_nerve_v"] is True


def test_parts_of_one_muscle_count_once_for_billing(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    parts = [needle("iliopsoas", "L2"), needle("psoas_major", "L2"), needle("iliacus", "L2"),
             needle("multifidus_l4", "L4"), needle("multifidus_l5", "L5")]
    response = record_session(client, therapist, patient["id"], episode["id"], needles=parts, needles_inserted=5)
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["muscles_needled"]) == 5 and body["billed_muscles"] == ["iliopsoas", "multifidus"]
    assert body["billing_cpt"] == "20560"
    back = [needle("erector_spinae", "L3"), needle("longissimus_thoracis", "L2"), needle("upper_trapezius", "C3"),
            needle("lower_trapezius", "T6"), needle("psoas_minor", "L1")]
    response = record_session(client, therapist, patient["id"], episode["id"], needles=back, needles_inserted=5)
    assert response.json()["billed_muscles"] == ["longissimus", "psoas_minor", "trapezius"]
    assert response.json()["billing_cpt"] == "20561"


def test_records_made_before_the_migration_stay_valid(client, staff, db):
    """A suboccipital needle stored as peripheral (the kind before 0011) is still read, edited and signed."""
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    old = [needle("rectus_capitis_posterior_major", "C1", kind="peripheral")]
    response = record_session(client, therapist, patient["id"], episode["id"], needles=old, needles_inserted=1,
                              needles_removed=1)
    assert response.status_code == 201, response.text
    assert not [w for w in response.json()["warnings"] if "kind" in w["field"]]
    assert client.post(f"/api/v1/treatments/{response.json()['id']}/sign", headers=therapist.headers).status_code == 200
    cat = catalog(db)
    assert cat.supplies("masseter", "C2") and cat.supplies("multifidus_t5", "T5")  # old pairs still belong
