"""Types every clinical note shares: its text and code fields, the warnings it reads back with, and the
entries of its revision history.

They lived in `assessments/schemas.py`, which made treatments (and the exports) import the assessment
domain for a string type. The class names are the OpenAPI component names clients generate from: keep them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models.enums import RevisionKindName

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
LongNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)]
LevelCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=3)]
Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# What a note's content models accept: no unknown fields (a typo is a 422, not silently dropped), trimmed text.
STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


# No docstrings on the models below: a docstring becomes the component's description in OpenAPI.

# Something worth a clinician's attention in a note that is nonetheless accepted (or already signed).
class ContentWarning(BaseModel):
    field: str
    message: str


# Who wrote which revision of a note, when and why: the head of a history entry and of a full revision.
class RevisionStamp(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    kind: RevisionKindName
    author_id: uuid.UUID
    created_at: datetime
    reason: str | None
    content_hash: str


# One entry of a note's history (the content is served by the revision endpoint).
class RevisionOut(RevisionStamp):
    changed: list[str] = Field(default_factory=list, description=(
        "Fields this amendment changed against the previous revision, e.g. neuro_screen[0].strength_mrc"))
