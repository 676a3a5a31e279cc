"""Screens are immutable: a correction or a re-check is a new screen, and the latest one is current."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.dates import CLOCK_SKEW, not_in_future
from app.kit.errors import NotFound, field_error
from app.kit.events import EventType, announce
from app.models.base import utcnow
from app.models.patient import Patient
from app.models.treatment import PRECAUTIONS, Screening
from app.screenings.schemas import Checklist, ScreeningCreate, ScreeningOut


def present(screening: Screening) -> list[str]:
    return [name for name in PRECAUTIONS if screening.checklist.get(name)]


def to_out(screening: Screening) -> ScreeningOut:
    return ScreeningOut(id=screening.id, patient_id=screening.patient_id, screened_at=screening.screened_at,
                        screened_by=screening.screened_by, lymphedema_limb=screening.lymphedema_limb,  # type: ignore[arg-type]
                        notes=screening.notes, precautions=present(screening),
                        lesion_sites=screening.lesion_sites or [],  # type: ignore[arg-type]
                        node_dissections=screening.node_dissections or [],  # type: ignore[arg-type]
                        **screening.checklist)


def create(session: Session, actor: Actor, patient: Patient, data: ScreeningCreate) -> Screening:
    screened_by = clinical_record.accountable(session, actor, "create", "Screening", patient.id)
    screened_at = data.screened_at or utcnow()
    not_in_future("screened_at", screened_at)
    if data.lesion_sites and not data.local_infection_or_lesion:
        raise field_error("lesion_sites", "is given but local_infection_or_lesion is false")
    if data.local_infection_or_lesion and not data.lesion_sites:
        raise field_error("lesion_sites", "required when local_infection_or_lesion is true: where is it?")
    checklist = data.model_dump(include=set(Checklist.model_fields))
    screening = Screening(patient_id=patient.id, screened_at=screened_at, screened_by=screened_by, checklist=checklist,
                          lymphedema_limb=data.lymphedema_limb, notes=data.notes,
                          lesion_sites=[site.model_dump() for site in data.lesion_sites],
                          node_dissections=sorted(set(data.node_dissections)))
    session.add(screening)
    session.flush()
    audit.record(session, actor, "create", resource_type="Screening", resource_id=screening.id,
                 patient_id=patient.id, resource_version=1)  # screens are never edited: one version
    announce(session, EventType.SCREENING_CREATED, screening, version=1)
    return screening


def current(session: Session, patient_id: uuid.UUID, at: datetime | None = None) -> Screening | None:
    """The latest screen at or before `at` (default: now)."""
    stmt = select(Screening).where(Screening.patient_id == patient_id)
    if at is not None:
        stmt = stmt.where(Screening.screened_at <= at + CLOCK_SKEW)
    return session.scalar(stmt.order_by(Screening.screened_at.desc(), Screening.id.desc()).limit(1))


def get(session: Session, patient: Patient, screening_id: uuid.UUID) -> Screening:
    screening = session.get(Screening, screening_id)
    if screening is None or screening.patient_id != patient.id:
        raise NotFound(f"No screening {screening_id} for this patient")
    return screening


def list_for_patient(session: Session, actor: Actor, patient: Patient) -> Sequence[Screening]:
    rows = session.scalars(select(Screening).where(Screening.patient_id == patient.id)
                           .order_by(Screening.screened_at.desc(), Screening.id.desc()).limit(200)).all()
    audit.record(session, actor, "search", resource_type="Screening", patient_id=patient.id,
                 detail={"result_ids": [str(s.id) for s in rows]})
    return rows
