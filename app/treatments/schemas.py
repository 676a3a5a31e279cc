"""An IMS session as data. `TreatmentContent` is what is signed, hashed and amended."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from app.assessments.schemas import Code, ContentWarning, LevelCode, LongNote, Note

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Response = Literal["local_twitch", "grasp", "cramping", "referred_sensation", "none"]
AdverseKind = Literal["bleeding", "bruising", "vasovagal", "suspected_pneumothorax", "excessive_soreness",
                      "needle_breakage", "retained_needle", "other"]
Nprs = Annotated[int, Field(ge=0, le=10)]


class EStim(BaseModel):
    model_config = _STRICT
    frequency_hz: float = Field(gt=0, le=10000)
    pulse_width_us: float = Field(gt=0, le=5000)
    intensity_ma: float = Field(gt=0, le=100)
    duration_min: float = Field(gt=0, le=120)
    waveform: Short | None = None
    device: Short | None = None


class Needle(BaseModel):
    model_config = _STRICT
    muscle: Code = Field(description="Muscle code from /api/v1/reference/muscles")
    level: LevelCode
    side: Literal["left", "right"]
    kind: Literal["paraspinal", "peripheral"] | None = Field(None, description="Defaults to the muscle's kind")
    gauge_mm: float | None = Field(None, gt=0.1, le=0.5, examples=[0.25])
    length_mm: float | None = Field(None, ge=5, le=150, examples=[40])
    lot_number: Short | None = None
    insertions: int = Field(1, ge=1, le=200)
    depth_mm: float | None = Field(None, gt=0, le=150)
    technique: Short | None = None
    responses: list[Response] = Field(default_factory=list)
    e_stim: EStim | None = None
    notes: Note | None = None


class AdverseEvent(BaseModel):
    model_config = _STRICT
    kind: AdverseKind
    severity: Literal["mild", "moderate", "severe"]
    action_taken: Note | None = None
    follow_up: Note | None = None
    notes: Note | None = None


class _ContentFields(BaseModel):
    model_config = _STRICT
    ended_at: AwareDatetime | None = None
    position: Short | None = Field(None, examples=["prone"])
    pre_pain_nprs: Nprs | None = None
    post_pain_nprs: Nprs | None = None
    tolerance: Literal["good", "fair", "poor"] | None = None
    tolerance_notes: Note | None = None
    needles: list[Needle] = Field(default_factory=list, max_length=200)
    needles_inserted: int | None = Field(None, ge=0, le=1000, description="Defaults to the number of needle entries")
    needles_removed: int | None = Field(None, ge=0, le=1000, description="Counted at the end; required to sign")
    adverse_events: list[AdverseEvent] = Field(default_factory=list, max_length=20)
    sharps_disposed: bool | None = None
    retest: LongNote | None = None
    after_care: LongNote | None = None
    plan: LongNote | None = None
    next_visit: date | None = None


class TreatmentContent(_ContentFields):
    started_at: datetime


class TreatmentCreate(_ContentFields):
    episode_id: uuid.UUID
    assessment_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = Field(None, description="The visit this session documents")
    started_at: AwareDatetime | None = Field(None, description="Defaults to now")


class TreatmentUpdate(BaseModel):
    """PATCH of a draft and the `changes` of an amendment: only the fields sent change."""

    model_config = _STRICT
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    position: Short | None = None
    pre_pain_nprs: Nprs | None = None
    post_pain_nprs: Nprs | None = None
    tolerance: Literal["good", "fair", "poor"] | None = None
    tolerance_notes: Note | None = None
    needles: list[Needle] | None = Field(None, max_length=200)
    needles_inserted: int | None = Field(None, ge=0, le=1000)
    needles_removed: int | None = Field(None, ge=0, le=1000)
    adverse_events: list[AdverseEvent] | None = Field(None, max_length=20)
    sharps_disposed: bool | None = None
    retest: LongNote | None = None
    after_care: LongNote | None = None
    plan: LongNote | None = None
    next_visit: date | None = None


class TreatmentAmendment(BaseModel):
    model_config = _STRICT
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    changes: TreatmentUpdate


class TreatmentOut(_ContentFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    episode_id: uuid.UUID
    assessment_id: uuid.UUID | None
    appointment_id: uuid.UUID | None = None
    started_at: datetime
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
    muscles_needled: list[str] = Field(description="Distinct muscles needled: the billing basis")
    total_insertions: int
    billing_cpt: Literal["20560", "20561"] | None = Field(
        None, description="US dry-needling code from the muscle count: 20560 (1-2 muscles), 20561 (3+)")
    warnings: list[ContentWarning] = Field(default_factory=list)


class TreatmentRevisionDetail(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    kind: Literal["original", "amendment"]
    author_id: uuid.UUID
    created_at: datetime
    reason: str | None
    content_hash: str
    content: TreatmentContent
