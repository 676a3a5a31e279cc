"""The one clinical access policy. Every route's `Authorize(...)` check, every FHIR read and search,
`$everything` and every export asks this module; nothing else decides who may see or change a chart.

Rules (README "Access policy" is the prose version):
- a role or an API key's scopes must grant the route's permission (403, audited);
- an API key never authors clinical content: every clinical write, update or state change is refused
  whatever its scopes (a clinical entry names the clinician accountable for it);
- an export job (clinic zip or FHIR Bulk Data) is its requester's: others get 404, admins see all, audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Permission
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Forbidden, NotFound
from app.models.clinical import Assessment, Episode
from app.models.integration import ExportJob
from app.models.treatment import Treatment

# Path parameters that name a record of one patient's chart, and how to find that patient.
_OWNER_OF_PATH_PARAM: dict[str, Any] = {
    "episode_id": Episode, "assessment_id": Assessment, "treatment_id": Treatment,
}


def patient_of_path(session: Session, path_params: dict[str, Any]) -> uuid.UUID | None:
    """The patient whose chart a REST route's path points into (None when it names no existing chart)."""
    raw = path_params.get("patient_id")
    if raw is not None:
        return _as_uuid(raw)
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


def deny(session: Session, request: Request, actor: Actor, permission: Permission | str, message: str, *,
         reason: str | None = None, patient_id: uuid.UUID | None = None) -> Forbidden:
    """Put an access denial on record (committed on its own: the request fails) and return the 403 to raise."""
    detail: dict[str, Any] = {"method": request.method, "path": request.url.path, "permission": str(permission)}
    if reason:
        detail["reason"] = reason
    audit.record_failure(session, actor, "access", outcome="denied", patient_id=patient_id,
                         resource_type="Patient" if patient_id else None, resource_id=patient_id, detail=detail)
    return Forbidden(message)


def authorize(session: Session, request: Request, actor: Actor, permission: Permission) -> None:
    """The check behind every `Authorize(permission)`: role or scopes, then who may author clinical content."""
    if not actor.can(permission):
        who = f"role ({actor.role})" if actor.role else "API key's scopes"
        raise deny(session, request, actor, permission, f"Your {who} does not allow {permission}")
    if permission == Permission.CLINICAL_WRITE and actor.type != "user":
        raise deny(session, request, actor, permission,
                   "Clinical records are authored by a signed-in clinician; an API client cannot create, change, "
                   "sign, discharge or withdraw them, whatever its scopes",
                   reason="api keys author no clinical content",
                   patient_id=patient_of_path(session, dict(request.path_params)))


def require_job_access(session: Session, request: Request, actor: Actor, job: ExportJob, missing: str) -> None:
    """An export job belongs to whoever started it. An admin may see anyone's (audited as such); anyone else
    gets the 404 an unknown job gets (its existence is not confirmed), and the attempt is put on record."""
    if job.requested_by == actor.id and job.requested_by_type == actor.type:
        return
    detail = {"method": request.method, "path": request.url.path, "requested_by": str(job.requested_by),
              "requested_by_type": job.requested_by_type}
    if actor.type == "user" and actor.role == "admin":
        audit.record(session, actor, "access", resource_type="ExportJob", resource_id=job.id,
                     detail={**detail, "reason": "administrator access to another requester's export"})
        return
    audit.record_failure(session, actor, "access", outcome="denied", resource_type="ExportJob", resource_id=job.id,
                         detail={**detail, "reason": "not the requester of this export"})
    raise NotFound(missing)
