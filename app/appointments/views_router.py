"""Day sheet, week view and free-slot search (for a booking page or another system)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.appointments import views
from app.auth.guards import AppointmentsReader
from app.clinic import service as clinic
from app.db import SessionDep
from app.kit.errors import field_error, problem_responses

router = APIRouter(prefix="/api/v1", tags=["appointment book"])


@router.get("/schedule/day", response_model=views.DaySheet, operation_id="daySheet",
            summary="The day sheet: each therapist's working hours and appointments on one clinic date",
            responses=problem_responses(401, 403, 404, 422))
def day_sheet(session: SessionDep, actor: AppointmentsReader, date_: Annotated[date | None, Query(alias="date")] = None,
              therapist: uuid.UUID | None = None) -> views.DaySheet:
    [sheet] = views.sheets(session, actor, date_ or clinic.today(session), 1, therapist)
    return sheet


@router.get("/schedule/week", response_model=list[views.DaySheet], operation_id="weekView",
            summary="Seven day sheets from `start` (default: this week's Monday)",
            responses=problem_responses(401, 403, 404, 422))
def week_view(session: SessionDep, actor: AppointmentsReader, start: date | None = None,
              therapist: uuid.UUID | None = None) -> list[views.DaySheet]:
    today = clinic.today(session)
    first = start or date.fromordinal(today.toordinal() - today.weekday())
    return views.sheets(session, actor, first, 7, therapist)


@router.get("/availability", response_model=views.Availability, operation_id="availability",
            summary="Free slots for an appointment type, by therapist, between two instants",
            description="Slots follow the booking rules: inside working hours (breaks and exceptions applied) and "
            "clear of every held appointment including the type's buffer. At most 31 days and 500 slots.",
            responses=problem_responses(401, 403, 404, 422))
def availability(session: SessionDep, actor: AppointmentsReader, type_: Annotated[uuid.UUID, Query(alias="type")],
                 from_: Annotated[datetime, Query(alias="from")], to: datetime,
                 therapist: uuid.UUID | None = None,
                 step: Annotated[int, Query(ge=5, le=120, description="Minutes between slot starts")] = 15,
                 ) -> views.Availability:
    for name, value in (("from", from_), ("to", to)):
        if value.tzinfo is None:
            raise field_error(name, "give a time zone offset, e.g. 2027-03-15T00:00:00-04:00")
    return views.availability(session, type_, therapist, from_, to, step)


@router.get("/reminders", response_model=list[views.Reminder], operation_id="appointmentReminders",
            summary="Booked visits in a window (at most 14 days) with each patient's contact details, preference "
            "and consent, for the clinic's SMS or e-mail tool (can_remind false, with the reason, without consent)",
            responses=problem_responses(401, 403, 422))
def reminders(session: SessionDep, actor: AppointmentsReader, from_: Annotated[datetime, Query(alias="from")],
              to: datetime) -> list[views.Reminder]:
    for name, value in (("from", from_), ("to", to)):
        if value.tzinfo is None:
            raise field_error(name, "give a time zone offset, e.g. 2027-03-15T00:00:00-04:00")
    return views.reminders(session, actor, from_, to)
