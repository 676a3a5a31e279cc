"""The Gunn exam detail: trophic signs with their site, the neuro screen, neural tension, spondylosis and
the DN4, through create, draft edit, sign, amend (history shows what changed), export and FHIR."""

from __future__ import annotations

from typing import Any

import pytest

from tests.assessments.helpers import assessment_body, chart_visit, sign

DN4_YES4 = {"burning": True, "painful_cold": False, "electric_shocks": True, "tingling": True,
            "pins_and_needles": False, "numbness": True, "itching": False, "hypoesthesia_to_touch": False,
            "hypoesthesia_to_pinprick": False, "brushing_increases_pain": False, "area": "left lateral leg"}


def exam() -> dict[str, Any]:
    return {
        "trophic_signs": [
            {"sign": "trophedema", "side": "left", "dermatome": "L5", "region": "lateral calf",
             "matchstick_test": "positive", "peau_d_orange": True},
            {"sign": "nail_changes", "side": "left", "region": "left hallux", "description": "ridged, brittle"}],
        "skin_temperature": [{"side": "left", "dermatome": "L5", "finding": "cooler", "difference_c": -1.2,
                              "method": "infrared_thermometer"}],
        "neuro_screen": [
            {"level": "L5", "side": "left", "reflex": "normal", "strength_mrc": 4,
             "strength_muscle": "extensor hallucis longus", "light_touch": "reduced", "pin_prick": "normal"},
            {"level": "S1", "side": "left", "reflex": "reduced", "reflex_name": "Achilles", "strength_mrc": 5}],
        "neural_tension": [{"test": "slr", "side": "left", "result": "positive", "angle_deg": 45,
                            "symptoms_reproduced": True, "structural_differentiation": True},
                           {"test": "slump", "side": "left", "result": "positive"}],
        "spondylosis": [{"segment": "L4-L5", "side": "left", "disc_narrowing": True, "osteophytes": True,
                         "foraminal_stenosis": "moderate", "source": "imaging", "modality": "x_ray",
                         "imaging_date": "2026-10-02"}],
        "neuropathic_screen": DN4_YES4,
    }


def test_the_exam_is_charted_signed_amended_and_its_history_shows_what_changed(client, staff):
    therapist = staff("therapist")
    patient, _, a = chart_visit(client, therapist, **exam())
    assert a["neuro_screen"][0]["strength_mrc"] == 4 and a["trophic_signs"][0]["matchstick_test"] == "positive"
    assert a["neuropathic_screen"]["score"] == 4 and a["neuropathic_screen"]["positive"] is True
    assert a["spondylosis"][0]["segment"] == "L4-L5" and a["warnings"] == []
    url = f"/api/v1/assessments/{a['id']}"
    edited = client.patch(url, json={"neural_tension": [{"test": "slr", "side": "left", "result": "positive",
                                                         "angle_deg": 40}]},
                          headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["neural_tension"] == [{"test": "slr", "side": "left", "result": "positive", "angle_deg": 40,
                                                "symptoms_reproduced": None, "structural_differentiation": None,
                                                "notes": None}]
    assert edited.json()["neuro_screen"] == a["neuro_screen"]  # fields not sent are kept
    assert sign(client, therapist, a["id"]).status_code == 200
    changes = {"spondylosis": [{**exam()["spondylosis"][0], "foraminal_stenosis": "severe"}],
               "neuropathic_screen": {**DN4_YES4, "itching": True}}
    amended = client.post(f"{url}/amendments", json={"reason": "MRI report arrived", "changes": changes},
                          headers=therapist.headers)
    assert amended.status_code == 201, amended.text
    assert amended.json()["neuropathic_screen"]["score"] == 5
    history = client.get(f"{url}/history", headers=therapist.headers).json()
    assert history[0]["changed"] == []
    assert history[1]["changed"] == ["neuropathic_screen.itching", "neuropathic_screen.score",
                                     "spondylosis[0].foraminal_stenosis"]
    first = client.get(f"{url}/history/1", headers=therapist.headers).json()
    assert first["content"]["spondylosis"][0]["foraminal_stenosis"] == "moderate"
    assert first["content"]["neural_tension"][0]["angle_deg"] == 40

    exported = client.get(f"/api/v1/patients/{patient['id']}/export", headers=therapist.headers).json()
    content = exported["assessments"][0]["content"]
    assert content["skin_temperature"][0]["difference_c"] == -1.2 and content["neuropathic_screen"]["score"] == 5
    bundle = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "fhir"},
                        headers=therapist.headers).json()
    observations = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"}
    dn4 = observations[f"{a['id']}-dn4"]
    assert dn4["valueInteger"] == 5 and dn4["interpretation"][0]["coding"][0]["code"] == "POS"
    assert dn4["status"] == "amended"
    neuro = observations[f"{a['id']}-neuro-0"]
    assert {"code": neuro["component"][2]["code"]["coding"][0]["code"],
            "value": neuro["component"][2]["valueInteger"]} == {"code": "strength-mrc", "value": 4}
    assert observations[f"{a['id']}-spondylosis-0"]["method"] == {"text": "imaging (x_ray)"}
    assert observations[f"{a['id']}-tension-0"]["valueCodeableConcept"]["coding"][0]["code"] == "positive"
    assert observations[f"{a['id']}-trophic-0"]["bodySite"]["text"] == "L5 lateral calf left"
    fetched = client.get(f"/fhir/Observation/{a['id']}-dn4", headers=therapist.headers)
    assert fetched.status_code == 200 and fetched.json()["valueInteger"] == 5


def test_the_summary_links_spondylosis_to_the_roots_it_involves(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist, **{
        **exam(), "spondylosis": [
            {"segment": "L4-L5", "side": "left", "disc_narrowing": True, "source": "clinical"},
            {"segment": "C5-C6", "side": "bilateral", "osteophytes": True, "source": "imaging"}]})
    summary = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers).json()
    links = {link["segment"]: link for link in summary["spondylosis"]}
    assert links["L4-L5"]["roots"] == ["L4", "L5"]  # exiting L4, traversing L5
    assert links["L4-L5"]["involved"] == [{"level": "L5", "side": "left"}]  # the impression is L5 and S1 left
    assert links["C5-C6"]["roots"] == ["C6"] and links["C5-C6"]["involved"] == []
    rows = {(r["level"], r["side"]): r for r in summary["levels"]}
    assert rows["L5", "left"]["spondylosis"] == ["L4-L5"]
    assert rows["L4", "left"]["spondylosis"] == ["L4-L5"] and rows["C6", "right"]["spondylosis"] == ["C5-C6"]
    assert rows["L5", "left"]["neuro_deficits"] == ["strength 4/5", "light touch reduced"]
    assert rows["S1", "left"]["neuro_deficits"] == ["reflex reduced"]
    assert "trophedema" in rows["L5", "left"]["skin_changes"]
    assert summary["positive_neural_tension"] == ["slr left", "slump left"]
    assert summary["neuropathic_screen"] == {"instrument": "dn4", "score": 4, "positive": True, "cutoff": 4}


def test_a_deficit_outside_the_impression_is_a_warning(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist, neuro_screen=[{"level": "C6", "side": "right", "reflex": "absent"}])
    assert a["warnings"] == [{"field": "neuro_screen[0]",
                              "message": "reflex absent at C6 right, which is not in the impression"}]


def test_notes_without_the_exam_detail_stay_valid(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist)
    assert a["neuro_screen"] == [] and a["neuropathic_screen"] is None and a["spondylosis"] == []
    summary = client.get(f"/api/v1/assessments/{a['id']}/segmental-summary", headers=therapist.headers).json()
    assert summary["spondylosis"] == [] and summary["neuropathic_screen"] is None


@pytest.mark.parametrize(("overrides", "field"), [
    ({"trophic_signs": [{"sign": "sudomotor", "side": "left"}]}, "trophic_signs[0]"),  # no site
    ({"trophic_signs": [{"sign": "sudomotor", "side": "left", "dermatome": "C1"}]}, "trophic_signs[0].dermatome"),
    ({"trophic_signs": [{"sign": "vasomotor", "side": "left", "region": "foot", "matchstick_test": "positive"}]},
     "trophic_signs[0]"),  # the matchstick test belongs to trophedema
    ({"skin_temperature": [{"side": "left", "dermatome": "X9", "finding": "cooler"}]},
     "skin_temperature[0].dermatome"),
    ({"neuro_screen": [{"level": "L5", "side": "left", "strength_mrc": 6}]}, "neuro_screen[0].strength_mrc"),
    ({"neuro_screen": [{"level": "L5", "side": "left"}]}, "neuro_screen[0]"),  # nothing tested
    ({"neuro_screen": [{"level": "L9", "side": "left", "reflex": "normal"}]}, "neuro_screen[0].level"),
    ({"neuro_screen": [{"level": "L5", "side": "left", "reflex": "normal"},
                       {"level": "L5", "side": "bilateral", "strength_mrc": 5}]}, "neuro_screen[1].side"),
    ({"neural_tension": [{"test": "slr", "side": "left", "result": "positive"},
                         {"test": "slr", "side": "left", "result": "negative"}]}, "neural_tension[1].side"),
    ({"neural_tension": [{"test": "lasegue", "side": "left", "result": "positive"}]}, "neural_tension[0].test"),
    ({"spondylosis": [{"segment": "L4-L6", "side": "left", "osteophytes": True, "source": "clinical"}]},
     "spondylosis[0].segment"),
    ({"spondylosis": [{"segment": "L4-L5", "side": "left", "osteophytes": True, "source": "clinical",
                       "modality": "mri"}]}, "spondylosis[0]"),
    ({"spondylosis": [{"segment": "L4-L5", "side": "left", "source": "imaging"}]}, "spondylosis[0]"),
    ({"neuropathic_screen": {k: v for k, v in DN4_YES4.items() if k != "itching"}}, "neuropathic_screen.itching"),
    ({"neuropathic_screen": {**DN4_YES4, "score": 9}}, "neuropathic_screen"),  # the server scores it
])
def test_invalid_exam_entries_are_422_naming_the_field(client, staff, overrides, field):
    therapist = staff("therapist")
    patient, episode, _ = chart_visit(client, therapist)
    response = client.post(f"/api/v1/patients/{patient['id']}/assessments",
                           json=assessment_body(episode["id"], **overrides), headers=therapist.headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]][:1] == [field]


def test_an_exam_list_cannot_be_nulled_in_a_draft_edit(client, staff):
    therapist = staff("therapist")
    _, _, a = chart_visit(client, therapist, **exam())
    response = client.patch(f"/api/v1/assessments/{a['id']}", json={"neuro_screen": None},
                            headers={**therapist.headers, "If-Match": 'W/"1"'})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "neuro_screen"
