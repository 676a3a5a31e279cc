"""The views people use: a day sheet, a week, and free slots for a booking page.

Each is answered from the (therapist_id, start_at) index and one schedule read per therapist, so a
clinic with years of history costs the same as a new one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import schedules, service, types
from app.appointments.schemas import AppointmentOut
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import field_error
from app.models.appointment import HOLDING_STATUSES, Appointment, TherapistSchedule
from app.models.patient import Patient
from app.models.user import User

MAX_SLOTS = 500


class Span(BaseModel):
    start: datetime
    end: datetime


class TherapistDay(BaseModel):
    therapist_id: uuid.UUID
    therapist_name: str
    working: list[Span]
    appointments: list[AppointmentOut]


class DaySheet(BaseModel):
    date: date
    time_zone: str
    therapists: list[TherapistDay]


class Slot(BaseModel):
    therapist_id: uuid.UUID
    start: datetime
    end: datetime


class Availability(BaseModel):
    type_id: uuid.UUID
    duration_minutes: int
    items: list[Slot]
    truncated: bool


def _therapists(session: Session, therapist_id: uuid.UUID | None, also: set[uuid.UUID]) -> list[User]:
    if therapist_id is not None:
        return [schedules.therapist_or_404(session, therapist_id)]
    ids = set(session.scalars(select(TherapistSchedule.therapist_id))) | also
    users = session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))).all() if ids else []
    return sorted(users, key=lambda u: u.full_name)


def _bounds(session: Session, first: date, days: int) -> tuple[datetime, datetime]:
    zone = schedules.zone(session)
    return (datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC),
            datetime.combine(first + timedelta(days=days), time(0), tzinfo=zone).astimezone(UTC))


def sheets(session: Session, actor: Actor, first: date, days: int, therapist_id: uuid.UUID | None) -> list[DaySheet]:
    """One day sheet per local date; each lists every appointment (cancelled ones too) and the working hours."""
    start, end = _bounds(session, first, days)
    stmt = select(Appointment).where(Appointment.start_at >= start, Appointment.start_at < end)
    if therapist_id is not None:
        stmt = stmt.where(Appointment.therapist_id == therapist_id)
    rows = session.scalars(stmt.order_by(Appointment.start_at, Appointment.id)).all()
    people = _therapists(session, therapist_id, {a.therapist_id for a in rows})
    zone = schedules.zone(session)
    rendered = dict(zip([a.id for a in rows], service.to_out(session, rows), strict=True))
    calendars = {u.id: schedules.Calendar(session, u.id, start, end) for u in people}
    out = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        lo, hi = _bounds(session, day, 1)
        out.append(DaySheet(date=day, time_zone=zone.key, therapists=[TherapistDay(
            therapist_id=u.id, therapist_name=u.full_name,
            working=[Span(start=a.astimezone(zone), end=b.astimezone(zone)) for a, b in calendars[u.id].intervals
                     if a < hi and b > lo],
            appointments=[rendered[a.id] for a in rows if a.therapist_id == u.id and lo <= a.start_at < hi])
            for u in people]))
    audit.record(session, actor, "search", resource_type="Appointment",
                 detail={"view": "day" if days == 1 else "week", "date": first.isoformat(),
                         "therapist_id": str(therapist_id) if therapist_id else None,
                         "result_ids": [str(a.id) for a in rows]})
    return out


def availability(session: Session, type_id: uuid.UUID, therapist_id: uuid.UUID | None, start: datetime,
                 end: datetime, step_minutes: int) -> Availability:
    """Free starts where the type (and its buffer) fits in working hours without touching another visit."""
    if end <= start:
        raise field_error("to", "must be after from")
    if end - start > timedelta(days=31):
        raise field_error("to", "search at most 31 days at a time")
    kind = types.usable(session, type_id, field="type")
    duration, held = timedelta(minutes=kind.duration_minutes), timedelta(minutes=kind.duration_minutes +
                                                                            kind.buffer_after_minutes)
    step = timedelta(minutes=step_minutes)
    zone = schedules.zone(session)
    slots: list[Slot] = []
    truncated = False
    for user in _therapists(session, therapist_id, set()):
        calendar = schedules.Calendar(session, user.id, start, end)
        busy = session.execute(select(Appointment.start_at, Appointment.blocked_until).where(
            Appointment.therapist_id == user.id, Appointment.status.in_(HOLDING_STATUSES),
            Appointment.start_at < end + held, Appointment.blocked_until > start - held)).all()
        for a, b in calendar.intervals:
            # starts every `step` from the start of each working interval (09:00, 09:15, ...)
            moment = a if a >= start else a + -(-(start - a) // step) * step
            while moment + duration <= b and moment < end:
                # the same rule as booking: inside working hours, and its time (with the buffer) overlaps no visit
                if not any(x < moment + held and y > moment for x, y in busy):
                    slots.append(Slot(therapist_id=user.id, start=moment.astimezone(zone),
                                      end=(moment + duration).astimezone(zone)))
                moment += step
    slots.sort(key=lambda s: (s.start, str(s.therapist_id)))
    if len(slots) > MAX_SLOTS:
        slots, truncated = slots[:MAX_SLOTS], True
    return Availability(type_id=kind.id, duration_minutes=kind.duration_minutes, items=slots, truncated=truncated)


class ReminderContact(BaseModel):
    phone: str | None
    email: str | None
    preferred_name: str | None


class Reminder(BaseModel):
    appointment: AppointmentOut
    patient_name: str
    contact: ReminderContact
    contact_preference: str | None
    reminder_consent: bool
    # only channels the patient consented to, matching their preference, with the detail on file to use them
    channels: list[str]
    can_remind: bool
    reason: str | None  # why not, when can_remind is false


def usable_channels(p: Patient) -> tuple[list[str], str | None]:
    """The channels the clinic's tool may use for this patient, or none and why: consent comes first, then
    the patient's preference (none = do not contact), then having a phone or e-mail on file for it."""
    on_file = (["sms", "phone"] if p.phone else []) + (["email"] if p.email else [])
    if not p.reminder_consent:
        return [], "no consent to be contacted on file"
    if p.contact_preference == "none":
        return [], "the patient asked not to be contacted"
    if p.contact_preference is not None:
        if p.contact_preference in on_file:
            return [p.contact_preference], None
        detail = "e-mail address" if p.contact_preference == "email" else "phone number"
        return [], f"prefers {p.contact_preference} but has no {detail} on file"
    return on_file, None if on_file else "no phone number or e-mail address on file"


def reminders(session: Session, actor: Actor, start: datetime, end: datetime) -> list[Reminder]:
    """Booked visits starting in [start, end) with how to reach each patient (deactivated patients left out);
    every visit is listed, with `can_remind: false` and the reason when the patient may not be contacted."""
    if end <= start or end - start > timedelta(days=14):
        raise field_error("to", "must be after from, and at most 14 days later")
    rows = session.execute(select(Appointment, Patient).join(Patient, Patient.id == Appointment.patient_id).where(
        Appointment.status == "booked", Appointment.start_at >= start, Appointment.start_at < end,
        Patient.active.is_(True)).order_by(Appointment.start_at, Appointment.id).limit(MAX_SLOTS)).all()
    rendered = service.to_out(session, [a for a, _ in rows])
    out = []
    for (_, p), appt in zip(rows, rendered, strict=True):
        channels, reason = usable_channels(p)
        out.append(Reminder(appointment=appt, patient_name=f"{p.preferred_name or p.given_name} {p.family_name}",
                            contact=ReminderContact(phone=p.phone, email=p.email, preferred_name=p.preferred_name),
                            contact_preference=p.contact_preference, reminder_consent=p.reminder_consent,
                            channels=channels, can_remind=bool(channels), reason=reason))
    audit.record(session, actor, "search", resource_type="Appointment",
                 detail={"view": "reminders", "result_ids": [str(r.appointment.id) for r in out]})
    return out
