"""Care teams and break-the-glass: the routes that start and end care relationships (app.access.care)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.access import care
from app.access.care import BreakGlass, CareRelationshipOut, CareTeamAdd
from app.auth.guards import ClinicalReaderOutsideCare, PatientsReader, PatientsWriter
from app.db import SessionDep
from app.kit.errors import problem_responses
from app.patients import service as patients

router = APIRouter(prefix="/api/v1/patients/{patient_id}", tags=["access"])


@router.get("/care-team", response_model=list[CareRelationshipOut], operation_id="listCareTeam",
            summary="Who may open this patient's chart now (care team and live break-the-glass accesses)",
            responses=problem_responses(401, 403, 404))
def list_care_team(session: SessionDep, actor: PatientsReader, patient_id: uuid.UUID) -> list[CareRelationshipOut]:
    rows = care.team(session, actor, patients.get(session, patient_id))
    return [CareRelationshipOut.model_validate(r) for r in rows]


@router.post("/care-team", status_code=201, response_model=CareRelationshipOut, operation_id="addToCareTeam",
             summary="Add a clinician to the care team (front desk, admin, or a member of the team)",
             responses={200: {"description": "Already on the care team", "model": CareRelationshipOut},
                        **problem_responses(401, 403, 404, 422)})
def add_to_care_team(request: Request, session: SessionDep, actor: PatientsWriter, patient_id: uuid.UUID,
                     body: CareTeamAdd, response: Response) -> CareRelationshipOut:
    row, created = care.add(session, request, actor, patients.get(session, patient_id), body)
    if not created:
        response.status_code = 200
    return CareRelationshipOut.model_validate(row)


@router.post("/care-team/{user_id}/end", response_model=CareRelationshipOut, operation_id="endCareTeamMembership",
             summary="Take a clinician off the care team (front desk, admin, or the clinician themselves)",
             responses=problem_responses(401, 403, 404))
def end_care_team_membership(request: Request, session: SessionDep, actor: PatientsWriter, patient_id: uuid.UUID,
                             user_id: uuid.UUID) -> CareRelationshipOut:
    return CareRelationshipOut.model_validate(care.end(session, request, actor, patients.get(session, patient_id),
                                                       user_id))


@router.post("/break-glass", status_code=201, response_model=CareRelationshipOut, operation_id="breakTheGlass",
             summary="Emergency access to a chart outside your care: time-limited, with a reason, always audited",
             responses=problem_responses(401, 403, 404, 409, 422))
def break_the_glass(request: Request, session: SessionDep, actor: ClinicalReaderOutsideCare, patient_id: uuid.UUID,
                    body: BreakGlass) -> CareRelationshipOut:
    return CareRelationshipOut.model_validate(care.break_glass(session, request, actor,
                                                               patients.get(session, patient_id), body))
