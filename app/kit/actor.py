"""Who is making a request: a staff user now, an API client later; both carry a permission set."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    type: str  # "user" | "api_client" | "system"
    role: str | None
    label: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    token_id: uuid.UUID | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


SYSTEM_ACTOR = Actor(id=uuid.UUID(int=0), type="system", role=None, label="imschart")
