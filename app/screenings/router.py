from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.auth.guards import ClinicalReader, ClinicalWriter
from app.db import SessionDep
from app.kit import audit
from app.kit.errors import NotFound, problem_responses
from app.patients import service as patients
from app.screenings import service
from app.screenings.schemas import ScreeningCreate, ScreeningOut

router = APIRouter(prefix="/api/v1/patients/{patient_id}/screenings", tags=["screenings"])


@router.post("", status_code=201, response_model=ScreeningOut, operation_id="createScreening",
             summary="Record a precaution screen (it becomes the current one)",
             description="Screened by a signed-in clinician; an API client gets 403.",
             responses=problem_responses(401, 403, 404, 422))
def create_screening(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID, body: ScreeningCreate,
                     response: Response) -> ScreeningOut:
    screening = service.create(session, actor, patients.get(session, patient_id), body)
    response.headers["Location"] = f"/api/v1/patients/{patient_id}/screenings/{screening.id}"
    return service.to_out(screening)


@router.get("", response_model=list[ScreeningOut], operation_id="listScreenings",
            summary="Screens, newest (current) first; at most 200", responses=problem_responses(401, 403, 404))
def list_screenings(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID) -> list[ScreeningOut]:
    return [service.to_out(s) for s in service.list_for_patient(session, actor, patients.get(session, patient_id))]


@router.get("/current", response_model=ScreeningOut, operation_id="getCurrentScreening",
            summary="The patient's current screen", responses=problem_responses(401, 403, 404))
def current_screening(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID) -> ScreeningOut:
    patient = patients.get(session, patient_id)
    screening = service.current(session, patient.id)
    if screening is None:
        raise NotFound("No precaution screen on file for this patient")
    audit.record(session, actor, "read", resource_type="Screening", resource_id=screening.id, patient_id=patient.id)
    return service.to_out(screening)


@router.get("/{screening_id}", response_model=ScreeningOut, operation_id="getScreening",
            summary="Read a screen", responses=problem_responses(401, 403, 404))
def get_screening(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID, screening_id: uuid.UUID
                  ) -> ScreeningOut:
    screening = service.get(session, patients.get(session, patient_id), screening_id)
    audit.record(session, actor, "read", resource_type="Screening", resource_id=screening.id, patient_id=patient_id)
    return service.to_out(screening)
