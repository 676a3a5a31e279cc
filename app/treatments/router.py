from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from app.auth.guards import ClinicalReader, ClinicalWriter
from app.db import SessionDep
from app.kit.clinical_note_routes import add_history_routes
from app.kit.errors import problem_responses
from app.kit.etag import DeferredIfMatch, OptionalIfMatch, set_etag
from app.kit.pagination import Page, PageParamsDep
from app.models.treatment import Treatment
from app.patients import service as patients
from app.treatments import service
from app.treatments.safety import SafetyContext
from app.treatments.schemas import (
    TreatmentAmendment,
    TreatmentCreate,
    TreatmentOut,
    TreatmentRevisionDetail,
    TreatmentUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["treatments"])


def _out(session: Session, response: Response, treatment: Treatment) -> TreatmentOut:
    set_etag(response, treatment.version)
    return service.to_out(session, treatment)


_WHO = ("Only a signed-in clinician rostered to needle (`authorized_to_needle`) may do this: anyone else, an API "
        "client included, gets 403. ")
_CONSENT_AT_SESSION_TIME = (
    "Consent is judged at the session's `started_at`, not at the time of the request: an IMS consent (and, for "
    "`e_stim` entries, an electrical-stimulation consent) must have been obtained before the session and not "
    "withdrawn by then; a consent withdrawn after the session still covers it. ")


@router.post("/patients/{patient_id}/treatments", status_code=201, response_model=TreatmentOut,
             operation_id="createTreatment", summary="Record an IMS session (draft); needs an active IMS consent",
             description=_WHO + _CONSENT_AT_SESSION_TIME +
             "Refused with 409 when a consent is missing or e-stim meets a pacemaker on the screen; other "
             "precautions come back as `warnings`.",
             responses=problem_responses(400, 401, 403, 404, 409, 422))
def create_treatment(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID, body: TreatmentCreate,
                     response: Response) -> TreatmentOut:
    treatment = service.create(session, actor, patients.get(session, patient_id), body)
    response.headers["Location"] = f"/api/v1/treatments/{treatment.id}"
    return _out(session, response, treatment)


@router.get("/patients/{patient_id}/treatments", response_model=Page[TreatmentOut], operation_id="listTreatments",
            summary="A patient's sessions, newest first", responses=problem_responses(401, 403, 404, 422))
def list_treatments(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID, page: PageParamsDep,
                    episode_id: uuid.UUID | None = None, include_discarded: bool = False) -> Page[TreatmentOut]:
    patient = patients.get(session, patient_id)
    rows, cursor = service.list_for_patient(session, actor, patient, page, episode_id=episode_id,
                                            include_discarded=include_discarded)
    ctx = SafetyContext.load(session, patient.id)
    return Page[TreatmentOut](items=[service.to_out(session, t, ctx) for t in rows], next_cursor=cursor)


@router.get("/treatments/{treatment_id}", response_model=TreatmentOut, operation_id="getTreatment",
            summary="Read a session (current content, derived counts and precaution warnings)",
            responses=problem_responses(401, 403, 404, 422))
def get_treatment(session: SessionDep, actor: ClinicalReader, treatment_id: uuid.UUID,
                  response: Response) -> TreatmentOut:
    return _out(session, response, service.read(session, actor, treatment_id))


@router.patch("/treatments/{treatment_id}", response_model=TreatmentOut, operation_id="updateTreatment",
              summary="Edit a draft session (author only, If-Match required)",
              description=_WHO + "E-stim is refused (409) when the session's screen records a pacemaker. "
              "Consent is checked again when the session is signed.",
              responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428))
def update_treatment(session: SessionDep, actor: ClinicalWriter, treatment_id: uuid.UUID, body: TreatmentUpdate,
                     expected: DeferredIfMatch, response: Response) -> TreatmentOut:
    treatment = service.update_draft(session, actor, service.get(session, treatment_id), body, expected)
    return _out(session, response, treatment)


@router.delete("/treatments/{treatment_id}", status_code=204, operation_id="discardTreatment",
               summary="Discard a draft session (kept, hidden from lists); signed sessions answer 409",
               responses=problem_responses(401, 403, 404, 409))
def discard_treatment(session: SessionDep, actor: ClinicalWriter, treatment_id: uuid.UUID) -> Response:
    service.discard(session, actor, service.get(session, treatment_id))
    return Response(status_code=204)


@router.post("/treatments/{treatment_id}/sign", response_model=TreatmentOut, operation_id="signTreatment",
             summary="Sign (author only): needs consent and needles removed == needles inserted",
             description=_WHO + _CONSENT_AT_SESSION_TIME +
             "Every needle must be accounted for: `needles_removed` equals the needles inserted, or each needle "
             "not removed is documented by its own `retained_needle` adverse event (409 says how many are "
             "unaccounted for).",
             responses=problem_responses(401, 403, 404, 409, 412))
def sign_treatment(session: SessionDep, actor: ClinicalWriter, treatment_id: uuid.UUID, expected: OptionalIfMatch,
                   response: Response) -> TreatmentOut:
    treatment = service.sign(session, actor, service.get(session, treatment_id), expected)
    return _out(session, response, treatment)


@router.post("/treatments/{treatment_id}/amendments", status_code=201, response_model=TreatmentOut,
             operation_id="amendTreatment", summary="Correct a signed session: a new revision with a reason",
             description=_WHO + "The amended session must pass the same rules as signing. " +
             _CONSENT_AT_SESSION_TIME,
             responses=problem_responses(400, 401, 403, 404, 409, 412, 422))
def amend_treatment(session: SessionDep, actor: ClinicalWriter, treatment_id: uuid.UUID, body: TreatmentAmendment,
                    expected: OptionalIfMatch, response: Response) -> TreatmentOut:
    treatment = service.amend(session, actor, service.get(session, treatment_id), body, expected)
    return _out(session, response, treatment)


add_history_routes(router, service.notes, session_dep=SessionDep, reader=ClinicalReader, path="/treatments",
                   id_param="treatment_id", detail=TreatmentRevisionDetail, noun="Treatment")
