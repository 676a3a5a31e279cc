"""FHIR Bulk Data Access (v2): $export kick-off, status polling, NDJSON files, cancellation.

Jobs share the job table and the background worker (`app.jobs`) with whole-clinic exports; the
worker runs them through `app.fhir.tasks`.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session

from app.access import policy
from app.auth.guards import ClinicExporter
from app.db import SessionDep
from app.fhir.router import FHIR_JSON, TYPES
from app.fhir.tasks import NDJSON, output_dir
from app.jobs import heartbeats, retention
from app.kit import audit
from app.kit.actor import Actor
from app.kit.dates import utc_param
from app.kit.errors import (
    BadRequest,
    ExportFailed,
    ExportGone,
    NotFound,
    Problem,
    field_error,
    problem_responses,
)
from app.kit.isodates import IsoDateTimeText
from app.models.base import utcnow
from app.models.integration import ExportJob

router = APIRouter(prefix="/fhir", tags=["fhir"])



# What each kick-off level can export, and why the rest is refused (Bulk Data v2, _type: a server SHOULD answer a
# request for types it does not export, or outside the Patient compartment, with an OperationOutcome error).
#
# Appointments are in the patient's compartment, so both levels carry them (cancelled and missed visits too).
# A Schedule is a therapist's bookable time, not a patient's record: the system level exports one per therapist
# with working hours; the Patient level (the patient compartment) refuses it.
# Slots are refused at every level. Ours are not stored: a Slot is a free or busy start computed from working
# hours, breaks, exceptions and the bookings at the moment it is asked for, so an export without a window would be
# "every start, for ever", and any snapshot is stale with the next booking. Scheduling clients search
# /fhir/Slot?schedule=...&start=... for the window they mean to book in.
SLOT_WHY = ("Slots are computed on request from working hours and bookings, not stored, so a bulk snapshot would "
            "be unbounded and stale at the next booking; search /fhir/Slot?schedule=Schedule/<id>&start=ge... for a "
            "window instead.")
NOT_EXPORTED: dict[str, dict[str, str]] = {
    "system": {"Slot": SLOT_WHY},
    "patient": {"Slot": SLOT_WHY,
                "Schedule": "A Schedule is a therapist's bookable time, outside the Patient compartment; export it "
                            "with the system-level /fhir/$export."},
}


def exportable(level: str) -> tuple[str, ...]:
    """The resource types an export at this level (`system` or `patient`) writes when _type is not given."""
    return tuple(t for t in TYPES if t not in NOT_EXPORTED[level])


def _kick_off(request: Request, session: Session, actor: Actor, level: str, prefer: str | None,
              types: str | None, since: datetime | None, output_format: str | None) -> Response:
    if prefer is None or "respond-async" not in prefer:
        raise BadRequest("Bulk export is asynchronous: send the header Prefer: respond-async")
    if output_format not in (None, NDJSON, "application/ndjson", "ndjson"):
        raise field_error("_outputFormat", "only application/fhir+ndjson is supported")
    wanted = [t.strip() for t in types.split(",")] if types else list(exportable(level))
    unknown = [t for t in wanted if t not in TYPES]
    if unknown:
        raise field_error("_type", f"unsupported resource types {unknown}; this server exports {list(TYPES)}")
    refused = [t for t in wanted if t not in exportable(level)]
    if refused:
        raise field_error("_type", f"{', '.join(refused)} cannot be exported at the {level} level: "
                                   + " ".join(NOT_EXPORTED[level][t] for t in refused))
    if since is not None:
        since = utc_param("_since", since)  # an offset required; the edges of the calendar are a field error
    job = ExportJob(kind="fhir_bulk", format="ndjson", since=since, status="queued", records_done=0,
                    requested_by=actor.id, requested_by_type=actor.type,
                    expires_at=retention.expiry(request.app.state.settings.export_retention_hours),
                    request={"url": str(request.url), "types": wanted, "level": level})
    session.add(job)
    session.flush()
    audit.record(session, actor, "export", resource_type="ExportJob", resource_id=job.id,
                 detail={"scope": f"fhir-{level}", "types": wanted, "since": since.isoformat() if since else None})
    return Response(status_code=202, headers={"Content-Location": str(request.url_for("bulkStatus", job_id=job.id))})


@router.get("/$export", operation_id="bulkExportSystem", summary="Bulk Data kick-off: every patient's data",
            status_code=202, response_class=Response, responses=problem_responses(400, 401, 403, 422))
def export_system(request: Request, session: SessionDep, actor: ClinicExporter,
                  prefer: Annotated[str | None, Header()] = None,
                  types: Annotated[str | None, Query(alias="_type")] = None,
                  since: Annotated[IsoDateTimeText | None, Query(alias="_since")] = None,
                  output_format: Annotated[str | None, Query(alias="_outputFormat")] = None) -> Response:
    return _kick_off(request, session, actor, "system", prefer, types, since, output_format)


@router.get("/Patient/$export", operation_id="bulkExportPatients", summary="Bulk Data kick-off: all patients",
            status_code=202, response_class=Response, responses=problem_responses(400, 401, 403, 422))
def export_patients(request: Request, session: SessionDep, actor: ClinicExporter,
                    prefer: Annotated[str | None, Header()] = None,
                    types: Annotated[str | None, Query(alias="_type")] = None,
                    since: Annotated[IsoDateTimeText | None, Query(alias="_since")] = None,
                    output_format: Annotated[str | None, Query(alias="_outputFormat")] = None) -> Response:
    return _kick_off(request, session, actor, "patient", prefer, types, since, output_format)


KickOff = Annotated[dict[str, Any] | None, Body(
    description="A FHIR Parameters resource: _type, _since, _outputFormat", media_type=FHIR_JSON,
    openapi_examples={"types since": {"value": {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": "Patient"}, {"name": "_type", "valueString": "Observation"},
        {"name": "_since", "valueInstant": "2026-11-01T00:00:00Z"}]}}})]


def _parameters(body: Any) -> tuple[str | None, datetime | None, str | None]:
    """The kick-off parameters of a POST (Bulk Data v2): a FHIR Parameters resource with _type, _since and
    _outputFormat. Parameters we do not support (patient, _typeFilter, ...) are refused, not ignored: an export
    that silently exported more than asked would leak."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest("POST a FHIR Parameters resource (application/fhir+json) to kick off an export")
    types: list[str] = []
    since: datetime | None = None
    output: str | None = None
    for item in body.get("parameter") or []:
        name = item.get("name") if isinstance(item, dict) else None
        if name == "_type" and isinstance(item.get("valueString"), str):
            types.append(item["valueString"])
        elif name == "_since" and isinstance(item.get("valueInstant"), str):
            try:
                since = datetime.fromisoformat(item["valueInstant"].replace("Z", "+00:00"))
            except ValueError as exc:
                raise field_error("_since", "must be an instant, e.g. 2026-11-01T00:00:00Z") from exc
        elif name == "_outputFormat" and isinstance(item.get("valueString"), str):
            output = item["valueString"]
        else:
            raise BadRequest(f"unsupported kick-off parameter {name!r}; this server takes _type (valueString), "
                             "_since (valueInstant) and _outputFormat (valueString)")
    return ",".join(types) or None, since, output


@router.post("/$export", operation_id="bulkExportSystemPost", summary="Bulk Data kick-off (POST with Parameters)",
             status_code=202, responses=problem_responses(400, 401, 403, 422))
def export_system_post(request: Request, session: SessionDep, actor: ClinicExporter, body: KickOff = None,
                       prefer: Annotated[str | None, Header()] = None) -> Response:
    types, since, output = _parameters(body)
    return _kick_off(request, session, actor, "system", prefer, types, since, output)


@router.post("/Patient/$export", operation_id="bulkExportPatientsPost",
             summary="Bulk Data kick-off for all patients (POST with Parameters)", status_code=202,
             responses=problem_responses(400, 401, 403, 422))
def export_patients_post(request: Request, session: SessionDep, actor: ClinicExporter, body: KickOff = None,
                         prefer: Annotated[str | None, Header()] = None) -> Response:
    types, since, output = _parameters(body)
    return _kick_off(request, session, actor, "patient", prefer, types, since, output)


def _job(session: Session, request: Request, actor: Actor, job_id: uuid.UUID) -> ExportJob:
    """The job, if it is this actor's (app.access.policy: its requester, or an admin, audited); else 404."""
    job = session.get(ExportJob, job_id)
    if job is None or job.kind != "fhir_bulk" or job.status == "cancelled":
        raise NotFound(f"No bulk export {job_id}")
    policy.require_job_access(session, request, actor, job, f"No bulk export {job_id}")
    if job.status == "expired":
        raise ExportGone(f"Bulk export {job.id} expired and its files were deleted; start a new export")
    return job


@router.get("/$export-poll/{job_id}", name="bulkStatus", operation_id="bulkExportStatus",
            summary="Poll: 202 with X-Progress while running, then the manifest",
            responses={**problem_responses(401, 403, 404), 202: {
                "description": "Still running: see `X-Progress`; poll again after `Retry-After` seconds",
                "headers": {"X-Progress": {"schema": {"type": "string"}},
                            "Retry-After": {"schema": {"type": "integer"}}}},
                500: {
                "model": Problem, "content": {FHIR_JSON: {}},
                "description": "The export job failed (an OperationOutcome; Bulk Data's error status)"},
                410: {"model": Problem, "content": {FHIR_JSON: {}},
                      "description": "The export expired and its files were deleted"}})
def status(request: Request, session: SessionDep, actor: ClinicExporter, job_id: uuid.UUID) -> Response:
    job = _job(session, request, actor, job_id)
    if job.status in ("queued", "running"):
        progress = f"{job.status}: {job.records_done} resources" + (f" ({job.current_table})" if job.current_table
                                                                    else "")
        if waiting := heartbeats.waiting_reason(session, job.status):
            progress = f"{progress}. {waiting}"
        return Response(status_code=202, headers={"X-Progress": progress, "Retry-After": "2"})
    if job.status == "failed":
        raise ExportFailed(f"The export failed: {job.error}. Start a new export; this one will not complete.")
    files = (job.manifest or {}).get("files", {})
    output = [{"type": name.removesuffix(".ndjson"), "count": meta["records"],
               "url": str(request.url_for("bulkFile", job_id=job.id, name=name))}
              for name, meta in sorted(files.items()) if meta["records"]]
    return JSONResponse({"transactionTime": (job.started_at or job.created_at).isoformat(),
                         "request": (job.request or {}).get("url"), "requiresAccessToken": True,
                         "output": output, "error": []})


@router.delete("/$export-poll/{job_id}", status_code=202, response_class=Response, operation_id="bulkExportCancel",
               summary="Cancel a bulk export and delete its files", responses=problem_responses(401, 403, 404))
def cancel(request: Request, session: SessionDep, actor: ClinicExporter, job_id: uuid.UUID) -> Response:
    job = _job(session, request, actor, job_id)
    job.status, job.finished_at = "cancelled", utcnow()
    session.flush()
    shutil.rmtree(output_dir(request.app.state.settings.data_dir, job.id), ignore_errors=True)
    audit.record(session, actor, "cancel", resource_type="ExportJob", resource_id=job.id)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{name}", name="bulkFile", operation_id="bulkExportFile",
            summary="One NDJSON output file", response_class=FileResponse,
            responses={200: {"content": {NDJSON: {}}, "description": "NDJSON"}, **problem_responses(401, 403, 404),
                       410: {"model": Problem, "content": {FHIR_JSON: {}}, "description": "The file was removed"}})
def download(request: Request, session: SessionDep, actor: ClinicExporter, job_id: uuid.UUID,
             name: str) -> FileResponse:
    job = _job(session, request, actor, job_id)
    files = (job.manifest or {}).get("files", {})
    if job.status != "completed" or name not in files:
        raise NotFound(f"No file {name} in this export")
    path = output_dir(request.app.state.settings.data_dir, job.id) / name
    if not path.is_file():
        raise ExportGone(f"{name} of bulk export {job.id} is no longer on this server; start a new export")
    audit.record(session, actor, "download", resource_type="ExportJob", resource_id=job.id, detail={"file": name})
    return FileResponse(path, media_type=NDJSON)
