"""Whole-clinic export jobs: queued by the API, run by the worker, downloaded as a zip."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth.deps import Authorize
from app.auth.permissions import Permission
from app.db import SessionDep
from app.exports.archive import write_archive
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import PROBLEM_JSON, Conflict, DomainError, NotFound, Problem, problem_responses
from app.kit.isodates import IsoDateTime
from app.models.base import utcnow
from app.models.integration import ApiClient, ExportJob
from app.models.user import User

log = logging.getLogger("imschart.exports")
router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
Exporter = Annotated[Actor, Authorize(Permission.EXPORT)]
STALE = timedelta(minutes=10)  # a running job with no heartbeat for this long was orphaned by a restart


class Gone(DomainError):
    """A finished export whose files are no longer on disk (cleaned up, or a restore onto a new server)."""

    status, slug, title = 410, "export-gone", "The export's files are no longer available"


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["ndjson", "csv"] = "ndjson"
    since: IsoDateTime | None = None


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    format: str
    since: datetime | None
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    current_table: str | None
    records_done: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    manifest: dict[str, Any] | None


def export_dir(request_or_settings: Any) -> Path:
    settings = getattr(getattr(request_or_settings, "app", None), "state", None)
    data_dir = settings.settings.data_dir if settings else request_or_settings.data_dir
    return Path(data_dir) / "exports"


@router.post("", status_code=202, response_model=ExportOut, operation_id="startExport",
             summary="Export the whole clinic (runs in the background)", responses=problem_responses(401, 403, 422))
def start_export(session: SessionDep, actor: Exporter, body: ExportRequest, response: Response) -> ExportOut:
    job = ExportJob(kind="clinic", format=body.format, since=body.since, status="queued", records_done=0,
                    requested_by=actor.id,
                    requested_by_type=actor.type)
    session.add(job)
    session.flush()
    audit.record(session, actor, "export", resource_type="ExportJob", resource_id=job.id,
                 detail={"scope": "clinic", "format": body.format, "since": body.since.isoformat() if body.since
                         else None})
    response.headers["Location"] = f"/api/v1/exports/{job.id}"
    return ExportOut.model_validate(job)


def _job(session: Session, job_id: uuid.UUID) -> ExportJob:
    job = session.get(ExportJob, job_id)
    if job is None or job.kind != "clinic":
        raise NotFound(f"No export {job_id}")
    return job


@router.get("/{job_id}", response_model=ExportOut, operation_id="getExport", summary="Export status and progress",
            responses=problem_responses(401, 403, 404))
def get_export(session: SessionDep, _: Exporter, job_id: uuid.UUID, response: Response) -> ExportOut:
    job = _job(session, job_id)
    if job.status in ("queued", "running"):
        response.headers["Retry-After"] = "2"
    return ExportOut.model_validate(job)


@router.get("/{job_id}/download", operation_id="downloadExport", summary="The finished archive (zip)",
            responses={200: {"content": {"application/zip": {}}, "description": "The archive"},
                       **problem_responses(401, 403, 404, 409),
                       410: {"model": Problem, "content": {PROBLEM_JSON: {}},
                             "description": "The archive was removed from the server"}})
def download_export(request: Request, session: SessionDep, actor: Exporter, job_id: uuid.UUID) -> FileResponse:
    job = _job(session, job_id)
    if job.status != "completed" or not job.file_name:
        raise Conflict(f"The export is {job.status}; poll GET /api/v1/exports/{job.id} until it is completed")
    path = export_dir(request) / job.file_name
    if not path.is_file():
        raise Gone(f"The archive of export {job.id} is no longer on this server; start a new export")
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
    target = Path(data_dir) / "exports"
    target.mkdir(parents=True, exist_ok=True)
    name = f"imschart-{fmt}-{job_id}.zip"
    per_table: dict[str, int] = {}

    def progress(table: str, count: int) -> None:
        per_table[table] = count
        with factory() as session, session.begin():
            session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
                current_table=table, records_done=sum(per_table.values()), heartbeat_at=utcnow()))

    try:
        with (target / f".{name}.part").open("wb") as out:
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


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fail(factory: sessionmaker[Session], job_id: uuid.UUID, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    with factory() as session, session.begin():
        session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
            status="failed", finished_at=utcnow(), error=error))
        audit_outcome(session, session.get_one(ExportJob, job_id), {"error": error}, outcome="failure")
