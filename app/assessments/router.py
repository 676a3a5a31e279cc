from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from app.assessments import service
from app.assessments.schemas import (
    AmendmentCreate,
    AssessmentCreate,
    AssessmentOut,
    AssessmentUpdate,
    RevisionDetail,
)
from app.assessments.summary import SegmentalSummary, summarise
from app.assessments.svg import caption, render
from app.auth.guards import ClinicalReader, ClinicalWriter
from app.clinic import service as clinic
from app.db import SessionDep
from app.kit.clinical_note_routes import add_history_routes
from app.kit.errors import problem_responses
from app.kit.etag import DeferredIfMatch, OptionalIfMatch, set_etag
from app.kit.pagination import Page, PageParamsDep
from app.models.clinical import Assessment
from app.models.enums import RecordStatusName
from app.patients import service as patients
from app.reference.service import catalog

router = APIRouter(prefix="/api/v1", tags=["assessments"])


def _out(session: Session, response: Response, assessment: Assessment) -> AssessmentOut:
    set_etag(response, assessment.version)
    return service.to_out(session, assessment)


@router.post("/patients/{patient_id}/assessments", status_code=201, response_model=AssessmentOut,
             operation_id="createAssessment", summary="Chart a Gunn segmental assessment (draft)",
             responses=problem_responses(400, 401, 403, 404, 409, 422))
def create_assessment(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID, body: AssessmentCreate,
                      response: Response) -> AssessmentOut:
    assessment = service.create(session, actor, patients.get(session, patient_id), body)
    response.headers["Location"] = f"/api/v1/assessments/{assessment.id}"
    return _out(session, response, assessment)


@router.get("/patients/{patient_id}/assessments", response_model=Page[AssessmentOut],
            operation_id="listAssessments", summary="A patient's assessments, newest first",
            responses=problem_responses(401, 403, 404, 422))
def list_assessments(
    session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID, page: PageParamsDep,
    episode_id: uuid.UUID | None = None,
    status: Annotated[RecordStatusName | None, Query()] = None,
    include_discarded: bool = False,
) -> Page[AssessmentOut]:
    rows, cursor = service.list_for_patient(session, actor, patients.get(session, patient_id), page,
                                            episode_id=episode_id, status=status,
                                            include_discarded=include_discarded)
    return Page[AssessmentOut](items=[service.to_out(session, a) for a in rows], next_cursor=cursor)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, operation_id="getAssessment",
            summary="Read an assessment (current content)", responses=problem_responses(401, 403, 404, 422))
def get_assessment(session: SessionDep, actor: ClinicalReader, assessment_id: uuid.UUID,
                   response: Response) -> AssessmentOut:
    return _out(session, response, service.read(session, actor, assessment_id))


@router.patch("/assessments/{assessment_id}", response_model=AssessmentOut, operation_id="updateAssessment",
              summary="Edit a draft assessment (author only, If-Match required)",
              responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428))
def update_assessment(session: SessionDep, actor: ClinicalWriter, assessment_id: uuid.UUID, body: AssessmentUpdate,
                      expected: DeferredIfMatch, response: Response) -> AssessmentOut:
    assessment = service.update_draft(session, actor, service.get(session, assessment_id), body, expected)
    return _out(session, response, assessment)


@router.delete("/assessments/{assessment_id}", status_code=204, operation_id="discardAssessment",
               summary="Discard a draft (kept, hidden from lists); signed notes answer 409",
               responses=problem_responses(401, 403, 404, 409))
def discard_assessment(session: SessionDep, actor: ClinicalWriter, assessment_id: uuid.UUID) -> Response:
    service.discard(session, actor, service.get(session, assessment_id))
    return Response(status_code=204)


@router.post("/assessments/{assessment_id}/sign", response_model=AssessmentOut, operation_id="signAssessment",
             summary="Sign (author only): locks the content and stamps signer, time and content hash",
             responses=problem_responses(401, 403, 404, 409, 412, 422))
def sign_assessment(session: SessionDep, actor: ClinicalWriter, assessment_id: uuid.UUID, expected: OptionalIfMatch,
                    response: Response) -> AssessmentOut:
    assessment = service.sign(session, actor, service.get(session, assessment_id), expected)
    return _out(session, response, assessment)


@router.post("/assessments/{assessment_id}/amendments", status_code=201, response_model=AssessmentOut,
             operation_id="amendAssessment", summary="Correct a signed assessment: a new revision with a reason",
             responses=problem_responses(400, 401, 403, 404, 409, 412, 422))
def amend_assessment(session: SessionDep, actor: ClinicalWriter, assessment_id: uuid.UUID, body: AmendmentCreate,
                     expected: OptionalIfMatch, response: Response) -> AssessmentOut:
    assessment = service.amend(session, actor, service.get(session, assessment_id), body, expected)
    return _out(session, response, assessment)


add_history_routes(router, service.notes, session_dep=SessionDep, reader=ClinicalReader, path="/assessments",
                   id_param="assessment_id", detail=RevisionDetail, noun="Assessment")


@router.get("/assessments/{assessment_id}/segmental-summary", response_model=SegmentalSummary,
            operation_id="getSegmentalSummary",
            summary="Per level and side: signs, involvement, and suggested needling targets",
            responses=problem_responses(401, 403, 404))
def segmental_summary(session: SessionDep, actor: ClinicalReader, assessment_id: uuid.UUID) -> SegmentalSummary:
    assessment = service.read(session, actor, assessment_id)
    return summarise(catalog(session), service.content_of(assessment), str(assessment.id))


@router.get("/assessments/{assessment_id}/segmental-map.svg", operation_id="getSegmentalMap",
            summary="The segmental map as a standalone SVG picture",
            responses={200: {"content": {"image/svg+xml": {}}, "description": "SVG image"},
                       **problem_responses(401, 403, 404)})
def segmental_map(session: SessionDep, actor: ClinicalReader, assessment_id: uuid.UUID) -> Response:
    assessment = service.read(session, actor, assessment_id)
    cat = catalog(session)
    zone = ZoneInfo(clinic.profile(session).time_zone)
    label = caption(patients.get(session, assessment.patient_id), assessment, zone)
    svg = render(cat, summarise(cat, service.content_of(assessment), str(assessment.id)), label)
    return Response(svg, media_type="image/svg+xml", headers={"ETag": f'W/"{assessment.version}"'})
