"""Starting and ending care relationships; every start and end is on the audit trail.

How a therapist comes into a patient's care (README "Access policy"):
- the front desk (reception), an admin, or an integration with `patients:write` (a booking system)
  adds them to the care team;
- a therapist already on the care team adds a colleague (a referral, holiday cover);
- a therapist who registers a new patient is on that (new, empty) chart's care team;
- in an emergency, a therapist opens a break-the-glass access for themselves: a reason is required, it
  lasts `IMS_BREAK_GLASS_MINUTES` (60), and every request made under it is audited as `break_glass_access`.
Opening an episode, writing a note or obtaining a consent never starts a relationship by itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import policy
from app.auth.permissions import Permission
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Conflict, NotFound, field_error
from app.models.access import CareKind, CareRelationship
from app.models.base import utcnow
from app.models.patient import Patient
from app.models.user import User

CLINICIAN_ROLES = frozenset({"therapist", "admin"})
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=500)]


class CareTeamAdd(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "user_id": "01936b2e-7c4a-7d3e-9f10-2b3c4d5e6f70", "reason": "holiday cover for the rest of the IMS course"}]})

    user_id: uuid.UUID = Field(description="The clinician (therapist or admin) joining the care team")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class BreakGlass(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reason": "covering for a colleague: patient arrived with acute pain after last session"}]})

    reason: Reason = Field(description="Why you need this chart now (at least 10 characters); it is audited")


class CareRelationshipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    user_id: uuid.UUID
    kind: Literal["care_team", "break_glass"]
    reason: str | None
    started_at: datetime
    started_by: uuid.UUID | None
    started_by_type: str
    expires_at: datetime | None
    ended_at: datetime | None


def team(session: Session, actor: Actor, patient: Patient) -> list[CareRelationship]:
    """Who may open this chart now: care-team members and unexpired break-the-glass accesses."""
    now = utcnow()
    rows = session.scalars(select(CareRelationship).where(
        CareRelationship.patient_id == patient.id, CareRelationship.ended_at.is_(None))
        .order_by(CareRelationship.started_at, CareRelationship.id)).all()
    live = [r for r in rows if r.kind == CareKind.CARE_TEAM or (r.expires_at and r.expires_at > now)]
    audit.record(session, actor, "search", resource_type="CareRelationship", patient_id=patient.id,
                 detail={"result_ids": [str(r.id) for r in live]})
    return live


def add(session: Session, request: Request, actor: Actor, patient: Patient, data: CareTeamAdd
        ) -> tuple[CareRelationship, bool]:
    """Put a clinician on the care team (returns the membership and whether it is new)."""
    if policy.care_bound(actor) and not policy.in_care_team(session, actor.id, patient.id):
        raise policy.deny(session, request, actor, Permission.PATIENTS_WRITE,
                          "Only the front desk, an administrator or a member of this patient's care team may add "
                          "someone to it", reason=policy.NOT_IN_CARE, patient_id=patient.id)
    user = session.get(User, data.user_id)
    if user is None or not user.active:
        raise field_error("user_id", "no such active staff member")
    if user.role not in CLINICIAN_ROLES:
        raise field_error("user_id", f"a {user.role} does not join a care team; only clinicians do")
    current = policy.active_relationship(session, user.id, patient.id)
    if current is not None and current.kind == CareKind.CARE_TEAM:
        return current, False
    return _start(session, actor, patient.id, user.id, CareKind.CARE_TEAM, data.reason, None), True


def on_registration(session: Session, actor: Actor, patient: Patient) -> None:
    """A therapist who registers a new patient is on the new chart's care team (it holds nothing yet)."""
    if policy.care_bound(actor):
        _start(session, actor, patient.id, actor.id, CareKind.CARE_TEAM, "registered the patient", None)


def on_booking(session: Session, actor: Actor, patient_id: uuid.UUID, therapist_id: uuid.UUID) -> None:
    """Booking a visit with a therapist puts them on the patient's care team (if not already): the front desk
    booking the visit is the clinic deciding who treats the patient. Audited as any other `care_start`."""
    current = policy.active_relationship(session, therapist_id, patient_id)
    if current is None or current.kind != CareKind.CARE_TEAM:
        _start(session, actor, patient_id, therapist_id, CareKind.CARE_TEAM, "booked a visit", None)


def end(session: Session, request: Request, actor: Actor, patient: Patient, user_id: uuid.UUID) -> CareRelationship:
    """Take a clinician off the care team: the front desk, an admin, or the clinician themselves."""
    if policy.care_bound(actor) and actor.id != user_id:
        raise policy.deny(session, request, actor, Permission.PATIENTS_WRITE,
                          "A therapist may leave a care team, not remove a colleague from it; ask the front desk",
                          reason="not the member's own membership", patient_id=patient.id)
    current = policy.active_relationship(session, user_id, patient.id)
    if current is None or current.kind != CareKind.CARE_TEAM:
        raise NotFound(f"Staff member {user_id} is not on this patient's care team")
    current.ended_at, current.ended_by = utcnow(), actor.id
    session.flush()
    audit.record(session, actor, "care_end", resource_type="CareRelationship", resource_id=current.id,
                 patient_id=patient.id, detail={"user_id": str(user_id), "kind": current.kind})
    return current


def break_glass(session: Session, request: Request, actor: Actor, patient: Patient, data: BreakGlass
                ) -> CareRelationship:
    """Open a time-limited emergency access to a chart outside one's care, with a reason, audited."""
    if not policy.care_bound(actor):
        raise policy.deny(session, request, actor, Permission.CLINICAL_READ,
                          "Break-the-glass is for therapists outside a patient's care team; your access does not "
                          "depend on care relationships", reason="break-the-glass not applicable",
                          patient_id=patient.id)
    if policy.in_care_team(session, actor.id, patient.id):
        raise Conflict("You are on this patient's care team already; no break-the-glass access is needed")
    minutes = request.app.state.settings.break_glass_minutes
    return _start(session, actor, patient.id, actor.id, CareKind.BREAK_GLASS, data.reason,
                  utcnow() + timedelta(minutes=minutes))


def _start(session: Session, actor: Actor, patient_id: uuid.UUID, user_id: uuid.UUID, kind: CareKind,
           reason: str | None, expires_at: datetime | None) -> CareRelationship:
    row = CareRelationship(patient_id=patient_id, user_id=user_id, kind=kind, reason=reason, started_at=utcnow(),
                           started_by=actor.id, started_by_type=actor.type, expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.record(session, actor, "break_glass" if kind == CareKind.BREAK_GLASS else "care_start",
                 resource_type="CareRelationship", resource_id=row.id, patient_id=patient_id,
                 detail={"user_id": str(user_id), "kind": kind.value, "reason": reason,
                         "expires_at": expires_at.isoformat() if expires_at else None})
    return row
