"""Validation errors help the caller fix the request: an unknown field names the allowed ones, dates are dates."""

from __future__ import annotations

from tests.factories import patient_body


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_unknown_field_suggests_the_allowed_ones(client, staff):
    therapist = staff("therapist")
    body = patient_body(address={"line1": "12 Queen St W", "city": "Toronto"}, nickname="Maggie",
                        emergency_contact={"nmae": "Lars Lindqvist"})
    found = errors_of(client.post("/api/v1/patients", json=body, headers=therapist.headers))
    assert found["address.line1"].startswith("unknown or server-owned field; did you mean `lines`?")
    assert "lines, city, province, postal_code, country" in found["address.line1"]
    assert "did you mean `name`?" in found["emergency_contact.nmae"]
    # A patient has too many fields to list, and `nickname` resembles none of them.
    assert found["nickname"] == "unknown or server-owned field; remove it"


def test_an_unknown_field_in_a_list_item_names_that_items_fields(client, staff):
    therapist = staff("therapist")
    patient = client.post("/api/v1/patients", json=patient_body(), headers=therapist.headers).json()
    episode = client.post(f"/api/v1/patients/{patient['id']}/episodes", json={"conditions": ["sciatica"]},
                          headers=therapist.headers).json()
    body = {"episode_id": episode["id"], "findings": [{"level": "L5", "side": "left", "sidee": "left"}]}
    found = errors_of(client.post(f"/api/v1/patients/{patient['id']}/assessments", json=body,
                                  headers=therapist.headers))
    assert "did you mean `side`?" in found["findings[0].sidee"], found


def test_dates_are_iso_text_not_timestamps(client, staff):
    therapist, auditor = staff("therapist"), staff("auditor")
    assert "YYYY-MM-DD" in errors_of(client.get("/api/v1/patients?birth_date=0", headers=therapist.headers))[
        "birth_date"]
    assert client.get("/api/v1/patients?birth_date=1961-04-17", headers=therapist.headers).status_code == 200
    assert "ISO 8601" in errors_of(client.get("/api/v1/audit-events?until=0.5", headers=auditor.headers))["until"]
    ok = client.get("/api/v1/audit-events?until=2026-11-24T09:00:00Z", headers=auditor.headers)
    assert ok.status_code == 200, ok.text
    found = errors_of(client.post("/api/v1/patients", json=patient_body(birth_date=0), headers=therapist.headers))
    assert "YYYY-MM-DD" in found["birth_date"]
