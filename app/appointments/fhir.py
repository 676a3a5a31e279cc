"""FHIR R4 Appointment, Schedule and Slot.

An Appointment is in the patient's compartment, so read, search and $everything carry it; a
cancellation or a no-show stays in the record (status `cancelled` / `noshow`, with the reason).
A Schedule is a therapist's bookable time, and its Slots are the free starts the booking rules allow.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import schedules, service, types, views
from app.clinic import service as clinic
from app.kit.errors import field_error
from app.models.appointment import Appointment, AppointmentType, TherapistSchedule
from app.models.user import User

STATUS = {"booked": "booked", "arrived": "arrived", "completed": "fulfilled", "cancelled": "cancelled",
          "no_show": "noshow"}


def resources(session: Session, appts: Sequence[Appointment]) -> list[dict[str, Any]]:
    kinds = types.by_id(session, {a.type_id for a in appts})
    out: list[dict[str, Any]] = []
    for a in appts:
        resource: dict[str, Any] = {
            "resourceType": "Appointment", "id": str(a.id),
            "meta": {"lastUpdated": a.updated_at.isoformat(), "versionId": str(a.version)},
            "status": STATUS[a.status],
            "serviceType": [{"text": kinds[a.type_id].name}],
            "start": a.start_at.isoformat(), "end": a.end_at.isoformat(),
            "minutesDuration": int((a.end_at - a.start_at).total_seconds() // 60),
            "created": a.created_at.isoformat(),
            "participant": [
                {"actor": {"reference": f"Patient/{a.patient_id}"}, "required": "required", "status": "accepted"},
                {"actor": {"reference": f"Practitioner/{a.therapist_id}"}, "required": "required",
                 "status": "accepted"}],
        }
        if a.status == "cancelled":
            by = "patient" if a.cancelled_by == "patient" else "clinic"
            resource["cancelationReason"] = {"text": f"{a.cancel_reason} (cancelled by the {by}"
                                                     f"{', late' if a.late_cancellation else ''})"}
        if a.front_desk_notes:
            resource["comment"] = a.front_desk_notes
        out.append(resource)
    return out


# --- Schedule and Slot: a therapist's bookable time, for FHIR scheduling clients ------------------------------


def schedule(therapist: User, row: TherapistSchedule, zone: str) -> dict[str, Any]:
    """One Schedule per therapist with working hours; its id is the therapist's (Practitioner) id."""
    return {"resourceType": "Schedule", "id": str(therapist.id),
            "meta": {"lastUpdated": row.updated_at.isoformat(), "versionId": str(row.version)},
            "active": therapist.active, "actor": [{"reference": f"Practitioner/{therapist.id}",
                                                   "display": therapist.full_name}],
            "comment": f"Working hours in {zone}: " + "; ".join(
                f"{day} " + ", ".join(f"{a}-{b}" for a, b in spans) for day, spans in row.hours.items())}


def slot_id(therapist_id: uuid.UUID, start: datetime) -> str:
    return f"{therapist_id}-{start.astimezone(UTC):%Y%m%dT%H%MZ}"


def parse_slot_id(rid: str) -> tuple[uuid.UUID, datetime] | None:
    try:
        therapist, moment = uuid.UUID(rid[:36]), datetime.strptime(rid[37:], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (therapist, moment) if rid[36:37] == "-" else None


def slot(therapist_id: uuid.UUID, start: datetime, end: datetime, kind: AppointmentType, free: bool
         ) -> dict[str, Any]:
    return {"resourceType": "Slot", "id": slot_id(therapist_id, start),
            "schedule": {"reference": f"Schedule/{therapist_id}"}, "status": "free" if free else "busy",
            "serviceType": [{"text": kind.name}], "start": start.isoformat(), "end": end.isoformat()}


def find_schedules(session: Session, therapist_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    zone = clinic.profile(session).time_zone
    stmt = select(TherapistSchedule, User).join(User, User.id == TherapistSchedule.therapist_id)
    if therapist_id is not None:
        stmt = stmt.where(TherapistSchedule.therapist_id == therapist_id)
    return [schedule(u, row, zone) for row, u in session.execute(stmt.order_by(User.full_name, User.id))]


def shortest_type(session: Session, wanted: str | None) -> AppointmentType:
    """`service-type` by name or id, else the shortest active type (the finest grid of free slots)."""
    active = types.all_types(session)
    if wanted:
        found = next((t for t in active if t.name.lower() == wanted.lower() or str(t.id) == wanted), None)
        if found is None:
            raise field_error("service-type", f"unknown appointment type; use one of {[t.name for t in active]}")
        return found
    if not active:
        raise field_error("service-type", "no active appointment types")
    return min(active, key=lambda t: (t.duration_minutes, t.name))


def read_slot(session: Session, rid: str) -> dict[str, Any] | None:
    """A slot id names a therapist and a start; it is `free` while that start is still bookable."""
    parsed = parse_slot_id(rid)
    if parsed is None or session.get(TherapistSchedule, parsed[0]) is None:
        return None
    kind = shortest_type(session, None)
    end = parsed[1] + timedelta(minutes=kind.duration_minutes)
    calendar = schedules.Calendar(session, parsed[0], parsed[1], end)
    if not calendar.covers(parsed[1], end):
        return None
    held = parsed[1] + timedelta(minutes=kind.duration_minutes + kind.buffer_after_minutes)
    busy = service.conflict(session, parsed[0], parsed[1], held) is not None
    zone = schedules.zone(session)
    return slot(parsed[0], parsed[1].astimezone(zone), end.astimezone(zone), kind, not busy)


def search_slots(session: Session, schedule_id: uuid.UUID, start: datetime, end: datetime,
                 service_type: str | None) -> list[dict[str, Any]]:
    kind = shortest_type(session, service_type)
    found = views.availability(session, kind.id, schedule_id, start, end, 15)
    return [slot(s.therapist_id, s.start, s.end, kind, True) for s in found.items]
