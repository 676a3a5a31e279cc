"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, new_id

# Audit rows are spread over this many independent hash chains: a writer locks only its chain's
# head row, so concurrent requests do not queue behind one lock.
AUDIT_CHAINS = 16


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        # one patient's or actor's trail, newest first: walked in the full (occurred_at, id) page order
        Index(None, "patient_id", "occurred_at", "id"),
        Index(None, "actor_id", "occurred_at", "id"),
        Index(None, "occurred_at", "id"),  # newest-first pages: (occurred_at, id) keyset order
        Index(None, "action", "occurred_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    occurred_at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_type: Mapped[str] = mapped_column(String(20))  # user | api_client | system | anonymous
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_label: Mapped[str | None] = mapped_column(String(254))  # e.g. the email a login was tried with
    action: Mapped[str] = mapped_column(String(30))
    resource_type: Mapped[str | None] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    resource_version: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[uuid.UUID | None] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    outcome: Mapped[str] = mapped_column(String(20))  # success | denied | failure
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    chain: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last sequence number and hash of each chain; lets verify detect removed tail entries."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    # Keyed over (chain, seq, hash): without the secret key nobody can rewrite a head to hide entries
    # removed from the end of its chain.
    signature: Mapped[str | None] = mapped_column(String(64))
    # Which secret key the chain is written with (a keyed digest, not the key): `audit verify` run with
    # another key says so, instead of reporting every entry as altered.
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
