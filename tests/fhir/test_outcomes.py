"""Under /fhir every error is an OperationOutcome sent as application/fhir+json, whichever layer refused it:
the request-size and URL guards, the Idempotency-Key middleware, auth, routing, rate limits and a crash."""

from __future__ import annotations

import pytest
from fhir.resources.R4B import get_fhir_model_class

from tests.integrations.helpers import api_client, bearer

FHIR_JSON = "application/fhir+json"


def outcome(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == FHIR_JSON, response.headers
    body = response.json()
    get_fhir_model_class("OperationOutcome").model_validate(body)  # a valid FHIR resource, not a look-alike
    assert body["issue"][0]["code"] == code, body
    assert response.headers.get("x-request-id"), "every answer carries its request id"
    return body


def test_middleware_rejections_are_operation_outcomes(client, staff):
    therapist = staff("therapist")
    too_large = client.post("/fhir/Patient", content=b"x" * (2 * 1024 * 1024), headers=therapist.headers)
    assert "exceeds" in outcome(too_large, 413, "too-costly")["issue"][0]["diagnostics"]
    bad_key = client.post("/fhir/Patient", headers={**therapist.headers, "Idempotency-Key": "k" * 201}, json={})
    assert "Idempotency-Key" in outcome(bad_key, 400, "invalid")["issue"][0]["diagnostics"]
    nul = client.get("/fhir/Patient%00", headers=therapist.headers)
    assert outcome(nul, 422, "invalid")["issue"][1]["expression"] == ["url"]
    # The same guards answer problem+json outside /fhir.
    plain = client.get("/api/v1/patients%00", headers=therapist.headers)
    assert plain.status_code == 422 and plain.headers["content-type"] == "application/problem+json"


def test_auth_routing_and_rate_limit_errors_are_operation_outcomes(client, staff):
    outcome(client.get("/fhir/Patient"), 401, "login")
    outcome(client.get("/fhir/Patient", headers=staff("reception").headers), 403, "forbidden")
    outcome(client.get("/fhir/Basic", headers=staff("therapist").headers), 404, "not-found")
    outcome(client.delete("/fhir/metadata"), 405, "not-supported")
    key = api_client(client, staff("admin"), ["clinical:read"], rate_limit_per_minute=1)["key"]
    assert client.get("/fhir/Patient", headers=bearer(key)).status_code == 200
    limited = outcome(client.get("/fhir/Patient", headers=bearer(key)), 429, "throttled")
    assert limited["issue"][0]["diagnostics"]


@pytest.fixture
def crashing(app):
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/fhir/Boom/crash/now", boom, methods=["PUT"])
    app.add_api_route("/api/v1/boom", boom, methods=["PUT"])
    return app


def test_a_crash_is_an_operation_outcome_with_its_request_id(client, crashing):
    crashed = client.put("/fhir/Boom/crash/now", headers={"X-Request-ID": "trace-me-1"})
    outcome(crashed, 500, "exception")
    assert crashed.headers["x-request-id"] == "trace-me-1"
    plain = client.put("/api/v1/boom", headers={"X-Request-ID": "trace-me-2"})
    assert plain.status_code == 500 and plain.headers["content-type"] == "application/problem+json"
    assert plain.json()["request_id"] == "trace-me-2" and plain.headers["x-request-id"] == "trace-me-2"


def test_metadata_and_searches_are_documented_as_fhir_json(client):
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]["/fhir/metadata"]["get"]["responses"]["200"]["content"]) == {FHIR_JSON}
    assert set(spec["paths"]["/fhir/{resource_type}"]["get"]["responses"]["200"]["content"]) == {FHIR_JSON}
    assert client.get("/fhir/metadata").headers["content-type"].startswith(FHIR_JSON)
