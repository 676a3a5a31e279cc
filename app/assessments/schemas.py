"""The Gunn examination as data. `AssessmentContent` is what is signed, hashed and amended."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.assessments.gunn_exam import ExamFields, ExamUpdate
from app.kit.dates import UtcInstant

Side = Literal["left", "right", "bilateral"]
Severity = Annotated[int, Field(ge=0, le=3, description="0 none - 3 marked (clinic convention; optional)")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
LongNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)]
LevelCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=3)]
Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MuscleShortening(BaseModel):
    model_config = _STRICT
    muscle: Code = Field(description="Muscle code from /api/v1/reference/muscles")
    severity: Severity | None = None
    notes: Note | None = None


class TenderPoint(BaseModel):
    model_config = _STRICT
    muscle: Code
    severity: Severity | None = None
    motor_point: bool = Field(False, description="Tenderness at the muscle's motor point")
    algometry_kg_cm2: float | None = Field(None, gt=0, le=20, description="Pressure-pain threshold")
    notes: Note | None = None


class SkinChanges(BaseModel):
    model_config = _STRICT
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
    model_config = ConfigDict(**_STRICT, json_schema_extra={"anyOf": [  # one measure at least, as validated below
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
    model_config = _STRICT
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
    model_config = _STRICT
    level: LevelCode
    side: Side


class RedFlags(BaseModel):
    """Screen for serious pathology; None = not asked."""

    model_config = _STRICT
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
    model_config = _STRICT
    chief_complaint: Note | None = None
    history: LongNote | None = None
    pain_locations: list[Item] = Field(default_factory=list, max_length=30)
    aggravating_factors: list[Item] = Field(default_factory=list, max_length=30)
    easing_factors: list[Item] = Field(default_factory=list, max_length=30)
    red_flags: RedFlags = Field(default_factory=RedFlags)


class _ContentFields(ExamFields):  # ExamFields: trophic signs, neuro screen, spondylosis, DN4 (gunn_exam.py)
    model_config = _STRICT
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

    model_config = _STRICT
    assessed_at: UtcInstant | None = None
    subjective: Subjective | None = None
    imaging_notes: LongNote | None = None
    findings: list[LevelFinding] | None = Field(None, max_length=90)
    impression: list[Segment] | None = Field(None, max_length=90)
    plan: LongNote | None = None


class AmendmentCreate(BaseModel):
    model_config = _STRICT
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    changes: AssessmentUpdate


class ContentWarning(BaseModel):
    field: str
    message: str


class AssessmentOut(_ContentFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    episode_id: uuid.UUID
    appointment_id: uuid.UUID | None = None
    assessed_at: datetime
    author_id: uuid.UUID
    status: Literal["draft", "signed", "discarded"]
    signed_at: datetime | None
    signed_by: uuid.UUID | None
    content_hash: str | None
    revision: int
    version: int
    created_at: datetime
    updated_at: datetime
    discarded_at: datetime | None
    warnings: list[ContentWarning] = Field(default_factory=list)


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    kind: Literal["original", "amendment"]
    author_id: uuid.UUID
    created_at: datetime
    reason: str | None
    content_hash: str
    changed: list[str] = Field(default_factory=list, description=(
        "Fields this amendment changed against the previous revision, e.g. neuro_screen[0].strength_mrc"))


class RevisionDetail(RevisionOut):
    content: AssessmentContent
