from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.isodates import IsoDateTime

Answer = int | float | bool | str | None


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    instrument: Annotated[str, StringConstraints(to_lower=True, max_length=20)] = Field(examples=["odi"])
    responses: list[Answer] = Field(max_length=50, description="One entry per item in order; null = unanswered")
    labels: list[Annotated[str, StringConstraints(max_length=200)]] | None = Field(
        None, max_length=5, description="PSFS: the patient-named activities, one per response")
    administered_at: IsoDateTime | None = Field(None, description="Defaults to now")
    episode_id: uuid.UUID | None = None


class OutcomeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    episode_id: uuid.UUID | None
    instrument: str
    administered_at: datetime
    responses: list[Any]
    labels: list[str] | None
    score: float
    subscores: dict[str, float] | None
    recorded_by: uuid.UUID
    created_at: datetime


class InstrumentOut(BaseModel):
    code: str
    name: str
    used_for: str
    answer: Literal["integer", "yes_no", "choice"]
    item_count: dict[str, int]
    item_range: dict[str, int] | None
    choices: dict[str, int] | None
    item_labels: list[str] | None
    subscales: dict[str, dict[str, int]] | None
    better: Literal["lower", "higher"]
    mcid: float
    score_range: dict[str, float]
    max_missing: int


class PainPoint(BaseModel):
    treatment_id: uuid.UUID
    started_at: datetime
    pre_pain_nprs: int | None
    post_pain_nprs: int | None


class ScorePoint(BaseModel):
    id: uuid.UUID
    administered_at: datetime
    score: float


class InstrumentProgress(BaseModel):
    instrument: str
    name: str
    better: Literal["lower", "higher"]
    mcid: float
    scores: list[ScorePoint]
    baseline: float
    latest: float
    change: float = Field(description="latest vs baseline; positive = improvement")
    mcid_reached: bool


class Progress(BaseModel):
    episode_id: uuid.UUID
    pain: list[PainPoint]
    instruments: list[InstrumentProgress]
