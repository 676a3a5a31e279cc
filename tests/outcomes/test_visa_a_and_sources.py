"""VISA-A through the API (item 8's one branch), and a catalogue that cites every rule and MCID."""

from __future__ import annotations

from tests.assessments.helpers import open_episode
from tests.factories import make_patient

ASYMPTOMATIC = [10] * 6 + ["same_or_higher_level", {"branch": "A", "minutes": ">30"}]


def administer(client, member, patient_id, responses, **extra):
    return client.post(f"/api/v1/patients/{patient_id}/outcomes",
                       json={"instrument": "visa_a", "responses": responses, **extra}, headers=member.headers)


def test_visa_a_is_scored_and_its_progress_counts_upwards(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    episode = open_episode(client, therapist, patient["id"])
    first = administer(client, therapist, patient["id"], [3, 8, 2, 3, 0, 7, 7, {"branch": "C", "minutes": "21-30"}],
                       episode_id=episode["id"])
    assert first.status_code == 201, first.text
    assert first.json()["score"] == 37  # 23 + 7 + 7 (branch C, 21-30 minutes)
    assert first.json()["responses"][7] == {"branch": "C", "minutes": "21-30"}
    later = administer(client, therapist, patient["id"], ASYMPTOMATIC, episode_id=episode["id"])
    assert later.json()["score"] == 100
    progress = client.get(f"/api/v1/episodes/{episode['id']}/progress", headers=therapist.headers).json()
    visa = progress["instruments"][0]
    assert (visa["instrument"], visa["change"], visa["mcid"], visa["mcid_reached"]) == ("visa_a", 63, 6.5, True)


def test_visa_a_answers_off_the_form_are_422_naming_the_item(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    for responses, field in (
        ([10] * 6 + [5, {"branch": "A", "minutes": ">30"}], "responses[6]"),
        ([10] * 6 + [10, {"branch": "B", "minutes": "an hour"}], "responses[7].minutes"),
        ([10] * 6 + [10, {"branch": "A", "minutes": ">30", "c_minutes": "nil"}], "responses[7].c_minutes"),
        ([10] * 6 + [10, 30], "responses[7]"),
        ([10] * 6 + [10, None], "responses"),
    ):
        response = administer(client, therapist, patient["id"], responses)
        assert response.status_code == 422, (responses, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_the_achilles_condition_suggests_only_instruments_that_exist(client, staff):
    member = staff("therapist")
    conditions = {c["code"]: c for c in client.get("/api/v1/reference/conditions", headers=member.headers).json()}
    instruments = {i["code"] for i in client.get("/api/v1/reference/instruments", headers=member.headers).json()}
    assert "visa_a" in conditions["achilles_tendinopathy"]["suggested_outcome_measures"]
    for condition in conditions.values():
        assert set(condition["suggested_outcome_measures"]) <= instruments, condition["code"]


def test_the_catalogue_names_the_source_of_every_rule_and_mcid(client, staff):
    catalogue = {i["code"]: i for i in client.get("/api/v1/reference/instruments",
                                                  headers=staff("reception").headers).json()}
    for code, inst in catalogue.items():
        assert inst["scoring_rule"] and inst["scoring_source"] and inst["mcid_source"], code
    assert catalogue["hit6"]["mcid"] == 8 and "tension-type" in catalogue["hit6"]["mcid_source"]
    assert catalogue["rmdq"]["mcid"] == 5 and "Ostelo" in catalogue["rmdq"]["mcid_source"]
    assert "/130" in catalogue["spadi"]["scoring_rule"] and "Roach" in catalogue["spadi"]["scoring_source"]
    visa = catalogue["visa_a"]
    assert "Robinson" in visa["scoring_source"] and visa["better"] == "higher"
    assert visa["item_scales"]["6"]["choices"]["modified_training"] == 4
    assert visa["item_scales"]["7"]["branches"]["B"]["minutes"] == {"nil": 0, "1-10": 4, "11-20": 10, "21-30": 14,
                                                                     ">30": 20}
    assert catalogue["odi"]["item_scales"] is None
