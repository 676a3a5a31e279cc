"""A finished job's audit row, written on behalf of whoever asked for it (the worker has no request)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.kit import audit
from app.kit.actor import Actor
from app.models.enums import ActorType
from app.models.integration import ApiClient, ExportJob
from app.models.user import User


def requester(session: Session, job: ExportJob) -> Actor:
    """The actor who asked for a job, for the audit row the worker writes when it finishes."""
    if job.requested_by_type == ActorType.USER:
        user = session.get(User, job.requested_by)
        return Actor(id=job.requested_by, type=ActorType.USER, role=user.role if user else None,
                     label=user.email if user else str(job.requested_by))
    client = session.get(ApiClient, job.requested_by) if job.requested_by_type == ActorType.API_CLIENT else None
    return Actor(id=job.requested_by, type=job.requested_by_type, role=None,
                 label=client.name if client else str(job.requested_by))


def audit_outcome(session: Session, job: ExportJob, detail: dict[str, Any], outcome: str = "success") -> None:
    """Put what a finished (or failed) job exported on the audit trail, on behalf of whoever asked for it."""
    audit.record(session, requester(session, job), "export_completed" if outcome == "success" else "export_failed",
                 resource_type="ExportJob", resource_id=job.id, outcome=outcome,
                 detail={"kind": job.kind, "format": job.format,
                         "since": job.since.isoformat() if job.since else None, **detail})


def manifest_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """Records per file of a job's manifest (`{"files": {name: {"records": n, ...}}}`), for the audit row."""
    return {name: meta["records"] for name, meta in sorted(manifest["files"].items())}
