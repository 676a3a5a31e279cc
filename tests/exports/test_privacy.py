"""Export files are private (issue 10 item 7): a job is its requester's, files are 0600, and they expire."""

from __future__ import annotations

import stat
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from app.jobs import retention
from app.jobs.runner import run_due
from app.models import AuditEvent
from app.models.base import utcnow
from app.models.integration import ExportJob, IdempotencyKey
from tests.factories import make_patient
from tests.integrations.helpers import api_client, bearer

ASYNC = {"Prefer": "respond-async"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _bulk(client, headers) -> str:
    response = client.get("/fhir/$export", headers={**headers, **ASYNC})
    assert response.status_code == 202, response.text
    return response.headers["content-location"].rsplit("/", 1)[1]


def test_another_key_cannot_poll_download_or_cancel_a_bulk_job(client, staff, app, settings, db):
    admin = staff("admin")
    make_patient(client, admin)
    mine = bearer(api_client(client, admin, ["export"])["key"])
    theirs_client = api_client(client, admin, ["export"])
    theirs = bearer(theirs_client["key"])
    job_id = _bulk(client, mine)
    assert run_due(app.state.sessionmaker, settings.data_dir) == 1
    poll, file = f"/fhir/$export-poll/{job_id}", f"/fhir/$export-file/{job_id}/Patient.ndjson"

    attempts = [client.get(poll, headers=theirs), client.get(file, headers=theirs), client.delete(poll, headers=theirs)]
    assert [r.status_code for r in attempts] == [404, 404, 404]
    assert all(r.json()["resourceType"] == "OperationOutcome" for r in attempts)
    assert client.get(file, headers=mine).status_code == 200  # not cancelled: the owner still has the files
    denied = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == uuid.UUID(theirs_client["id"]),
                                                 AuditEvent.outcome == "denied")).all()
    assert len(denied) == 3 and {e.detail["reason"] for e in denied} == {"not the requester of this export"}

    # The admin sees anyone's job, and that access is on record as such.
    assert client.get(poll, headers=admin.headers).status_code == 200
    seen = db.scalars(select(AuditEvent).where(AuditEvent.actor_id == admin.id, AuditEvent.action == "access",
                                               AuditEvent.resource_id == job_id)).all()
    assert [e.detail["reason"] for e in seen] == ["administrator access to another requester's export"]


def test_a_key_cannot_read_or_download_the_admins_clinic_export(client, staff, app, settings):
    admin = staff("admin")
    key = bearer(api_client(client, admin, ["export"])["key"])
    job = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers).json()
    run_due(app.state.sessionmaker, settings.data_dir)
    for path in (f"/api/v1/exports/{job['id']}", f"/api/v1/exports/{job['id']}/download"):
        response = client.get(path, headers=key)
        assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    own = client.post("/api/v1/exports", json={"format": "csv"}, headers=key)
    assert own.status_code == 202
    assert client.get(f"/api/v1/exports/{own.json()['id']}", headers=key).status_code == 200


def test_export_files_and_folders_are_private(client, staff, app, settings):
    admin = staff("admin")
    make_patient(client, admin)
    job = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers).json()
    bulk_id = _bulk(client, admin.headers)
    assert run_due(app.state.sessionmaker, settings.data_dir) == 2
    exports = Path(settings.data_dir) / "exports"
    assert _mode(exports) == 0o700
    [archive] = exports.glob(f"*{job['id']}.zip")
    assert _mode(archive) == 0o600
    bulk_dir = exports / f"fhir-{bulk_id}"
    assert _mode(bulk_dir) == 0o700
    assert {_mode(p) for p in bulk_dir.iterdir()} == {0o600}


def test_the_sqlite_database_is_created_private(tmp_path):
    from app.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh' / 'imschart.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        conn.commit()
    engine.dispose()
    assert _mode(tmp_path / "fresh" / "imschart.db") == 0o600
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    make_engine(f"sqlite:///{loose}").dispose()
    assert _mode(loose) == 0o600  # an older, world-readable file is tightened


def test_export_files_expire_and_are_deleted(client, staff, app, settings, db):
    admin = staff("admin")
    make_patient(client, admin)
    job = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers).json()
    bulk_id = _bulk(client, admin.headers)
    assert job["expires_at"] is not None
    run_due(app.state.sessionmaker, settings.data_dir)
    exports = Path(settings.data_dir) / "exports"
    assert list(exports.glob(f"*{job['id']}.zip")) and (exports / f"fhir-{bulk_id}").is_dir()

    # Not yet: nothing is removed before the retention ends.
    assert retention.sweep(app.state.sessionmaker, settings.data_dir) == 0
    later = utcnow() + timedelta(hours=settings.export_retention_hours, minutes=1)
    assert retention.sweep(app.state.sessionmaker, settings.data_dir, now=later) == 2
    assert not list(exports.glob(f"*{job['id']}*")) and not (exports / f"fhir-{bulk_id}").exists()
    assert client.get(f"/api/v1/exports/{job['id']}", headers=admin.headers).json()["status"] == "expired"
    assert client.get(f"/api/v1/exports/{job['id']}/download", headers=admin.headers).status_code == 410
    assert client.get(f"/fhir/$export-poll/{bulk_id}", headers=admin.headers).status_code == 410
    expired = db.scalars(select(AuditEvent).where(AuditEvent.action == "expire")).all()
    assert {e.resource_id for e in expired} == {job["id"], bulk_id}
    assert retention.sweep(app.state.sessionmaker, settings.data_dir, now=later) == 0  # once only


def test_retention_is_configurable(app, client, staff, settings):
    app.state.settings = settings.model_copy(update={"export_retention_hours": 5})
    admin = staff("admin")
    before = utcnow()
    job = client.post("/api/v1/exports", json={"format": "ndjson"}, headers=admin.headers).json()
    from datetime import datetime

    expires = datetime.fromisoformat(job["expires_at"])
    assert timedelta(hours=5) <= expires - before <= timedelta(hours=5, minutes=1)


def test_stored_idempotent_responses_are_dropped_after_the_replay_window(client, staff, app, settings, db):
    member = staff("reception")
    headers = {**member.headers, "Idempotency-Key": "k-1"}
    body = {"given_name": "Ida", "family_name": "Empotent", "birth_date": "1980-01-01"}
    first = client.post("/api/v1/patients", json=body, headers=headers)
    assert first.status_code == 201
    assert client.post("/api/v1/patients", json=body, headers=headers).headers["idempotent-replayed"] == "true"
    retention.sweep(app.state.sessionmaker, settings.data_dir)
    assert db.scalar(select(IdempotencyKey.response_body).where(IdempotencyKey.key == "k-1")) is not None
    db.execute(update(IdempotencyKey).where(IdempotencyKey.key == "k-1")
               .values(created_at=utcnow() - retention.REPLAY_WINDOW - timedelta(minutes=1)))
    retention.sweep(app.state.sessionmaker, settings.data_dir)
    assert db.scalar(select(IdempotencyKey.response_body).where(IdempotencyKey.key == "k-1")) is None
    late = client.post("/api/v1/patients", json=body, headers=headers)
    assert late.status_code == 409  # refused, never run a second time
    assert db.scalar(select(ExportJob).limit(1)) is None
