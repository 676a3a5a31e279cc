"""FHIR Bulk Data: kick off, poll, download NDJSON that validates; _type, _since and cancellation."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class

from app.exports.jobs import run_export_jobs
from tests.fhir.test_fhir import seeded  # noqa: F401

ASYNC = {"Prefer": "respond-async"}


def kick_off(client, admin, path="/fhir/$export", **params):
    response = client.get(path, params=params, headers={**admin.headers, **ASYNC})
    assert response.status_code == 202, response.text
    return response.headers["content-location"].replace("http://testserver", "")


def test_kick_off_poll_and_download_validating_ndjson(client, staff, app, settings, seeded):  # noqa: F811
    admin = staff("admin")
    poll = kick_off(client, admin)
    waiting = client.get(poll, headers=admin.headers)
    assert waiting.status_code == 202 and waiting.headers["x-progress"].startswith("queued")
    assert waiting.headers["retry-after"] == "2"
    assert run_export_jobs(app.state.sessionmaker, settings.data_dir) == 1
    manifest = client.get(poll, headers=admin.headers)
    assert manifest.status_code == 200, manifest.text
    body = manifest.json()
    assert body["requiresAccessToken"] is True and body["request"].endswith("/fhir/$export")
    assert {o["type"] for o in body["output"]} >= {"Patient", "Observation", "Procedure", "Provenance"}
    for output in body["output"]:
        lines = client.get(output["url"].replace("http://testserver", ""), headers=admin.headers)
        assert lines.status_code == 200 and lines.headers["content-type"].startswith("application/fhir+ndjson")
        resources = [json.loads(line) for line in lines.text.splitlines()]
        assert len(resources) == output["count"]
        for resource in resources:
            assert resource["resourceType"] == output["type"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_type_and_since_filters(client, staff, app, settings, seeded):  # noqa: F811
    admin = staff("admin")
    poll = kick_off(client, admin, "/fhir/Patient/$export", _type="Patient,Consent")
    run_export_jobs(app.state.sessionmaker, settings.data_dir)
    types = {o["type"] for o in client.get(poll, headers=admin.headers).json()["output"]}
    assert types == {"Patient", "Consent"}
    later = kick_off(client, admin, _since="2999-01-01T00:00:00Z")
    run_export_jobs(app.state.sessionmaker, settings.data_dir)
    assert client.get(later, headers=admin.headers).json()["output"] == []


def test_bad_requests_and_cancel(client, staff, app, settings):
    admin = staff("admin")
    no_prefer = client.get("/fhir/$export", headers=admin.headers)
    assert no_prefer.status_code == 400 and no_prefer.json()["resourceType"] == "OperationOutcome"
    bad_type = client.get("/fhir/$export", params={"_type": "Spaceship"}, headers={**admin.headers, **ASYNC})
    assert bad_type.status_code == 422
    assert client.get("/fhir/$export", headers={**staff("therapist").headers, **ASYNC}).status_code == 403
    poll = kick_off(client, admin)
    assert client.delete(poll, headers=admin.headers).status_code == 202
    assert client.get(poll, headers=admin.headers).status_code == 404
    assert run_export_jobs(app.state.sessionmaker, settings.data_dir) == 0
