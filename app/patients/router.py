from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.access import care
from app.auth.guards import PatientsReader, PatientsWriter
from app.db import SessionDep
from app.kit.errors import problem_responses
from app.kit.etag import IfMatch, set_etag
from app.kit.isodates import IsoDate
from app.kit.pagination import Page, PageParamsDep
from app.patients import service
from app.patients.schemas import PatientCreate, PatientOut, PatientUpdate

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


@router.post("", status_code=201, response_model=PatientOut, operation_id="createPatient",
             summary="Register a patient", responses=problem_responses(400, 401, 403, 409, 422))
def create_patient(session: SessionDep, actor: PatientsWriter, body: PatientCreate, response: Response) -> PatientOut:
    patient = service.create(session, actor, body)
    care.on_registration(session, actor, patient)  # a registering therapist is on the new chart's care team
    set_etag(response, patient.version)
    response.headers["Location"] = f"/api/v1/patients/{patient.id}"
    return PatientOut.model_validate(patient)


@router.get("", response_model=Page[PatientOut], operation_id="searchPatients",
            summary="List or search patients (alphabetical)", responses=problem_responses(401, 403, 422))
def search_patients(
    session: SessionDep, actor: PatientsReader, page: PageParamsDep,
    q: Annotated[str | None, Query(min_length=1, max_length=100,
                                   description="Prefix of family or given name, chart number or phone")] = None,
    birth_date: Annotated[IsoDate | None, Query()] = None,
    active: Annotated[bool | None, Query()] = None,
) -> Page[PatientOut]:
    rows, cursor = service.search(session, actor, page, q=q, birth_date=birth_date, active=active)
    return Page[PatientOut](items=[PatientOut.model_validate(p) for p in rows], next_cursor=cursor)


@router.get("/{patient_id}", response_model=PatientOut, operation_id="getPatient", summary="Read a patient",
            responses=problem_responses(401, 403, 404, 422))
def get_patient(session: SessionDep, actor: PatientsReader, patient_id: uuid.UUID, response: Response) -> PatientOut:
    patient = service.read(session, actor, patient_id)
    set_etag(response, patient.version)
    return PatientOut.model_validate(patient)


@router.patch("/{patient_id}", response_model=PatientOut, operation_id="updatePatient",
              summary="Update a patient's demographics (If-Match required)",
              responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428))
def update_patient(session: SessionDep, actor: PatientsWriter, patient_id: uuid.UUID, body: PatientUpdate,
                   expected: IfMatch, response: Response) -> PatientOut:
    patient = service.update_patient(session, actor, service.get(session, patient_id), body, expected)
    set_etag(response, patient.version)
    return PatientOut.model_validate(patient)


@router.post("/{patient_id}/deactivate", response_model=PatientOut, operation_id="deactivatePatient",
             summary="Deactivate a patient (records are never deleted)",
             responses=problem_responses(401, 403, 404))
def deactivate_patient(session: SessionDep, actor: PatientsWriter, patient_id: uuid.UUID,
                       response: Response) -> PatientOut:
    patient = service.deactivate(session, actor, service.get(session, patient_id))
    set_etag(response, patient.version)
    return PatientOut.model_validate(patient)
