"""The server scores every questionnaire by its published rule; clients never send totals."""

from __future__ import annotations

import pytest

from tests.assessments.helpers import open_episode
from tests.factories import make_patient


def administer(client, member, patient_id, instrument, responses, **extra):
    return client.post(f"/api/v1/patients/{patient_id}/outcomes",
                       json={"instrument": instrument, "responses": responses, **extra}, headers=member.headers)


@pytest.mark.parametrize(("instrument", "responses", "score", "subscores"), [
    ("nprs", [7], 7, None),
    ("psfs", [3, 5, 4], 4, None),
    ("odi", [3, 2, None, 4, 2, 3, 1, 0, 2, 3], 44.44, None),  # one section skipped: 20 / (5 x 9) x 100
    ("odi", [5] * 10, 100, None),
    ("ndi", [1, 2, 3, 1, 0, 2, 1, 1, 2, 3], 16, {"percent": 32}),
    ("ndi", [2, 2, 2, 2, 2, 2, 2, 2, 2, None], 20, {"percent": 40}),  # prorated to 50 points
    ("rmdq", [True] * 6 + [False] * 18, 6, None),
    ("quickdash", [1] * 11, 0, None),
    ("quickdash", [3] * 10 + [None], 50, None),
    ("prtee", [6, 5, 4, 7, 8] + [4] * 10, 50, {"pain": 30, "function": 20}),
    ("spadi", [10] * 5 + [0] * 8, 38.46, {"pain": 100, "disability": 0}),
    ("lefs", [4] * 20, 80, None),
    ("hit6", ["never", "rarely", "sometimes", "very_often", "always", "always"], 61, None),
    ("hit6", ["never"] * 6, 36, None),  # the floor of the published 36-78 range
    ("hit6", ["always"] * 6, 78, None),  # and its ceiling
    ("prtee", [6, None, 4, 7, 8] + [4] * 9 + [None], 51.25, {"pain": 31.25, "function": 20}),  # 1 per subscale
])
def test_scores_follow_the_published_rules(client, staff, instrument, responses, score, subscores):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    response = administer(client, therapist, patient["id"], instrument, responses)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["score"] == score and body["subscores"] == subscores
    assert body["responses"] == responses


@pytest.mark.parametrize(("instrument", "responses", "field"), [
    ("odi", [3, 2, None, None, 2, 3, 1, 0, 2, 3], "responses"),  # two sections missing
    ("odi", [3] * 9, "responses"),
    ("odi", [3, 2, 6, 4, 2, 3, 1, 0, 2, 3], "responses[2]"),
    ("odi", [3, 2, 2.5, 4, 2, 3, 1, 0, 2, 3], "responses[2]"),
    ("nprs", [None], "responses"),
    ("quickdash", [0] + [3] * 10, "responses[0]"),
    ("rmdq", [1] * 24, "responses[0]"),
    ("hit6", ["often"] * 6, "responses[0]"),
    ("psfs", [3, 4], "responses"),
    ("lefs", [4] * 19 + [None], "responses"),
    ("vas", [3], "instrument"),
    ("quickdash", [3] * 9 + [None, None], "responses"),  # at most one of the 11 items may be missing
    ("spadi", [5, None, 5, 5, 5, None, 3, 3, None, 3, 3, 3, 3], "responses"),  # three missing: not scored
    ("prtee", [6, None, None, 7, 8] + [4] * 10, "responses"),  # two pain items: the subscale cannot be imputed
    ("prtee", [6, 5, 4, 7, 8] + [4] * 8 + [None, None], "responses"),  # two function items
    ("odi", ["3"] + [3] * 9, "responses[0]"),
    ("nprs", [True], "responses[0]"),
])
def test_invalid_responses_name_the_problem(client, staff, instrument, responses, field):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    response = administer(client, therapist, patient["id"], instrument, responses)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_clients_cannot_send_a_total(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    response = administer(client, therapist, patient["id"], "nprs", [3], score=0)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "score"


def test_instrument_definitions_are_served(client, staff):
    instruments = {i["code"]: i for i in client.get("/api/v1/reference/instruments",
                                                    headers=staff("reception").headers).json()}
    assert {"nprs", "psfs", "odi", "ndi", "quickdash", "prtee", "spadi", "lefs", "hit6", "rmdq"} <= set(instruments)
    assert instruments["odi"]["max_missing"] == 1 and instruments["odi"]["mcid"] == 10
    assert instruments["odi"]["item_labels"][0] == "pain intensity"
    assert instruments["lefs"]["better"] == "higher"
    assert instruments["hit6"]["choices"]["always"] == 13


def test_outcomes_are_listed_and_episode_checked(client, staff):
    therapist, reception = staff("therapist"), staff("reception")
    patient = make_patient(client, therapist)
    other = make_patient(client, therapist, family_name="Other")
    foreign = open_episode(client, therapist, other["id"])
    bad = administer(client, therapist, patient["id"], "nprs", [5], episode_id=foreign["id"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "episode_id"
    administer(client, therapist, patient["id"], "nprs", [5])
    administer(client, therapist, patient["id"], "odi", [1] * 10)
    listing = client.get(f"/api/v1/patients/{patient['id']}/outcomes", params={"instrument": "odi"},
                         headers=therapist.headers).json()
    assert [o["instrument"] for o in listing["items"]] == ["odi"]
    assert client.get(f"/api/v1/patients/{patient['id']}/outcomes", headers=reception.headers).status_code == 403


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_are_422_naming_the_item(client, staff, raw):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    body = '{"instrument": "odi", "responses": [3, 2, ' + raw + ', 4, 2, 3, 1, 0, 2, 3]}'
    response = client.post(f"/api/v1/patients/{patient['id']}/outcomes", content=body,
                           headers={**therapist.headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "responses[2]"
    assert "finite" in response.json()["errors"][0]["message"]


def test_prtee_subscale_rule_names_the_subscale(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    response = administer(client, therapist, patient["id"], "prtee", [6, None, None, 7, 8] + [4] * 10)
    assert response.status_code == 422 and "at most 1 pain item" in response.json()["detail"]


def test_psfs_needs_one_label_per_activity(client, staff):
    therapist = staff("therapist")
    patient = make_patient(client, therapist)
    response = administer(client, therapist, patient["id"], "psfs", [3, 5, 4],
                          labels=["walking the dog", "gardening"])
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "labels"
    labelled = administer(client, therapist, patient["id"], "psfs", [3, 5, 4],
                          labels=["walking the dog", "gardening", "sitting at work"])
    assert labelled.status_code == 201 and labelled.json()["labels"][2] == "sitting at work"
