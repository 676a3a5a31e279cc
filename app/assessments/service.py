"""Assessment rules: the episode must be the patient's and open, content checked against anatomy; the
lifecycle every note shares (load, list, sign, amend, discard, history) is `notes`, a ClinicalNoteService."""

from __future__ import annotations

import uuid
from typing import Any

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
from app.kit import clinical_record
from app.kit.actor import Actor
from app.kit.clinical_note_service import ClinicalNoteService, validated_content
from app.kit.errors import Unprocessable
from app.kit.events import EventType, announce
from app.kit.pagination import PageParams
from app.models.base import utcnow
from app.models.clinical import Assessment
from app.models.enums import RecordStatus
from app.models.patient import Patient
from app.reference.service import catalog

RECORD_TYPE, LABEL = "assessment", "assessment"
notes = ClinicalNoteService(Assessment, RECORD_TYPE, LABEL, Assessment.assessed_at)
get, read, sign, discard = notes.get, notes.read, notes.sign, notes.discard  # the lifecycle, as is


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
    episode = episodes.open_of_patient(session, patient.id, data.episode_id,
                                       "open a new episode (or reopen it) before assessing")
    appointment_id = appointments.linkable(session, patient.id, data.appointment_id)
    values = data.model_dump(exclude={"episode_id", "appointment_id"})
    values["assessed_at"] = data.assessed_at or utcnow()
    content = _checked(session, values)
    assessment = Assessment(patient_id=patient.id, episode_id=episode.id, appointment_id=appointment_id,
                            author_id=author_id, status=RecordStatus.DRAFT,
                            assessed_at=content.assessed_at, content=content.model_dump(mode="json"), revision=0)
    session.add(assessment)
    session.flush()
    notes.audit(session, actor, "create", assessment)
    announce(session, EventType.ASSESSMENT_CREATED, assessment)
    return assessment


def update_draft(session: Session, actor: Actor, assessment: Assessment, data: AssessmentUpdate,
                 expected_version: int | None) -> Assessment:
    notes.ensure_draft_editable(assessment, actor, expected_version)
    content = _merged(session, assessment, data, prefix="")
    assessment.content = content.model_dump(mode="json")
    assessment.assessed_at = content.assessed_at
    session.flush()
    notes.audit(session, actor, "update", assessment, detail={"fields": sorted(data.model_fields_set)})
    announce(session, EventType.ASSESSMENT_UPDATED, assessment)
    return assessment


def amend(session: Session, actor: Actor, assessment: Assessment, data: AmendmentCreate,
          expected_version: int | None) -> Assessment:
    clinical_record.lock(assessment)  # merge the changes into the current content, not a racing writer's past
    content = _merged(session, assessment, data.changes, prefix="changes.")
    notes.amend(session, actor, assessment, data.reason, content, expected_version)
    assessment.assessed_at = content.assessed_at
    session.flush()
    return assessment


def list_for_patient(session: Session, actor: Actor, patient: Patient, params: PageParams, *,
                     episode_id: uuid.UUID | None, status: str | None,
                     include_discarded: bool) -> tuple[list[Assessment], str | None]:
    return notes.list_for_patient(session, actor, patient.id, params, episode_id=episode_id, status=status,
                                  include_discarded=include_discarded, detail={"status": status})


def _merged(session: Session, assessment: Assessment, changes: AssessmentUpdate, prefix: str) -> AssessmentContent:
    required = ("assessed_at", "subjective", "findings", "impression", *EXAM_LISTS)
    return _checked(session, clinical_record.merge_changes(assessment.content, changes, required, prefix), prefix)


def _checked(session: Session, values: dict[str, Any], prefix: str = "") -> AssessmentContent:
    content = validated_content(AssessmentContent, values, "assessed_at", prefix)
    check_content(catalog(session), content, prefix)
    return content


def _warnings(session: Session, content: AssessmentContent) -> list[ContentWarning]:
    try:
        return check_content(catalog(session), content)
    except Unprocessable:  # content stored before a reference change: report, don't fail the read
        return [ContentWarning(field="findings", message="contains codes no longer in the reference data")]
