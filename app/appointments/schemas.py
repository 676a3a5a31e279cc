"""Request and response shapes of the appointment book."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, time
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.appointments.enums import WEEKDAYS, AppointmentStatus, CancelledBy, ExceptionKind, Scope

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Notes = Annotated[str, StringConstraints(max_length=1000)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class BookingWarning(BaseModel):
    field: str
    message: str


# --- appointment types ----------------------------------------------------------------------------------------


class AppointmentTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"name": "Follow-up IMS", "duration_minutes": 45, "colour": "#2ca02c", "is_ims": True,
         "buffer_after_minutes": 10}]})
    name: str = Field(min_length=1, max_length=100)
    duration_minutes: int = Field(ge=5, le=480)
    colour: Colour | None = None
    is_ims: bool = False
    buffer_after_minutes: int = Field(0, ge=0, le=120)


class AppointmentTypeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"duration_minutes": 40}]})
    name: str | None = Field(None, min_length=1, max_length=100)
    duration_minutes: int | None = Field(None, ge=5, le=480)
    colour: Colour | None = None
    is_ims: bool | None = None
    buffer_after_minutes: int | None = Field(None, ge=0, le=120)
    active: bool | None = None


class AppointmentTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    duration_minutes: int
    colour: str | None
    is_ims: bool
    buffer_after_minutes: int
    active: bool
    version: int


# --- schedules ------------------------------------------------------------------------------------------------


class TimeRange(BaseModel):
    model_config = _STRICT
    start: Clock = Field(examples=["09:00"])
    end: Clock = Field(examples=["17:00"])

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.start >= self.end:
            raise ValueError("start must be before end (the same day)")
        return self


Week = dict[str, list[TimeRange]]


def _check_week(value: Week) -> Week:
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
        spans = sorted((r.start, r.end) for r in ranges)
        if any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
            raise ValueError(f"{day}: ranges overlap")
    return value


class ScheduleIn(BaseModel):
    """The regular week in the clinic's time zone, e.g. `{"mon": [{"start": "09:00", "end": "17:00"}]}`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"hours": {"mon": [{"start": "09:00", "end": "17:00"}], "wed": [{"start": "12:00", "end": "20:00"}]},
         "breaks": {"mon": [{"start": "12:00", "end": "13:00"}]}}]})
    hours: Week
    breaks: Week = Field(default_factory=dict)

    _weeks = field_validator("hours", "breaks")(_check_week)


class ScheduleOut(BaseModel):
    therapist_id: uuid.UUID
    time_zone: str
    hours: Week
    breaks: Week
    version: int


class ExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"on_date": "2027-05-24", "kind": "holiday", "note": "Victoria Day"}]})
    on_date: date
    kind: ExceptionKind
    start: Clock | None = Field(None, description="With `end`: part of the day; without: the whole day")
    end: Clock | None = None
    note: Annotated[str, StringConstraints(max_length=200)] | None = None

    @model_validator(mode="after")
    def _times(self) -> ExceptionIn:
        if (self.start is None) != (self.end is None):
            raise ValueError("send both start and end, or neither (the whole day)")
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        if self.kind == ExceptionKind.EXTRA_HOURS and self.start is None:
            raise ValueError("extra_hours needs start and end")
        return self


class ExceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    therapist_id: uuid.UUID
    on_date: date
    kind: ExceptionKind
    start_time: time | None
    end_time: time | None
    note: str | None


# --- appointments ---------------------------------------------------------------------------------------------


class _Booking(BaseModel):
    """Who is booked with whom for what: the fields a single visit and a weekly course share."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    patient_id: uuid.UUID
    therapist_id: uuid.UUID
    type_id: uuid.UUID


def _example(start: str, **more: str) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [
        {"patient_id": "0193b8a2-6c1e-7cde-9c41-1f6f3c8e2a10", "therapist_id": "0193b8a2-6c1e-7cde-9c41-1f6f3c8e2a11",
         "type_id": "018f0000-0000-7000-8000-0000000a0002", "start": start, **more}]})


class AppointmentCreate(_Booking):
    model_config = _example("2027-03-01T09:00:00-05:00", front_desk_notes="Prefers mornings")
    start: AwareDatetime = Field(description="Any offset; stored in UTC")
    end: AwareDatetime | None = Field(None, description="Defaults to start + the type's duration")
    front_desk_notes: Notes | None = Field(None, description="For the front desk: no clinical content")
    override_hours: bool = Field(False, description="Book outside the therapist's working hours (audited)")


class AppointmentUpdate(BaseModel):
    """Move (start/therapist/type) or annotate a booked visit. `scope=following` moves the rest of its course."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"start": "2027-03-01T10:00:00-05:00"}]})
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    therapist_id: uuid.UUID | None = None
    type_id: uuid.UUID | None = None
    front_desk_notes: Notes | None = None
    override_hours: bool = False


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"reason": "Unwell", "cancelled_by": "patient"}]})
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    cancelled_by: CancelledBy


class AppointmentOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID
    type_id: uuid.UUID
    type_name: str
    is_ims: bool
    start: datetime = Field(description="In the clinic's time zone")
    end: datetime
    status: AppointmentStatus
    front_desk_notes: str | None
    outside_hours: bool
    series_id: uuid.UUID | None
    rrule: str | None
    arrived_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: CancelledBy | None
    cancel_reason: str | None
    late_cancellation: bool
    no_show_at: datetime | None
    imported_at: datetime | None = Field(None, description="Set when the visit came from another system's CSV: "
                                         "a completed imported visit is history, never on the unsigned-notes "
                                         "worklist")
    version: int
    created_at: datetime
    warnings: list[BookingWarning] = Field(default_factory=list)


class SeriesCreate(_Booking):
    """A weekly course: the first visit plus an RFC 5545 RRULE (FREQ=WEEKLY with COUNT or UNTIL)."""

    model_config = _example("2027-03-08T09:00:00-05:00", rrule="FREQ=WEEKLY;COUNT=6")
    start: AwareDatetime = Field(description="The first occurrence; later ones keep its wall-clock time")
    rrule: Annotated[str, StringConstraints(min_length=10, max_length=200)] = Field(
        examples=["FREQ=WEEKLY;COUNT=6", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20270301T000000Z"])
    front_desk_notes: Notes | None = None
    override_hours: bool = Field(False, description="Book occurrences outside regular working hours (audited); "
                                 "days off and other bookings are still skipped")
    dry_run: bool = Field(False, description="Report what would be booked and skipped; book nothing")


class SkippedOccurrence(BaseModel):
    start: datetime
    reason: str
    conflicting_appointment_id: uuid.UUID | None = None


class SeriesOut(BaseModel):
    series_id: uuid.UUID
    rrule: str
    dry_run: bool
    booked: list[AppointmentOut]
    skipped: list[SkippedOccurrence]


class ScopedResult(BaseModel):
    """A move or cancellation of one occurrence, or of it and the following ones of its course."""

    scope: Scope
    items: list[AppointmentOut]


class VisitNote(BaseModel):
    kind: str = Field(examples=["treatment"])
    id: uuid.UUID
    status: str


class Visit(AppointmentOut):
    """An appointment on the patient's chart, with the notes that document it."""

    notes: list[VisitNote] = Field(default_factory=list)


class UnsignedVisit(BaseModel):
    appointment: AppointmentOut
    reason: str
