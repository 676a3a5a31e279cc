"""Booking rules: no double booking (serialised per therapist), working hours, the status lifecycle.

Double booking is prevented by a per-therapist lock taken in the booking's own transaction before
the overlap check: on PostgreSQL `SELECT ... FOR NO KEY UPDATE` on the therapist's `users` row (it
does not block the `FOR KEY SHARE` locks that foreign keys take), on SQLite the `BEGIN IMMEDIATE`
write lock every request already holds. Two clients racing for one slot are therefore checked one
after the other, and the second sees the first's committed appointment: one 201, one 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import care
from app.appointments import schedules, types
from app.appointments.enums import TRANSITIONS, AppointmentStatus, CancelledBy
from app.appointments.schemas import (
    AppointmentCreate,
    AppointmentOut,
    AppointmentUpdate,
    BookingWarning,
    CancelIn,
    SeriesCreate,
)
from app.clinic import service as clinic
from app.consents import service as consents
from app.kit import audit
from app.kit.actor import Actor
from app.kit.dates import CLOCK_SKEW
from app.kit.errors import Conflict, FieldError, field_error
from app.kit.etag import check_version
from app.kit.events import EventType, announce
from app.kit.repository import get_or_404
from app.models.appointment import HOLDING_STATUSES, Appointment, AppointmentType
from app.models.base import utcnow
from app.models.patient import Patient
from app.models.user import User
from app.patients import service as patients


def get(session: Session, appointment_id: uuid.UUID) -> Appointment:
    return get_or_404(session, Appointment, appointment_id, "appointment")


def read(session: Session, actor: Actor, appointment_id: uuid.UUID) -> Appointment:
    appt = get(session, appointment_id)
    _audit(session, actor, "read", appt)
    return appt


def to_out(session: Session, appts: Sequence[Appointment], warnings: list[BookingWarning] | None = None
           ) -> list[AppointmentOut]:
    zone = schedules.zone(session)
    kinds = types.by_id(session, {a.type_id for a in appts})
    return [AppointmentOut(
        id=a.id, patient_id=a.patient_id, therapist_id=a.therapist_id, type_id=a.type_id,
        type_name=kinds[a.type_id].name, is_ims=kinds[a.type_id].is_ims,
        start=a.start_at.astimezone(zone), end=a.end_at.astimezone(zone), status=AppointmentStatus(a.status),
        front_desk_notes=a.front_desk_notes, outside_hours=a.outside_hours, series_id=a.series_id, rrule=a.rrule,
        arrived_at=a.arrived_at, completed_at=a.completed_at, cancelled_at=a.cancelled_at,
        cancelled_by=CancelledBy(a.cancelled_by) if a.cancelled_by else None, cancel_reason=a.cancel_reason,
        late_cancellation=a.late_cancellation, no_show_at=a.no_show_at, imported_at=a.imported_at,
        version=a.version,
        created_at=a.created_at, warnings=warnings or []) for a in appts]


def linkable(session: Session, patient_id: uuid.UUID, appointment_id: uuid.UUID | None) -> uuid.UUID | None:
    """The visit a clinical note documents: this patient's, and not a cancelled or missed one."""
    if appointment_id is None:
        return None
    appt = session.get(Appointment, appointment_id)
    if appt is None or appt.patient_id != patient_id:
        raise field_error("appointment_id", "no such appointment for this patient")
    if appt.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise field_error("appointment_id", f"this appointment is {appt.status}; no visit took place")
    return appt.id


def lock_therapist(session: Session, therapist_id: uuid.UUID) -> None:
    """Serialise every booking for one therapist until this transaction ends (see the module docstring)."""
    session.execute(select(User.id).where(User.id == therapist_id).with_for_update(key_share=True))


def conflict(session: Session, therapist_id: uuid.UUID, start: datetime, blocked_until: datetime,
             exclude: Sequence[uuid.UUID] = ()) -> Appointment | None:
    """The earliest appointment holding any of the therapist's time in [start, blocked_until)."""
    stmt = select(Appointment).where(
        Appointment.therapist_id == therapist_id, Appointment.status.in_(HOLDING_STATUSES),
        Appointment.start_at < blocked_until, Appointment.blocked_until > start)
    if exclude:
        stmt = stmt.where(Appointment.id.not_in(list(exclude)))
    return session.scalars(stmt.order_by(Appointment.start_at, Appointment.id).limit(1)).first()


def conflict_error(session: Session, other: Appointment) -> Conflict:
    local = other.start_at.astimezone(schedules.zone(session))
    return Conflict(f"The therapist is already booked: appointment {other.id} at {local.isoformat()} "
                    f"({other.status}) overlaps this time",
                    errors=[FieldError(field="start", message=f"overlaps appointment {other.id}")],
                    headers={"X-Conflicting-Appointment": str(other.id)})


def ims_warnings(session: Session, patient_id: uuid.UUID, kind: AppointmentType, start: datetime
                 ) -> list[BookingWarning]:
    """An IMS visit with no IMS consent on file is booked with a warning (treatment enforces consent)."""
    if not kind.is_ims:
        return []
    if "ims_dry_needling" in consents.active_kinds(consents.for_patient(session, patient_id), start):
        return []
    return [BookingWarning(field="type_id", message="No IMS (dry-needling) consent on file for this patient: "
                           "obtain written consent before the session")]


def check_slot(session: Session, therapist_id: uuid.UUID, start: datetime, end: datetime, blocked_until: datetime,
               override_hours: bool, exclude: Sequence[uuid.UUID] = ()) -> bool:
    """409 on overlap or outside working hours (unless overridden); returns whether it is outside hours."""
    other = conflict(session, therapist_id, start, blocked_until, exclude)
    if other is not None:
        raise conflict_error(session, other)
    calendar = schedules.Calendar(session, therapist_id, start, end)
    if calendar.covers(start, end):
        return False
    if not override_hours:
        why = calendar.day_off(start)
        raise Conflict(("The therapist is off that day (" + why + ")" if why else
                        "Outside the therapist's working hours" if calendar.has_schedule else
                        "The therapist has no working hours set") +
                       "; send override_hours=true to book it anyway (the override is audited)")
    return True


def _times(kind: AppointmentType, start: datetime, end: datetime | None) -> tuple[datetime, datetime, datetime]:
    end = end or start + timedelta(minutes=kind.duration_minutes)
    if end <= start:
        raise field_error("end", "must be after start")
    if end - start > timedelta(hours=8):
        raise field_error("end", "an appointment lasts at most 8 hours")
    return start, end, end + timedelta(minutes=kind.buffer_after_minutes)


def parties(session: Session, actor: Actor, data: AppointmentCreate | SeriesCreate
            ) -> tuple[Patient, AppointmentType]:
    """Who is booked with whom for what, checked before any slot: an active patient, a bookable therapist
    the actor may book for, and an appointment type still in use."""
    patient = patients.get(session, data.patient_id)
    if not patient.active:
        raise field_error("patient_id", "this patient is deactivated")
    schedules.therapist(session, data.therapist_id)
    schedules.ensure_own(session, actor, data.therapist_id, "Appointment")
    return patient, types.usable(session, data.type_id)


def book(session: Session, actor: Actor, data: AppointmentCreate) -> tuple[Appointment, list[BookingWarning]]:
    patient, kind = parties(session, actor, data)
    start, end, blocked = _times(kind, data.start, data.end)
    lock_therapist(session, data.therapist_id)
    outside = check_slot(session, data.therapist_id, start, end, blocked, data.override_hours)
    appt = Appointment(patient_id=patient.id, therapist_id=data.therapist_id, type_id=kind.id, start_at=start,
                       end_at=end, blocked_until=blocked, status=AppointmentStatus.BOOKED,
                       front_desk_notes=data.front_desk_notes, outside_hours=outside,
                       created_by=actor.id, created_by_type=actor.type)
    session.add(appt)
    session.flush()
    audit_booking(session, actor, appt, {"override": "outside_working_hours"} if outside else None)
    return appt, ims_warnings(session, patient.id, kind, start)


def audit_booking(session: Session, actor: Actor, appt: Appointment, detail: dict[str, object] | None) -> None:
    """Every booking (single, series or import) is audited and puts the therapist on the care team."""
    care.on_booking(session, actor, appt.patient_id, appt.therapist_id)
    _audit(session, actor, "book", appt, detail)
    announce(session, EventType.APPOINTMENT_BOOKED, appt)


def update(session: Session, actor: Actor, appt: Appointment, data: AppointmentUpdate, expected_version: int
           ) -> Appointment:
    """Move a booked visit (a reschedule) or change its front-desk notes."""
    schedules.ensure_own(session, actor, appt.therapist_id, "Appointment")
    check_version(appt.version, expected_version)
    fields = data.model_fields_set - {"override_hours"}
    for name in ("start", "therapist_id", "type_id"):
        if name in fields and getattr(data, name) is None:
            raise field_error(name, "may not be null")
    moving = bool(fields & {"start", "end", "therapist_id", "type_id"})
    if moving:
        if appt.status != AppointmentStatus.BOOKED:
            raise Conflict(f"A {appt.status} appointment cannot be moved")
        therapist_id = data.therapist_id or appt.therapist_id
        if therapist_id != appt.therapist_id:
            schedules.therapist(session, therapist_id)
            schedules.ensure_own(session, actor, therapist_id, "Appointment")
        kind = types.usable(session, data.type_id) if data.type_id else types.get(session, appt.type_id)
        start = data.start or appt.start_at
        end = data.end if "end" in fields else (None if fields & {"start", "type_id"} else appt.end_at)
        start, end, blocked = _times(kind, start, end)
        lock_therapist(session, therapist_id)
        outside = check_slot(session, therapist_id, start, end, blocked, data.override_hours, exclude=[appt.id])
        appt.therapist_id, appt.type_id, appt.start_at, appt.end_at = therapist_id, kind.id, start, end
        appt.blocked_until, appt.outside_hours = blocked, outside
        appt.sequence += 1
    if "front_desk_notes" in fields:
        appt.front_desk_notes = data.front_desk_notes
    session.flush()
    _audit(session, actor, "reschedule" if moving else "update", appt,
           detail={"fields": sorted(fields), **({"override": "outside_working_hours"} if moving and appt.outside_hours
                                                 else {})})
    announce(session, EventType.APPOINTMENT_RESCHEDULED if moving else EventType.APPOINTMENT_UPDATED, appt)
    return appt


def transition(session: Session, actor: Actor, appt: Appointment, to: AppointmentStatus, expected_version: int | None,
               cancel: CancelIn | None = None) -> Appointment:
    """booked -> arrived -> completed; booked/arrived -> cancelled; booked -> no_show. Final states stay."""
    schedules.ensure_own(session, actor, appt.therapist_id, "Appointment")
    if to not in TRANSITIONS[appt.status]:
        raise Conflict(f"A {appt.status} appointment cannot become {to}")
    if expected_version is not None:
        check_version(appt.version, expected_version)
    now = utcnow()
    if to == AppointmentStatus.ARRIVED:
        appt.arrived_at = now
    elif to == AppointmentStatus.COMPLETED:
        appt.completed_at = now
    elif to == AppointmentStatus.NO_SHOW:
        if appt.start_at > now + CLOCK_SKEW:
            raise Conflict("A visit that has not started yet cannot be a no-show; cancel it instead")
        appt.no_show_at = now
    elif to == AppointmentStatus.CANCELLED:
        assert cancel is not None
        window = timedelta(hours=clinic.profile(session).late_cancellation_hours)
        appt.cancelled_at, appt.cancelled_by, appt.cancel_reason = now, cancel.cancelled_by, cancel.reason
        appt.late_cancellation = cancel.cancelled_by == CancelledBy.PATIENT and appt.start_at - now < window
        appt.sequence += 1
    appt.status = to
    session.flush()
    action, event = _TRANSITION_NAMES[to]
    _audit(session, actor, action, appt, detail={"cancelled_by": appt.cancelled_by, "late": appt.late_cancellation}
           if to == AppointmentStatus.CANCELLED else None)
    announce(session, event, appt)
    return appt


# A status change's audit action and the event it announces.
_TRANSITION_NAMES = {
    AppointmentStatus.ARRIVED: ("arrive", EventType.APPOINTMENT_ARRIVED),
    AppointmentStatus.COMPLETED: ("complete", EventType.APPOINTMENT_COMPLETED),
    AppointmentStatus.NO_SHOW: ("no_show", EventType.APPOINTMENT_NO_SHOW),
    AppointmentStatus.CANCELLED: ("cancel", EventType.APPOINTMENT_CANCELLED),
}


def _audit(session: Session, actor: Actor, action: str, appt: Appointment, detail: dict[str, object] | None = None
           ) -> None:
    audit.record(session, actor, action, resource_type="Appointment", resource_id=appt.id,
                 patient_id=appt.patient_id, resource_version=appt.version, detail=detail)
