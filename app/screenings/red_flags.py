"""Red flags recorded in an assessment's history: shown on the chart, and they block signing a treatment
until a clinician acknowledges them (an append-only, audited acknowledgement saying what was done).

Blocking: cauda equina signs, suspected malignancy, a progressive neurological deficit. The other red flags
(night pain, weight loss, fever, trauma, history of cancer) are shown but do not block.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.guards import ClinicalReader, ClinicalWriter
from app.db import SessionDep
from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.errors import Conflict, FieldError, field_error, problem_responses
from app.models.clinical import Assessment
from app.models.enums import RecordStatus
from app.models.patient import Patient
from app.models.treatment import RedFlagAcknowledgement
from app.patients import service as patients

RECENT_ASSESSMENTS = 500  # a bound on the query; a chart holds far fewer assessments
BLOCKING = ("cauda_equina_symptoms", "suspected_malignancy", "progressive_neurological_deficit")
SHOWN = ("cauda_equina_symptoms", "suspected_malignancy", "progressive_neurological_deficit", "history_of_cancer",
         "unexplained_weight_loss", "night_pain", "fever_or_infection", "significant_trauma")
Flag = Literal["cauda_equina_symptoms", "suspected_malignancy", "progressive_neurological_deficit",
               "history_of_cancer", "unexplained_weight_loss", "night_pain", "fever_or_infection",
               "significant_trauma"]


class AcknowledgementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    assessment_id: uuid.UUID
    flags: list[Flag] = Field(min_length=1, description="The red flags of that assessment being acknowledged")
    action: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)] = Field(
        description="What was done, e.g. 'urgent referral to ED for cauda equina assessment'")


class AcknowledgementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    patient_id: uuid.UUID
    assessment_id: uuid.UUID
    flags: list[str]
    action: str
    acknowledged_by: uuid.UUID
    acknowledged_at: datetime


class RedFlagsOut(BaseModel):
    assessment_id: uuid.UUID
    assessed_at: datetime
    flags: list[str] = Field(description="Red flags recorded as present in this assessment")
    blocking: list[str] = Field(description="Those that block signing a treatment until acknowledged")
    acknowledged: list[str]
    outstanding: list[str] = Field(description="Blocking flags not yet acknowledged")
    notes: str | None


def for_patient(session: Session, patient_id: uuid.UUID) -> list[RedFlagsOut]:
    """Every non-discarded assessment that records a red flag, newest first, with its acknowledgements.

    Only each assessment's `subjective.red_flags` is read, extracted by the database: the chart and every
    signing ask this, and decoding whole assessments (the segmental exam of every level) to read one small
    object cost them in proportion to the patient's history."""
    assessments = session.execute(
        select(Assessment.id, Assessment.assessed_at, Assessment.content[("subjective", "red_flags")])
        .where(Assessment.patient_id == patient_id, Assessment.status != RecordStatus.DISCARDED)
        .order_by(Assessment.assessed_at.desc(), Assessment.id.desc()).limit(RECENT_ASSESSMENTS)).all()
    acks = session.scalars(select(RedFlagAcknowledgement)
                           .where(RedFlagAcknowledgement.patient_id == patient_id)).all()
    acked: dict[uuid.UUID, set[str]] = {}
    for ack in acks:
        acked.setdefault(ack.assessment_id, set()).update(ack.flags)
    out = []
    for assessment_id, assessed_at, red_flags in assessments:
        recorded = red_flags if isinstance(red_flags, dict) else {}
        flags = [f for f in SHOWN if recorded.get(f) is True]
        if not flags:
            continue
        done = acked.get(assessment_id, set())
        blocking = [f for f in flags if f in BLOCKING]
        out.append(RedFlagsOut(assessment_id=assessment_id, assessed_at=assessed_at, flags=flags, blocking=blocking,
                               acknowledged=[f for f in flags if f in done],
                               outstanding=[f for f in blocking if f not in done], notes=recorded.get("notes")))
    return out


def outstanding_problems(session: Session, patient_id: uuid.UUID) -> list[FieldError]:
    return [FieldError(field="red_flags", message=(
        f"red flag(s) {', '.join(r.outstanding)} recorded in assessment {r.assessment_id} are not acknowledged: "
        "acknowledge them (POST /api/v1/patients/{id}/red-flags/acknowledgements) before signing"))
        for r in for_patient(session, patient_id) if r.outstanding]


def acknowledge(session: Session, actor: Actor, patient: Patient, data: AcknowledgementCreate
                ) -> RedFlagAcknowledgement:
    by = clinical_record.accountable(session, actor, "create", "RedFlagAcknowledgement", patient.id)
    assessment = session.get(Assessment, data.assessment_id)
    if assessment is None or assessment.patient_id != patient.id:
        raise field_error("assessment_id", "no such assessment for this patient")
    recorded = next((r for r in for_patient(session, patient.id) if r.assessment_id == assessment.id), None)
    missing = [f for f in data.flags if recorded is None or f not in recorded.flags]
    if missing:
        raise Conflict(f"assessment {assessment.id} does not record {', '.join(missing)}",
                       errors=[FieldError(field="flags", message=f"not recorded: {', '.join(missing)}")])
    ack = RedFlagAcknowledgement(patient_id=patient.id, assessment_id=assessment.id, flags=sorted(set(data.flags)),
                                 action=data.action, acknowledged_by=by)
    session.add(ack)
    session.flush()
    audit.record(session, actor, "create", resource_type="RedFlagAcknowledgement", resource_id=ack.id,
                 patient_id=patient.id, resource_version=1, detail={"assessment_id": str(assessment.id),
                                                                    "flags": ack.flags})
    return ack


router = APIRouter(prefix="/api/v1/patients/{patient_id}/red-flags", tags=["screenings"])


@router.get("", response_model=list[RedFlagsOut], operation_id="listRedFlags",
            summary="Red flags recorded in the patient's assessments, and which still block signing",
            responses=problem_responses(401, 403, 404))
def list_red_flags(session: SessionDep, actor: ClinicalReader, patient_id: uuid.UUID) -> Sequence[RedFlagsOut]:
    patient = patients.get(session, patient_id)
    rows = for_patient(session, patient.id)
    audit.record(session, actor, "search", resource_type="RedFlags", patient_id=patient.id,
                 detail={"assessment_ids": [str(r.assessment_id) for r in rows]})
    return rows


@router.post("/acknowledgements", status_code=201, response_model=AcknowledgementOut,
             operation_id="acknowledgeRedFlags", summary="Acknowledge an assessment's red flags and say what was done",
             description="By a signed-in clinician (an API client gets 403); 409 when the assessment does not "
                         "record a flag given.", responses=problem_responses(401, 403, 404, 409, 422))
def acknowledge_red_flags(session: SessionDep, actor: ClinicalWriter, patient_id: uuid.UUID,
                          body: AcknowledgementCreate, response: Response) -> AcknowledgementOut:
    ack = acknowledge(session, actor, patients.get(session, patient_id), body)
    response.headers["Location"] = f"/api/v1/patients/{patient_id}/red-flags"
    return AcknowledgementOut.model_validate(ack)
