"""The Gunn examination as data. `AssessmentContent` is what is signed, hashed and amended."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.assessments.gunn_exam import ExamFields, ExamUpdate
from app.kit.clinical_types import STRICT, Code, ContentWarning, Item, LevelCode, LongNote, Note, RevisionOut
from app.kit.dates import UtcInstant
from app.models.enums import RecordStatusName

Side = Literal["left", "right", "bilateral"]
Severity = Annotated[int, Field(ge=0, le=3, description="0 none - 3 marked (clinic convention; optional)")]


class MuscleShortening(BaseModel):
    model_config = STRICT
    muscle: Code = Field(description="Muscle code from /api/v1/reference/muscles")
    severity: Severity | None = None
    notes: Note | None = None


class TenderPoint(BaseModel):
    model_config = STRICT
    muscle: Code
    severity: Severity | None = None
    motor_point: bool = Field(False, description="Tenderness at the muscle's motor point")
    algometry_kg_cm2: float | None = Field(None, gt=0, le=20, description="Pressure-pain threshold")
    notes: Note | None = None


class SkinChanges(BaseModel):
    model_config = STRICT
    trophedema: bool = False
    pilomotor: bool = False
    vasomotor: bool = False
    sudomotor: bool = False
    hair_loss: bool = False
    dermatomal_hyperalgesia: bool = False
    notes: Note | None = None

    def present(self) -> list[str]:
        return [k for k in ("trophedema", "pilomotor", "vasomotor", "sudomotor", "hair_loss",
                            "dermatomal_hyperalgesia") if getattr(self, k)]


class RangeOfMotion(BaseModel):
    model_config = ConfigDict(**STRICT, json_schema_extra={"anyOf": [  # one measure at least, as validated below
        {"required": ["degrees"], "properties": {"degrees": {"type": "number"}}},
        {"required": ["percent_of_normal"], "properties": {"percent_of_normal": {"type": "number"}}}]})
    movement: Item = Field(examples=["lumbar flexion"])
    degrees: float | None = Field(None, ge=-360, le=360)
    percent_of_normal: float | None = Field(None, ge=0, le=200)

    @model_validator(mode="after")
    def _one_measure(self) -> RangeOfMotion:
        if self.degrees is None and self.percent_of_normal is None:
            raise ValueError("give degrees or percent_of_normal")
        return self


class LevelFinding(BaseModel):
    model_config = STRICT
    level: LevelCode = Field(examples=["L5"], description="Nerve-root level C1-S5")
    side: Side
    muscle_shortening: list[MuscleShortening] = Field(default_factory=list, max_length=60)
    tender_points: list[TenderPoint] = Field(default_factory=list, max_length=60)
    skin_changes: SkinChanges = Field(default_factory=SkinChanges)
    paraspinal_shortening: bool = Field(False, description="Paraspinal (multifidus/rotatores) band at this level")
    paraspinal_tenderness: bool = False
    rom: list[RangeOfMotion] = Field(default_factory=list, max_length=30)
    notes: Note | None = None


class Segment(BaseModel):
    model_config = STRICT
    level: LevelCode
    side: Side


class RedFlags(BaseModel):
    """Screen for serious pathology; None = not asked."""

    model_config = STRICT
    cauda_equina_symptoms: bool | None = None
    unexplained_weight_loss: bool | None = None
    night_pain: bool | None = None
    fever_or_infection: bool | None = None
    history_of_cancer: bool | None = None
    significant_trauma: bool | None = None
    progressive_neurological_deficit: bool | None = None
    suspected_malignancy: bool | None = None  # issue 16: with cauda equina and progressive deficit, blocks signing
    notes: Note | None = None


class Subjective(BaseModel):
    model_config = STRICT
    chief_complaint: Note | None = None
    history: LongNote | None = None
    pain_locations: list[Item] = Field(default_factory=list, max_length=30)
    aggravating_factors: list[Item] = Field(default_factory=list, max_length=30)
    easing_factors: list[Item] = Field(default_factory=list, max_length=30)
    red_flags: RedFlags = Field(default_factory=RedFlags)


class _ContentFields(ExamFields):  # ExamFields: trophic signs, neuro screen, spondylosis, DN4 (gunn_exam.py)
    model_config = STRICT
    subjective: Subjective = Field(default_factory=Subjective)
    imaging_notes: LongNote | None = Field(None, description="Spondylosis signs and imaging findings")
    findings: list[LevelFinding] = Field(default_factory=list, max_length=90)
    impression: list[Segment] = Field(default_factory=list, max_length=90,
                                      description="The involved segments the therapist concludes")
    plan: LongNote | None = None


class AssessmentContent(_ContentFields):
    assessed_at: datetime


class AssessmentCreate(_ContentFields):
    episode_id: uuid.UUID
    assessed_at: UtcInstant | None = Field(None, description="Defaults to now")
    appointment_id: uuid.UUID | None = Field(None, description="The visit this assessment documents")


class AssessmentUpdate(ExamUpdate):
    """PATCH of a draft, and the `changes` of an amendment: only the fields sent change."""

    model_config = STRICT
    assessed_at: UtcInstant | None = None
    subjective: Subjective | None = None
    imaging_notes: LongNote | None = None
    findings: list[LevelFinding] | None = Field(None, max_length=90)
    impression: list[Segment] | None = Field(None, max_length=90)
    plan: LongNote | None = None


class AmendmentCreate(BaseModel):
    model_config = STRICT
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    changes: AssessmentUpdate


class AssessmentOut(_ContentFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    episode_id: uuid.UUID
    appointment_id: uuid.UUID | None = None
    assessed_at: datetime
    author_id: uuid.UUID
    status: RecordStatusName
    signed_at: datetime | None
    signed_by: uuid.UUID | None
    content_hash: str | None
    revision: int
    version: int
    created_at: datetime
    updated_at: datetime
    discarded_at: datetime | None
    warnings: list[ContentWarning] = Field(default_factory=list)


class RevisionDetail(RevisionOut):
    content: AssessmentContent
