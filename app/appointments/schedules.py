"""Therapists' regular weeks and dated exceptions; the working intervals bookings are checked against.

An admin sets anyone's schedule; a therapist only their own (403, audited, otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import hours
from app.appointments.schemas import ExceptionIn, ScheduleIn, ScheduleOut
from app.clinic import service as clinic
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Forbidden, NotFound, field_error
from app.kit.etag import require_version
from app.models.appointment import ScheduleException, TherapistSchedule
from app.models.base import utcnow
from app.models.user import User

BOOKABLE_ROLES = ("therapist", "admin")


def zone(session: Session) -> ZoneInfo:
    return ZoneInfo(clinic.profile(session).time_zone)


def therapist(session: Session, therapist_id: uuid.UUID, field: str = "therapist_id") -> User:
    """A bookable clinician: an active therapist (or an admin who treats)."""
    user = session.get(User, therapist_id)
    if user is None or not user.active or user.role not in BOOKABLE_ROLES:
        raise field_error(field, "no such active therapist")
    return user


def therapist_or_404(session: Session, therapist_id: uuid.UUID) -> User:
    user = session.get(User, therapist_id)
    if user is None or user.role not in BOOKABLE_ROLES:
        raise NotFound(f"No therapist {therapist_id}")
    return user


def ensure_own(session: Session, actor: Actor, therapist_id: uuid.UUID, what: str) -> None:
    """A therapist manages only their own book; admins, reception and API keys (by permission) anyone's."""
    if actor.role == "therapist" and actor.id != therapist_id:
        audit.record_failure(session, actor, "access", outcome="denied", resource_type=what,
                             detail={"therapist_id": str(therapist_id), "reason": "another therapist's"})
        raise Forbidden(f"A therapist manages only their own {what.lower()}s")


def get_schedule(session: Session, therapist_id: uuid.UUID) -> TherapistSchedule | None:
    return session.get(TherapistSchedule, therapist_id)


def to_out(session: Session, therapist_id: uuid.UUID, row: TherapistSchedule | None) -> ScheduleOut:
    return ScheduleOut(therapist_id=therapist_id, time_zone=clinic.profile(session).time_zone,
                       hours=_week_out(row.hours if row else {}), breaks=_week_out(row.breaks if row else {}),
                       version=row.version if row else 0)


def _week_out(week: dict[str, list[list[str]]]) -> dict[str, list[dict[str, str]]]:
    return {day: [{"start": a, "end": b} for a, b in spans] for day, spans in week.items()}


def put_schedule(session: Session, actor: Actor, therapist_id: uuid.UUID, data: ScheduleIn,
                 expected_version: int | None) -> TherapistSchedule:
    """Create (no If-Match needed) or replace (If-Match required) a therapist's regular week."""
    therapist_or_404(session, therapist_id)
    ensure_own(session, actor, therapist_id, "Schedule")
    week = {day: [[r.start, r.end] for r in sorted(spans, key=lambda r: r.start)]
            for day, spans in data.hours.items() if spans}
    breaks = {day: [[r.start, r.end] for r in sorted(spans, key=lambda r: r.start)]
              for day, spans in data.breaks.items() if spans}
    row = get_schedule(session, therapist_id)
    if row is None:
        row = TherapistSchedule(therapist_id=therapist_id, hours=week, breaks=breaks)
        session.add(row)
        action = "create"
    else:
        require_version(row.version, expected_version)
        row.hours, row.breaks = week, breaks
        action = "update"
    session.flush()
    audit.record(session, actor, action, resource_type="Schedule", resource_id=therapist_id,
                 resource_version=row.version)
    return row


def add_exception(session: Session, actor: Actor, therapist_id: uuid.UUID, data: ExceptionIn) -> ScheduleException:
    therapist_or_404(session, therapist_id)
    ensure_own(session, actor, therapist_id, "Schedule")
    row = ScheduleException(therapist_id=therapist_id, on_date=data.on_date, kind=data.kind,
                            start_time=time.fromisoformat(data.start) if data.start else None,
                            end_time=time.fromisoformat(data.end) if data.end else None,
                            note=data.note, created_by=actor.id, created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", resource_type="ScheduleException", resource_id=row.id,
                 detail={"therapist_id": str(therapist_id), "on_date": data.on_date.isoformat(), "kind": data.kind})
    return row


def list_exceptions(session: Session, therapist_id: uuid.UUID, first: date, last: date
                    ) -> Sequence[ScheduleException]:
    return session.scalars(select(ScheduleException).where(
        ScheduleException.therapist_id == therapist_id, ScheduleException.on_date >= first,
        ScheduleException.on_date <= last).order_by(ScheduleException.on_date, ScheduleException.id)).all()


def delete_exception(session: Session, actor: Actor, therapist_id: uuid.UUID, exception_id: uuid.UUID) -> None:
    row = session.get(ScheduleException, exception_id)
    if row is None or row.therapist_id != therapist_id:
        raise NotFound(f"No schedule exception {exception_id} for this therapist")
    ensure_own(session, actor, therapist_id, "Schedule")
    session.delete(row)
    session.flush()
    audit.record(session, actor, "delete", resource_type="ScheduleException", resource_id=exception_id,
                 detail={"therapist_id": str(therapist_id)})


class Calendar:
    """One therapist's working intervals and exceptions over a range of local dates (two queries)."""

    def __init__(self, session: Session, therapist_id: uuid.UUID, start: datetime, end: datetime) -> None:
        self.zone = zone(session)
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        row = get_schedule(session, therapist_id)
        self.has_schedule = row is not None
        self.exceptions = [hours.DatedException(e.on_date, e.kind, e.start_time, e.end_time)
                           for e in list_exceptions(session, therapist_id, first, last)]
        self.intervals = hours.working_intervals(row.hours if row else None, row.breaks if row else None,
                                                 self.exceptions, first, last, self.zone)

    def covers(self, start: datetime, end: datetime) -> bool:
        return hours.covers(self.intervals, start, end)

    def day_off(self, moment: datetime) -> str | None:
        return hours.day_off_reason(self.exceptions, moment.astimezone(self.zone).date())
