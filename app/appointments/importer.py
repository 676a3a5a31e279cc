"""Appointments from another practice system's CSV export (dry run first, like patients).

One row per visit; headers are matched case- and space-insensitively with the usual synonyms. The
patient is found by chart number, the therapist by e-mail, the type by name; the start is an ISO
date-time, or a date and a time of day in the clinic's zone. History comes as it was: past visits may
be completed, cancelled or no-shows, and hours are not enforced (a visit outside them is flagged
`outside_hours`), but a visit that would double-book a therapist is refused. A real run books every
row or, when any row is invalid, nothing.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.appointments import schedules, service
from app.appointments.enums import AppointmentStatus
from app.imports.sources import decode
from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import FieldError, Unprocessable, field_error
from app.kit.events import EventType, announce
from app.models.appointment import HOLDING_STATUSES, Appointment, AppointmentType
from app.models.base import new_id, utcnow
from app.models.patient import Patient
from app.models.user import User
from app.patients.identifiers import fold

SYNONYMS = {
    "chart_number": ("chart_number", "chart", "chart_no", "mrn", "patient_number", "patient_id", "file_number"),
    "therapist_email": ("therapist_email", "practitioner_email", "provider_email", "therapist", "practitioner",
                        "provider", "staff_email"),
    "type": ("type", "appointment_type", "service", "treatment_type", "visit_type"),
    "start": ("start", "start_time", "starts_at", "datetime", "appointment_start"),
    "date": ("date", "appointment_date", "day"),
    "time": ("time", "appointment_time", "start_clock"),
    "duration": ("duration", "duration_minutes", "minutes", "length"),
    "status": ("status", "appointment_status", "state"),
    "notes": ("notes", "note", "front_desk_notes", "comments", "comment"),
    "cancel_reason": ("cancel_reason", "cancellation_reason", "reason"),
}
STATUSES = {"booked": "booked", "scheduled": "booked", "confirmed": "booked", "arrived": "arrived",
            "completed": "completed", "attended": "completed", "done": "completed", "cancelled": "cancelled",
            "canceled": "cancelled", "no_show": "no_show", "noshow": "no_show", "dna": "no_show",
            "did_not_attend": "no_show"}


class AppointmentImportRow(BaseModel):
    row: int
    source: str
    status: str = Field(description="accepted | created | invalid")
    appointment_id: uuid.UUID | None = None
    errors: list[FieldError] = Field(default_factory=list)


class AppointmentImportReport(BaseModel):
    dry_run: bool
    total: int
    accepted: int
    created: int
    invalid: int
    ignored_columns: list[str]
    rows: list[AppointmentImportRow]


def _fold(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def _columns(headers: list[str]) -> tuple[dict[str, int], list[str]]:
    found: dict[str, int] = {}
    ignored = []
    for position, header in enumerate(headers):
        name = next((f for f, names in SYNONYMS.items() if _fold(header) in names), None)
        if name is None:
            ignored.append(header)
        elif name not in found:
            found[name] = position
    return found, ignored


def _start(v: dict[str, str], zone: Any) -> datetime:
    if v.get("start"):
        moment = datetime.fromisoformat(v["start"].replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    if not (v.get("date") and v.get("time")):
        raise ValueError("give start, or date and time")
    return datetime.combine(date.fromisoformat(v["date"]), time.fromisoformat(v["time"]), tzinfo=zone)


def import_csv(session: Session, actor: Actor, raw: bytes, *, dry_run: bool) -> AppointmentImportReport:
    text = decode(raw)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    headers = next(reader, None) or []
    columns, ignored = _columns(headers)
    missing = [f for f in ("chart_number", "therapist_email", "type") if f not in columns]
    if missing or ("start" not in columns and not {"date", "time"} <= set(columns)):
        raise field_error("file", f"the CSV needs columns for chart number, therapist e-mail, type and start (or "
                                  f"date and time); headers found: {', '.join(headers) or 'none'}")
    zone = schedules.zone(session)
    kinds = {t.name.lower(): t for t in session.scalars(select(AppointmentType))}
    rows: list[AppointmentImportRow] = []
    built: list[tuple[AppointmentImportRow, Appointment]] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        v = {name: cells[pos].strip() if pos < len(cells) else "" for name, pos in columns.items()}
        report = AppointmentImportRow(row=len(rows), source=f"line {reader.line_num}", status="accepted")
        rows.append(report)
        appt = _build(session, actor, v, zone, kinds, report.errors)
        if appt is None:
            report.status = "invalid"
        else:
            built.append((report, appt))
    if not dry_run:  # the same per-therapist locks as booking, in a fixed order, before the overlap checks
        for therapist_id in sorted({a.therapist_id for _, a in built}):
            service.lock_therapist(session, therapist_id)
    planned: list[Appointment] = []
    for report, appt in built:
        if appt.status in HOLDING_STATUSES:
            other = service.conflict(session, appt.therapist_id, appt.start_at, appt.blocked_until) or next(
                (p for p in planned if p.status in HOLDING_STATUSES and p.therapist_id == appt.therapist_id
                 and p.start_at < appt.blocked_until and p.blocked_until > appt.start_at), None)
            if other is not None:
                report.status = "invalid"
                report.errors.append(FieldError(field="start", message=f"overlaps appointment {other.id}"))
                continue
        report.appointment_id = appt.id
        planned.append(appt)
    invalid = [r for r in rows if r.status == "invalid"]
    if not dry_run and invalid:
        raise Unprocessable(f"{len(invalid)} of {len(rows)} rows are invalid; nothing was imported",
                            errors=[FieldError(field=f"{r.source}.{e.field}", message=e.message)
                                    for r in invalid for e in r.errors][:50])
    if not dry_run:
        session.add_all(planned)
        session.flush()
        for appt, report in zip(planned, [r for r in rows if r.status == "accepted"], strict=True):
            report.status = "created"
            audit.record(session, actor, "book", resource_type="Appointment", resource_id=appt.id,
                         patient_id=appt.patient_id, resource_version=appt.version, detail={"import": report.source})
            announce(session, EventType.APPOINTMENT_BOOKED, appt)
    audit.record(session, actor, "import", resource_type="Appointment",
                 detail={"dry_run": dry_run, "rows": len(rows), "invalid": len(invalid)})
    return AppointmentImportReport(dry_run=dry_run, total=len(rows), accepted=len(planned),
                                   created=0 if dry_run else len(planned), invalid=len(invalid),
                                   ignored_columns=ignored, rows=rows)


def _build(session: Session, actor: Actor, v: dict[str, str], zone: Any, kinds: dict[str, AppointmentType],
           errors: list[FieldError]) -> Appointment | None:
    patient = session.scalar(select(Patient).where(Patient.chart_number_norm == fold(v["chart_number"])))
    if patient is None:
        errors.append(FieldError(field="chart_number", message="no patient with this chart number"))
    therapist = session.scalar(select(User).where(func.lower(User.email) == v["therapist_email"].lower(),
                                                  User.role.in_(schedules.BOOKABLE_ROLES)))
    if therapist is None:
        errors.append(FieldError(field="therapist_email", message="no therapist with this e-mail"))
    kind = kinds.get(v["type"].lower())
    if kind is None:
        errors.append(FieldError(field="type", message=f"unknown type; use one of {sorted(kinds)}"))
    try:
        start = _start(v, zone)
    except ValueError as exc:
        errors.append(FieldError(field="start", message=f"not a date and time: {exc}"))
        start = None
    status = STATUSES.get(_fold(v.get("status") or "booked"))
    if status is None:
        errors.append(FieldError(field="status", message=f"unknown status; use one of {sorted(set(STATUSES))}"))
    if len(v.get("notes") or "") > 1000:
        errors.append(FieldError(field="notes", message="at most 1000 characters"))
    minutes = None
    if v.get("duration"):
        minutes = int(v["duration"]) if v["duration"].isdigit() and 5 <= int(v["duration"]) <= 480 else None
        if minutes is None:
            errors.append(FieldError(field="duration", message="whole minutes between 5 and 480"))
    if errors or patient is None or therapist is None or kind is None or start is None or status is None:
        return None
    end = start + timedelta(minutes=minutes or kind.duration_minutes)
    now = utcnow()
    appt = Appointment(id=new_id(), patient_id=patient.id, therapist_id=therapist.id, type_id=kind.id,
                       start_at=start, end_at=end, blocked_until=end + timedelta(minutes=kind.buffer_after_minutes),
                       status=status, front_desk_notes=(v.get("notes") or None), created_by=actor.id,
                       created_by_type=actor.type, late_cancellation=False, sequence=0, imported_at=now,
                       outside_hours=not schedules.Calendar(session, therapist.id, start, end).covers(start, end))
    if status == AppointmentStatus.CANCELLED:
        appt.cancelled_at, appt.cancelled_by = now, "clinic"
        appt.cancel_reason = (v.get("cancel_reason") or "imported as cancelled")[:500]
    elif status == AppointmentStatus.COMPLETED:
        appt.completed_at = end
    elif status == AppointmentStatus.NO_SHOW:
        appt.no_show_at = end
    elif status == AppointmentStatus.ARRIVED:
        appt.arrived_at = start
    return appt
