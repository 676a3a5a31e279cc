"""Consent rules: obtained by a real staff member, not in the future; withdrawn, never deleted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.consents.schemas import ConsentCreate, ConsentOut, ConsentWithdraw
from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.dates import CLOCK_SKEW, not_in_future
from app.kit.errors import Conflict, NotFound, field_error
from app.kit.events import EventType, announce
from app.models.base import utcnow
from app.models.patient import Patient
from app.models.treatment import Consent
from app.models.user import User


def is_active(consent: Consent, at: datetime | None = None) -> bool:
    at = at or utcnow()
    return consent.obtained_at <= at + CLOCK_SKEW and (consent.withdrawn_at is None or consent.withdrawn_at > at)


def to_out(consent: Consent) -> ConsentOut:
    return ConsentOut.model_validate({**{c: getattr(consent, c) for c in ConsentOut.model_fields if c != "active"},
                                      "active": is_active(consent)})


def for_patient(session: Session, patient_id: uuid.UUID) -> Sequence[Consent]:
    return session.scalars(select(Consent).where(Consent.patient_id == patient_id)
                           .order_by(Consent.obtained_at.desc(), Consent.id)).all()


def active_kinds(consents: Sequence[Consent], at: datetime) -> set[str]:
    return {c.kind for c in consents if is_active(c, at)}


def create(session: Session, actor: Actor, patient: Patient, data: ConsentCreate) -> Consent:
    """Recorded by a signed-in clinician (403 for an API client), obtained by them unless `obtained_by` says."""
    recorder = clinical_record.accountable(session, actor, "create", "Consent", patient.id)
    obtained_at = data.obtained_at or utcnow()
    not_in_future("obtained_at", obtained_at)
    obtained_by = data.obtained_by or recorder
    if session.get(User, obtained_by) is None:
        raise field_error("obtained_by", "no such staff member")
    consent = Consent(patient_id=patient.id, kind=data.kind, obtained_at=obtained_at, obtained_by=obtained_by,
                      method=data.method, form_version=data.form_version,
                      risks_discussed=sorted(set(data.risks_discussed)), patient_questions=data.patient_questions)
    session.add(consent)
    session.flush()
    _audit(session, actor, "create", consent)
    announce(session, EventType.CONSENT_CREATED, consent)
    return consent


def get(session: Session, patient: Patient, consent_id: uuid.UUID) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or consent.patient_id != patient.id:
        raise NotFound(f"No consent {consent_id} for this patient")
    return consent


def withdraw(session: Session, actor: Actor, consent: Consent, data: ConsentWithdraw) -> Consent:
    withdrawn_by = clinical_record.accountable(session, actor, "withdraw", "Consent", consent.patient_id, consent.id)
    if consent.withdrawn_at is not None:
        raise Conflict(f"This consent was already withdrawn at {consent.withdrawn_at.isoformat()}")
    when = data.withdrawn_at or utcnow()
    if when > utcnow() + CLOCK_SKEW or when < consent.obtained_at:
        raise field_error("withdrawn_at", "must be between the time consent was obtained and now")
    consent.withdrawn_at, consent.withdrawn_by, consent.withdrawal_reason = when, withdrawn_by, data.reason
    session.flush()
    _audit(session, actor, "withdraw", consent)
    announce(session, EventType.CONSENT_UPDATED, consent)
    return consent


def list_for_patient(session: Session, actor: Actor, patient: Patient) -> Sequence[Consent]:
    rows = for_patient(session, patient.id)
    audit.record(session, actor, "search", resource_type="Consent", patient_id=patient.id,
                 detail={"result_ids": [str(c.id) for c in rows]})
    return rows


def _audit(session: Session, actor: Actor, action: str, consent: Consent) -> None:
    audit.record(session, actor, action, resource_type="Consent", resource_id=consent.id,
                 patient_id=consent.patient_id, resource_version=consent.version)
