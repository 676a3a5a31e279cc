"""An IMS session as data. `TreatmentContent` is what is signed, hashed and amended."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.clinical_types import STRICT, Code, ContentWarning, LevelCode, LongNote, Note, RevisionStamp
from app.kit.dates import UtcInstant
from app.kit.isodates import IsoDate
from app.models.enums import RecordStatusName
from app.treatments.responses import NeedleResponse, ResponseFields, ResponseUpdate

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Response = Literal["local_twitch", "grasp", "cramping", "referred_sensation", "none"]
AdverseKind = Literal["bleeding", "bruising", "vasovagal", "suspected_pneumothorax", "excessive_soreness",
                      "needle_breakage", "retained_needle", "other"]
Nprs = Annotated[int, Field(ge=0, le=10)]
NeedleIndex = Annotated[int, Field(ge=0, le=199)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


# --- issue 16 (clinical safety): overrides, e-stim leads -------------------------------------------------
class SafetyOverride(BaseModel):
    """A recorded decision to needle despite a refusing screen item; audited with the session."""

    model_config = STRICT
    item: Literal["needle_phobia", "lymphedema"] = Field(
        description="needle_phobia; lymphedema also covers a limb or chest-wall quadrant after node dissection")
    reason: Reason = Field(description="Why needling is still appropriate (at least 10 characters)")


class EStimLead(BaseModel):
    """One lead pair: current flows between these two needles (indexes into `needles`)."""

    model_config = STRICT
    needles: tuple[NeedleIndex, NeedleIndex]
    channel: int | None = Field(None, ge=1, le=16)


class EStim(BaseModel):
    model_config = STRICT
    frequency_hz: float = Field(gt=0, le=10000)
    pulse_width_us: float = Field(gt=0, le=5000)
    intensity_ma: float = Field(gt=0, le=100)
    duration_min: float = Field(gt=0, le=120)
    waveform: Short | None = None
    device: Short | None = None


class Needle(BaseModel):
    model_config = STRICT
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
    response_details: NeedleResponse | None = None  # grasp release, fibrotic resistance, flare, retention
    e_stim: EStim | None = None
    notes: Note | None = None


class AdverseEvent(BaseModel):
    model_config = STRICT
    kind: AdverseKind
    severity: Literal["mild", "moderate", "severe"]
    action_taken: Note | None = None
    follow_up: Note | None = None
    notes: Note | None = None
    haemostasis: Note | None = Field(None, description="Bleeding: how haemostasis was achieved; required to sign")


class _ContentFields(ResponseFields):  # ResponseFields: per-muscle retests, soreness since the last visit
    model_config = STRICT
    ended_at: UtcInstant | None = None
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
    next_visit: IsoDate | None = None
    # --- issue 16 (clinical safety) ---
    verbal_consent_today: bool | None = Field(None, description="The day's verbal consent; required to sign")
    safety_overrides: list[SafetyOverride] = Field(default_factory=list, max_length=5)
    e_stim_leads: list[EStimLead] = Field(default_factory=list, max_length=50,
                                          description="Which needles each e-stim lead pairs")


class TreatmentContent(_ContentFields):
    started_at: datetime


class TreatmentCreate(_ContentFields):
    episode_id: uuid.UUID
    assessment_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = Field(None, description="The visit this session documents")
    started_at: UtcInstant | None = Field(None, description="Defaults to now")


class TreatmentUpdate(ResponseUpdate):
    """PATCH of a draft and the `changes` of an amendment: only the fields sent change."""

    model_config = STRICT
    started_at: UtcInstant | None = None
    ended_at: UtcInstant | None = None
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
    next_visit: IsoDate | None = None
    # --- issue 16 (clinical safety) ---
    verbal_consent_today: bool | None = None
    safety_overrides: list[SafetyOverride] | None = Field(None, max_length=5)
    e_stim_leads: list[EStimLead] | None = Field(None, max_length=50)


class TreatmentAmendment(BaseModel):
    model_config = STRICT
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
    status: RecordStatusName
    signed_at: datetime | None
    signed_by: uuid.UUID | None
    content_hash: str | None
    revision: int
    version: int
    created_at: datetime
    updated_at: datetime
    discarded_at: datetime | None
    muscles_needled: list[str] = Field(description="Distinct muscle codes needled")
    billed_muscles: list[str] = Field(default_factory=list, description=(
        "Distinct muscles for billing: parts of one muscle (trapezius fibres, iliopsoas, multifidus levels) "
        "count once, see each muscle's billing_unit"))
    total_insertions: int
    billing_cpt: Literal["20560", "20561"] | None = Field(
        None, description="US dry-needling code from the billed muscle count: 20560 (1-2 muscles), 20561 (3+)")
    warnings: list[ContentWarning] = Field(default_factory=list)


class TreatmentRevisionDetail(RevisionStamp):
    content: TreatmentContent
