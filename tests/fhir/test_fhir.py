"""FHIR R4: every resource we emit validates against fhir.resources; read, search and $everything work."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class

from tests.assessments.helpers import assessment_body
from tests.factories import make_patient
from tests.treatments.helpers import ready_patient, record_session


@pytest.fixture
def seeded(client, staff):
    """A realistic chart: signed and amended assessment, signed session with e-stim and an AE, outcomes."""
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist, anticoagulants=True)
    headers = therapist.headers
    a = client.post(f"/api/v1/patients/{patient['id']}/assessments", json=assessment_body(episode["id"]),
                    headers=headers).json()
    client.post(f"/api/v1/assessments/{a['id']}/sign", headers=headers)
    client.post(f"/api/v1/assessments/{a['id']}/amendments", headers=headers,
                json={"reason": "S1 was right-sided", "changes": {"plan": "IMS weekly x6"}})
    t = record_session(client, therapist, patient["id"], episode["id"], needles_removed=6, adverse_events=[
        {"kind": "bruising", "severity": "mild", "action_taken": "pressure"}]).json()
    client.post(f"/api/v1/treatments/{t['id']}/sign", headers=headers)
    for responses in ([4] * 10, [3, 3, 2, None, 3, 2, 2, 2, 2, 3]):
        client.post(f"/api/v1/patients/{patient['id']}/outcomes", headers=headers,
                    json={"instrument": "odi", "responses": responses, "episode_id": episode["id"]})
    return therapist, patient, episode, a, t


def validate(resource: dict) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_patient_bundle_validates_resource_by_resource(client, seeded):
    therapist, patient, _, assessment, treatment = seeded
    response = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "fhir"},
                          headers=therapist.headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        validate(resource)
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {"Patient", "Practitioner", "Condition", "Encounter", "Observation", "Procedure", "Consent",
                     "Provenance"}
    by_id = {r["id"]: r for r in resources}
    panel = by_id[f"{assessment['id']}-f0-panel"]
    assert panel["code"]["coding"][0]["code"] == "segmental-panel" and len(panel["hasMember"]) == 4
    finding = by_id[panel["hasMember"][0]["reference"].split("/")[1]]
    site = finding["bodySite"]
    assert [x["code"] for x in site["coding"]] == ["gluteus_medius"]  # the muscle is the body site ...
    assert site["extension"] == [{  # ... qualified by its side (mCODE LateralityQualifier)
        "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier",
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "7771000",
                                             "display": "Left"}]}}]
    assert finding["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "L5"
    procedure = by_id[treatment["id"]]
    assert procedure["status"] == "completed" and procedure["complication"][0]["text"] == "bruising (mild)"
    assert len(procedure["bodySite"]) == 6
    pain = by_id[f"{treatment['id']}-pain-pre"]
    assert pain["code"]["coding"][0] == {"system": "http://loinc.org", "code": "72514-3",
                                         "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}
    provenance = [r for r in resources if r["resourceType"] == "Provenance"]
    assert sorted(p["activity"]["coding"][0]["code"] for p in provenance) == ["amend", "sign", "sign"]
    assert {p.get("reason", [{}])[0].get("text") for p in provenance} >= {"S1 was right-sided"}


def test_export_file_names(client, seeded):
    therapist, patient, *_ = seeded
    chart = patient["chart_number"]
    for fmt, name in (("json", f"patient-{chart}.json"), ("fhir", f"patient-{chart}.fhir.json"),
                      ("pdf", f"patient-{chart}.pdf")):
        response = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": fmt},
                              headers=therapist.headers)
        assert response.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_treatment_encounter_has_its_end_time(client, staff):
    from datetime import UTC, datetime, timedelta

    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    start = datetime.now(UTC)  # after the consents on file
    t = record_session(client, therapist, patient["id"], episode["id"], started_at=start.isoformat(),
                       ended_at=(start + timedelta(minutes=35)).isoformat())
    assert t.status_code == 201, t.text
    t = t.json()
    encounter = client.get(f"/fhir/Encounter/{t['id']}-visit", headers=therapist.headers).json()
    validate(encounter)
    period = encounter["period"]
    assert datetime.fromisoformat(period["start"]) == start
    assert datetime.fromisoformat(period["end"]) == start + timedelta(minutes=35)


def test_patient_search_filters_last_updated_before_paging(client, staff):
    from datetime import UTC, datetime

    from tests.factories import make_patient

    therapist = staff("therapist")
    older = make_patient(client, therapist, family_name="Older")
    changed = make_patient(client, therapist, family_name="Changed")
    marker = datetime.now(UTC)
    assert older["id"] < changed["id"]  # the unchanged one comes first in id order
    assert client.patch(f"/api/v1/patients/{changed['id']}", json={"preferred_name": "Chang"},
                        headers={**therapist.headers, "If-Match": 'W/"1"'}).status_code == 200
    page = client.get("/fhir/Patient", params={"_lastUpdated": f"gt{marker.isoformat()}", "_count": 1},
                      headers=therapist.headers).json()
    assert [e["resource"]["id"] for e in page["entry"]] == [changed["id"]]
    assert [link["relation"] for link in page["link"]] == ["self"]  # no next page: nothing else matched
    before = client.get("/fhir/Patient", params={"_lastUpdated": f"le{marker.isoformat()}", "_count": 1},
                        headers=therapist.headers).json()
    assert [e["resource"]["id"] for e in before["entry"]] == [older["id"]]
    assert [link["relation"] for link in before["link"]] == ["self"]
    practitioners = client.get("/fhir/Practitioner", params={"_lastUpdated": f"gt{marker.isoformat()}",
                                                             "_count": 1}, headers=therapist.headers).json()
    assert practitioners["entry"] == []


def test_ids_are_stable_across_exports(client, seeded):
    therapist, patient, *_ = seeded
    url = f"/api/v1/patients/{patient['id']}/export"
    ids = [[e["resource"]["id"] for e in client.get(url, params={"format": "fhir"}, headers=therapist.headers)
            .json()["entry"]] for _ in range(2)]
    assert ids[0] == ids[1]


def test_json_export_has_every_revision_and_the_audit_trail(client, seeded, staff):
    therapist, patient, _, assessment, _ = seeded
    client.get(f"/api/v1/patients/{patient['id']}", headers=therapist.headers)
    client.get(f"/api/v1/patients/{patient['id']}/export", headers=therapist.headers)
    body = client.get(f"/api/v1/patients/{patient['id']}/export", headers=therapist.headers).json()
    assert body["patient"]["id"] == patient["id"] and "family_name_norm" not in body["patient"]
    revisions = [r for r in body["revisions"] if r["record_id"] == assessment["id"]]
    assert [r["revision"] for r in revisions] == [1, 2]
    assert revisions[1]["reason"] == "S1 was right-sided"
    assert len(body["consents"]) == 2 and len(body["outcomes"]) == 2 and len(body["treatments"]) == 1
    assert all("password_hash" not in u for u in body["staff"])
    actions = {e["action"] for e in body["audit_trail"]}
    assert {"create", "sign", "amend", "read", "export"} <= actions
    assert client.get(f"/api/v1/patients/{patient['id']}/export", headers=staff("reception").headers
                      ).status_code == 403
    assert client.get(f"/api/v1/patients/{patient['id']}/export", headers=staff("auditor").headers
                      ).status_code == 403


def test_fhir_read_search_and_everything(client, seeded):
    therapist, patient, _, _, treatment = seeded
    h = therapist.headers
    assert client.get("/fhir/metadata").status_code == 200  # public
    validate(client.get("/fhir/metadata").json())
    read = client.get(f"/fhir/Procedure/{treatment['id']}", headers=h)
    assert read.status_code == 200 and read.json()["id"] == treatment["id"]
    assert client.get(f"/fhir/Patient/{patient['id']}", headers=h).json()["birthDate"] == "1961-04-17"
    searched = client.get("/fhir/Observation", params={"patient": patient["id"], "_count": 5}, headers=h).json()
    validate(searched)
    assert searched["type"] == "searchset" and len(searched["entry"]) == 5 and searched["total"] > 5
    nxt = next(link["url"] for link in searched["link"] if link["relation"] == "next")
    second = client.get(nxt.replace("http://testserver", ""), headers=h).json()
    first_ids = {e["resource"]["id"] for e in searched["entry"]}
    assert first_ids.isdisjoint({e["resource"]["id"] for e in second["entry"]})
    future = client.get("/fhir/Condition", params={"patient": patient["id"], "_lastUpdated": "gt2999-01-01"},
                        headers=h).json()
    assert future["entry"] == []
    everything = client.get(f"/fhir/Patient/{patient['id']}/$everything", headers=h).json()
    validate(everything)
    assert everything["total"] == len(everything["entry"]) > 10
    patients = client.get("/fhir/Patient", headers=h).json()
    assert [e["resource"]["id"] for e in patients["entry"]] == [patient["id"]]


def test_fhir_errors_are_operation_outcomes(client, seeded, staff):
    therapist, patient, *_ = seeded
    missing = client.get("/fhir/Procedure/00000000-0000-0000-0000-000000000000", headers=therapist.headers)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    validate(missing.json())
    assert client.get("/fhir/Observation", headers=therapist.headers).json()["resourceType"] == "OperationOutcome"
    unauthenticated = client.get(f"/fhir/Patient/{patient['id']}")
    assert unauthenticated.status_code == 401 and unauthenticated.json()["resourceType"] == "OperationOutcome"
    denied = client.get(f"/fhir/Patient/{patient['id']}", headers=staff("reception").headers)
    assert denied.status_code == 403 and denied.json()["issue"][0]["code"] == "forbidden"


def test_pdf_chart_names_the_patient_and_every_signed_note(client, seeded, staff):
    import io

    from pypdf import PdfReader

    therapist, patient, *_ = seeded
    admin = staff("admin")
    clinic = client.get("/api/v1/clinic", headers=admin.headers)
    assert client.patch("/api/v1/clinic", headers={**admin.headers, "If-Match": clinic.headers["etag"]}, json={
        "name": "Harbourfront IMS Physiotherapy", "phone": "416-555-0199",
        "address": {"lines": ["200 Bay St"], "city": "Toronto", "province": "ON", "postal_code": "M5J 2J2"},
    }).status_code == 200
    response = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "pdf"},
                          headers=therapist.headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="patient-{patient["chart_number"]}.pdf"'
    reader = PdfReader(io.BytesIO(response.content))
    pages = [page.extract_text() for page in reader.pages]
    assert all("LINDQVIST, Margaret" in text for text in pages)  # identification on every page
    # The clinic header on every page: name, address and telephone.
    assert all("Harbourfront IMS Physiotherapy" in text and "200 Bay St, Toronto" in text and "416-555-0199" in text
               for text in pages)
    text = "\n".join(pages)
    # The segmental map: its Left/Right columns and a row per nerve-root level.
    assert "Patient's left" in text and "Patient's right" in text
    assert all(level in text for level in ("C5", "L4", "L5", "S1"))
    # The progress chart of session pain.
    assert "Session pain (NPRS 0-10)" in text
    assert "Gunn assessment" in text and "IMS treatment" in text
    assert text.count("Signed electronically by") == 2
    assert "Amendment 1" in text and "S1 was right-sided" in text
    assert "Oswestry Disability Index" in text and "MCID" in text


@pytest.mark.parametrize("value", ["ge9999-12-31T23:59:59-23:59", "le0001-01-01T00:00:00+23:59"])
def test_last_updated_past_the_edge_of_the_calendar_is_a_400_outcome(client, staff, value):
    response = client.get("/fhir/Patient", params={"_lastUpdated": value}, headers=staff("therapist").headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and "_lastUpdated" in json.dumps(body)


def test_instants_past_the_edge_of_the_calendar_are_field_errors_everywhere(client, staff):
    admin = staff("admin", authorized_to_needle=True)
    edge = "9999-12-31T23:59:59-23:59"
    export = client.post("/api/v1/exports", json={"format": "ndjson", "since": edge}, headers=admin.headers)
    assert export.status_code == 422 and export.json()["errors"][0]["field"] == "since", export.text
    bulk = client.get("/fhir/$export", params={"_since": edge},
                      headers={**admin.headers, "Prefer": "respond-async"})
    assert bulk.status_code in (400, 422) and "_since" in bulk.text, bulk.text
    audit = client.get("/api/v1/audit-events", params={"since": edge}, headers=admin.headers)
    assert audit.status_code == 422, audit.text
    patient = make_patient(client, admin)
    consent = client.post(f"/api/v1/patients/{patient['id']}/consents",
                          json={"kind": "data_sharing", "method": "verbal", "obtained_at": edge}, headers=admin.headers)
    assert consent.status_code == 422 and consent.json()["errors"][0]["field"] == "obtained_at", consent.text
