from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.isodates import IsoDate
from app.models.enums import EpisodeStatusName

EpisodeSide = Literal["left", "right", "bilateral", "central"]
DischargeReason = Literal["goals_met", "plateau", "patient_choice", "referred_on", "non_attendance", "other"]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_INPUT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EpisodeCreate(BaseModel):
    model_config = _INPUT

    conditions: list[Annotated[str, StringConstraints(max_length=60)]] = Field(
        min_length=1, max_length=10, description="Condition codes from /api/v1/reference/conditions")
    side: EpisodeSide | None = None
    onset_date: IsoDate | None = None
    referral_source: ShortText | None = None
    goals: list[ShortText] = Field(default_factory=list, max_length=20)
    planned_frequency: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = Field(
        None, examples=["weekly"])


class EpisodeUpdate(BaseModel):
    model_config = _INPUT

    conditions: list[Annotated[str, StringConstraints(max_length=60)]] | None = Field(None, min_length=1,
                                                                                       max_length=10)
    side: EpisodeSide | None = None
    onset_date: IsoDate | None = None
    referral_source: ShortText | None = None
    goals: list[ShortText] | None = Field(None, max_length=20)
    planned_frequency: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None


class EpisodeDischarge(BaseModel):
    model_config = _INPUT

    discharged_on: IsoDate | None = Field(None, description="Defaults to today in the clinic's time zone")
    discharge_reason: DischargeReason
    discharge_outcome: Annotated[str, StringConstraints(max_length=2000)] | None = None


class EpisodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    conditions: list[str]
    side: str | None
    onset_date: date | None
    referral_source: str | None
    goals: list[str]
    planned_frequency: str | None
    status: EpisodeStatusName
    discharged_on: date | None
    discharge_reason: str | None
    discharge_outcome: str | None
    created_by: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
