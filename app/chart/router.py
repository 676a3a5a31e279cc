from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.auth.guards import ClinicalReader
from app.chart import service
from app.chart.schemas import Chart
from app.db import SessionDep
from app.kit.errors import problem_responses
from app.patients import service as patients

router = APIRouter(prefix="/api/v1", tags=["chart"])


@router.get("/patients/{patient_id}/chart", response_model=Chart, operation_id="getPatientChart",
            summary="Today's view: demographics, open episodes, consents, current screen, latest assessment, "
                    "recent sessions and progress", responses=problem_responses(401, 403, 404))
def patient_chart(session: SessionDep, actor: ClinicalReader,
                  patient_id: uuid.UUID) -> Chart:
    return service.chart(session, actor, patients.get(session, patient_id))
