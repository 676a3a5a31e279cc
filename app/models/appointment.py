"""The appointment book: appointment types, therapists' weekly schedules and exceptions, appointments.

Times of day in schedules are wall-clock times in the clinic's zone (a 09:00 shift stays 09:00 across
a daylight-saving change); appointment instants are stored in UTC and rendered in the clinic's zone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, VersionedMixin

APPOINTMENT_STATUSES = ("booked", "arrived", "completed", "cancelled", "no_show")
# Statuses that hold the therapist's time: a cancelled or missed visit frees the slot.
HOLDING_STATUSES = ("booked", "arrived", "completed")
EXCEPTION_KINDS = ("holiday", "sick_day", "time_off", "extra_hours")


class AppointmentType(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "appointment_types"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 480", name="duration"),
        CheckConstraint("buffer_after_minutes >= 0 AND buffer_after_minutes <= 120", name="buffer"),
    )

    name: Mapped[str] = mapped_column(String(100), unique=True)
    duration_minutes: Mapped[int] = mapped_column()
    colour: Mapped[str | None] = mapped_column(String(7))  # "#1f77b4"
    is_ims: Mapped[bool] = mapped_column(default=False)
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class TherapistSchedule(TimestampMixin, VersionedMixin, Base):
    """A therapist's regular week: `hours` and `breaks` map weekday ("mon".."sun") to [[start, end], ...]."""

    __tablename__ = "therapist_schedules"

    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    breaks: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScheduleException(IdMixin, Base):
    """A dated change to the regular week: a day (or part of it) off, or extra hours."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (
        CheckConstraint(f"kind IN {EXCEPTION_KINDS!r}", name="kind"),
        Index(None, "therapist_id", "on_date"),
    )

    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    on_date: Mapped[date] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    start_time: Mapped[time | None] = mapped_column()  # both None: the whole day
    end_time: Mapped[time | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column()


class Appointment(IdMixin, TimestampMixin, VersionedMixin, Base):
    """One visit. `blocked_until` = end + the type's buffer: the therapist's time it holds."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(f"status IN {APPOINTMENT_STATUSES!r}", name="status"),
        CheckConstraint("cancelled_by IS NULL OR cancelled_by IN ('patient', 'clinic')", name="cancelled_by"),
        CheckConstraint("end_at > start_at AND blocked_until >= end_at", name="times"),
        Index(None, "therapist_id", "start_at"),
        Index(None, "patient_id", "start_at"),
        Index(None, "start_at", "id"),
        Index(None, "series_id", "start_at"),
        Index(None, "therapist_id", "status", "completed_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment_types.id"))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    blocked_until: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="booked")
    front_desk_notes: Mapped[str | None] = mapped_column(String(1000))
    outside_hours: Mapped[bool] = mapped_column(default=False)  # booked with an explicit override
    series_id: Mapped[uuid.UUID | None] = mapped_column()
    rrule: Mapped[str | None] = mapped_column(String(200))  # the series' rule, on each occurrence
    arrived_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancelled_by: Mapped[str | None] = mapped_column(String(10))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    late_cancellation: Mapped[bool] = mapped_column(default=False)
    no_show_at: Mapped[datetime | None] = mapped_column()
    # Set when the visit came from another system's CSV (app.appointments.importer): its note, if any, lives
    # there, so a completed imported visit is history, never on the unsigned-notes worklist.
    imported_at: Mapped[datetime | None] = mapped_column()
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE: bumped on each reschedule/cancel
    # A staff user or an API client (appointments:write): no foreign key to users.
    created_by: Mapped[uuid.UUID] = mapped_column()
    created_by_type: Mapped[str] = mapped_column(String(20))


class CalendarFeed(IdMixin, Base):
    """A therapist's iCalendar subscription: an unguessable token (stored only as a hash), revocable."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index(None, "therapist_id", "revoked_at"),)

    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
