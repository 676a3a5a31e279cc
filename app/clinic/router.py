from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth.guards import ClinicWriter, SignedIn
from app.clinic import service
from app.clinic.schemas import ClinicOut, ClinicUpdate
from app.db import SessionDep
from app.kit.errors import problem_responses
from app.kit.etag import IfMatch, set_etag

router = APIRouter(prefix="/api/v1/clinic", tags=["clinic"])


@router.get("", response_model=ClinicOut, operation_id="getClinic", summary="The clinic profile",
            responses=problem_responses(401))
def get_clinic(session: SessionDep, _: SignedIn,
               response: Response) -> ClinicOut:
    clinic = service.get(session)
    set_etag(response, clinic.version)
    return ClinicOut.model_validate(clinic)


@router.patch("", response_model=ClinicOut, operation_id="updateClinic", summary="Update the clinic profile",
              responses=problem_responses(401, 403, 412, 422, 428))
def update_clinic(session: SessionDep, actor: ClinicWriter,
                  body: ClinicUpdate, expected: IfMatch, response: Response) -> ClinicOut:
    clinic = service.update(session, actor, body, expected)
    set_etag(response, clinic.version)
    return ClinicOut.model_validate(clinic)
