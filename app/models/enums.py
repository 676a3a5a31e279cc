"""Named states shared by the models and every layer above them (Dispatch's `<domain>/enums.py`).

They are `StrEnum`s stored as the same strings the columns always held, so no migration is needed and a
member compares equal to the string read back from either engine.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class RecordStatus(StrEnum):
    """Where a clinical note stands in its lifecycle (app.kit.clinical_record)."""

    DRAFT = "draft"
    SIGNED = "signed"
    DISCARDED = "discarded"


# The same states as a type for response schemas: an inline enum in OpenAPI, not a new component.
# tests/unit/test_enums.py keeps the two in step.
RecordStatusName = Literal["draft", "signed", "discarded"]
RECORD_STATUSES: tuple[str, ...] = tuple(s.value for s in RecordStatus)  # plain strings: CHECK constraints


class EpisodeStatus(StrEnum):
    """An episode of care is open from intake until it is discharged (app.episodes.service); notes are charted
    only in an open one."""

    OPEN = "open"
    DISCHARGED = "discharged"


EpisodeStatusName = Literal["open", "discharged"]
EPISODE_STATUSES: tuple[str, ...] = tuple(s.value for s in EpisodeStatus)


class RevisionKind(StrEnum):
    """What wrote a row of `clinical_revisions`: the signature or a later amendment."""

    ORIGINAL = "original"
    AMENDMENT = "amendment"


RevisionKindName = Literal["original", "amendment"]


class ActorType(StrEnum):
    """Who made a request; `anonymous` only ever appears on audit rows of refused requests."""

    USER = "user"
    API_CLIENT = "api_client"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"
