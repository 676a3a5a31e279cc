"""Episode rules: known condition codes, onset not in the future, discharge closes the episode."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clinic import service as clinic
from app.episodes.schemas import EpisodeCreate, EpisodeDischarge, EpisodeUpdate
from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.errors import Conflict, DomainError, FieldError, Unprocessable, field_error
from app.kit.etag import check_version, require_version
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams, paginate
from app.kit.repository import get_or_404
from app.models.clinical import Episode
from app.models.enums import EpisodeStatus
from app.models.patient import Patient
from app.reference.service import catalog


def get(session: Session, episode_id: uuid.UUID) -> Episode:
    return get_or_404(session, Episode, episode_id, "episode")


def of_patient(session: Session, patient_id: uuid.UUID, episode_id: uuid.UUID) -> Episode:
    """The episode a new entry names, if it is this patient's: 404 when unknown, a field error when not theirs."""
    episode = get(session, episode_id)
    if episode.patient_id != patient_id:
        raise field_error("episode_id", "this episode belongs to another patient")
    return episode


def open_of_patient(session: Session, patient_id: uuid.UUID, episode_id: uuid.UUID, then: str) -> Episode:
    """As `of_patient`, and still open: a clinical note is charted in an open episode (409 says `then` what)."""
    episode = of_patient(session, patient_id, episode_id)
    if episode.status != EpisodeStatus.OPEN:
        raise Conflict(f"The episode is discharged; {then}")
    return episode


def read(session: Session, actor: Actor, episode_id: uuid.UUID) -> Episode:
    episode = get(session, episode_id)
    _audit(session, actor, "read", episode)
    return episode


def create(session: Session, actor: Actor, patient: Patient, data: EpisodeCreate) -> Episode:
    created_by = clinical_record.accountable(session, actor, "create", "Episode", patient.id)
    values = data.model_dump()
    _check(session, values)
    episode = Episode(patient_id=patient.id, created_by=created_by, status=EpisodeStatus.OPEN, **values)
    session.add(episode)
    session.flush()
    _audit(session, actor, "create", episode)
    announce(session, EventType.EPISODE_CREATED, episode)
    return episode


def update(session: Session, actor: Actor, episode: Episode, data: EpisodeUpdate,
           expected_version: int | None) -> Episode:
    """Edit an open episode (If-Match required); a discharged one answers 409 whether or not it is sent."""
    if episode.status == EpisodeStatus.DISCHARGED:
        _refuse(session, actor, "update", episode, Conflict(
            f"The episode was discharged on {episode.discharged_on} and can no longer be edited; "
            "open a new episode for a new presentation"))
    require_version(episode.version, expected_version)
    changes = data.model_dump(exclude_unset=True)
    if "conditions" in changes and changes["conditions"] is None:
        raise field_error("conditions", "may not be null; an episode treats at least one condition")
    if "goals" in changes and changes["goals"] is None:
        changes["goals"] = []
    _check(session, changes)
    for name, value in changes.items():
        setattr(episode, name, value)
    session.flush()
    _audit(session, actor, "update", episode, detail={"fields": sorted(changes)})
    announce(session, EventType.EPISODE_UPDATED, episode)
    return episode


def discharge(session: Session, actor: Actor, episode: Episode, data: EpisodeDischarge,
              expected_version: int | None) -> Episode:
    if episode.status == EpisodeStatus.DISCHARGED:
        _refuse(session, actor, "discharge", episode,
                Conflict(f"The episode was already discharged on {episode.discharged_on}"))
    if expected_version is not None:
        check_version(episode.version, expected_version)
    today = clinic.today(session)
    discharged_on = data.discharged_on or today
    if discharged_on > today:
        raise field_error("discharged_on", "cannot be in the future")
    if episode.onset_date and discharged_on < episode.onset_date:
        raise field_error("discharged_on", "cannot be before the onset date")
    episode.status, episode.discharged_on = EpisodeStatus.DISCHARGED, discharged_on
    episode.discharge_reason, episode.discharge_outcome = data.discharge_reason, data.discharge_outcome
    session.flush()
    _audit(session, actor, "discharge", episode)
    announce(session, EventType.EPISODE_UPDATED, episode)
    return episode


def list_for_patient(session: Session, actor: Actor, patient: Patient, params: PageParams,
                     status: str | None) -> tuple[list[Episode], str | None]:
    stmt = select(Episode).where(Episode.patient_id == patient.id)
    if status:
        stmt = stmt.where(Episode.status == status)
    rows, cursor = paginate(session, stmt, [Episode.id], params, descending=True)
    audit.record(session, actor, "search", resource_type="Episode", patient_id=patient.id,
                 detail={"status": status, "result_ids": [str(e.id) for e in rows]})
    return rows, cursor


def _check(session: Session, values: dict[str, Any]) -> None:
    errors: list[FieldError] = []
    known = catalog(session).conditions
    for i, code in enumerate(values.get("conditions") or []):
        if code not in known:
            errors.append(FieldError(field=f"conditions[{i}]",
                                     message=f"unknown condition code {code!r}; see /api/v1/reference/conditions"))
    onset = values.get("onset_date")
    if onset is not None and onset > clinic.today(session):
        errors.append(FieldError(field="onset_date", message="cannot be in the future"))
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


def _audit(session: Session, actor: Actor, action: str, episode: Episode, **kwargs: Any) -> None:
    audit.record(session, actor, action, resource_type="Episode", resource_id=episode.id,
                 patient_id=episode.patient_id, resource_version=episode.version, **kwargs)


def _refuse(session: Session, actor: Actor, action: str, episode: Episode, error: DomainError) -> NoReturn:
    """Put the refused write on record (committed on its own), then raise."""
    episode_id, patient_id, version = episode.id, episode.patient_id, episode.version  # rollback expires them
    audit.record_failure(session, actor, action, outcome="refused", resource_type="Episode", resource_id=episode_id,
                         patient_id=patient_id, resource_version=version,
                         detail={"status": error.status, "reason": error.detail})
    raise error
