from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Scope = Literal["patients:read", "patients:write", "clinical:read", "clinical:write", "export", "webhooks",
                "appointments:read", "appointments:write"]


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "name": "Front desk booking", "scopes": ["patients:read", "patients:write"], "rate_limit_per_minute": 120}]})

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)] = Field(examples=["Front desk booking"])
    scopes: list[Scope] = Field(min_length=1, examples=[["patients:read"]])
    rate_limit_per_minute: int = Field(120, ge=1, le=100_000)


class ApiClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    scopes: list[Scope]
    key_prefix: str
    rate_limit_per_minute: int
    created_by: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool
    version: int


class ApiClientCreated(ApiClientOut):
    key: str = Field(description="Shown once: store it now. Send it as Authorization: Bearer <key>")
