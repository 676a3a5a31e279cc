"""Integration plumbing: API clients, the changes feed, the webhook outbox, idempotency, rate windows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, VersionedMixin, utcnow


class ApiClient(IdMixin, TimestampMixin, VersionedMixin, Base):
    """A named integration; its key is shown once and stored only as a keyed hash."""

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so staff can tell keys apart
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=120)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class RateWindow(Base):
    """Requests per API client per minute window (shared by every API process through the database)."""

    __tablename__ = "rate_windows"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_clients.id"), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # unix minute
    count: Mapped[int] = mapped_column(Integer, default=0)


class ChangeEvent(Base):
    """The changes feed. `seq` is assigned at commit under one lock, so it is commit order."""

    __tablename__ = "change_events"
    __table_args__ = (Index(None, "resource_type", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[uuid.UUID | None] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column()


class IdempotencyKey(Base):
    """The first response to a POST with an Idempotency-Key, replayed for retries of the same request."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(64))  # hash of the credential that sent it
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request is in flight
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookSubscription(IdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)  # e.g. ["patient.created", "treatment.*"]
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)  # what the payload summary may reveal
    created_by: Mapped[uuid.UUID] = mapped_column()


class WebhookDelivery(Base):
    """The outbox: written in the same transaction as the change, delivered by the worker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "status", "next_attempt_at"), Index(None, "subscription_id", "created_at"),
                      Index(None, "subscription_id", "ordering_key", "event_seq"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(60))
    ordering_key: Mapped[str] = mapped_column(String(120))  # resource: delivered in order per resource
    # The change's commit-order sequence number: the order per resource, whatever the hosts' clocks say.
    # Null for pings and redeliveries, which have ordering keys of their own.
    event_seq: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    redelivery_of: Mapped[uuid.UUID | None] = mapped_column()


class ExportJob(IdMixin, TimestampMixin, Base):
    """A whole-clinic export run by the background worker; the zip lands in the data directory."""

    __tablename__ = "export_jobs"
    __table_args__ = (Index(None, "status", "created_at"), Index(None, "expires_at"))

    format: Mapped[str] = mapped_column(String(10))
    since: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | running | completed | failed
    current_table: Mapped[str | None] = mapped_column(String(60))
    records_done: Mapped[int] = mapped_column(BigInteger, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(1000))
    file_name: Mapped[str | None] = mapped_column(String(200))
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requested_by: Mapped[uuid.UUID] = mapped_column()
    requested_by_type: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="clinic", server_default="clinic")  # clinic | fhir_bulk
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # bulk: url, _type, patient-level or system
    expires_at: Mapped[datetime | None] = mapped_column()  # its files are deleted then (status "expired")
