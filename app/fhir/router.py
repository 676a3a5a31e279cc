"""FHIR R4 read and search (application/fhir+json); errors are OperationOutcome."""

from __future__ import annotations

import operator
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import fhir as appointment_fhir
from app.auth.deps import Authorize
from app.auth.permissions import Permission
from app.db import SessionDep
from app.exports.access import require_export
from app.fhir import compartment, mapping
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import NotFound, Unprocessable, field_error, problem_responses
from app.kit.pagination import PageParams, paginate
from app.models.appointment import Appointment
from app.models.base import utcnow
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.patient import Patient
from app.models.treatment import Consent, OutcomeAdministration, Treatment
from app.models.user import User

router = APIRouter(prefix="/fhir", tags=["fhir"])
Reader = Annotated[Actor, Authorize(Permission.CLINICAL_READ)]
PatientExporter = Annotated[Actor, Authorize(Permission.PATIENT_EXPORT)]
FHIR_JSON = "application/fhir+json"
TYPES = ("Patient", "Practitioner", "Encounter", "Condition", "Observation", "Procedure", "Consent", "Provenance",
         "Appointment", "Schedule", "Slot")
SCHEDULING = ("Schedule", "Slot")  # not in a patient's compartment: a therapist's bookable time (issue 14)


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


@router.get("/metadata", operation_id="fhirCapabilityStatement", summary="The server's CapabilityStatement",
            openapi_extra={"security": []})
def metadata() -> JSONResponse:
    search = [{"name": "patient", "type": "reference"}, {"name": "_lastUpdated", "type": "date"},
              {"name": "_count", "type": "number"}]
    resources = [{"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
                  "searchParam": search if t not in ("Patient", "Practitioner") else search[1:]} for t in TYPES]
    by_type = {r["type"]: r for r in resources}
    by_type["Schedule"]["searchParam"] = [{"name": "actor", "type": "reference"}]
    by_type["Slot"]["searchParam"] = [{"name": "schedule", "type": "reference"}, {"name": "start", "type": "date"},
                                      {"name": "service-type", "type": "token"}]
    resources[0]["operation"] = [{"name": "everything",
                                  "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]
    return _fhir({"resourceType": "CapabilityStatement", "status": "active", "date": utcnow().date().isoformat(),
                  "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
                  "software": {"name": "IMS Chart"}, "implementation": {"description": "IMS Chart FHIR API"},
                  "rest": [{"mode": "server", "resource": resources,
                            "security": {"description": "OAuth2 bearer token from /api/v1/auth/token"}}]})


def _owner(session: Session, resource_type: str, rid: str) -> uuid.UUID | None:
    """The patient whose compartment holds this resource id."""
    try:
        base = uuid.UUID(rid[:36])
    except ValueError:
        return None
    candidates: list[Any] = {
        "Patient": [select(Patient.id).where(Patient.id == base)],
        "Condition": [select(Episode.patient_id).where(Episode.id == base)],
        "Encounter": [select(Assessment.patient_id).where(Assessment.id == base),
                      select(Treatment.patient_id).where(Treatment.id == base)],
        "Observation": [select(Assessment.patient_id).where(Assessment.id == base),
                        select(Treatment.patient_id).where(Treatment.id == base),
                        select(OutcomeAdministration.patient_id).where(OutcomeAdministration.id == base)],
        "Procedure": [select(Treatment.patient_id).where(Treatment.id == base)],
        "Consent": [select(Consent.patient_id).where(Consent.id == base)],
        "Provenance": [select(ClinicalRevision.patient_id).where(ClinicalRevision.id == base)],
        "Appointment": [select(Appointment.patient_id).where(Appointment.id == base)],
    }.get(resource_type, [])
    for stmt in candidates:
        found = session.scalar(stmt)
        if found is not None:
            return found  # type: ignore[no-any-return]
    return None


def _resources_of(session: Session, patient_id: uuid.UUID) -> list[mapping.Resource]:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No Patient/{patient_id}")
    return compartment.fhir_resources(session, compartment.load(session, patient))


@router.get("/Patient/{patient_id}/$everything", operation_id="fhirPatientEverything",
            summary="Everything in a patient's compartment as a searchset Bundle",
            responses=problem_responses(401, 403, 404))
def everything(request: Request, session: SessionDep, actor: PatientExporter, patient_id: uuid.UUID
               ) -> JSONResponse:
    """An export of the whole record, so export rules apply (app.exports.access): admin any patient, a
    therapist the patients in their care. Ordinary reads and searches stay clinical reads."""
    if session.get(Patient, patient_id) is None:
        raise NotFound(f"No Patient/{patient_id}")
    require_export(session, request, actor, patient_id)
    resources = _resources_of(session, patient_id)
    audit.record(session, actor, "export", resource_type="Patient", resource_id=patient_id, patient_id=patient_id,
                 detail={"operation": "$everything", "count": len(resources)})
    body = compartment.bundle(resources, "searchset")
    body["total"] = len(resources)
    return _fhir(body)


@router.get("/{resource_type}/{rid}", operation_id="fhirRead", summary="Read a resource",
            responses=problem_responses(401, 403, 404))
def read(session: SessionDep, actor: Reader, resource_type: str, rid: str) -> JSONResponse:
    if resource_type not in TYPES:
        raise NotFound(f"Resource type {resource_type} is not supported")
    if resource_type == "Practitioner":
        user = session.get(User, _uuid(rid))
        if user is None:
            raise NotFound(f"No Practitioner/{rid}")
        audit.record(session, actor, "read", resource_type="Practitioner", resource_id=user.id)
        return _fhir(mapping.practitioner(user))
    if resource_type in SCHEDULING:
        therapist_id = uuid.UUID(rid) if resource_type == "Schedule" and _is_uuid(rid) else None
        hit = (appointment_fhir.find_schedules(session, therapist_id) if therapist_id else []) \
            if resource_type == "Schedule" else [r for r in [appointment_fhir.read_slot(session, rid)] if r]
        if not hit:
            raise NotFound(f"No {resource_type}/{rid}")
        audit.record(session, actor, "read", resource_type=resource_type, resource_id=rid)
        return _fhir(hit[0])
    owner = _owner(session, resource_type, rid)
    found = next((r for r in _resources_of(session, owner) if r["resourceType"] == resource_type and r["id"] == rid),
                 None) if owner else None
    if found is None:
        raise NotFound(f"No {resource_type}/{rid}")
    audit.record(session, actor, "read", resource_type=resource_type, resource_id=rid, patient_id=owner)
    return _fhir(found)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(f"No resource {value}") from exc


@router.get("/{resource_type}", operation_id="fhirSearch", summary="Search by patient, _lastUpdated and _count",
            responses=problem_responses(400, 401, 403, 404, 422))
def search(request: Request, session: SessionDep, actor: Reader, resource_type: str,
           patient: Annotated[str | None, Query(description="Patient/<id> or <id>")] = None,
           last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
           count: Annotated[int, Query(alias="_count", ge=1, le=200)] = 50,
           page: Annotated[str | None, Query(alias="_page", max_length=512)] = None,
           actor_ref: Annotated[str | None, Query(alias="actor", description="Schedule: Practitioner/<id>")] = None,
           schedule: Annotated[str | None, Query(description="Slot: Schedule/<id> (required)")] = None,
           slot_start: Annotated[list[str] | None, Query(alias="start", description="Slot: ge<date> and lt<date>")
                                 ] = None,
           service_type: Annotated[str | None, Query(alias="service-type", description="Slot: type name")] = None,
           ) -> JSONResponse:
    if resource_type not in TYPES:
        raise NotFound(f"Resource type {resource_type} is not supported")
    if resource_type in SCHEDULING:
        found = _scheduling(session, resource_type, actor_ref, schedule, slot_start, service_type)[:count]
        audit.record(session, actor, "search", resource_type=resource_type, detail={"count": len(found)})
        body = _searchset(request, found, None)
        body["total"] = len(found)
        return _fhir(body)
    bounds = [_date_bound(v) for v in last_updated or []]
    if resource_type in ("Patient", "Practitioner") and patient is None:
        model: Any = Patient if resource_type == "Patient" else User
        # Filter in SQL, before paging: a page is `_count` matches, never `_count` rows minus the misses.
        stmt = select(model).where(*(_COMPARE[prefix](model.updated_at, bound) for prefix, bound in bounds))
        rows, cursor = paginate(session, stmt, [model.id], PageParams(count, page))
        resources = [mapping.patient(r) if resource_type == "Patient" else mapping.practitioner(r) for r in rows]
        audit.record(session, actor, "search", resource_type=resource_type, detail={"count": len(resources)})
        return _fhir(_searchset(request, resources, cursor))
    if patient is None:
        raise field_error("patient", f"searching {resource_type} needs patient=<id>")
    pid = _uuid(patient.removeprefix("Patient/"))
    everything = [r for r in _resources_of(session, pid) if r["resourceType"] == resource_type and _within(r, bounds)]
    start = int(page) if page and page.isdigit() else 0
    chunk = everything[start:start + count]
    nxt = str(start + count) if start + count < len(everything) else None
    audit.record(session, actor, "search", resource_type=resource_type, patient_id=pid, detail={"count": len(chunk)})
    body = _searchset(request, chunk, nxt)
    body["total"] = len(everything)
    return _fhir(body)


def _scheduling(session: Session, resource_type: str, actor_ref: str | None, schedule: str | None,
                start: list[str] | None, service_type: str | None) -> list[mapping.Resource]:
    if resource_type == "Schedule":
        therapist = _uuid(actor_ref.removeprefix("Practitioner/")) if actor_ref else None
        return appointment_fhir.find_schedules(session, therapist)
    if schedule is None:
        raise field_error("schedule", "searching Slot needs schedule=Schedule/<id>")
    bounds = dict(_date_bound(v) for v in start or [])
    now = utcnow()
    lower = bounds.get("ge") or bounds.get("gt") or now
    upper = bounds.get("lt") or bounds.get("le") or lower + timedelta(days=7)
    return appointment_fhir.search_slots(session, _uuid(schedule.removeprefix("Schedule/")), lower, upper,
                                         service_type)


def _date_bound(value: str) -> tuple[str, datetime]:
    prefix = value[:2] if value[:2] in ("gt", "ge", "lt", "le", "eq") else "eq"
    raw = value[2:] if value[:2] == prefix else value
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unprocessable("_lastUpdated must be a date such as ge2026-11-01T00:00:00Z") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=utcnow().tzinfo)
    return prefix, moment


def _within(resource: mapping.Resource, bounds: list[tuple[str, datetime]]) -> bool:
    if not bounds:
        return True
    updated = resource.get("meta", {}).get("lastUpdated") or resource.get("recorded")
    if updated is None:
        return False
    when = datetime.fromisoformat(updated)
    return all(_COMPARE[prefix](when, bound) for prefix, bound in bounds)


_COMPARE = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le, "eq": operator.eq}


def _searchset(request: Request, resources: list[mapping.Resource], next_page: str | None) -> dict[str, Any]:
    body = compartment.bundle(resources, "searchset")
    links = [{"relation": "self", "url": str(request.url)}]
    if next_page is not None:
        links.append({"relation": "next", "url": str(request.url.include_query_params(_page=next_page))})
    body["link"] = links
    return body
