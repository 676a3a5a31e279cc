"""Every response is safe by default: security headers, no caching of patient data, a request id on
500s too, and no patient data (query strings, SQL parameters, exception text) in the logs."""

from __future__ import annotations

import logging

from app.kit.logs import StripQueryStrings
from app.patients import service as patients_service
from tests.factories import make_patient, patient_body

PATIENTS = "/api/v1/patients"


def _assert_safe_headers(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain http here


def test_patient_data_is_never_cached_and_carries_the_security_headers(client, staff):
    member = staff("therapist")
    patient = make_patient(client, member)
    for response in (client.get(f"{PATIENTS}/{patient['id']}", headers=member.headers),
                     client.get(PATIENTS, params={"q": patient["family_name"]}, headers=member.headers),
                     client.get(f"/fhir/Patient/{patient['id']}", headers=member.headers),
                     client.get(f"{PATIENTS}/{patient['id']}", headers={"Authorization": "Bearer nope"}),
                     client.get("/no/such/route")):
        _assert_safe_headers(response)
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_docs_page_may_run_its_own_scripts_but_nothing_else(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    _assert_safe_headers(docs)
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "http" not in csp and "*" not in csp  # no CDN, no wildcard


def test_hsts_is_sent_over_https(client):
    response = client.get("https://testserver/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_500_carries_its_request_id_and_logs_no_exception_text(client, staff, monkeypatch, caplog):
    member = staff("reception")
    marker = "Confidential-marker-Smith-1957"

    def broken(*args, **kwargs):
        raise RuntimeError(f"something odd about {marker}")

    monkeypatch.setattr(patients_service, "create", broken)
    with caplog.at_level(logging.INFO):
        response = client.post(PATIENTS, json=patient_body(), headers={**member.headers, "X-Request-ID": "req-500-a"})
        keyed = client.post(PATIENTS, json=patient_body(),
                            headers={**member.headers, "Idempotency-Key": "k-500", "X-Request-ID": "req-500-b"})
    for r, rid in ((response, "req-500-a"), (keyed, "req-500-b")):
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["x-request-id"] == rid and r.json()["request_id"] == rid
        _assert_safe_headers(r)
    assert marker not in caplog.text
    assert "RuntimeError" in caplog.text and "POST /api/v1/patients" in caplog.text


def test_a_fhir_500_is_an_operation_outcome_with_the_request_id(client, staff, monkeypatch):
    from app.fhir import compartment

    member = staff("admin")
    patient = make_patient(client, staff("reception"))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(compartment, "bundle", broken)
    response = client.get(f"/fhir/Patient/{patient['id']}/$everything",
                          headers={**member.headers, "X-Request-ID": "fhir-500"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "fhir-500"
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_access_log_withholds_query_strings():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/v1/patients?q=Smith&birth_date=1957-01-02", "1.1", 200),
                               None)
    assert StripQueryStrings().filter(record)
    line = record.getMessage()
    assert "Smith" not in line and "1957" not in line
    assert "GET /api/v1/patients?<query withheld> HTTP/1.1" in line


def test_an_svg_picture_may_draw_but_not_run_anything(client, staff):
    from tests.assessments.helpers import chart_visit

    therapist = staff("therapist")
    _, _, draft = chart_visit(client, therapist)
    svg = client.get(f"/api/v1/assessments/{draft['id']}/segmental-map.svg", headers=therapist.headers)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    _assert_safe_headers(svg)
    csp = svg.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and csp.startswith("default-src 'none'")
    assert svg.headers["cache-control"] == "no-store"
