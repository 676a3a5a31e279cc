"""Reading the book: filtered pages of appointments, the unsigned-notes worklist, a patient's visits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.appointments import service
from app.appointments.enums import AppointmentStatus
from app.appointments.schemas import Visit, VisitNote
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import field_error
from app.kit.pagination import PageParams, paginate
from app.models.appointment import Appointment
from app.models.base import utcnow
from app.models.clinical import Assessment
from app.models.enums import RecordStatus
from app.models.treatment import Treatment


def search(session: Session, actor: Actor, params: PageParams, *, therapist_id: uuid.UUID | None,
           patient_id: uuid.UUID | None, start_from: datetime | None, start_to: datetime | None,
           status: AppointmentStatus | None) -> tuple[list[Appointment], str | None]:
    if start_from and start_to and start_to <= start_from:
        raise field_error("to", "must be after from")
    stmt = select(Appointment)
    if therapist_id:
        stmt = stmt.where(Appointment.therapist_id == therapist_id)
    if patient_id:
        stmt = stmt.where(Appointment.patient_id == patient_id)
    if start_from:
        stmt = stmt.where(Appointment.start_at >= start_from)
    if start_to:
        stmt = stmt.where(Appointment.start_at < start_to)
    if status:
        stmt = stmt.where(Appointment.status == status)
    rows, cursor = paginate(session, stmt, [Appointment.start_at, Appointment.id], params)
    audit.record(session, actor, "search", resource_type="Appointment", patient_id=patient_id,
                 detail={"therapist_id": str(therapist_id) if therapist_id else None,
                         "result_ids": [str(a.id) for a in rows]})
    return rows, cursor


def _signed_note_for(model: type[Assessment] | type[Treatment]) -> object:
    return exists().where(model.appointment_id == Appointment.id, model.status == RecordStatus.SIGNED)


def unsigned(session: Session, actor: Actor, params: PageParams, therapist_id: uuid.UUID | None
             ) -> tuple[list[Appointment], str | None]:
    """Visits completed in IMS Chart with no signed assessment or treatment naming them: oldest first. Visits
    imported as completed from another system (`imported_at` set) were documented there and are not listed."""
    stmt = select(Appointment).where(Appointment.status == AppointmentStatus.COMPLETED,
                                     Appointment.imported_at.is_(None),
                                     ~_signed_note_for(Assessment), ~_signed_note_for(Treatment))  # type: ignore[operator]
    if therapist_id:
        stmt = stmt.where(Appointment.therapist_id == therapist_id)
    rows, cursor = paginate(session, stmt, [Appointment.start_at, Appointment.id], params)
    audit.record(session, actor, "search", resource_type="Appointment",
                 detail={"worklist": "unsigned-notes", "therapist_id": str(therapist_id) if therapist_id else None,
                         "result_ids": [str(a.id) for a in rows]})
    return rows, cursor


def visits(session: Session, patient_id: uuid.UUID, limit: int) -> tuple[list[Visit], list[Visit]]:
    """The chart's (upcoming, past) visits, each with its notes: four queries whatever the history."""
    upcoming, past = for_patient(session, patient_id, limit)
    notes = notes_for(session, [a.id for a in (*upcoming, *past)])

    def render(rows: Sequence[Appointment]) -> list[Visit]:
        return [Visit(**out.model_dump(),
                      notes=[VisitNote(kind=k, id=i, status=s) for k, i, s in notes.get(out.id, [])])
                for out in service.to_out(session, rows)]

    return render(upcoming), render(past)


def for_patient(session: Session, patient_id: uuid.UUID, limit: int) -> tuple[Sequence[Appointment],
                                                                               Sequence[Appointment]]:
    """(upcoming soonest first, past most recent first), `limit` each."""
    now = utcnow()
    upcoming = session.scalars(select(Appointment).where(Appointment.patient_id == patient_id,
                                                         Appointment.start_at >= now)
                               .order_by(Appointment.start_at, Appointment.id).limit(limit)).all()
    past = session.scalars(select(Appointment).where(Appointment.patient_id == patient_id,
                                                     Appointment.start_at < now)
                           .order_by(Appointment.start_at.desc(), Appointment.id.desc()).limit(limit)).all()
    return upcoming, past


def notes_for(session: Session, appointment_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, uuid.UUID,
                                                                                                 str]]]:
    """appointment id -> [(kind, note id, status)] of the assessments and treatments naming it."""
    out: dict[uuid.UUID, list[tuple[str, uuid.UUID, str]]] = {}
    if not appointment_ids:
        return out
    for kind, model in (("assessment", Assessment), ("treatment", Treatment)):
        rows = session.execute(select(model.appointment_id, model.id, model.status).where(
            model.appointment_id.in_(list(appointment_ids)), model.status != RecordStatus.DISCARDED))
        for appt_id, note_id, status in rows:
            if appt_id is not None:
                out.setdefault(appt_id, []).append((kind, note_id, status))
    return out
