"""FHIR Bulk Data: kick off, poll, download NDJSON that validates; _type, _since and cancellation."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from app.jobs.runner import run_due
from app.models import AuditEvent
from tests.factories import rename_after_marker
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
    assert run_due(app.state.sessionmaker, settings.data_dir) == 1
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
    run_due(app.state.sessionmaker, settings.data_dir)
    types = {o["type"] for o in client.get(poll, headers=admin.headers).json()["output"]}
    assert types == {"Patient", "Consent"}
    later = kick_off(client, admin, _since="2999-01-01T00:00:00Z")
    run_due(app.state.sessionmaker, settings.data_dir)
    assert client.get(later, headers=admin.headers).json()["output"] == []


def test_since_returns_exactly_the_resource_changed_after_it(client, staff, app, settings, seeded):  # noqa: F811
    therapist, patient, *_ = seeded
    admin = staff("admin")
    marker = rename_after_marker(client, therapist, patient)
    poll = kick_off(client, admin, _since=marker.isoformat())
    everything = kick_off(client, admin)
    run_due(app.state.sessionmaker, settings.data_dir)
    output = client.get(poll, headers=admin.headers).json()["output"]
    assert [(o["type"], o["count"]) for o in output] == [("Patient", 1)]
    [resource] = [json.loads(line) for line in client.get(output[0]["url"].replace("http://testserver", ""),
                                                          headers=admin.headers).text.splitlines()]
    assert resource["id"] == patient["id"] and {"use": "usual", "given": ["Maggie"], "family": "Lindqvist"} in \
        resource["name"]
    full = {o["type"]: o["count"] for o in client.get(everything, headers=admin.headers).json()["output"]}
    assert full["Patient"] == 1 and full["Procedure"] == 1 and full["Observation"] > 5


def test_a_completed_bulk_job_is_audited_with_its_counts(client, staff, app, settings, db, seeded):  # noqa: F811
    admin = staff("admin")
    poll = kick_off(client, admin, _type="Patient,Procedure")
    run_due(app.state.sessionmaker, settings.data_dir)
    [row] = db.scalars(select(AuditEvent).where(AuditEvent.action == "export_completed")).all()
    assert (row.actor_id, row.actor_role, row.resource_id) == (admin.id, "admin", poll.rsplit("/", 1)[1])
    assert row.detail["kind"] == "fhir_bulk"
    assert row.detail["files"] == {"Patient.ndjson": 1, "Procedure.ndjson": 1} and row.detail["records"] == 2


def test_a_failed_job_polls_as_a_server_error_with_an_operation_outcome(client, staff, app, settings, db,
                                                                        seeded, monkeypatch):  # noqa: F811
    from app.fhir import tasks as bulk

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    admin = staff("admin")
    poll = kick_off(client, admin)
    monkeypatch.setattr(bulk.patient_record, "load", broken)
    run_due(app.state.sessionmaker, settings.data_dir)
    failed = client.get(poll, headers=admin.headers)
    assert failed.status_code == 500 and failed.headers["content-type"].startswith("application/fhir+json")
    outcome = failed.json()
    get_fhir_model_class("OperationOutcome").model_validate(outcome)
    assert outcome["issue"][0]["code"] == "exception" and "disk full" in outcome["issue"][0]["diagnostics"]
    [row] = db.scalars(select(AuditEvent).where(AuditEvent.action == "export_failed")).all()
    assert (row.actor_id, row.outcome) == (admin.id, "failure") and "disk full" in row.detail["error"]


def test_a_removed_file_is_gone_not_a_server_error(client, staff, app, settings, seeded):  # noqa: F811
    admin = staff("admin")
    poll = kick_off(client, admin, _type="Patient")
    run_due(app.state.sessionmaker, settings.data_dir)
    [output] = client.get(poll, headers=admin.headers).json()["output"]
    for file in (settings.data_dir / "exports").rglob("*.ndjson"):
        file.unlink()
    gone = client.get(output["url"].replace("http://testserver", ""), headers=admin.headers)
    assert gone.status_code == 410 and gone.json()["resourceType"] == "OperationOutcome"


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
    assert run_due(app.state.sessionmaker, settings.data_dir) == 0


def test_patient_export_accepts_a_post_kick_off_with_parameters(client, staff, app, settings, seeded):  # noqa: F811
    admin = staff("admin")
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Patient"}, {"name": "_type", "valueString": "Consent"},
        {"name": "_outputFormat", "valueString": "application/fhir+ndjson"}]}
    response = client.post("/fhir/Patient/$export", json=body, headers={**admin.headers, **ASYNC})
    assert response.status_code == 202, response.text
    poll = response.headers["content-location"].replace("http://testserver", "")
    run_due(app.state.sessionmaker, settings.data_dir)
    assert {o["type"] for o in client.get(poll, headers=admin.headers).json()["output"]} == {"Patient", "Consent"}
    since = {"resourceType": "Parameters", "parameter": [{"name": "_since", "valueInstant": "2999-01-01T00:00:00Z"}]}
    later = client.post("/fhir/$export", json=since, headers={**admin.headers, **ASYNC})
    assert later.status_code == 202
    run_due(app.state.sessionmaker, settings.data_dir)
    assert client.get(later.headers["content-location"].replace("http://testserver", ""),
                      headers=admin.headers).json()["output"] == []
    # Refused, never silently widened: an unsupported parameter, a body that is not Parameters, no Prefer.
    for bad, headers in (({"resourceType": "Parameters", "parameter": [{"name": "patient", "valueReference": {}}]},
                          ASYNC), ({"resourceType": "Patient"}, ASYNC), (body, {})):
        refused = client.post("/fhir/Patient/$export", json=bad, headers={**admin.headers, **headers})
        assert refused.status_code == 400 and refused.json()["resourceType"] == "OperationOutcome"
    assert client.post("/fhir/Patient/$export", json=body,
                       headers={**staff("therapist").headers, **ASYNC}).status_code == 403
