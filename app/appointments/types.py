"""Appointment types (admin): what a visit is, how long it takes, whether it is an IMS session."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.appointments.schemas import AppointmentTypeCreate, AppointmentTypeUpdate
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Conflict, field_error
from app.kit.etag import check_version
from app.kit.patch import changes_of
from app.kit.repository import get_or_404
from app.models.appointment import AppointmentType


def get(session: Session, type_id: uuid.UUID) -> AppointmentType:
    return get_or_404(session, AppointmentType, type_id, "appointment type")


def usable(session: Session, type_id: uuid.UUID, field: str = "type_id") -> AppointmentType:
    found = session.get(AppointmentType, type_id)
    if found is None or not found.active:
        raise field_error(field, "no such active appointment type")
    return found


def all_types(session: Session, include_inactive: bool = False) -> Sequence[AppointmentType]:
    stmt = select(AppointmentType).order_by(AppointmentType.name)
    if not include_inactive:
        stmt = stmt.where(AppointmentType.active.is_(True))
    return session.scalars(stmt).all()


def by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, AppointmentType]:
    if not ids:
        return {}
    return {t.id: t for t in session.scalars(select(AppointmentType).where(AppointmentType.id.in_(ids)))}


def _unique_name(session: Session, name: str, own_id: uuid.UUID | None = None) -> None:
    clash = session.scalar(select(AppointmentType).where(AppointmentType.name == name))
    if clash is not None and clash.id != own_id:
        raise Conflict(f"An appointment type named {name!r} already exists ({clash.id})")


def create(session: Session, actor: Actor, data: AppointmentTypeCreate) -> AppointmentType:
    _unique_name(session, data.name)
    row = AppointmentType(**data.model_dump())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create took the name
        raise Conflict(f"An appointment type named {data.name!r} already exists") from exc
    audit.record(session, actor, "create", resource_type="AppointmentType", resource_id=row.id,
                 resource_version=row.version)
    return row


def update(session: Session, actor: Actor, row: AppointmentType, data: AppointmentTypeUpdate,
           expected_version: int) -> AppointmentType:
    check_version(row.version, expected_version)
    changes = changes_of(data, ("name", "duration_minutes", "is_ims", "buffer_after_minutes", "active"))
    if "name" in changes:
        _unique_name(session, changes["name"], row.id)
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    audit.record(session, actor, "update", resource_type="AppointmentType", resource_id=row.id,
                 resource_version=row.version, detail={"fields": sorted(changes)})
    return row
