from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.integrations.client_schemas import Scope

EventPattern = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\*|[a-z]+\.(\*|[a-z]+))$")]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, StringConstraints(max_length=2000)] = Field(examples=["https://booking.example/ims-hooks"])
    event_types: list[EventPattern] = Field(min_length=1, examples=[["patient.created", "treatment.signed"]])
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = Field(
        None, description="HMAC key for IMS-Signature; generated (and shown once) when omitted")
    scopes: list[Scope] = Field(default_factory=list,
                                description="What the payload may reveal beyond the resource reference")
    active: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    event_types: list[EventPattern] | None = Field(None, min_length=1)
    scopes: list[Scope] | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    scopes: list[str]
    active: bool
    version: int
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: verify IMS-Signature with it")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    redelivery_of: uuid.UUID | None
    payload: dict[str, Any]
