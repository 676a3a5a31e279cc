"""Appointment types (admin) and therapists' schedules (admin, or the therapist for their own)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.appointments import schedules, types
from app.appointments.schemas import (
    AppointmentTypeCreate,
    AppointmentTypeOut,
    AppointmentTypeUpdate,
    ExceptionIn,
    ExceptionOut,
    ScheduleIn,
    ScheduleOut,
)
from app.auth.guards import AppointmentsReader, ClinicWriter, SchedulesWriter, SignedIn
from app.clinic import service as clinic
from app.db import SessionDep
from app.kit.errors import field_error, problem_responses
from app.kit.etag import IfMatch, OptionalIfMatch, set_etag

router = APIRouter(tags=["appointment book"])
TYPES = "/api/v1/appointment-types"
SCHEDULE = "/api/v1/therapists/{therapist_id}/schedule"


@router.get(TYPES, response_model=list[AppointmentTypeOut], operation_id="listAppointmentTypes",
            summary="Appointment types (active ones unless include_inactive)", responses=problem_responses(401))
def list_types(session: SessionDep, actor: SignedIn, include_inactive: bool = False) -> list[AppointmentTypeOut]:
    return [AppointmentTypeOut.model_validate(t) for t in types.all_types(session, include_inactive)]


@router.post(TYPES, status_code=201, response_model=AppointmentTypeOut, operation_id="createAppointmentType",
             summary="Add an appointment type (admin)", responses=problem_responses(401, 403, 409, 422))
def create_type(session: SessionDep, actor: ClinicWriter, body: AppointmentTypeCreate, response: Response
                ) -> AppointmentTypeOut:
    row = types.create(session, actor, body)
    set_etag(response, row.version)
    return AppointmentTypeOut.model_validate(row)


@router.patch(TYPES + "/{type_id}", response_model=AppointmentTypeOut, operation_id="updateAppointmentType",
              summary="Change or retire (active=false) an appointment type (admin)",
              responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
def update_type(session: SessionDep, actor: ClinicWriter, type_id: uuid.UUID, body: AppointmentTypeUpdate,
                expected: IfMatch, response: Response) -> AppointmentTypeOut:
    row = types.update(session, actor, types.get(session, type_id), body, expected)
    set_etag(response, row.version)
    return AppointmentTypeOut.model_validate(row)


@router.get(SCHEDULE, response_model=ScheduleOut, operation_id="getSchedule",
            summary="A therapist's regular week (times in the clinic's zone)",
            responses=problem_responses(401, 403, 404))
def get_schedule(session: SessionDep, actor: AppointmentsReader, therapist_id: uuid.UUID,
                 response: Response) -> ScheduleOut:
    schedules.therapist_or_404(session, therapist_id)
    out = schedules.to_out(session, therapist_id, schedules.get_schedule(session, therapist_id))
    set_etag(response, out.version)
    return out


@router.put(SCHEDULE, response_model=ScheduleOut, operation_id="putSchedule",
            summary="Set a therapist's regular week and breaks",
            description="Admin, or the therapist for their own. Replacing an existing schedule needs If-Match.",
            responses=problem_responses(401, 403, 404, 412, 422, 428))
def put_schedule(session: SessionDep, actor: SchedulesWriter, therapist_id: uuid.UUID, body: ScheduleIn,
                 expected: OptionalIfMatch, response: Response) -> ScheduleOut:
    row = schedules.put_schedule(session, actor, therapist_id, body, expected)
    set_etag(response, row.version)
    return schedules.to_out(session, therapist_id, row)


@router.get(SCHEDULE + "/exceptions", response_model=list[ExceptionOut], operation_id="listScheduleExceptions",
            summary="Dated exceptions (holidays, sick days, extra hours) between two dates",
            responses=problem_responses(401, 403, 422))
def list_exceptions(session: SessionDep, actor: AppointmentsReader, therapist_id: uuid.UUID,
                    from_: Annotated[date | None, Query(alias="from")] = None,
                    to: Annotated[date | None, Query()] = None) -> list[ExceptionOut]:
    schedules.therapist_or_404(session, therapist_id)
    first = from_ or clinic.today(session)
    last = to or first + timedelta(days=365)
    if last < first or last - first > timedelta(days=800):
        raise field_error("to", "must be on or after from, and at most 800 days later")
    return [ExceptionOut.model_validate(e) for e in schedules.list_exceptions(session, therapist_id, first, last)]


@router.post(SCHEDULE + "/exceptions", status_code=201, response_model=ExceptionOut,
             operation_id="addScheduleException", summary="Add a day off, part-day off, or extra hours",
             description="Existing appointments are not touched: the day sheet shows them for rebooking.",
             responses=problem_responses(401, 403, 422))
def add_exception(session: SessionDep, actor: SchedulesWriter, therapist_id: uuid.UUID, body: ExceptionIn
                  ) -> ExceptionOut:
    return ExceptionOut.model_validate(schedules.add_exception(session, actor, therapist_id, body))


@router.delete(SCHEDULE + "/exceptions/{exception_id}", status_code=204, operation_id="deleteScheduleException",
               summary="Remove a schedule exception", responses=problem_responses(401, 403, 404))
def delete_exception(session: SessionDep, actor: SchedulesWriter, therapist_id: uuid.UUID, exception_id: uuid.UUID
                     ) -> Response:
    schedules.delete_exception(session, actor, therapist_id, exception_id)
    return Response(status_code=204)
