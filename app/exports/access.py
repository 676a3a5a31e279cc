"""Who may take a patient's whole record out of the system.

Issue 5 item 7: the admin (or an API client with the clinic-wide `export` scope) exports any patient; a
therapist exports only the patients in their care. Anyone else is refused, and the refusal is audited.
The same rule guards FHIR `Patient/{id}/$everything`, which hands out the same record.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from app.auth.permissions import Permission
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Forbidden
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.treatment import Consent, OutcomeAdministration, Screening, Treatment


def cares_for(session: Session, user_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    """True when the user has a care relationship with the patient, in one query: they opened an episode,
    authored (or signed, or amended) an assessment or treatment, obtained a consent, screened the patient
    or recorded an outcome measure for them."""
    related = [
        exists().where(Episode.patient_id == patient_id, Episode.created_by == user_id),
        exists().where(Assessment.patient_id == patient_id,
                       or_(Assessment.author_id == user_id, Assessment.signed_by == user_id)),
        exists().where(Treatment.patient_id == patient_id,
                       or_(Treatment.author_id == user_id, Treatment.signed_by == user_id)),
        exists().where(ClinicalRevision.patient_id == patient_id, ClinicalRevision.author_id == user_id),
        exists().where(Consent.patient_id == patient_id, Consent.obtained_by == user_id),
        exists().where(Screening.patient_id == patient_id, Screening.screened_by == user_id),
        exists().where(OutcomeAdministration.patient_id == patient_id, OutcomeAdministration.recorded_by == user_id),
    ]
    return bool(session.scalar(select(or_(*related))))


def may_export(session: Session, actor: Actor, patient_id: uuid.UUID) -> bool:
    if actor.can(Permission.EXPORT):  # the whole clinic, so any one patient
        return True
    return (actor.type == "user" and actor.can(Permission.PATIENT_EXPORT)
            and cares_for(session, actor.id, patient_id))


def require_export(session: Session, request: Request, actor: Actor, patient_id: uuid.UUID) -> None:
    """403 (audited as an access denial, like `Authorize`) unless `actor` may export this patient's record."""
    if may_export(session, actor, patient_id):
        return
    audit.record_failure(
        session, actor, "access", outcome="denied", resource_type="Patient", resource_id=patient_id,
        patient_id=patient_id,
        detail={"method": request.method, "path": request.url.path, "permission": str(Permission.PATIENT_EXPORT),
                "reason": "no care relationship with this patient"},
    )
    raise Forbidden("You may export the records of your own patients only (those you have assessed, treated, "
                    "consented, screened or measured); ask an administrator for anyone else's")
