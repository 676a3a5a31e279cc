"""Reference anatomy served read-only to anyone signed in: levels, muscles (with filters), conditions."""

from __future__ import annotations

import pytest

from app.reference.service import catalog
from tests.integrations.helpers import api_client, bearer

REF = "/api/v1/reference"
PATHS = ("levels", "muscles", "muscles?level=L5", "muscles/tibialis_anterior", "conditions")
ANATOMICAL = [*(f"C{i}" for i in range(1, 9)), *(f"T{i}" for i in range(1, 13)),
              *(f"L{i}" for i in range(1, 6)), *(f"S{i}" for i in range(1, 6))]


@pytest.mark.parametrize("role", ["admin", "therapist", "reception", "auditor"])
def test_every_role_reads_reference_data(client, staff, role):
    member = staff(role)
    for path in PATHS:
        response = client.get(f"{REF}/{path}", headers=member.headers)
        assert response.status_code == 200, (path, response.text)


def test_an_api_client_of_any_scope_reads_reference_data(client, staff):
    key = bearer(api_client(client, staff("admin"), ["patients:read"])["key"])
    assert client.get(f"{REF}/muscles", params={"level": "C6"}, headers=key).status_code == 200


def test_no_token_or_a_bad_token_is_401_problem_json(client):
    for path in PATHS:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = client.get(f"{REF}/{path}", headers=headers)
            assert response.status_code == 401, path
            assert response.headers["content-type"].startswith("application/problem+json")


def test_levels_in_anatomical_order(client, staff):
    levels = client.get(f"{REF}/levels", headers=staff("reception").headers).json()
    assert [lv["code"] for lv in levels] == ["CN5", *ANATOMICAL]
    assert all(set(lv) == {"code", "region", "dermatome", "paraspinal_levels"} for lv in levels)
    by_code = {lv["code"]: lv for lv in levels}
    assert [by_code[c]["region"] for c in ("C8", "T1", "T12", "L1", "L5", "S1")] == \
        ["cervical", "thoracic", "thoracic", "lumbar", "lumbar", "sacral"]
    assert by_code["C1"]["dermatome"] is None and by_code["L4"]["dermatome"] == "Medial malleolus"
    assert "umbilicus" in by_code["T10"]["dermatome"] and "third metatarsophalangeal" in by_code["L5"]["dermatome"]
    assert by_code["C5"]["paraspinal_levels"] == ["C4", "C5"] and by_code["L5"]["paraspinal_levels"] == ["L5", "S1"]


def test_muscles_peripheral_by_name_then_paraspinals_top_to_bottom(client, staff):
    muscles = client.get(f"{REF}/muscles", headers=staff("therapist").headers).json()
    assert len(muscles) >= 100
    assert all(set(m) == {"code", "name", "kind", "body_region", "levels", "segment", "cranial_nerve",
                          "related_levels", "site", "over_pleura", "billing_unit"} for m in muscles)
    kinds = [m["kind"] for m in muscles]
    split = kinds.index("paraspinal")
    assert set(kinds[:split]) == {"peripheral"} and set(kinds[split:]) == {"paraspinal"}
    names = [m["name"] for m in muscles[:split]]
    assert names == sorted(names)
    segments = [m["segment"] for m in muscles[split:]]
    assert segments == ["C1"] * 4 + [lv for lv in ANATOMICAL[ANATOMICAL.index("C2"): ANATOMICAL.index("S2") + 1]
                                     if lv != "C8"]
    assert [m["code"] for m in muscles[split:]][4:6] == ["multifidus_c2", "multifidus_c3"]


def test_one_muscle(client, staff):
    member = staff("therapist")
    body = client.get(f"{REF}/muscles/tibialis_anterior", headers=member.headers).json()
    assert body == {"code": "tibialis_anterior", "name": "Tibialis anterior", "kind": "peripheral",
                    "body_region": "leg", "levels": ["L4", "L5", "S1"], "segment": None, "cranial_nerve": None,
                    "related_levels": [], "site": "lower_limb", "over_pleura": False,
                    "billing_unit": "tibialis_anterior"}
    masseter = client.get(f"{REF}/muscles/MASSETER", headers=member.headers).json()  # codes are case-insensitive
    assert masseter["cranial_nerve"] == "V" and masseter["levels"] == []
    assert masseter["related_levels"] == ["CN5", "C2", "C3"]
    l5 = client.get(f"{REF}/muscles/multifidus_l5", headers=member.headers).json()
    assert (l5["kind"], l5["segment"], l5["levels"], l5["body_region"]) == ("paraspinal", "L5", ["L5"], "spine")
    assert (l5["site"], l5["billing_unit"]) == ("lumbosacral", "multifidus")


@pytest.mark.parametrize(("code", "site", "over_pleura"), [
    ("latissimus_dorsi", "posterior_chest_wall", True), ("subscapularis", "posterior_chest_wall", True),
    ("teres_major", "posterior_chest_wall", True), ("serratus_anterior", "chest_wall", True),
    ("rhomboid_minor", "posterior_chest_wall", True), ("lower_trapezius", "posterior_chest_wall", True),
    ("intercostals", "chest_wall", True), ("pectoralis_minor", "chest_wall", True),
    ("multifidus_t8", "thoracic_paraspinal", True), ("multifidus_c7", "lung_apex", True),
    ("multifidus_l1", "thoracic_paraspinal", True), ("quadratus_lumborum", "thoracolumbar", False),
    ("erector_spinae", "thoracolumbar", False), ("deltoid", "shoulder", False), ("soleus", "lower_limb", False),
    ("sternocleidomastoid", "anterior_neck", False), ("masseter", "head", False),
])
def test_every_muscle_has_an_anatomical_site(client, staff, code, site, over_pleura):
    member = staff("therapist")
    body = client.get(f"{REF}/muscles/{code}", headers=member.headers).json()
    assert (body["site"], body["over_pleura"]) == (site, over_pleura)
    every = client.get(f"{REF}/muscles", headers=member.headers).json()
    assert not [m["code"] for m in every if m["site"] == "other"]  # the migration sets a site for every muscle


def test_unknown_muscle_is_404(client, staff):
    response = client.get(f"{REF}/muscles/not_a_muscle", headers=staff("therapist").headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "not_a_muscle" in response.json()["detail"]


def test_level_filter_gives_the_myotome_the_cranial_muscles_and_the_paraspinals(client, staff, db):
    member = staff("therapist")

    def codes(**params: str) -> list[str]:
        response = client.get(f"{REF}/muscles", params=params, headers=member.headers)
        assert response.status_code == 200, response.text
        return [m["code"] for m in response.json()]

    l5 = codes(level="L5")
    assert {"tibialis_anterior", "extensor_hallucis_longus", "gluteus_medius", "gluteus_minimus", "peroneus_longus",
            "semitendinosus", "multifidus_l5", "multifidus_s1"} <= set(l5)
    assert not {"biceps_brachii", "multifidus_l4", "multifidus_s2", "gastrocnemius", "masseter"} & set(l5)
    assert l5[-2:] == ["multifidus_l5", "multifidus_s1"]  # paraspinals last, top to bottom
    assert codes(level="l5") == l5 == [m.code for m in catalog(db).muscles_for_level("L5")]
    c3 = codes(level="C3")
    assert {"masseter", "temporalis", "medial_pterygoid", "lateral_pterygoid", "upper_trapezius",
            "scalenus_medius", "multifidus_c2", "multifidus_c3"} <= set(c3)  # jaw muscles are treated with C2-C3
    assert "masseter" not in codes(level="C4")
    assert codes(level="C1")[:1] and "multifidus_c2" not in codes(level="C1")  # occiput-C1: suboccipitals only
    assert codes(level="L5", kind="paraspinal") == ["multifidus_l5", "multifidus_s1"]
    assert set(codes(level="L5", body_region="hip")) >= {"gluteus_medius", "tensor_fasciae_latae", "piriformis"}


def test_kind_and_body_region_filters(client, staff):
    member = staff("auditor")
    paraspinals = client.get(f"{REF}/muscles", params={"kind": "paraspinal"}, headers=member.headers).json()
    assert len(paraspinals) == 29 and all(m["kind"] == "paraspinal" for m in paraspinals)  # 25 + 4 suboccipitals
    jaw = client.get(f"{REF}/muscles", params={"body_region": "jaw"}, headers=member.headers).json()
    assert {m["code"] for m in jaw} == {"masseter", "temporalis", "medial_pterygoid", "lateral_pterygoid",
                                        "digastric", "mylohyoid"}
    hand = client.get(f"{REF}/muscles", params={"body_region": "hand", "kind": "peripheral"},
                      headers=member.headers).json()
    assert hand and all(m["body_region"] == "hand" for m in hand)
    assert client.get(f"{REF}/muscles", params={"body_region": "hand", "kind": "paraspinal"},
                      headers=member.headers).json() == []


@pytest.mark.parametrize(("params", "field"), [
    ({"level": "L9"}, "level"),
    ({"level": "X"}, "level"),
    ({"level": "C1S"}, "level"),
    ({"kind": "cranial"}, "kind"),
    ({"body_region": "tail"}, "body_region"),
])
def test_bad_filters_are_422_naming_the_field(client, staff, params, field):
    response = client.get(f"{REF}/muscles", params=params, headers=staff("therapist").headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_conditions_carry_codes_levels_and_measures(client, staff):
    member = staff("reception")
    conditions = {c["code"]: c for c in client.get(f"{REF}/conditions", headers=member.headers).json()}
    assert set(conditions) == {"tennis_elbow", "plantar_fasciitis", "carpal_tunnel_syndrome", "achilles_tendinopathy",
                               "sciatica", "osteoarthritis", "whiplash", "headache", "frozen_shoulder",
                               "tmj_disorder", "low_back_pain"}
    tennis = conditions["tennis_elbow"]
    assert tennis == {"code": "tennis_elbow", "name": "Tennis elbow (lateral epicondylitis)", "icd10ca": ["M77.1"],
                      "levels_examined_first": ["C5", "C6", "C7"], "includes_cranial_nerve_v": False,
                      "suggested_outcome_measures": ["prtee", "quickdash", "nprs", "psfs"]}
    assert conditions["tmj_disorder"]["includes_cranial_nerve_v"] is True
    # the instrument codes of the shared outcome-measures sheet
    sheet = {"nprs", "psfs", "odi", "rmdq", "ndi", "quickdash", "prtee", "spadi", "lefs", "hit6", "visa_a"}
    for condition in conditions.values():
        assert set(condition["suggested_outcome_measures"]) <= sheet, condition["code"]
