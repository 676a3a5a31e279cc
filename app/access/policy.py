"""The one clinical access policy. Every route's `Authorize(...)` check, every FHIR read and search,
`$everything`, the changes feed and every export asks this module; nothing else decides who may see or
change a chart. README "Access policy" is the prose version; in short:

- a role or an API key's scopes must grant the route's permission (403, audited);
- an API key never authors clinical content: every clinical write, update or state change is refused
  whatever its scopes (a clinical entry names the clinician accountable for it);
- a therapist reads, writes and exports a patient's clinical record only while in that patient's care
  team (`app.access.care` starts and ends memberships, each audited), or reads and writes it under a
  break-the-glass access: time-limited, with a reason, and every request under it audited as such;
- admins, auditors (read-only) and API keys are clinic-wide and are not bound to care relationships;
- a consent is withdrawn by the clinician who obtained it, an admin, or a member of the care team;
- an export job (clinic zip or FHIR Bulk Data) is its requester's: others get 404, admins see all, audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.auth.permissions import Permission
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Forbidden, NotFound
from app.kit.repository import get_and_keep
from app.models.access import CareKind, CareRelationship
from app.models.base import utcnow
from app.models.clinical import Assessment, Episode
from app.models.enums import ActorType
from app.models.integration import ExportJob
from app.models.patient import Patient
from app.models.treatment import Consent, Treatment

# Roles whose access to clinical content follows their care relationships (everyone else's is clinic-wide).
CARE_BOUND_ROLES = frozenset({"therapist"})
# The permissions that open one patient's clinical record.
CARE_PERMISSIONS = frozenset({Permission.CLINICAL_READ, Permission.CLINICAL_WRITE, Permission.PATIENT_EXPORT})
# Path parameters that name a record of one patient's chart, and the model that says whose.
_OWNER_OF_PATH_PARAM: dict[str, Any] = {
    "episode_id": Episode, "assessment_id": Assessment, "treatment_id": Treatment,
}
PATIENT_PATH_PARAMS = frozenset({"patient_id", *_OWNER_OF_PATH_PARAM})
NOT_IN_CARE = "no care relationship with this patient"


def care_bound(actor: Actor) -> bool:
    return actor.type == ActorType.USER and actor.role in CARE_BOUND_ROLES


def patient_of_path(session: Session, path_params: dict[str, Any]) -> uuid.UUID | None:
    """The patient whose chart a REST route's path points into (None when it names no existing chart)."""
    raw = path_params.get("patient_id")
    if raw is not None:
        patient_id = _as_uuid(raw)
        return patient_id if patient_id and get_and_keep(session, Patient, patient_id) is not None else None
    for name, model in _OWNER_OF_PATH_PARAM.items():
        if name in path_params:
            record_id = _as_uuid(path_params[name])
            if record_id is None:
                return None
            found: uuid.UUID | None = session.scalar(select(model.patient_id).where(model.id == record_id))
            return found
    return None


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def active_relationship(session: Session, user_id: uuid.UUID, patient_id: uuid.UUID,
                        now: datetime | None = None) -> CareRelationship | None:
    """The user's live access to the patient: a care-team membership first, else an unexpired break-glass."""
    now = now or utcnow()
    rows = session.scalars(select(CareRelationship).where(
        CareRelationship.user_id == user_id, CareRelationship.patient_id == patient_id,
        CareRelationship.ended_at.is_(None))).all()
    team = next((r for r in rows if r.kind == CareKind.CARE_TEAM), None)
    return team or next((r for r in rows if r.kind == CareKind.BREAK_GLASS and r.expires_at
                         and r.expires_at > now), None)


def in_care_team(session: Session, user_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
    found = active_relationship(session, user_id, patient_id)
    return found is not None and found.kind == CareKind.CARE_TEAM


def patients_in_care(actor: Actor, column: Any) -> ColumnElement[bool] | None:
    """A SQL filter on `column` (a patient id) for lists and feeds: None when the actor is clinic-wide.
    Break-the-glass accesses are left out: they open one chart on request, not a feed of it."""
    if not care_bound(actor):
        return None
    team = select(CareRelationship.patient_id).where(
        CareRelationship.user_id == actor.id, CareRelationship.kind == CareKind.CARE_TEAM,
        CareRelationship.ended_at.is_(None))
    result: ColumnElement[bool] = column.in_(team)
    return result


def deny(session: Session, request: Request, actor: Actor, permission: Permission | str, message: str, *,
         reason: str | None = None, patient_id: uuid.UUID | None = None) -> Forbidden:
    """Put an access denial on record (committed on its own: the request fails) and return the 403 to raise."""
    detail: dict[str, Any] = {"method": request.method, "path": request.url.path, "permission": str(permission)}
    if reason:
        detail["reason"] = reason
    audit.record_failure(session, actor, "access", outcome="denied", patient_id=patient_id,
                         resource_type="Patient" if patient_id else None, resource_id=patient_id, detail=detail)
    return Forbidden(message)


def authorize(session: Session, request: Request, actor: Actor, permission: Permission, *,
              care: bool = True) -> None:
    """The check behind every `Authorize(permission)`: role or scopes, who may author clinical content, and
    (unless the route opts out with `care=False`) the care relationship with the patient its path names."""
    if not actor.can(permission):
        who = f"role ({actor.role})" if actor.role else "API key's scopes"
        raise deny(session, request, actor, permission, f"Your {who} does not allow {permission}")
    if permission == Permission.CLINICAL_WRITE and actor.type != ActorType.USER:
        raise deny(session, request, actor, permission,
                   "Clinical records are authored by a signed-in clinician; an API client cannot create, change, "
                   "sign, discharge or withdraw them, whatever its scopes",
                   reason="api keys author no clinical content",
                   patient_id=patient_of_path(session, dict(request.path_params)))
    if care and permission in CARE_PERMISSIONS and care_bound(actor):
        patient_id = patient_of_path(session, dict(request.path_params))
        if patient_id is not None:
            require_patient(session, request, actor, patient_id, permission)


def require_patient(session: Session, request: Request, actor: Actor, patient_id: uuid.UUID,
                    permission: Permission) -> None:
    """The care rule for one patient's clinical record (REST paths, FHIR reads and searches, exports)."""
    if not care_bound(actor) or get_and_keep(session, Patient, patient_id) is None:  # unknown patient: the caller's 404
        return
    found = active_relationship(session, actor.id, patient_id)
    if found is None:
        raise deny(session, request, actor, permission,
                   "This patient is not in your care. Ask the front desk or an administrator to add you to the "
                   "care team, or open a break-the-glass access (POST /api/v1/patients/{id}/break-glass with a "
                   "reason) in an emergency", reason=NOT_IN_CARE, patient_id=patient_id)
    if found.kind == CareKind.BREAK_GLASS:
        if permission == Permission.PATIENT_EXPORT:
            raise deny(session, request, actor, permission,
                       "A break-the-glass access lets you read and chart, not export: you may export the records "
                       "of your own patients only (those on whose care team you are)",
                       reason="break-the-glass access does not extend to export", patient_id=patient_id)
        audit.record(session, actor, "break_glass_access", resource_type="Patient", resource_id=patient_id,
                     patient_id=patient_id,
                     detail={"method": request.method, "path": request.url.path, "permission": str(permission),
                             "access_id": str(found.id), "reason": found.reason,
                             "expires_at": found.expires_at.isoformat() if found.expires_at else None})


def require_withdraw(session: Session, request: Request, actor: Actor, consent: Consent) -> None:
    """A consent is withdrawn by whoever obtained it, an admin, or a member of the patient's care team (the
    team acting on the patient's word); a break-the-glass access does not reach someone else's consent."""
    if not care_bound(actor) or consent.obtained_by == actor.id or in_care_team(session, actor.id,
                                                                              consent.patient_id):
        return
    raise deny(session, request, actor, Permission.CLINICAL_WRITE,
               "Only the clinician who obtained this consent, an administrator or a member of the patient's care "
               "team may record its withdrawal", reason="not the consent's clinician nor on the care team",
               patient_id=consent.patient_id)


def require_job_access(session: Session, request: Request, actor: Actor, job: ExportJob, missing: str) -> None:
    """An export job belongs to whoever started it. An admin may see anyone's (audited as such); anyone else
    gets the 404 an unknown job gets (its existence is not confirmed), and the attempt is put on record."""
    if job.requested_by == actor.id and job.requested_by_type == actor.type:
        return
    detail = {"method": request.method, "path": request.url.path, "requested_by": str(job.requested_by),
              "requested_by_type": job.requested_by_type}
    if actor.type == ActorType.USER and actor.role == "admin":
        audit.record(session, actor, "access", resource_type="ExportJob", resource_id=job.id,
                     detail={**detail, "reason": "administrator access to another requester's export"})
        return
    audit.record_failure(session, actor, "access", outcome="denied", resource_type="ExportJob", resource_id=job.id,
                         detail={**detail, "reason": "not the requester of this export"})
    raise NotFound(missing)
