"""Assessment rules: the episode must be the patient's and open, content checked against anatomy,
and the shared clinical-record lifecycle for edit, sign, amend and discard."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import service as appointments
from app.assessments.gunn_exam import EXAM_LISTS
from app.assessments.schemas import (
    AmendmentCreate,
    AssessmentContent,
    AssessmentCreate,
    AssessmentOut,
    AssessmentUpdate,
    ContentWarning,
)
from app.assessments.validation import check_content
from app.episodes import service as episodes
from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.errors import Conflict, FieldError, NotFound, Unprocessable, field_error, loc_to_field
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams, paginate
from app.models.base import utcnow
from app.models.clinical import Assessment
from app.models.patient import Patient
from app.reference.service import catalog

RECORD_TYPE, LABEL = "assessment", "assessment"
_CLOCK_SKEW = timedelta(minutes=5)


def get(session: Session, assessment_id: uuid.UUID) -> Assessment:
    found = session.get(Assessment, assessment_id)
    if found is None:
        raise NotFound(f"No assessment {assessment_id}")
    return found


def read(session: Session, actor: Actor, assessment_id: uuid.UUID, action: str = "read") -> Assessment:
    assessment = get(session, assessment_id)
    _audit(session, actor, action, assessment)
    return assessment


def content_of(assessment: Assessment) -> AssessmentContent:
    return AssessmentContent.model_validate(assessment.content)


def to_out(session: Session, assessment: Assessment) -> AssessmentOut:
    content = content_of(assessment)
    warnings = _warnings(session, content)
    fields = {name: getattr(assessment, name) for name in (
        "id", "patient_id", "episode_id", "appointment_id", "author_id", "status", "signed_at", "signed_by",
        "content_hash",
        "revision", "version", "created_at", "updated_at", "discarded_at")}
    return AssessmentOut(**content.model_dump(), **{k: v for k, v in fields.items() if k != "assessed_at"},
                         warnings=warnings)


def create(session: Session, actor: Actor, patient: Patient, data: AssessmentCreate) -> Assessment:
    author_id = clinical_record.accountable(session, actor, "create", "Assessment", patient.id)
    episode = episodes.get(session, data.episode_id)
    if episode.patient_id != patient.id:
        raise field_error("episode_id", "this episode belongs to another patient")
    if episode.status != "open":
        raise Conflict("The episode is discharged; open a new episode (or reopen it) before assessing")
    appointment_id = appointments.linkable(session, patient.id, data.appointment_id)
    values = data.model_dump(exclude={"episode_id", "appointment_id"})
    values["assessed_at"] = data.assessed_at or utcnow()
    content = _checked(session, values)
    assessment = Assessment(patient_id=patient.id, episode_id=episode.id, appointment_id=appointment_id,
                            author_id=author_id, status="draft",
                            assessed_at=content.assessed_at, content=content.model_dump(mode="json"), revision=0)
    session.add(assessment)
    session.flush()
    _audit(session, actor, "create", assessment)
    announce(session, EventType.ASSESSMENT_CREATED, assessment)
    return assessment


def update_draft(session: Session, actor: Actor, assessment: Assessment, data: AssessmentUpdate,
                 expected_version: int | None) -> Assessment:
    clinical_record.ensure_draft_editable(assessment, actor, expected_version, LABEL, record_type=RECORD_TYPE)
    content = _merged(session, assessment, data, prefix="")
    assessment.content = content.model_dump(mode="json")
    assessment.assessed_at = content.assessed_at
    session.flush()
    _audit(session, actor, "update", assessment, detail={"fields": sorted(data.model_fields_set)})
    announce(session, EventType.ASSESSMENT_UPDATED, assessment)
    return assessment


def sign(session: Session, actor: Actor, assessment: Assessment, expected_version: int | None) -> Assessment:
    clinical_record.sign(session, assessment, actor, RECORD_TYPE, LABEL, expected_version)
    return assessment


def amend(session: Session, actor: Actor, assessment: Assessment, data: AmendmentCreate,
          expected_version: int | None) -> Assessment:
    clinical_record.lock(assessment)  # merge the changes into the current content, not a racing writer's past
    content = _merged(session, assessment, data.changes, prefix="changes.")
    clinical_record.amend(session, assessment, actor, RECORD_TYPE, LABEL, data.reason,
                          content.model_dump(mode="json"), expected_version)
    assessment.assessed_at = content.assessed_at
    session.flush()
    return assessment


def discard(session: Session, actor: Actor, assessment: Assessment) -> None:
    clinical_record.discard(session, assessment, actor, RECORD_TYPE, LABEL)


def list_for_patient(session: Session, actor: Actor, patient: Patient, params: PageParams, *,
                     episode_id: uuid.UUID | None, status: str | None,
                     include_discarded: bool) -> tuple[list[Assessment], str | None]:
    stmt = select(Assessment).where(Assessment.patient_id == patient.id)
    if episode_id:
        stmt = stmt.where(Assessment.episode_id == episode_id)
    if status:
        stmt = stmt.where(Assessment.status == status)
    elif not include_discarded:
        stmt = stmt.where(Assessment.status != "discarded")
    rows, cursor = paginate(session, stmt, [Assessment.assessed_at, Assessment.id], params, descending=True)
    audit.record(session, actor, "search", resource_type="Assessment", patient_id=patient.id,
                 detail={"episode_id": str(episode_id) if episode_id else None, "status": status,
                         "result_ids": [str(a.id) for a in rows]})
    return rows, cursor


def _merged(session: Session, assessment: Assessment, changes: AssessmentUpdate, prefix: str) -> AssessmentContent:
    required = ("assessed_at", "subjective", "findings", "impression", *EXAM_LISTS)
    return _checked(session, clinical_record.merge_changes(assessment.content, changes, required, prefix), prefix)


def _checked(session: Session, values: dict[str, Any], prefix: str = "") -> AssessmentContent:
    try:
        content = AssessmentContent.model_validate(values)
    except ValidationError as exc:  # pragma: no cover - inputs were already validated field by field
        errors = [FieldError(field=prefix + loc_to_field(e["loc"]), message=e["msg"]) for e in exc.errors()]
        raise Unprocessable(errors[0].message, errors=errors) from exc
    if content.assessed_at > utcnow() + _CLOCK_SKEW:
        raise field_error(prefix + "assessed_at", "cannot be in the future")
    check_content(catalog(session), content, prefix)
    return content


def _warnings(session: Session, content: AssessmentContent) -> list[ContentWarning]:
    try:
        return check_content(catalog(session), content)
    except Unprocessable:  # content stored before a reference change: report, don't fail the read
        return [ContentWarning(field="findings", message="contains codes no longer in the reference data")]


def _audit(session: Session, actor: Actor, action: str, assessment: Assessment, **kwargs: Any) -> None:
    audit.record(session, actor, action, resource_type="Assessment", resource_id=assessment.id,
                 patient_id=assessment.patient_id, resource_version=assessment.version, **kwargs)
