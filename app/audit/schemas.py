from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_type: str
    actor_role: str | None
    actor_label: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    resource_version: int | None
    patient_id: uuid.UUID | None
    request_id: str | None
    client_ip: str | None
    user_agent: str | None
    outcome: str
    detail: dict[str, Any] | None
