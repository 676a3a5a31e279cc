"""FHIR R4 read and search (application/fhir+json); errors are OperationOutcome."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import policy
from app.appointments import fhir as appointment_fhir
from app.auth.guards import ClinicalReader, PatientExporter
from app.auth.permissions import Permission
from app.clinic import service as clinic
from app.db import SessionDep
from app.fhir import capability, compartment, mapping, search_params
from app.fhir import search as fhir_search
from app.kit import audit
from app.kit.errors import NotFound, SearchError, problem_responses
from app.models.appointment import Appointment
from app.models.base import utcnow
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.patient import Patient
from app.models.treatment import Consent, OutcomeAdministration, Treatment
from app.models.user import User
from app.records import patient as patient_record

FHIR_JSON = "application/fhir+json"


class FHIRResponse(JSONResponse):
    """Documents (and sends) FHIR resources and Bundles as application/fhir+json."""

    media_type = FHIR_JSON


router = APIRouter(prefix="/fhir", tags=["fhir"], default_response_class=FHIRResponse)
TYPES = ("Patient", "Practitioner", "Encounter", "Condition", "Observation", "Procedure", "Consent", "Provenance",
         "Appointment", "Schedule", "Slot")
SCHEDULING = ("Schedule", "Slot")  # not in a patient's compartment: a therapist's bookable time (issue 14)


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return FHIRResponse(body, status_code=status)


@router.get("/metadata", operation_id="fhirCapabilityStatement", summary="The server's CapabilityStatement",
            openapi_extra={"security": []})
def metadata(request: Request) -> JSONResponse:
    return _fhir(capability.statement(base_url(request), TYPES))


def base_url(request: Request) -> str:
    """The absolute base of this FHIR server, e.g. https://clinic.example/fhir (for fullUrl and links)."""
    return str(request.base_url).rstrip("/") + "/fhir"


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
    return compartment.fhir_resources(session, patient_record.load(session, patient))


@router.get("/Patient/{patient_id}/$everything", operation_id="fhirPatientEverything",
            summary="Everything in a patient's compartment as a searchset Bundle",
            responses=problem_responses(401, 403, 404))
def everything(request: Request, session: SessionDep, actor: PatientExporter, patient_id: uuid.UUID
               ) -> JSONResponse:
    """An export of the whole record, so export rules apply (app.access.policy, checked by `Authorize` for the
    patient in the path): admin any patient, a therapist the patients on whose care team they are."""
    if session.get(Patient, patient_id) is None:
        raise NotFound(f"No Patient/{patient_id}")
    resources = _resources_of(session, patient_id)
    audit.record(session, actor, "export", resource_type="Patient", resource_id=patient_id, patient_id=patient_id,
                 detail={"operation": "$everything", "count": len(resources)})
    body = compartment.bundle(resources, "searchset", base_url(request))
    body["total"] = len(resources)
    return _fhir(body)


@router.get("/{resource_type}/{rid}", operation_id="fhirRead", summary="Read a resource",
            responses=problem_responses(401, 403, 404))
def read(request: Request, session: SessionDep, actor: ClinicalReader, resource_type: str, rid: str) -> JSONResponse:
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
    if owner is not None and resource_type != "Patient":  # demographics are everyone's; the chart is the care team's
        policy.require_patient(session, request, actor, owner, Permission.CLINICAL_READ)
    found = _one(session, owner, resource_type, rid) if owner else None
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


def _search_parameters() -> list[dict[str, Any]]:
    """OpenAPI: the query parameters of fhirSearch (which apply depends on the type; see /fhir/metadata)."""
    names = dict.fromkeys(p.name for params in search_params.SPEC.values() for p in params)
    return [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in
            [*names, *search_params.CONTROL]] + [{
                "name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
                "description": "handling=strict: refuse unsupported parameters (400) instead of ignoring them"}]


@router.get("/{resource_type}", operation_id="fhirSearch",
            summary="Search: Patient by _id, identifier, family, given, name, birthdate, gender, active; clinical "
            "resources by patient/subject, date, code, status, encounter; _lastUpdated, _count, _sort, _summary, "
            "_include", responses=problem_responses(400, 401, 403, 404),
            openapi_extra={"parameters": _search_parameters()})
def search(request: Request, session: SessionDep, actor: ClinicalReader, resource_type: str) -> JSONResponse:
    if resource_type not in TYPES:
        raise NotFound(f"Resource type {resource_type} is not supported")
    strict = "handling=strict" in request.headers.get("prefer", "").replace(" ", "")
    q = search_params.parse(resource_type, list(request.query_params.multi_items()), strict)
    zone = ZoneInfo(clinic.profile(session).time_zone)
    included: list[mapping.Resource] = []
    if resource_type in SCHEDULING:
        resources = _scheduling(session, q, zone)
        total, cursor = len(resources), None
        audit.record(session, actor, "search", resource_type=resource_type,
                     detail={"count": len(resources), "params": q.applied})
    elif resource_type in ("Patient", "Practitioner"):
        resources, total, cursor = fhir_search.run_sql(session, q, zone)
        audit.record(session, actor, "search", resource_type=resource_type,
                     detail={"count": len(resources), "params": q.applied})
    else:
        pids = fhir_search.patient_ids(q)
        for pid in pids:  # the care relationship (app.access.policy), before anything is loaded
            policy.require_patient(session, request, actor, pid, Permission.CLINICAL_READ)
        compartments = {pid: _compartment(session, pid, resource_type) for pid in pids}
        resources, total, cursor = fhir_search.run_compartment(
            q, [r for found in compartments.values() for r in found], zone)
        for pid, found in compartments.items():
            audit.record(session, actor, "search", resource_type=resource_type, patient_id=pid,
                         detail={"count": len(resources), "params": q.applied})
            page_ids = {(r["resourceType"], r["id"]) for r in resources}
            if q.include_patient and any((r["resourceType"], r["id"]) in page_ids for r in found):
                included.append(found[0])  # the compartment's first resource is its Patient
    return _fhir(_searchset(request, q, resources, included, total, cursor))


def _compartment(session: Session, patient_id: uuid.UUID, resource_type: str) -> list[mapping.Resource]:
    """A patient's resources of the searched type (and the Patient, first, for _include), from only the tables
    that type is made of; none (not a 404) when no such patient: a search that matches nothing."""
    patient = session.get(Patient, patient_id)
    return compartment.fhir_resources(session, patient_record.load_part(session, patient, resource_type)) \
        if patient else []


def _one(session: Session, owner: uuid.UUID, resource_type: str, rid: str) -> mapping.Resource | None:
    """One resource of a patient's compartment, mapped from only the rows it is made of (not the whole chart)."""
    patient = session.get_one(Patient, owner)
    part = patient_record.load_part(session, patient, resource_type, uuid.UUID(rid[:36]))
    return next((r for r in compartment.fhir_resources(session, part)
                 if r["resourceType"] == resource_type and r["id"] == rid), None)


def _scheduling(session: Session, q: search_params.Query, zone: ZoneInfo) -> list[mapping.Resource]:
    """Schedules (one per therapist) and the free or busy Slots of one schedule in a window (default a week)."""
    if q.resource_type == "Schedule":
        actors = [a for _, alts in q.values("actor") for a in alts]
        therapist = _uuid(actors[0].removeprefix("Practitioner/")) if actors else None
        return appointment_fhir.find_schedules(session, therapist)
    schedules = [a for _, alts in q.values("schedule") for a in alts]
    if not schedules:
        raise SearchError("searching Slot needs schedule=Schedule/<id>")
    lower, upper = utcnow(), None
    for _, alts in q.values("start"):
        for raw in alts:
            r = search_params.parse_date(raw, zone, "start")
            if r.prefix in ("ge", "gt", "eq"):  # from the start of the value's range (gt: after it)
                lower = r.hi if r.prefix == "gt" else r.lo
            if r.prefix in ("lt", "le", "eq"):  # until the start of the value's range (le, eq: its end)
                upper = r.lo if r.prefix == "lt" else r.hi
    upper = upper or lower + timedelta(days=7)
    kinds = [a for _, alts in q.values("service-type") for a in alts]
    return appointment_fhir.search_slots(session, _uuid(schedules[0].removeprefix("Schedule/")), lower, upper,
                                         kinds[0] if kinds else None)


def _searchset(request: Request, q: search_params.Query, resources: list[mapping.Resource],
               included: list[mapping.Resource], total: int, next_page: str | None) -> dict[str, Any]:
    """The Bundle: matches (and included patients), the total, and links that show exactly the criteria applied
    (unsupported parameters that were ignored are not echoed)."""
    body = compartment.bundle([*resources, *included], "searchset", base_url(request),
                              modes=["match"] * len(resources) + ["include"] * len(included))
    body["total"] = total
    own = request.url.replace(query=urlencode([*q.applied, *([("_page", q.page)] if q.page else [])]))
    links = [{"relation": "self", "url": str(own)}]
    if next_page is not None:
        links.append({"relation": "next", "url": str(request.url.replace(query=urlencode([*q.applied,
                                                                                           ("_page", next_page)])))})
    body["link"] = links
    return body
