"""Who is making a request: a staff user now, an API client later; both carry a permission set."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.kit.errors import Forbidden
from app.models.enums import ActorType


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    type: str  # an ActorType value (app.models.enums)
    role: str | None
    label: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


SYSTEM_ACTOR = Actor(id=uuid.UUID(int=0), type=ActorType.SYSTEM, role=None, label="imschart")


def clinician_id(actor: Actor) -> uuid.UUID:
    """The staff user accountable for a clinical entry.

    Clinical records name a registered clinician as their author; an API client may read them (and
    act on demographics) but never author, sign or witness one. Raises 403 for anyone but a user.
    """
    if actor.type != ActorType.USER:
        raise Forbidden("Clinical records are authored by a signed-in clinician; an API client cannot record them")
    return actor.id
