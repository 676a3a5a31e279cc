from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.isodates import IsoDateTime

ConsentKind = Literal["ims_dry_needling", "electrical_stimulation", "data_sharing"]
Risk = Literal["pneumothorax", "bleeding_bruising", "post_needling_soreness", "fainting", "infection",
               "nerve_irritation", "needle_breakage", "drowsiness"]


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ConsentKind
    obtained_at: IsoDateTime | None = Field(None, description="Defaults to now")
    obtained_by: uuid.UUID | None = Field(None, description="The staff member who obtained it; defaults to you")
    method: Literal["written", "verbal"]
    form_version: Annotated[str, StringConstraints(max_length=40)] | None = Field(None, examples=["IMS-2026-01"])
    risks_discussed: list[Risk] = Field(default_factory=list)
    patient_questions: Annotated[str, StringConstraints(max_length=4000)] | None = None


class ConsentWithdraw(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    withdrawn_at: IsoDateTime | None = Field(None, description="Defaults to now")


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    kind: ConsentKind
    obtained_at: datetime
    obtained_by: uuid.UUID
    method: Literal["written", "verbal"]
    form_version: str | None
    risks_discussed: list[Risk]
    patient_questions: str | None
    withdrawn_at: datetime | None
    withdrawn_by: uuid.UUID | None
    withdrawal_reason: str | None
    active: bool
    version: int
    created_at: datetime
