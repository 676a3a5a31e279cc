"""A patient's complete record for an access request or a transfer: every revision and the audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.guards import PatientExporter
from app.db import SessionDep
from app.fhir import compartment
from app.kit import audit
from app.kit.errors import problem_responses
from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.enums import RecordStatus
from app.patients import service as patients
from app.records import patient as patient_record
from app.treatments import service as treatments
from app.treatments.safety import SafetyContext

router = APIRouter(prefix="/api/v1", tags=["exports"])
EXPORT_SCHEMA_VERSION = 1


def row(obj: Base, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A model row as plain JSON-able data (every column: nothing is left out of an access request)."""
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:  # type: ignore[attr-defined]
        if column.key in exclude:
            continue
        value = getattr(obj, column.key)
        out[column.key] = value.isoformat() if hasattr(value, "isoformat") else \
            str(value) if value is not None and type(value).__name__ == "UUID" else value
    return out


def record_json(session: Session, record: patient_record.PatientRecord) -> dict[str, Any]:
    trail = session.scalars(select(AuditEvent).where(AuditEvent.patient_id == record.patient.id)
                            .order_by(AuditEvent.occurred_at, AuditEvent.id)).all()
    return {
        "schema_version": EXPORT_SCHEMA_VERSION, "exported_at": utcnow().isoformat(),
        "patient": row(record.patient, exclude=("family_name_norm", "given_name_norm", "chart_number_norm",
                                                "phone_digits")),
        "consents": [row(x) for x in record.consents], "screenings": [row(x) for x in record.screenings],
        "episodes": [row(x) for x in record.episodes], "assessments": [row(x) for x in record.assessments],
        "treatments": [row(x) for x in record.treatments], "outcomes": [row(x) for x in record.outcomes],
        "revisions": [row(x) for x in record.revisions],
        "appointments": [row(x) for x in record.appointments],
        "staff": [row(u, exclude=("password_hash",)) for u in record.staff],
        "audit_trail": [row(e, exclude=("chain", "seq", "prev_hash", "hash")) for e in trail],
    }


@router.get("/patients/{patient_id}/export", operation_id="exportPatientRecord",
            summary="A patient's complete record: JSON (with the audit trail), a FHIR R4 Bundle, or a PDF chart",
            responses={200: {"content": {"application/json": {}, "application/fhir+json": {}, "application/pdf": {}},
                             "description": "The record"}, **problem_responses(401, 403, 404, 422)})
def export_patient(request: Request, session: SessionDep,
                   actor: PatientExporter, patient_id: uuid.UUID,
                   format: Annotated[Literal["json", "fhir", "pdf"], Query()] = "json") -> Response:
    """Admin: any patient. Therapist: the patients on whose care team they are (app.access.policy, checked by
    `Authorize` for the patient in the path); others 403."""
    patient = patients.get(session, patient_id)
    record = patient_record.load(session, patient)
    audit.record(session, actor, "export", resource_type="Patient", resource_id=patient.id, patient_id=patient.id,
                 detail={"format": format, "episodes": len(record.episodes), "consents": len(record.consents),
                         "screenings": len(record.screenings), "assessments": len(record.assessments),
                         "treatments": len(record.treatments), "outcomes": len(record.outcomes),
                         "revisions": len(record.revisions), "appointments": len(record.appointments)})
    filename = f"patient-{patient.chart_number}.{'fhir.json' if format == 'fhir' else format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    if format == "pdf":
        from app.clinic import service as clinic
        from app.exports.pdf import render
        from app.reference.service import catalog

        context = SafetyContext.load(session, patient.id)
        sessions = {t.id: treatments.to_out(session, t, context) for t in record.treatments
                    if t.status == RecordStatus.SIGNED}
        return Response(render(record, clinic.get(session), catalog(session), sessions),
                        media_type="application/pdf", headers=headers)
    if format == "fhir":
        base = str(request.base_url).rstrip("/") + "/fhir"
        body = compartment.bundle(compartment.fhir_resources(session, record), "collection", base)
        return JSONResponse(body, media_type="application/fhir+json", headers=headers)
    return JSONResponse(record_json(session, record), headers=headers)
