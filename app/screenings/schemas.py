from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.kit.isodates import IsoDateTime

Limb = Literal["left_arm", "right_arm", "left_leg", "right_leg"]


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anticoagulants: bool = False
    bleeding_disorder: bool = False
    pregnancy: bool = False
    pacemaker_or_implanted_device: bool = False
    epilepsy: bool = False
    needle_phobia: bool = False
    lymphedema: bool = False
    local_infection_or_lesion: bool = False
    immunosuppression: bool = False
    metal_allergy: bool = False
    diabetes: bool = False
    recent_surgery: bool = False
    vasovagal_history: bool = False
    lung_field_caution: bool = False


class ScreeningCreate(Checklist):
    screened_at: IsoDateTime | None = Field(None, description="Defaults to now")
    lymphedema_limb: Limb | None = None
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None

    @model_validator(mode="after")
    def _limb_needs_lymphedema(self) -> ScreeningCreate:
        if self.lymphedema_limb and not self.lymphedema:
            raise ValueError("lymphedema_limb is given but lymphedema is false")
        return self


class ScreeningOut(Checklist):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    screened_at: datetime
    screened_by: uuid.UUID
    lymphedema_limb: Limb | None
    notes: str | None
    precautions: list[str] = Field(description="The checklist items that are present")
