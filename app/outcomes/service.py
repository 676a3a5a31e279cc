"""Administering instruments (server-scored) and the progress of an episode of care."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.episodes import service as episodes
from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.dates import not_in_future
from app.kit.errors import FieldError, Unprocessable, field_error
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams, paginate
from app.models.base import utcnow
from app.models.enums import RecordStatus
from app.models.patient import Patient
from app.models.treatment import OutcomeAdministration, Treatment
from app.outcomes.instruments import INSTRUMENTS, ScoringError, improvement
from app.outcomes.schemas import InstrumentProgress, OutcomeCreate, PainPoint, Progress, ScorePoint


def administer(session: Session, actor: Actor, patient: Patient, data: OutcomeCreate) -> OutcomeAdministration:
    recorded_by = clinical_record.accountable(session, actor, "create", "OutcomeAdministration", patient.id)
    instrument = INSTRUMENTS.get(data.instrument)
    if instrument is None:
        raise field_error("instrument", "unknown instrument; see /api/v1/reference/instruments")
    try:
        score, subscores, responses = instrument.score(data.responses)
    except ScoringError as exc:
        raise Unprocessable(f"{exc.field}: {exc.message}",
                            errors=[FieldError(field=exc.field, message=exc.message)]) from exc
    if data.labels is not None and len(data.labels) != len(data.responses):
        raise field_error("labels", "give one label per response")
    when = data.administered_at or utcnow()
    not_in_future("administered_at", when)
    if data.episode_id is not None:
        episodes.of_patient(session, patient.id, data.episode_id)
    row = OutcomeAdministration(patient_id=patient.id, episode_id=data.episode_id, instrument=instrument.code,
                                administered_at=when, responses=responses, labels=data.labels, score=score,
                                subscores=subscores or None, recorded_by=recorded_by)
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", resource_type="OutcomeAdministration", resource_id=row.id,
                 patient_id=patient.id, resource_version=1)  # administrations are never edited: one version
    announce(session, EventType.OUTCOME_CREATED, row, version=1)
    return row


def list_for_patient(session: Session, actor: Actor, patient: Patient, params: PageParams, *,
                     instrument: str | None, episode_id: uuid.UUID | None
                     ) -> tuple[list[OutcomeAdministration], str | None]:
    stmt = select(OutcomeAdministration).where(OutcomeAdministration.patient_id == patient.id)
    if instrument:
        stmt = stmt.where(OutcomeAdministration.instrument == instrument)
    if episode_id:
        stmt = stmt.where(OutcomeAdministration.episode_id == episode_id)
    rows, cursor = paginate(session, stmt, [OutcomeAdministration.administered_at, OutcomeAdministration.id],
                            params, descending=True)
    audit.record(session, actor, "search", resource_type="OutcomeAdministration", patient_id=patient.id,
                 detail={"instrument": instrument, "result_ids": [str(r.id) for r in rows]})
    return rows, cursor


class PainRow(NamedTuple):
    """What a progress chart's pain series needs of one session."""

    id: uuid.UUID
    episode_id: uuid.UUID
    started_at: datetime
    pre_pain_nprs: int | None
    post_pain_nprs: int | None

    @classmethod
    def of(cls, treatment: Treatment) -> PainRow:
        return cls(treatment.id, treatment.episode_id, treatment.started_at,
                   treatment.content.get("pre_pain_nprs"), treatment.content.get("post_pain_nprs"))


def load_for_episodes(session: Session, episode_ids: Sequence[uuid.UUID]
                      ) -> tuple[Sequence[PainRow], Sequence[OutcomeAdministration]]:
    """Everything progress needs for these episodes, in two queries. The sessions' two pain scores are read
    out of their content by the database: loading every session of an episode whole (its needles, e-stim,
    responses) to read two numbers was a tenth of a chart's time."""
    if not episode_ids:
        return [], []
    pains = [PainRow(*row) for row in session.execute(
        select(Treatment.id, Treatment.episode_id, Treatment.started_at,
               Treatment.content["pre_pain_nprs"].as_integer(), Treatment.content["post_pain_nprs"].as_integer())
        .where(Treatment.episode_id.in_(episode_ids), Treatment.status != RecordStatus.DISCARDED)
        .order_by(Treatment.started_at, Treatment.id))]
    outcomes = session.scalars(
        select(OutcomeAdministration).where(OutcomeAdministration.episode_id.in_(episode_ids))
        .order_by(OutcomeAdministration.administered_at, OutcomeAdministration.id)).all()
    return pains, outcomes


def build_progress(episode_id: uuid.UUID, pains: Iterable[PainRow],
                   outcomes: Iterable[OutcomeAdministration]) -> Progress:
    """Baseline = first administration in the episode; improvement = latest vs baseline, positive = better."""
    pain = [PainPoint(treatment_id=t.id, started_at=t.started_at, pre_pain_nprs=t.pre_pain_nprs,
                      post_pain_nprs=t.post_pain_nprs)
            for t in pains if t.episode_id == episode_id]
    series: dict[str, list[OutcomeAdministration]] = {}
    for row in outcomes:
        if row.episode_id == episode_id:
            series.setdefault(row.instrument, []).append(row)
    instruments = []
    for code, rows in sorted(series.items()):
        inst = INSTRUMENTS[code]
        baseline, latest = rows[0].score, rows[-1].score
        change = round(improvement(inst, baseline, latest), 2)
        instruments.append(InstrumentProgress(
            instrument=code, name=inst.name, better=inst.better, mcid=inst.mcid,
            scores=[ScorePoint(id=r.id, administered_at=r.administered_at, score=r.score) for r in rows],
            baseline=baseline, latest=latest, improvement=change, change=change,
            mcid_reached=len(rows) > 1 and change >= inst.mcid))
    return Progress(episode_id=episode_id, pain=pain, instruments=instruments)


def progress(session: Session, actor: Actor, episode_id: uuid.UUID) -> Progress:
    episode = episodes.get(session, episode_id)
    pains, outcomes = load_for_episodes(session, [episode.id])
    audit.record(session, actor, "read", resource_type="EpisodeProgress", resource_id=episode.id,
                 patient_id=episode.patient_id)
    return build_progress(episode.id, pains, outcomes)
