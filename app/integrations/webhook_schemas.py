from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.kit.events import EventType, known_event_type

# What a subscription may be sent: the API-client scopes, and staff:manage (user.* events) for admins.
WebhookScope = Literal["patients:read", "patients:write", "clinical:read", "clinical:write", "export", "webhooks",
                       "appointments:read", "appointments:write", "staff:manage"]


def _known(pattern: str) -> str:
    if not known_event_type(pattern):
        raise ValueError("unknown event type; use <resource>.<change> such as patient.created or treatment.signed, "
                         "<resource>.* or *")
    return pattern


# The published catalogue (OpenAPI shows it on every event_types field): what services announce.
EVENT_TYPES_DOC = ("`*`, `<resource>.*` or one of the event types: " + ", ".join(f"`{t}`" for t in EventType))

EventPattern = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\*|[a-z]+\.(\*|[a-z_]+))$"),
                         AfterValidator(_known)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "url": "https://booking.example/ims-hooks", "event_types": ["patient.*", "treatment.signed"],
        "scopes": ["patients:read", "clinical:read"]}]})

    url: Annotated[str, StringConstraints(max_length=2000)] = Field(examples=["https://booking.example/ims-hooks"])
    event_types: list[EventPattern] = Field(min_length=1, examples=[["patient.created", "treatment.signed"]],
                                            description=EVENT_TYPES_DOC)
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] | None = Field(
        None, description="HMAC key for IMS-Signature; generated (and shown once) when omitted")
    scopes: list[WebhookScope] = Field(
        default_factory=list,
        description="What the subscription may learn, at most your own scopes: an event is sent only when these "
        "read its resource type (patient.* needs patients:read; episode, assessment, treatment, consent, "
        "screening and outcome events need clinical:read; user.* needs staff:manage; clinic.* needs none)")
    active: bool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{"event_types": ["patient.*"], "active": False}]})

    url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    event_types: list[EventPattern] | None = Field(None, min_length=1, description=EVENT_TYPES_DOC)
    scopes: list[WebhookScope] | None = None
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
    waiting_for_worker: str | None = Field(None, description="Set on a pending delivery while no background "
                                           "worker has been seen for a while: why it is not sent and what to run")
