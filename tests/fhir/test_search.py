"""FHIR search never silently widens: every criterion narrows, unsupported ones are refused or visibly ignored."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from app.fhir import codes
from app.fhir.search_params import SPEC
from tests.factories import make_patient
from tests.fhir.test_fhir import seeded, validate  # noqa: F401  (fixture)

STRICT = {"Prefer": "handling=strict"}


@pytest.fixture
def three(client, staff):
    therapist = staff("therapist")
    people = [make_patient(client, therapist, family_name="Lindqvist", given_name="Margaret", birth_date="1961-04-17"),
              make_patient(client, therapist, family_name="Bélanger", given_name="Jean", birth_date="1975-09-02",
                           sex_at_birth="male"),
              make_patient(client, therapist, family_name="Lindholm", given_name="Ann", birth_date="1990-01-30",
                           preferred_name="Annie")]
    return therapist, people


def _ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"]


def _get(client, member, path, params=None, headers=None):
    response = client.get(path, params=params, headers={**member.headers, **(headers or {})})
    assert response.status_code == 200, response.text
    return response.json()


def test_patient_criteria_narrow_and_never_widen(client, three):
    therapist, (margaret, jean, ann) = three
    def find(**params):
        return _get(client, therapist, "/fhir/Patient", params)
    assert find(family="Nobody")["total"] == 0 and find(family="Nobody").get("entry") == []
    assert _ids(find(_id=jean["id"])) == [jean["id"]]
    assert _ids(find(_id="not-a-uuid")) == []
    assert _ids(find(identifier=f"{codes.CHART_NUMBER}|{ann['chart_number']}")) == [ann["id"]]
    assert _ids(find(identifier=ann["chart_number"])) == [ann["id"]]
    assert _ids(find(identifier=f"http://other.example/ids|{ann['chart_number']}")) == []
    assert _ids(find(identifier="x|y")) == []
    assert sorted(_ids(find(family="lind"))) == sorted([margaret["id"], ann["id"]])
    assert _ids(find(family="belanger")) == [jean["id"]]  # accent and case blind
    assert _ids(find(**{"family:exact": "Lind"})) == []
    assert _ids(find(given="annie")) == [ann["id"]]  # the preferred name counts
    assert _ids(find(name="jean")) == [jean["id"]]
    assert _ids(find(birthdate="1975-09-02")) == [jean["id"]]
    assert sorted(_ids(find(birthdate="ge1975"))) == sorted([jean["id"], ann["id"]])
    assert _ids(find(birthdate="lt1962-01")) == [margaret["id"]]
    assert _ids(find(gender="male")) == [jean["id"]]
    assert _ids(find(family="lind", given="ann")) == [ann["id"]]  # criteria are ANDed
    assert sorted(_ids(find(family="Lindholm,Bélanger"))) == sorted([jean["id"], ann["id"]])  # commas are ORed
    assert len(_ids(find(active="true"))) == 3 and _ids(find(active="false")) == []


def test_unknown_parameters_are_refused_when_strict_and_dropped_from_self_when_lenient(client, three):
    therapist, (margaret, *_) = three
    strict = client.get("/fhir/Patient", params={"family": "Lindqvist", "shoe-size": "9"},
                        headers={**therapist.headers, **STRICT})
    assert strict.status_code == 400 and strict.json()["resourceType"] == "OperationOutcome"
    assert "shoe-size" in strict.json()["issue"][0]["diagnostics"]
    lenient = _get(client, therapist, "/fhir/Patient", {"family": "Lindqvist", "shoe-size": "9"})
    assert _ids(lenient) == [margaret["id"]]
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert dict(parse_qsl(urlsplit(self_link).query)) == {"family": "Lindqvist"}
    for bad in ({"family:phonetic": "x"}, {"_sort": "family"}, {"_summary": "text"}, {"_include": "Patient:x"}):
        assert client.get("/fhir/Patient", params=bad, headers={**therapist.headers, **STRICT}).status_code == 400
    for bad in ({"birthdate": "yesterday"}, {"active": "maybe"}, {"_count": "-1"}, {"gender": "robot"}):
        response = client.get("/fhir/Patient", params=bad, headers=therapist.headers)
        assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome", bad


def test_count_zero_and_summary_count_give_the_total_only(client, three):
    therapist, _ = three
    for params in ({"_count": "0"}, {"_summary": "count"}):
        body = _get(client, therapist, "/fhir/Patient", params)
        validate(body)
        assert body["total"] == 3 and body["entry"] == [] and [link["relation"] for link in body["link"]] == ["self"]


def test_keyset_pages_sorted_by_date_never_repeat(client, three):
    therapist, people = three
    seen, url = [], "/fhir/Patient?_sort=-birthdate&_count=1"
    while url:
        body = _get(client, therapist, url.replace("http://testserver", ""))
        assert body["total"] == 3
        seen += _ids(body)
        url = next((link["url"] for link in body["link"] if link["relation"] == "next"), None)
    by_birth = sorted(people, key=lambda p: p["birth_date"], reverse=True)
    assert seen == [p["id"] for p in by_birth]
    ascending = _get(client, therapist, "/fhir/Patient", {"_sort": "_lastUpdated"})
    assert _ids(ascending) == [p["id"] for p in people]
    bundle = _get(client, therapist, "/fhir/Patient", {"_id": people[0]["id"]})
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{people[0]['id']}"


def test_clinical_search_by_code_status_date_encounter_and_include(client, seeded):  # noqa: F811
    therapist, patient, _, _, treatment = seeded
    pid = patient["id"]
    pain = _get(client, therapist, "/fhir/Observation", {"patient": pid, "code": f"{codes.LOINC}|{codes.PAIN_NRS}"})
    assert sorted(_ids(pain)) == sorted([f"{treatment['id']}-pain-pre", f"{treatment['id']}-pain-post"])
    assert _ids(_get(client, therapist, "/fhir/Observation", {"patient": pid, "code": "http://other|72514-3"})) == []
    assert _ids(_get(client, therapist, "/fhir/Procedure", {"subject": f"Patient/{pid}", "status": "completed"})) \
        == [treatment["id"]]
    assert _ids(_get(client, therapist, "/fhir/Procedure", {"patient": pid, "status": "in-progress"})) == []
    # A date without a time is a day on the clinic's calendar: just after midnight UTC it is still yesterday there.
    zone = ZoneInfo(client.get("/api/v1/clinic", headers=therapist.headers).json()["time_zone"])
    day = datetime.fromisoformat(treatment["started_at"]).astimezone(zone).date().isoformat()
    assert _ids(_get(client, therapist, "/fhir/Procedure", {"patient": pid, "date": f"ge{day}"})) == [treatment["id"]]
    assert _ids(_get(client, therapist, "/fhir/Procedure", {"patient": pid, "date": "lt2000-01-01"})) == []
    visit = _get(client, therapist, "/fhir/Procedure", {"patient": pid})["entry"][0]["resource"]["encounter"]
    in_visit = _get(client, therapist, "/fhir/Observation", {"patient": pid, "encounter": visit["reference"]})
    assert f"{treatment['id']}-pain-pre" in _ids(in_visit)
    included = _get(client, therapist, "/fhir/Procedure", {"patient": pid, "_include": "Procedure:patient"})
    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in included["entry"]]
    assert modes == [("Procedure", "match"), ("Patient", "include")]
    validate(included)
    dated = _get(client, therapist, "/fhir/Observation", {"patient": pid, "_sort": "-date", "_count": "3"})
    dates = [e["resource"]["effectiveDateTime"] for e in dated["entry"]]
    assert dates == sorted(dates, reverse=True)
    count = _get(client, therapist, "/fhir/Observation", {"patient": pid, "_count": "0"})
    assert count["entry"] == [] and count["total"] > 5
    nobody = _get(client, therapist, "/fhir/Observation", {"patient": "00000000-0000-0000-0000-000000000000"})
    assert nobody["total"] == 0
    missing = client.get("/fhir/Observation", params={"code": codes.PAIN_NRS}, headers=therapist.headers)
    assert missing.status_code == 400 and missing.json()["resourceType"] == "OperationOutcome"


def test_capability_statement_declares_exactly_what_is_supported(client):
    body = client.get("/fhir/metadata").json()
    validate(body)
    assert body["implementation"]["url"] == "http://testserver/fhir"
    assert "application/fhir+json" in body["format"]
    assert body["instantiates"] == ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"]
    rest = body["rest"][0]
    assert [op["name"] for op in rest["operation"]] == ["export"]
    for resource in rest["resource"]:
        declared = {p["name"] for p in resource["searchParam"]}
        assert {p.name for p in SPEC[resource["type"]]} <= declared
        assert {"_count", "_sort", "_summary"} <= declared
        assert {i["code"] for i in resource["interaction"]} == {"read", "search-type"}
        assert resource["readHistory"] is False
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert {op["name"] for op in patient["operation"]} == {"everything", "export"}


def test_include_adds_only_the_patients_of_the_matches(client, seeded):  # noqa: F811
    therapist, patient, _, _, treatment = seeded
    other = make_patient(client, therapist, family_name="Other")
    body = _get(client, therapist, "/fhir/Procedure", {"patient": f"{patient['id']},{other['id']}",
                                                      "_include": "Procedure:patient"})
    assert [(e["resource"]["resourceType"], e["resource"]["id"], e["search"]["mode"]) for e in body["entry"]] == [
        ("Procedure", treatment["id"], "match"), ("Patient", patient["id"], "include")]
