from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_OUT = ConfigDict(from_attributes=True)


class LevelOut(BaseModel):
    model_config = _OUT
    code: str = Field(description="Nerve-root level, C1-S5, or CN5 (the trigeminal region)", examples=["L5"])
    region: Literal["cranial", "cervical", "thoracic", "lumbar", "sacral"]
    dermatome: str | None = Field(description="ISNCSCI key sensory point (none for C1)")
    paraspinal_levels: list[str] = Field(description="Paraspinal segments needled with this root")


class MuscleOut(BaseModel):
    model_config = _OUT
    code: str = Field(description="Stable code, used in assessments and treatments", examples=["tibialis_anterior"])
    name: str
    kind: Literal["peripheral", "paraspinal"]
    body_region: str = Field(examples=["leg"])
    levels: list[str] = Field(description="Spinal roots that supply the muscle, top to bottom")
    segment: str | None = Field(description="Paraspinals: the level they sit at")
    cranial_nerve: str | None = Field(description="Cranial nerve supply, e.g. V (jaw), XI (trapezius)")
    related_levels: list[str] = Field(
        description="Cranial-nerve muscles: the spinal levels they are examined and treated with")
    site: str = Field(description="Where the needle goes; chest_wall, posterior_chest_wall, lung_apex and "
                                  "thoracic_paraspinal overlie the pleura, thoracolumbar and cervicothoracic do "
                                  "when needled at C7-L1")
    over_pleura: bool = Field(description="Overlies the pleura wherever needled (level-dependent sites: see site)")
    billing_unit: str = Field(description="Counted once per session for CPT 20560/20561 with the other parts "
                                          "of the same muscle")


class ConditionOut(BaseModel):
    model_config = _OUT
    code: str = Field(examples=["tennis_elbow"])
    name: str
    icd10ca: list[str] = Field(description="ICD-10-CA diagnosis codes")
    levels_examined_first: list[str] = Field(description="Levels usually examined first (a suggestion)")
    includes_cranial_nerve_v: bool = Field(description="Also examine the cranial nerve V (jaw) muscles")
    suggested_outcome_measures: list[str] = Field(description="Instrument codes from /api/v1/reference/instruments")
