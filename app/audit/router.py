from __future__ import annotations

import uuid
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.audit.schemas import AuditEventOut
from app.auth.guards import AuditReader
from app.db import SessionDep
from app.kit import audit
from app.kit.errors import field_error, problem_responses
from app.kit.isodates import IsoDateTimeText
from app.kit.pagination import Page, PageParamsDep, paginate
from app.models.audit import AuditEvent

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"])


@router.get("", response_model=Page[AuditEventOut], operation_id="listAuditEvents",
            summary="Search the audit trail, newest first", responses=problem_responses(401, 403, 422))
def list_audit_events(
    session: SessionDep, actor: AuditReader, page: PageParamsDep,
    patient_id: uuid.UUID | None = None, actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=30)] = None,
    since: Annotated[IsoDateTimeText | None, Query(description="Inclusive lower bound (ISO 8601 with offset)")] = None,
    until: Annotated[IsoDateTimeText | None, Query(description="Exclusive upper bound")] = None,
) -> Page[AuditEventOut]:
    for name, value in (("since", since), ("until", until)):
        if value is None:
            continue
        if value.tzinfo is None:
            raise field_error(name, "must include a UTC offset, e.g. 2026-11-24T09:00:00Z")
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise field_error(name, "is outside the range of dates the trail can hold") from None
    stmt = select(AuditEvent)
    if patient_id:
        stmt = stmt.where(AuditEvent.patient_id == patient_id)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    rows, cursor = paginate(session, stmt, [AuditEvent.occurred_at, AuditEvent.id], page, descending=True)
    audit.record(session, actor, "search", resource_type="AuditEvent", patient_id=patient_id,
                 detail={"actor_id": str(actor_id) if actor_id else None, "action": action,
                         "since": since.isoformat() if since else None,
                         "until": until.isoformat() if until else None})
    return Page[AuditEventOut](items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=cursor)
