"""Whole-clinic export jobs: queued by the API, run by the worker (`app.exports.tasks`), downloaded as a zip."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.access import policy
from app.auth.guards import ClinicExporter
from app.db import SessionDep
from app.jobs import heartbeats, retention
from app.jobs.files import jobs_dir
from app.kit import audit
from app.kit.actor import Actor
from app.kit.dates import UtcInstant
from app.kit.errors import PROBLEM_JSON, Conflict, ExportGone, NotFound, Problem, problem_responses
from app.models.integration import ExportJob

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
WAITING_DESCRIPTION = ("Set while the job waits and no background worker has been seen for a while: why it is "
                       "not moving and what to run")


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
        update={"waiting_for_worker": heartbeats.waiting_reason(session, job.status)})


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
    path = jobs_dir(request.app.state.settings.data_dir) / job.file_name
    if not path.is_file():
        raise ExportGone(f"The archive of export {job.id} is no longer on this server; start a new export")
    audit.record(session, actor, "download", resource_type="ExportJob", resource_id=job.id,
                 detail={"file": job.file_name})
    return FileResponse(path, media_type="application/zip", filename=job.file_name)
