from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.access import policy
from app.auth.guards import ClinicalReader, ClinicalWriter
from app.consents import service
from app.consents.schemas import ConsentCreate, ConsentOut, ConsentWithdraw
from app.db import SessionDep
from app.kit import audit
from app.kit.errors import problem_responses
from app.patients import service as patients

router = APIRouter(prefix="/api/v1/patients/{patient_id}/consents", tags=["consents"])


@router.post("", status_code=201, response_model=ConsentOut, operation_id="createConsent",
             summary="Record informed consent",
             description="Recorded by a signed-in clinician; an API client gets 403. A consent covers the "
             "sessions that start after `obtained_at` and before any withdrawal.",
             responses=problem_responses(401, 403, 404, 422))
def create_consent(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID, body: ConsentCreate,
                   response: Response) -> ConsentOut:
    consent = service.create(session, actor, patients.get(session, patient_id), body)
    response.headers["Location"] = f"/api/v1/patients/{patient_id}/consents/{consent.id}"
    return service.to_out(consent)


@router.get("", response_model=list[ConsentOut], operation_id="listConsents",
            summary="Every consent on file, newest first (withdrawn ones included)",
            responses=problem_responses(401, 403, 404))
def list_consents(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID) -> list[ConsentOut]:
    rows = service.list_for_patient(session, actor, patients.get(session, patient_id))
    return [service.to_out(c) for c in rows]


@router.get("/{consent_id}", response_model=ConsentOut, operation_id="getConsent", summary="Read a consent",
            responses=problem_responses(401, 403, 404))
def get_consent(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID, consent_id: uuid.UUID) -> ConsentOut:
    consent = service.get(session, patients.get(session, patient_id), consent_id)
    audit.record(session, actor, "read", resource_type="Consent", resource_id=consent.id, patient_id=patient_id)
    return service.to_out(consent)


@router.post("/{consent_id}/withdraw", response_model=ConsentOut, operation_id="withdrawConsent",
             summary="Withdraw a consent (it stays on file)",
             description="Recorded by the clinician who obtained the consent, an admin, or a member of the "
             "patient's care team (an API client, or anyone else, gets 403). Consent is judged at each "
             "session's time: sessions before `withdrawn_at` stay covered, later ones are refused.",
             responses=problem_responses(401, 403, 404, 409, 422))
def withdraw_consent(request: Request, session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID,
                     consent_id: uuid.UUID, body: ConsentWithdraw | None = None) -> ConsentOut:
    consent = service.get(session, patients.get(session, patient_id), consent_id)
    policy.require_withdraw(session, request, actor, consent)  # its clinician, an admin, or the care team
    return service.to_out(service.withdraw(session, actor, consent, body or ConsentWithdraw()))
