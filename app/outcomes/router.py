from __future__ import annotations

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from app.auth.guards import ClinicalReader, ClinicalWriter, SignedIn
from app.clinic import service as clinic
from app.db import SessionDep
from app.episodes import service as episodes
from app.kit.errors import problem_responses
from app.kit.pagination import Page, PageParamsDep
from app.outcomes import service
from app.outcomes.instruments import INSTRUMENTS
from app.outcomes.schemas import InstrumentOut, OutcomeCreate, OutcomeOut, Progress
from app.outcomes.svg import render
from app.patients import service as patients

router = APIRouter(prefix="/api/v1", tags=["outcomes"])


@router.get("/reference/instruments", response_model=list[InstrumentOut], operation_id="listInstruments",
            tags=["reference"], summary="Outcome instruments: items, ranges, scoring direction and MCID",
            responses=problem_responses(401))
def list_instruments(_: SignedIn) -> list[InstrumentOut]:
    return [InstrumentOut(**i.public()) for i in INSTRUMENTS.values()]


@router.post("/patients/{patient_id}/outcomes", status_code=201, response_model=OutcomeOut,
             operation_id="administerOutcome", summary="Record a questionnaire; the server scores it",
             description="Recorded by a signed-in clinician (an API client gets 403). Each response must be a "
             "finite value in the item's range; a problem names `responses[i]`.",
             responses=problem_responses(401, 403, 404, 422))
def administer(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID, body: OutcomeCreate) -> OutcomeOut:
    return OutcomeOut.model_validate(service.administer(session, actor, patients.get(session, patient_id), body))


@router.get("/patients/{patient_id}/outcomes", response_model=Page[OutcomeOut], operation_id="listOutcomes",
            summary="A patient's questionnaire results, newest first", responses=problem_responses(401, 403, 404))
def list_outcomes(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID, page: PageParamsDep,
                  instrument: Annotated[str | None, Query(max_length=20)] = None,
                  episode_id: uuid.UUID | None = None) -> Page[OutcomeOut]:
    rows, cursor = service.list_for_patient(session, actor, patients.get(session, patient_id), page,
                                            instrument=instrument, episode_id=episode_id)
    return Page[OutcomeOut](items=[OutcomeOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/episodes/{episode_id}/progress", response_model=Progress, operation_id="getEpisodeProgress",
            summary="Session pain and each instrument's change from baseline against its MCID",
            responses=problem_responses(401, 403, 404))
def episode_progress(session: SessionDep, actor: ClinicalReader, episode_id: uuid.UUID) -> Progress:
    return service.progress(session, actor, episode_id)


@router.get("/episodes/{episode_id}/progress.svg", operation_id="getEpisodeProgressChart",
            summary="The progress chart as a standalone SVG",
            responses={200: {"content": {"image/svg+xml": {}}, "description": "SVG image"},
                       **problem_responses(401, 403, 404)})
def episode_progress_svg(session: SessionDep, actor: ClinicalReader, episode_id: uuid.UUID) -> Response:
    progress = service.progress(session, actor, episode_id)
    patient = patients.get(session, episodes.get(session, episode_id).patient_id)
    title = f"Episode progress: {patient.family_name.upper()}, {patient.given_name} (chart {patient.chart_number})"
    return Response(render(progress, ZoneInfo(clinic.profile(session).time_zone), title), media_type="image/svg+xml")
