from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.guards import ClinicalReader, ClinicalWriter
from app.db import SessionDep
from app.episodes import service
from app.episodes.schemas import EpisodeCreate, EpisodeDischarge, EpisodeOut, EpisodeUpdate
from app.kit.errors import problem_responses
from app.kit.etag import DeferredIfMatch, OptionalIfMatch, set_etag
from app.kit.pagination import Page, PageParamsDep
from app.models.enums import EpisodeStatusName
from app.patients import service as patients

router = APIRouter(prefix="/api/v1", tags=["episodes"])


def _out(response: Response, episode: object) -> EpisodeOut:
    out = EpisodeOut.model_validate(episode)
    set_etag(response, out.version)
    return out


@router.post("/patients/{patient_id}/episodes", status_code=201, response_model=EpisodeOut,
             operation_id="createEpisode", summary="Open an episode of care",
             responses=problem_responses(401, 403, 404, 422))
def create_episode(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID, body: EpisodeCreate,
                   response: Response) -> EpisodeOut:
    episode = service.create(session, actor, patients.get(session, patient_id), body)
    response.headers["Location"] = f"/api/v1/episodes/{episode.id}"
    return _out(response, episode)


@router.get("/patients/{patient_id}/episodes", response_model=Page[EpisodeOut], operation_id="listEpisodes",
            summary="A patient's episodes of care, newest first", responses=problem_responses(401, 403, 404, 422))
def list_episodes(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID, page: PageParamsDep,
                  status: Annotated[EpisodeStatusName | None, Query()] = None) -> Page[EpisodeOut]:
    rows, cursor = service.list_for_patient(session, actor, patients.get(session, patient_id), page, status)
    return Page[EpisodeOut](items=[EpisodeOut.model_validate(e) for e in rows], next_cursor=cursor)


@router.get("/episodes/{episode_id}", response_model=EpisodeOut, operation_id="getEpisode",
            summary="Read an episode of care", responses=problem_responses(401, 403, 404, 422))
def get_episode(session: SessionDep, actor: ClinicalReader, episode_id: uuid.UUID, response: Response) -> EpisodeOut:
    return _out(response, service.read(session, actor, episode_id))


@router.patch("/episodes/{episode_id}", response_model=EpisodeOut, operation_id="updateEpisode",
              summary="Update an open episode of care (If-Match required); a discharged one answers 409",
              responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
def update_episode(session: SessionDep, actor: ClinicalWriter, episode_id: uuid.UUID, body: EpisodeUpdate,
                   expected: DeferredIfMatch, response: Response) -> EpisodeOut:
    return _out(response, service.update(session, actor, service.get(session, episode_id), body, expected))


@router.post("/episodes/{episode_id}/discharge", response_model=EpisodeOut, operation_id="dischargeEpisode",
             summary="Discharge: close the episode with a reason and outcome (If-Match optional, checked when sent)",
             responses=problem_responses(401, 403, 404, 409, 412, 422))
def discharge_episode(session: SessionDep, actor: ClinicalWriter, episode_id: uuid.UUID, body: EpisodeDischarge,
                      expected: OptionalIfMatch, response: Response) -> EpisodeOut:
    return _out(response, service.discharge(session, actor, service.get(session, episode_id), body, expected))
