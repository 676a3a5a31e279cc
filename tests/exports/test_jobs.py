"""Whole-clinic export over the API: queued, run by the worker, polled, downloaded; admin or export scope only."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.config import Settings
from app.jobs.runner import STALE, run_due
from app.main import create_app
from app.models import AuditEvent
from app.models.integration import ExportJob
from tests.conftest import TEST_SECRET
from tests.factories import Staff, rename_after_marker
from tests.fhir.test_fhir import seeded  # noqa: F401
from tests.integrations.helpers import api_client, bearer


def start(client, member, **body) -> dict:
    response = client.post("/api/v1/exports", json={"format": "ndjson", **body}, headers=member.headers)
    assert response.status_code == 202, response.text
    return response.json()


def archive(client, member, job_id: str) -> zipfile.ZipFile:
    download = client.get(f"/api/v1/exports/{job_id}/download", headers=member.headers)
    assert download.status_code == 200, download.text
    return zipfile.ZipFile(io.BytesIO(download.content))


def test_admin_exports_the_clinic(client, staff, app, settings, seeded):  # noqa: F811
    admin = staff("admin")
    started = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers)
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "queued" and started.headers["location"] == f"/api/v1/exports/{job['id']}"
    early = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers)
    assert early.status_code == 409
    assert client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).headers["retry-after"] == "2"
    assert run_due(app.state.sessionmaker, settings.data_dir) == 1
    done = client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).json()
    assert done["status"] == "completed" and done["records_done"] > 20
    assert done["manifest"]["files"]["patients.ndjson"]["records"] == 1
    download = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        assert json.loads(z.read("manifest.json"))["files"] == done["manifest"]["files"]
        assert z.read("patients.ndjson").count(b"\n") == 1


def test_a_completed_job_is_audited_with_what_it_exported(client, staff, app, settings, db, seeded):  # noqa: F811
    admin = staff("admin")
    job = start(client, admin)
    run_due(app.state.sessionmaker, settings.data_dir)
    done = client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).json()
    zipped = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers).content
    [row] = db.scalars(select(AuditEvent).where(AuditEvent.action == "export_completed")).all()
    assert (row.actor_id, row.actor_type, row.actor_role, row.actor_label) == (admin.id, "user", "admin", admin.email)
    assert (row.resource_type, row.resource_id, row.outcome) == ("ExportJob", job["id"], "success")
    assert row.detail["records"] == done["records_done"]
    assert row.detail["files"] == {name: f["records"] for name, f in done["manifest"]["files"].items()}
    assert row.detail["files"]["patients.ndjson"] == 1 and row.detail["kind"] == "clinic"
    assert row.detail["sha256"] == hashlib.sha256(zipped).hexdigest()


def test_only_admins_and_export_keys(client, staff, app, settings, db):
    admin = staff("admin")
    job = start(client, admin)
    run_due(app.state.sessionmaker, settings.data_dir)
    for role in ("therapist", "reception", "auditor"):
        member = staff(role)
        assert client.post("/api/v1/exports", json={}, headers=member.headers).status_code == 403
        for path in (f"/api/v1/exports/{job['id']}", f"/api/v1/exports/{job['id']}/download"):
            refused = client.get(path, headers=member.headers)
            assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    key = api_client(client, admin, ["export"])
    by_key = client.post("/api/v1/exports", json={"format": "csv"}, headers=bearer(key["key"]))
    assert by_key.status_code == 202
    assert client.post("/api/v1/exports", json={"format": "xml"}, headers=admin.headers).status_code == 422
    run_due(app.state.sessionmaker, settings.data_dir)
    assert client.get(f"/api/v1/exports/{by_key.json()['id']}/download", headers=bearer(key["key"])).status_code == 200
    completed = db.scalars(select(AuditEvent).where(AuditEvent.action == "export_completed",
                                                    AuditEvent.resource_id == by_key.json()["id"])).one()
    assert (completed.actor_type, completed.actor_id, completed.actor_label) == (
        "api_client", uuid.UUID(key["id"]), "Booking system")


def test_unknown_exports_are_404(client, staff, app, settings):
    admin = staff("admin")
    unknown = uuid.uuid4()
    for path in (f"/api/v1/exports/{unknown}", f"/api/v1/exports/{unknown}/download"):
        missing = client.get(path, headers=admin.headers)
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    # A Bulk Data job is not a clinic export.
    bulk = client.get("/fhir/$export", headers={**admin.headers, "Prefer": "respond-async"})
    bulk_id = bulk.headers["content-location"].rsplit("/", 1)[1]
    assert client.get(f"/api/v1/exports/{bulk_id}", headers=admin.headers).status_code == 404


def test_a_missing_archive_is_gone_not_a_server_error(client, staff, app, settings):
    admin = staff("admin")
    job = start(client, admin)
    run_due(app.state.sessionmaker, settings.data_dir)
    for file in (settings.data_dir / "exports").glob("*.zip"):
        file.unlink()
    gone = client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers)
    assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["status"] == 410 and "start a new export" in gone.json()["detail"]


def test_since_exports_exactly_the_record_changed_after_it(client, staff, app, settings, seeded):  # noqa: F811
    therapist, patient, *_ = seeded
    admin = staff("admin")
    marker = rename_after_marker(client, therapist, patient)
    everything, later = start(client, admin), start(client, admin, since=marker.isoformat())
    run_due(app.state.sessionmaker, settings.data_dir)
    with archive(client, admin, later["id"]) as z:
        manifest = json.loads(z.read("manifest.json"))
        rows = [json.loads(line) for line in z.read("patients.ndjson").splitlines()]
    assert manifest["since"] == marker.isoformat()
    assert [(r["id"], r["preferred_name"]) for r in rows] == [(patient["id"], "Maggie")]
    for table in ("episodes", "assessments", "treatments", "consents", "screenings", "outcome_administrations",
                  "clinical_revisions"):
        assert manifest["files"][f"{table}.ndjson"]["records"] == 0, table
    with archive(client, admin, everything["id"]) as z:
        full = json.loads(z.read("manifest.json"))["files"]
    assert full["treatments.ndjson"]["records"] == 1 and full["clinical_revisions.ndjson"]["records"] == 3


def test_a_job_orphaned_by_a_restart_is_reclaimed_and_completes(client, staff, app, settings, db):
    admin = staff("admin")
    orphan, alive = start(client, admin), start(client, admin)
    now = datetime.now(UTC)
    # The server died mid-export: the job says running, but nobody has touched it for longer than STALE.
    db.execute(update(ExportJob).where(ExportJob.id == uuid.UUID(orphan["id"])).values(
        status="running", started_at=now - STALE * 3, heartbeat_at=now - STALE - timedelta(minutes=1),
        current_table="patients", records_done=7))
    # Another worker is busy with this one right now: it must be left alone.
    db.execute(update(ExportJob).where(ExportJob.id == uuid.UUID(alive["id"])).values(
        status="running", started_at=now, heartbeat_at=now))
    assert run_due(app.state.sessionmaker, settings.data_dir) == 1
    reclaimed = client.get(f"/api/v1/exports/{orphan['id']}", headers=admin.headers).json()
    assert reclaimed["status"] == "completed" and reclaimed["current_table"] is None
    assert datetime.fromisoformat(reclaimed["started_at"]) > now - timedelta(minutes=1)  # a fresh run
    archive(client, admin, orphan["id"]).close()
    assert client.get(f"/api/v1/exports/{alive['id']}", headers=admin.headers).json()["status"] == "running"
    assert run_due(app.state.sessionmaker, settings.data_dir) == 0


def test_the_in_process_worker_runs_export_jobs(db_url, tmp_path):
    settings = Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "worker",
                        worker_in_process=True, _env_file=None)  # type: ignore[call-arg]
    application = create_app(settings)
    try:
        with TestClient(application, raise_server_exceptions=False) as client:  # the lifespan starts the thread
            admin = Staff(application)("admin")
            job = start(client, admin)
            deadline = time.monotonic() + 30
            status = job["status"]
            while status != "completed" and time.monotonic() < deadline:
                time.sleep(0.2)
                status = client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).json()["status"]
            assert status == "completed"
            archive(client, admin, job["id"]).close()
    finally:
        application.state.engine.dispose()
