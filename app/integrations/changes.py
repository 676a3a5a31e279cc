"""GET /api/v1/changes: every change in commit order, for incremental sync.

Open to any credential; each reader sees only the resource types its permissions read
(`app.kit.events.SCOPE_OF`): a key with clinical:read alone follows clinical records, one with
patients:read alone follows demographics, and staff records appear only for admins.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, or_, select, union_all
from sqlalchemy.orm import Session

from app.access import policy
from app.auth.guards import SignedIn
from app.auth.permissions import Permission
from app.db import SessionDep
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import field_error, problem_responses
from app.kit.events import SCOPE_OF, readable
from app.models.integration import ChangeEvent

_CURSOR = re.compile(r"[0-9]{1,18}")  # a sequence number that fits a BIGINT
router = APIRouter(prefix="/api/v1/changes", tags=["integrations"])


class ChangeOut(BaseModel):
    resource_type: str
    resource_id: str
    version: int | None
    change: Literal["created", "updated", "signed", "amended", "deactivated", "deleted",
                    "booked", "rescheduled", "arrived", "completed", "cancelled", "no_show"]  # appointments
    occurred_at: datetime
    cursor: str = Field(description="Resume after this item")


class ChangesPage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str = Field(description="Pass as ?after= next time; unchanged when nothing new has happened")


@router.get("", response_model=ChangesPage, operation_id="listChanges",
            summary="Every create, update, sign, amend, deactivate and delete, in commit order",
            description="Shows only the resource types your role or scopes can read: patients need patients:read; "
            "episodes, assessments, treatments, consents, screenings and outcomes need clinical:read; staff "
            "users need staff:manage (admins); the clinic profile is visible to everyone.",
            responses=problem_responses(401, 403, 422))
def list_changes(
    session: SessionDep, actor: SignedIn,
    after: Annotated[str | None, Query(max_length=20, description="A cursor from a previous page; omit to start")]
    = None,
    types: Annotated[str | None, Query(max_length=200, description="Comma-separated, e.g. patient,treatment")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ChangesPage:
    position = 0
    if after is not None:
        if not _CURSOR.fullmatch(after):
            raise field_error("after", "invalid cursor; use next_cursor from the previous page")
        position = int(after)
    visible = {name for name in SCOPE_OF if readable(actor.permissions, name)}
    wanted = visible
    if types:
        asked = {t.strip() for t in types.split(",") if t.strip()}
        unknown = asked - set(SCOPE_OF)
        if unknown:
            raise field_error("types", f"unknown types {sorted(unknown)}; use {sorted(SCOPE_OF)}")
        wanted = asked & visible
    rows = _page(session, actor, sorted(wanted), position, limit) if wanted else []
    audit.record(session, actor, "search", resource_type="ChangeEvent",
                 detail={"after": position, "types": sorted(wanted), "count": len(rows)})
    items = [ChangeOut(resource_type=r.resource_type, resource_id=r.resource_id, version=r.version, change=r.change,
                       occurred_at=r.occurred_at, cursor=str(r.seq)) for r in rows]  # type: ignore[arg-type]
    return ChangesPage(items=items, next_cursor=items[-1].cursor if items else str(position))


def _page(session: Session, actor: Actor, types: list[str], position: int, limit: int) -> list[ChangeEvent]:
    """The first `limit` changes after `position` of the given types, in seq order, read from an index in that
    order on both engines (tests/perf/test_hot_paths.py checks the plans).

    A `resource_type IN (...)` filter makes SQLite (without ANALYZE statistics) search the (resource_type, seq)
    index per type and then sort every matching row after the cursor. There, one arm per type merged on seq
    (`MERGE (UNION ALL)`) walks each type's index range already in order and stops after about `limit`
    entries, whatever the mix of types. PostgreSQL 15 does not merge such a UNION ALL (it appends and sorts),
    but walks the primary key from the cursor in order for the IN filter, so it keeps the single query.
    """
    in_care = policy.patients_in_care(actor, ChangeEvent.patient_id)
    clinical = [t for t in types if SCOPE_OF[t] == Permission.CLINICAL_READ]
    if session.get_bind().dialect.name != "sqlite":
        stmt = select(ChangeEvent).where(ChangeEvent.seq > position, ChangeEvent.resource_type.in_(types))
        if in_care is not None:  # a therapist follows the clinical changes of the patients in their care only
            stmt = stmt.where(or_(ChangeEvent.resource_type.not_in(clinical), in_care))
        return list(session.scalars(stmt.order_by(ChangeEvent.seq).limit(limit)).all())
    arms: list[Select[ChangeEvent]] = []
    for name in types:
        arm = select(ChangeEvent).where(ChangeEvent.resource_type == name, ChangeEvent.seq > position)
        if in_care is not None and name in clinical:
            arm = arm.where(in_care)
        arms.append(arm)
    merged = union_all(*arms)
    page = select(ChangeEvent).from_statement(merged.order_by(merged.selected_columns.seq).limit(limit))
    return list(session.scalars(page).all())
