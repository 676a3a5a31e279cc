"""`/api/v1/appointments`: book, read, move, the status lifecycle, weekly courses; the unsigned-notes worklist.

Reception books and manages every therapist's visits, a therapist their own, an auditor reads; API
keys need appointments:read / appointments:write. Every read and write is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from app.appointments import importer, queries, series, service
from app.appointments.enums import AppointmentStatus, Scope
from app.appointments.schemas import (
    AppointmentCreate,
    AppointmentOut,
    AppointmentUpdate,
    CancelIn,
    ScopedResult,
    SeriesCreate,
    SeriesOut,
    UnsignedVisit,
)
from app.auth.guards import AppointmentsReader, AppointmentsWriter, ClinicalReader, PatientsImporter
from app.db import SessionDep
from app.kit.actor import Actor
from app.kit.errors import field_error, problem_responses
from app.kit.etag import IfMatch, set_etag
from app.kit.pagination import Page, PageParamsDep

router = APIRouter(prefix="/api/v1/appointments", tags=["appointment book"])
worklists = APIRouter(prefix="/api/v1/worklists", tags=["appointment book"])
ScopeQuery = Annotated[Scope, Query(description="`this` occurrence, or `following`: it and the rest of its course")]


def _one(session: SessionDep, response: Response, appt: object, warnings: list | None = None) -> AppointmentOut:
    [out] = service.to_out(session, [appt], warnings)  # type: ignore[list-item]
    set_etag(response, out.version)
    return out


@router.post("", status_code=201, response_model=AppointmentOut, operation_id="bookAppointment",
             summary="Book an appointment",
             description="409 naming the conflicting appointment when the therapist is already booked (guaranteed "
             "under concurrency), or outside their working hours unless `override_hours` (audited). An IMS-type "
             "booking for a patient without IMS consent on file succeeds with a warning.",
             responses=problem_responses(401, 403, 404, 409, 422))
def book(session: SessionDep, actor: AppointmentsWriter, body: AppointmentCreate, response: Response) -> AppointmentOut:
    appt, warnings = service.book(session, actor, body)
    response.headers["Location"] = f"/api/v1/appointments/{appt.id}"
    return _one(session, response, appt, warnings)


@router.get("", response_model=Page[AppointmentOut], operation_id="listAppointments",
            summary="Appointments by start time, filtered by therapist, patient, time range and status",
            responses=problem_responses(401, 403, 422))
def list_appointments(session: SessionDep, actor: AppointmentsReader, page: PageParamsDep,
                      therapist: uuid.UUID | None = None, patient: uuid.UUID | None = None,
                      from_: Annotated[datetime | None, Query(alias="from", description="Start at or after")] = None,
                      to: Annotated[datetime | None, Query(description="Start before")] = None,
                      status: AppointmentStatus | None = None) -> Page[AppointmentOut]:
    rows, cursor = queries.search(session, actor, page, therapist_id=therapist, patient_id=patient,
                                  start_from=_aware(from_, "from"), start_to=_aware(to, "to"), status=status)
    return Page(items=service.to_out(session, rows), next_cursor=cursor)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise field_error(field, "give a time zone offset, e.g. 2026-12-01T00:00:00-05:00")
    return value


@router.post("/series", status_code=201, response_model=SeriesOut, operation_id="bookSeries",
             summary="Book a weekly course (RRULE subset), skipping and reporting occurrences that cannot be booked",
             description="`dry_run` reports without booking (200). 409 when no occurrence can be booked.",
             responses=problem_responses(401, 403, 404, 409, 422))
def book_series(session: SessionDep, actor: AppointmentsWriter, body: SeriesCreate, response: Response) -> SeriesOut:
    series_id, booked, skipped, warnings = series.book_series(session, actor, body)
    if body.dry_run:
        response.status_code = 200
    return SeriesOut(series_id=series_id, rrule=body.rrule, dry_run=body.dry_run,
                     booked=service.to_out(session, booked, warnings), skipped=skipped)


@router.get("/{appointment_id}", response_model=AppointmentOut, operation_id="getAppointment",
            summary="Read an appointment (times in the clinic's zone)", responses=problem_responses(401, 403, 404))
def get_appointment(session: SessionDep, actor: AppointmentsReader, appointment_id: uuid.UUID, response: Response
                    ) -> AppointmentOut:
    return _one(session, response, service.read(session, actor, appointment_id))


@router.patch("/{appointment_id}", response_model=ScopedResult, operation_id="updateAppointment",
              summary="Move a booked visit or edit its front-desk notes; `scope=following` moves the rest of "
              "its course too", responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
def update_appointment(session: SessionDep, actor: AppointmentsWriter, appointment_id: uuid.UUID,
                       body: AppointmentUpdate, expected: IfMatch, response: Response,
                       scope: ScopeQuery = Scope.THIS) -> ScopedResult:
    appt = service.get(session, appointment_id)
    if scope == Scope.FOLLOWING and appt.series_id is not None:
        moved = series.move_following(session, actor, appt, body, expected)
    else:
        moved = [service.update(session, actor, appt, body, expected)]
    set_etag(response, appt.version)
    return ScopedResult(scope=scope, items=service.to_out(session, moved))


def _step(session: SessionDep, actor: Actor, appointment_id: uuid.UUID, to: AppointmentStatus, expected: int,
          response: Response) -> AppointmentOut:
    appt = service.transition(session, actor, service.get(session, appointment_id), to, expected)
    return _one(session, response, appt)


@router.post("/{appointment_id}/arrive", response_model=AppointmentOut, operation_id="arriveAppointment",
             summary="The patient has arrived", responses=problem_responses(401, 403, 404, 409, 412, 428))
def arrive(session: SessionDep, actor: AppointmentsWriter, appointment_id: uuid.UUID, expected: IfMatch,
           response: Response) -> AppointmentOut:
    return _step(session, actor, appointment_id, AppointmentStatus.ARRIVED, expected, response)


@router.post("/{appointment_id}/complete", response_model=AppointmentOut, operation_id="completeAppointment",
             summary="The visit took place",
             description="Until a signed assessment or treatment names this appointment, it is on the therapist's "
             "unsigned-notes worklist.", responses=problem_responses(401, 403, 404, 409, 412, 428))
def complete(session: SessionDep, actor: AppointmentsWriter, appointment_id: uuid.UUID, expected: IfMatch,
             response: Response) -> AppointmentOut:
    return _step(session, actor, appointment_id, AppointmentStatus.COMPLETED, expected, response)


@router.post("/{appointment_id}/no-show", response_model=AppointmentOut, operation_id="noShowAppointment",
             summary="The patient did not come (kept on the record)",
             responses=problem_responses(401, 403, 404, 409, 412, 428))
def no_show(session: SessionDep, actor: AppointmentsWriter, appointment_id: uuid.UUID, expected: IfMatch,
            response: Response) -> AppointmentOut:
    return _step(session, actor, appointment_id, AppointmentStatus.NO_SHOW, expected, response)


@router.post("/{appointment_id}/cancel", response_model=ScopedResult, operation_id="cancelAppointment",
             summary="Cancel a visit, or it and the following ones of its course",
             description="A patient's cancellation inside the clinic's `late_cancellation_hours` is flagged late.",
             responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
def cancel(session: SessionDep, actor: AppointmentsWriter, appointment_id: uuid.UUID, body: CancelIn, expected: IfMatch,
           response: Response, scope: ScopeQuery = Scope.THIS) -> ScopedResult:
    appt = service.get(session, appointment_id)
    done = series.cancel_following(session, actor, appt, body, scope, expected)
    set_etag(response, appt.version)
    return ScopedResult(scope=scope, items=service.to_out(session, done))


@worklists.get("/unsigned-notes", response_model=Page[UnsignedVisit], operation_id="unsignedNotes",
               summary="Completed visits without a signed note (a therapist sees their own)",
               responses=problem_responses(401, 403, 422))
def unsigned_notes(session: SessionDep, actor: ClinicalReader, page: PageParamsDep,
                   therapist: uuid.UUID | None = None) -> Page[UnsignedVisit]:
    if actor.role == "therapist":
        therapist = actor.id
    rows, cursor = queries.unsigned(session, actor, page, therapist)
    return Page(items=[UnsignedVisit(appointment=o, reason="completed without a signed assessment or treatment")
                       for o in service.to_out(session, rows)], next_cursor=cursor)


imports = APIRouter(prefix="/api/v1/imports", tags=["imports"])


@imports.post("/appointments", response_model=importer.AppointmentImportReport, operation_id="importAppointments",
              summary="Import appointments from another system's CSV export (admin)",
              description="Columns: chart number, therapist e-mail, type name, and `start` (ISO) or `date` + `time` "
              "(clinic time); optional duration, status (booked/completed/cancelled/no-show...), notes. "
              "`dry_run=true` reports row by row; a real run books every row or, if any is invalid, nothing (422).",
              responses={**problem_responses(401, 403, 413, 422),
                         201: {"model": importer.AppointmentImportReport, "description": "Imported"}})
def import_appointments(
    session: SessionDep, actor: PatientsImporter, response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-1252; comma, semicolon or tab)")],
    dry_run: Annotated[bool, Query(description="Report only; book nothing")] = False,
) -> importer.AppointmentImportReport:
    report = importer.import_csv(session, actor, file.file.read(), dry_run=dry_run)
    response.status_code = 200 if dry_run else 201
    return report
