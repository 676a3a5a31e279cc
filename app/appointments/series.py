"""Weekly courses: an RFC 5545 RRULE subset expanded in the clinic's wall-clock time.

Supported: FREQ=WEEKLY with COUNT or UNTIL (UTC, `...Z`), optional INTERVAL and BYDAY. Occurrences
keep the first visit's local time of day, so a course that crosses a daylight-saving change stays at
09:00. Occurrences that fall on a day off, outside working hours or on another booking are skipped
and reported; the rest are booked under one per-therapist lock, atomically.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import schedules, service
from app.appointments.enums import AppointmentStatus, Scope
from app.appointments.schemas import AppointmentUpdate, BookingWarning, CancelIn, SeriesCreate, SkippedOccurrence
from app.kit.actor import Actor
from app.kit.errors import Conflict, field_error
from app.kit.etag import check_version
from app.models.appointment import Appointment
from app.models.base import new_id, utcnow

MAX_OCCURRENCES = 52
_ALLOWED = {"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYDAY"}


def expand(rule: str, first: datetime, zone_start: datetime) -> list[datetime]:
    """The occurrences (UTC) of `rule` starting at `zone_start` (the first visit in the clinic's zone)."""
    rule = rule.strip().removeprefix("RRULE:").upper()
    parts = dict(p.partition("=")[::2] for p in rule.split(";") if p)
    unknown = set(parts) - _ALLOWED
    if unknown:
        raise field_error("rrule", f"unsupported parts {sorted(unknown)}; use FREQ=WEEKLY with COUNT or UNTIL, "
                                   "INTERVAL and BYDAY")
    if parts.get("FREQ") != "WEEKLY":
        raise field_error("rrule", "only FREQ=WEEKLY is supported")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise field_error("rrule", "give exactly one of COUNT or UNTIL")
    if "UNTIL" in parts and not parts["UNTIL"].endswith("Z"):
        raise field_error("rrule", "UNTIL must be a UTC date-time such as 20270301T000000Z")
    try:
        occurrences = rrulestr(rule, dtstart=zone_start, cache=False)
        found: list[datetime] = []
        for moment in occurrences:
            found.append(moment.astimezone(first.tzinfo))
            if len(found) > MAX_OCCURRENCES:
                raise field_error("rrule", f"a course has at most {MAX_OCCURRENCES} occurrences")
    except (ValueError, TypeError) as exc:
        raise field_error("rrule", f"not a valid RRULE: {exc}") from exc
    if not found:
        raise field_error("rrule", "the rule has no occurrences")
    return found


def book_series(session: Session, actor: Actor, data: SeriesCreate
                ) -> tuple[uuid.UUID, list[Appointment], list[SkippedOccurrence], list[BookingWarning]]:
    patient, kind = service.parties(session, actor, data)
    zone = schedules.zone(session)
    starts = expand(data.rrule, data.start, data.start.astimezone(zone))
    duration, buffer = timedelta(minutes=kind.duration_minutes), timedelta(minutes=kind.buffer_after_minutes)
    service.lock_therapist(session, data.therapist_id)
    calendar = schedules.Calendar(session, data.therapist_id, starts[0], starts[-1] + duration)
    series_id = new_id()
    booked: list[Appointment] = []
    skipped: list[SkippedOccurrence] = []
    for start in starts:
        end = start + duration
        local = start.astimezone(zone)
        other = service.conflict(session, data.therapist_id, start, end + buffer)
        day_off = calendar.day_off(start)
        if day_off:
            skipped.append(SkippedOccurrence(start=local, reason=f"the therapist is off ({day_off})"))
        elif not calendar.covers(start, end) and not data.override_hours:
            skipped.append(SkippedOccurrence(start=local, reason="outside the therapist's working hours"))
        elif other is not None:
            skipped.append(SkippedOccurrence(start=local, reason=f"overlaps appointment {other.id}",
                                             conflicting_appointment_id=other.id))
        else:
            appt = Appointment(patient_id=patient.id, therapist_id=data.therapist_id, type_id=kind.id,
                               start_at=start, end_at=end, blocked_until=end + buffer,
                               status=AppointmentStatus.BOOKED, front_desk_notes=data.front_desk_notes,
                               outside_hours=not calendar.covers(start, end), series_id=series_id,
                               late_cancellation=False, sequence=0, rrule=data.rrule,
                               created_by=actor.id, created_by_type=actor.type)
            booked.append(appt)
            if data.dry_run:  # reported, never stored: give it what a stored one would show
                appt.id, appt.version, appt.created_at = new_id(), 0, utcnow()
            else:
                session.add(appt)
                session.flush()  # the next occurrence's overlap check sees this one
    if not booked:
        raise Conflict("No occurrence of this course can be booked: " +
                       "; ".join(f"{s.start.isoformat()}: {s.reason}" for s in skipped))
    if not data.dry_run:
        for appt in booked:
            detail: dict[str, object] = {"series_id": str(series_id), "rrule": data.rrule,
                                         "skipped": [s.start.isoformat() for s in skipped]}
            if appt.outside_hours:
                detail["override"] = "outside_working_hours"
            service.audit_booking(session, actor, appt, detail)
    return series_id, booked, skipped, service.ims_warnings(session, patient.id, kind, starts[0])


def scoped(session: Session, appt: Appointment, scope: Scope) -> list[Appointment]:
    """The occurrence itself, or it and the booked occurrences of its course that follow it."""
    if scope == Scope.THIS or appt.series_id is None:
        return [appt]
    later = session.scalars(select(Appointment).where(
        Appointment.series_id == appt.series_id, Appointment.start_at > appt.start_at,
        Appointment.status == AppointmentStatus.BOOKED).order_by(Appointment.start_at)).all()
    return [appt, *later]


def move_following(session: Session, actor: Actor, appt: Appointment, data: AppointmentUpdate,
                   expected_version: int) -> list[Appointment]:
    """Apply a change to this occurrence and the following ones: a new start shifts each by the same change of
    local date and time of day; a new therapist, type or front-desk note applies to each."""
    check_version(appt.version, expected_version)
    targets = scoped(session, appt, Scope.FOLLOWING)
    zone = schedules.zone(session)
    old_local = appt.start_at.astimezone(zone)
    new_local = (data.start or appt.start_at).astimezone(zone)
    day_shift = new_local.date() - old_local.date()
    moved: list[Appointment] = []
    # Later visits move first when the course moves later (and earlier ones first when it moves earlier),
    # so an occurrence never collides with its own not-yet-moved sibling.
    if new_local > old_local:
        targets.reverse()
    for target in targets:
        local = target.start_at.astimezone(zone)
        fields = {k: getattr(data, k) for k in data.model_fields_set if k not in ("start", "end")}
        if "start" in data.model_fields_set:
            fields["start"] = datetime.combine(local.date() + day_shift, new_local.timetz().replace(tzinfo=zone))
        change = AppointmentUpdate(**fields)
        moved.append(service.update(session, actor, target, change, target.version))
    return sorted(moved, key=lambda a: a.start_at)


def cancel_following(session: Session, actor: Actor, appt: Appointment, body: CancelIn, scope: Scope,
                     expected_version: int) -> Sequence[Appointment]:
    check_version(appt.version, expected_version)
    targets = scoped(session, appt, scope)
    for target in targets:
        service.transition(session, actor, target, AppointmentStatus.CANCELLED, None, body)
    return targets
