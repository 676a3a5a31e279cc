"""FHIR R4 Appointment for a visit: in the patient's compartment, so read, search and $everything carry it.

A cancellation or a no-show stays in the record (status `cancelled` / `noshow`, with the reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.appointments import types
from app.models.appointment import Appointment

STATUS = {"booked": "booked", "arrived": "arrived", "completed": "fulfilled", "cancelled": "cancelled",
          "no_show": "noshow"}


def resources(session: Session, appts: Sequence[Appointment]) -> list[dict[str, Any]]:
    kinds = types.by_id(session, {a.type_id for a in appts})
    out: list[dict[str, Any]] = []
    for a in appts:
        resource: dict[str, Any] = {
            "resourceType": "Appointment", "id": str(a.id),
            "meta": {"lastUpdated": a.updated_at.isoformat(), "versionId": str(a.version)},
            "status": STATUS[a.status],
            "serviceType": [{"text": kinds[a.type_id].name}],
            "start": a.start_at.isoformat(), "end": a.end_at.isoformat(),
            "minutesDuration": int((a.end_at - a.start_at).total_seconds() // 60),
            "created": a.created_at.isoformat(),
            "participant": [
                {"actor": {"reference": f"Patient/{a.patient_id}"}, "required": "required", "status": "accepted"},
                {"actor": {"reference": f"Practitioner/{a.therapist_id}"}, "required": "required",
                 "status": "accepted"}],
        }
        if a.status == "cancelled":
            by = "patient" if a.cancelled_by == "patient" else "clinic"
            resource["cancelationReason"] = {"text": f"{a.cancel_reason} (cancelled by the {by}"
                                                     f"{', late' if a.late_cancellation else ''})"}
        if a.front_desk_notes:
            resource["comment"] = a.front_desk_notes
        out.append(resource)
    return out
