"""Whole-clinic export jobs: queued by the API, run by the worker, downloaded as a zip."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.access import policy
from app.auth.guards import ClinicExporter
from app.db import SessionDep
from app.exports import retention
from app.exports.archive import write_archive
from app.kit import audit, workers
from app.kit.actor import Actor
from app.kit.dates import UtcInstant
from app.kit.errors import PROBLEM_JSON, Conflict, ExportGone, NotFound, Problem, problem_responses
from app.models.base import utcnow
from app.models.integration import ApiClient, ExportJob
from app.models.user import User

log = logging.getLogger("imschart.exports")
router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
WAITING_DESCRIPTION = ("Set while the job waits and no background worker has been seen for a while: why it is "
                       "not moving and what to run")
STALE = timedelta(minutes=10)  # a running job with no heartbeat for this long was orphaned by a restart


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["ndjson", "csv"] = "ndjson"
    since: UtcInstant | None = None


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    format: str
    since: datetime | None
    status: Literal["queued", "running", "completed", "failed", "cancelled", "expired"]
    current_table: str | None
    records_done: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    manifest: dict[str, Any] | None
    expires_at: datetime | None  # the archive is deleted then (IMS_EXPORT_RETENTION_HOURS after the request)
    waiting_for_worker: str | None = Field(None, description=WAITING_DESCRIPTION)


def export_dir(request_or_settings: Any) -> Path:
    settings = getattr(getattr(request_or_settings, "app", None), "state", None)
    data_dir = settings.settings.data_dir if settings else request_or_settings.data_dir
    return Path(data_dir) / "exports"


@router.post("", status_code=202, response_model=ExportOut, operation_id="startExport",
             summary="Export the whole clinic (runs in the background)", responses=problem_responses(401, 403, 422))
def start_export(request: Request, session: SessionDep, actor: ClinicExporter, body: ExportRequest,
                 response: Response) -> ExportOut:
    job = ExportJob(kind="clinic", format=body.format, since=body.since, status="queued", records_done=0,
                    requested_by=actor.id, requested_by_type=actor.type,
                    expires_at=retention.expiry(request.app.state.settings.export_retention_hours))
    session.add(job)
    session.flush()
    audit.record(session, actor, "export", resource_type="ExportJob", resource_id=job.id,
                 detail={"scope": "clinic", "format": body.format, "since": body.since.isoformat() if body.since
                         else None})
    response.headers["Location"] = f"/api/v1/exports/{job.id}"
    return _out(session, job)


def _out(session: Session, job: ExportJob) -> ExportOut:
    return ExportOut.model_validate(job).model_copy(
        update={"waiting_for_worker": workers.waiting_reason(session, job.status)})


def _job(session: Session, request: Request, actor: Actor, job_id: uuid.UUID) -> ExportJob:
    """The job, if it is this actor's to see (app.access.policy: its requester, or an admin); else 404."""
    job = session.get(ExportJob, job_id)
    if job is None or job.kind != "clinic":
        raise NotFound(f"No export {job_id}")
    policy.require_job_access(session, request, actor, job, f"No export {job_id}")
    return job


@router.get("/{job_id}", response_model=ExportOut, operation_id="getExport", summary="Export status and progress",
            responses=problem_responses(401, 403, 404))
def get_export(request: Request, session: SessionDep, actor: ClinicExporter, job_id: uuid.UUID,
               response: Response) -> ExportOut:
    job = _job(session, request, actor, job_id)
    if job.status in ("queued", "running"):
        response.headers["Retry-After"] = "2"
    return _out(session, job)


@router.get("/{job_id}/download", operation_id="downloadExport", summary="The finished archive (zip)",
            responses={200: {"content": {"application/zip": {}}, "description": "The archive"},
                       **problem_responses(401, 403, 404, 409),
                       410: {"model": Problem, "content": {PROBLEM_JSON: {}},
                             "description": "The archive was removed from the server"}})
def download_export(request: Request, session: SessionDep, actor: ClinicExporter, job_id: uuid.UUID) -> FileResponse:
    job = _job(session, request, actor, job_id)
    if job.status == "expired":
        raise ExportGone(f"Export {job.id} expired and its archive was deleted; start a new export")
    if job.status != "completed" or not job.file_name:
        raise Conflict(f"The export is {job.status}; poll GET /api/v1/exports/{job.id} until it is completed")
    path = export_dir(request) / job.file_name
    if not path.is_file():
        raise ExportGone(f"The archive of export {job.id} is no longer on this server; start a new export")
    audit.record(session, actor, "download", resource_type="ExportJob", resource_id=job.id,
                 detail={"file": job.file_name})
    return FileResponse(path, media_type="application/zip", filename=job.file_name)


def requester(session: Session, job: ExportJob) -> Actor:
    """The actor who asked for a job, for the audit row the worker writes when it finishes."""
    if job.requested_by_type == "user":
        user = session.get(User, job.requested_by)
        return Actor(id=job.requested_by, type="user", role=user.role if user else None,
                     label=user.email if user else str(job.requested_by))
    client = session.get(ApiClient, job.requested_by) if job.requested_by_type == "api_client" else None
    return Actor(id=job.requested_by, type=job.requested_by_type, role=None,
                 label=client.name if client else str(job.requested_by))


def audit_outcome(session: Session, job: ExportJob, detail: dict[str, Any], outcome: str = "success") -> None:
    """Put what a finished (or failed) job exported on the audit trail, on behalf of whoever asked for it."""
    audit.record(session, requester(session, job), "export_completed" if outcome == "success" else "export_failed",
                 resource_type="ExportJob", resource_id=job.id, outcome=outcome,
                 detail={"kind": job.kind, "format": job.format,
                         "since": job.since.isoformat() if job.since else None, **detail})


def manifest_counts(manifest: dict[str, Any]) -> dict[str, int]:
    return {name: meta["records"] for name, meta in sorted(manifest["files"].items())}


def run_export_jobs(factory: sessionmaker[Session], data_dir: Path) -> int:
    """Claim and run queued (or orphaned) export jobs; returns how many ran."""
    ran = 0
    retention.sweep_if_due(factory, data_dir)  # expired export files, stale idempotent response bodies
    while True:
        now = utcnow()
        with factory() as session, session.begin():
            job = session.scalar(select(ExportJob).where(or_(
                ExportJob.status == "queued",
                (ExportJob.status == "running") & (ExportJob.heartbeat_at < now - STALE))
            ).order_by(ExportJob.created_at).limit(1))
            if job is None:
                return ran
            # Compare-and-set on status *and* heartbeat: of two workers reclaiming the same orphan, one wins.
            heartbeat = ExportJob.heartbeat_at.is_(None) if job.heartbeat_at is None else \
                ExportJob.heartbeat_at == job.heartbeat_at
            result = session.execute(update(ExportJob).where(ExportJob.id == job.id, ExportJob.status == job.status,
                                                             heartbeat)
                                     .values(status="running", started_at=now, heartbeat_at=now))
            claimed = result.rowcount  # type: ignore[attr-defined]
        if not claimed:
            continue
        if job.kind == "fhir_bulk":
            from app.fhir import bulk

            try:
                bulk.run(factory, data_dir, job.id)
            except Exception as exc:
                log.exception("bulk export %s failed", job.id)
                _fail(factory, job.id, exc)
        else:
            _run(factory, data_dir, job.id, job.format, job.since)
        ran += 1


def _run(factory: sessionmaker[Session], data_dir: Path, job_id: uuid.UUID, fmt: str, since: datetime | None) -> None:
    target = private_dir(Path(data_dir) / "exports")
    name = f"imschart-{fmt}-{job_id}.zip"
    per_table: dict[str, int] = {}

    def progress(table: str, count: int) -> None:
        per_table[table] = count
        with factory() as session, session.begin():
            session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
                current_table=table, records_done=sum(per_table.values()), heartbeat_at=utcnow()))

    try:
        with private_file(target / f".{name}.part") as out:
            engine = factory.kw["bind"]
            manifest = write_archive(engine, out, fmt, since, progress=progress)
        (target / f".{name}.part").rename(target / name)
        total = sum(f["records"] for f in manifest["files"].values())
        with factory() as session, session.begin():
            session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
                status="completed", finished_at=utcnow(), file_name=name, manifest=manifest, current_table=None,
                records_done=total))
            audit_outcome(session, session.get_one(ExportJob, job_id),
                          {"records": total, "files": manifest_counts(manifest), "file": name,
                           "sha256": file_sha256(target / name)})
    except Exception as exc:
        log.exception("export %s failed", job_id)
        _fail(factory, job_id, exc)


def private_dir(path: Path) -> Path:
    """A folder only the server's user may enter (export files hold every patient's record)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> IO[bytes]:
    """A new file created 0600, whatever the umask: readable by the server's user only."""
    path.unlink(missing_ok=True)  # a leftover partial from a crashed run: start afresh, privately
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fail(factory: sessionmaker[Session], job_id: uuid.UUID, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    with factory() as session, session.begin():
        session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
            status="failed", finished_at=utcnow(), error=error))
        audit_outcome(session, session.get_one(ExportJob, job_id), {"error": error}, outcome="failure")
