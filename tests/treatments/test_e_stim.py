"""Issue 16 item 3: e-stim records which needles each lead pairs, and where the current may not flow."""

from __future__ import annotations

from tests.assessments.helpers import open_episode
from tests.factories import make_patient
from tests.treatments.helpers import consent, needle, ready_patient, record_session


def _wired(*needles, leads=None):
    return {"needles": list(needles), "needles_inserted": len(needles),
            "e_stim_leads": leads if leads is not None else [{"needles": [0, 1], "channel": 1}]}


def test_each_e_stim_needle_is_on_a_lead_between_two_logged_needles(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    pid, eid = patient["id"], episode["id"]
    pair = (needle("multifidus_l5", "L5", e_stim=True), needle("gluteus_medius", "L5", e_stim=True))
    ok = record_session(client, therapist, pid, eid, **_wired(*pair))
    assert ok.status_code == 201, ok.text
    assert ok.json()["e_stim_leads"] == [{"needles": [0, 1], "channel": 1}]
    cases = [
        (_wired(*pair, leads=[]), "needles[0].e_stim"),
        (_wired(*pair, leads=[{"needles": [0, 0]}]), "e_stim_leads[0].needles"),
        (_wired(*pair, leads=[{"needles": [0, 5]}]), "e_stim_leads[0].needles"),
        (_wired(pair[0], needle("gluteus_medius", "L5")), "e_stim_leads[0].needles"),  # second has no e_stim
        (_wired(*pair, leads=[{"needles": [0]}]), "e_stim_leads[0].needles[1]"),
    ]
    for body, field in cases:
        response = record_session(client, therapist, pid, eid, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, response.json()["errors"]


def test_current_across_the_chest_or_the_anterior_neck_is_refused(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    pid, eid = patient["id"], episode["id"]
    refused = [
        (needle("biceps_brachii", "C5", e_stim=True), needle("biceps_brachii", "C5", side="right", e_stim=True)),
        (needle("multifidus_t5", "T5", e_stim=True), needle("multifidus_t5", "T5", side="right", e_stim=True)),
        (needle("pectoralis_major", "C6", e_stim=True), needle("rhomboid_major", "C5", e_stim=True)),
        (needle("sternocleidomastoid", "C2", e_stim=True), needle("upper_trapezius", "C3", e_stim=True)),
        (needle("scalenus_medius", "C5", e_stim=True), needle("levator_scapulae", "C4", e_stim=True)),
    ]
    for pair in refused:
        response = record_session(client, therapist, pid, eid, **_wired(*pair))
        assert response.status_code == 409, (pair, response.text)
        assert response.json()["errors"][0]["field"] == "e_stim_leads[0]"
    for pair in ((needle("rhomboid_major", "C5", e_stim=True), needle("lower_trapezius", "T6", e_stim=True)),
                 (needle("multifidus_l4", "L4", e_stim=True), needle("multifidus_l4", "L4", side="right",
                                                                     e_stim=True))):
        assert record_session(client, therapist, pid, eid, **_wired(*pair)).status_code == 201


def test_pregnancy_refuses_e_stim_over_the_trunk_and_epilepsy_warns(client, staff):
    therapist = staff("therapist")
    pregnant, episode = ready_patient(client, therapist, pregnancy=True)
    trunk = _wired(needle("multifidus_l5", "L5", e_stim=True), needle("multifidus_s1", "L5", e_stim=True))
    response = record_session(client, therapist, pregnant["id"], episode["id"], **trunk)
    assert response.status_code == 409 and "pregnant" in response.json()["detail"]
    leg = _wired(needle("tibialis_anterior", "L5", e_stim=True), needle("peroneus_longus", "L5", e_stim=True))
    assert record_session(client, therapist, pregnant["id"], episode["id"], **leg).status_code == 201
    epileptic, episode = ready_patient(client, therapist, epilepsy=True)
    warned = record_session(client, therapist, epileptic["id"], episode["id"], **leg)
    assert warned.status_code == 201
    assert [w["field"] for w in warned.json()["warnings"] if "electrical stimulation" in w["message"]] == \
        ["e_stim_leads"]


def test_no_e_stim_without_a_current_screen(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    consent(client, therapist, patient["id"])
    consent(client, therapist, patient["id"], kind="electrical_stimulation")
    leg = _wired(needle("tibialis_anterior", "L5", e_stim=True), needle("peroneus_longus", "L5", e_stim=True))
    response = record_session(client, therapist, patient["id"], episode["id"], **leg)
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "screening"
