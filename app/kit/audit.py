"""Audit trail writer: rows join the request's transaction and are chained at commit time.

Entries are queued on the session and written in `before_commit`, so a request holds its audit
chain's head-row lock only for the instant before commit (no lock-order deadlocks with the rows
it changed). If the audit rows cannot be written the commit fails, and so does the request.
Denials and failed logins, whose request fails, are committed alone by `record_failure`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from app.kit import events
from app.kit.actor import Actor
from app.kit.request_context import current_request
from app.models.audit import AUDIT_CHAINS, AuditChainHead, AuditEvent
from app.models.base import new_id, utcnow

GENESIS_HASH = "0" * 64
_PENDING = "audit_pending"
_KEY = "audit_key"


def audit_key_from_secret(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"imschart-audit-chain-v1", hashlib.sha256).digest()


def key_fingerprint(key: bytes) -> str:
    """Names the key without revealing it: stored on the chain heads, compared by `audit verify`."""
    return hmac.new(key, b"imschart-audit-key-fingerprint-v1", hashlib.sha256).hexdigest()


def record(session: Session, actor: Actor | None, action: str, *, resource_type: str | None = None,
           resource_id: Any = None, patient_id: uuid.UUID | None = None, resource_version: int | None = None,
           outcome: str = "success", detail: dict[str, Any] | None = None,
           actor_label: str | None = None) -> None:
    """Queue an audit row; it is written with the request's commit or not at all."""
    info = current_request()
    row = AuditEvent(
        id=new_id(), occurred_at=utcnow(),
        actor_id=actor.id if actor else None, actor_type=actor.type if actor else "anonymous",
        actor_role=actor.role if actor else None, actor_label=actor_label or (actor.label if actor else None),
        action=action, resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None, resource_version=resource_version,
        patient_id=patient_id, request_id=info.request_id if info else None,
        client_ip=info.client_ip if info else None, user_agent=info.user_agent if info else None,
        outcome=outcome, detail=detail,
    )
    session.info.setdefault(_PENDING, []).append(row)
    events.note(session, action if outcome == "success" else "", resource_type, resource_id, resource_version,
                patient_id)


def record_failure(session: Session, actor: Actor | None, action: str, **kwargs: Any) -> None:
    """Put a refused request on record: discard whatever it did, then commit only the audit row.

    Uses the request's own session (a second connection would wait forever for SQLite's write lock).
    """
    session.rollback()
    record(session, actor, action, **kwargs)
    session.commit()


def _canonical(row: AuditEvent) -> bytes:
    doc = {
        "id": str(row.id), "occurred_at": row.occurred_at.isoformat(),
        "actor_id": str(row.actor_id) if row.actor_id else None, "actor_type": row.actor_type,
        "actor_role": row.actor_role, "actor_label": row.actor_label, "action": row.action,
        "resource_type": row.resource_type, "resource_id": row.resource_id,
        "resource_version": row.resource_version,
        "patient_id": str(row.patient_id) if row.patient_id else None, "request_id": row.request_id,
        "client_ip": row.client_ip, "user_agent": row.user_agent, "outcome": row.outcome,
        "detail": row.detail, "chain": row.chain, "seq": row.seq, "prev_hash": row.prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(key: bytes, row: AuditEvent) -> str:
    return hmac.new(key, _canonical(row), hashlib.sha256).hexdigest()


def head_signature(key: bytes, chain: int, seq: int, last_hash: str) -> str:
    """Binds a chain's length to its last entry: cutting entries off the end needs the key to re-sign."""
    return hmac.new(key, f"head:{chain}:{seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    # Fixed lock order for every transaction: business rows (flush), change counter, audit chain head.
    session.flush()
    events.write_pending(session)
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    key: bytes = session.info[_KEY]
    chain = random.randrange(AUDIT_CHAINS)
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.chain == chain).with_for_update()
    ).scalar_one()
    for row in pending:
        row.chain, row.seq, row.prev_hash = chain, head.seq + 1, head.hash
        row.hash = entry_hash(key, row)
        head.seq, head.hash = row.seq, row.hash
        session.add(row)
    head.signature = head_signature(key, chain, head.seq, head.hash)
    head.key_fingerprint = key_fingerprint(key)
    session.flush()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    events.drop_pending(session)


@dataclass
class ChainProblem:
    chain: int
    seq: int | None
    message: str


def written_with_another_key(session: Session, key: bytes) -> str | None:
    """Why this key cannot check the trail, or None when it is (or may be) the key the trail was written with.

    The fingerprints on the chain heads say which key wrote them. Heads can be edited, so a mismatch counts
    only when this key also fails to reproduce the last entry of every chain; otherwise the key is right
    and `verify` reports whatever was edited.
    """
    mine = key_fingerprint(key)
    heads = [h for h in session.scalars(select(AuditChainHead)) if h.seq > 0]
    recorded = {h.key_fingerprint for h in heads if h.key_fingerprint}
    if not recorded or mine in recorded:
        return None
    for head in heads:
        last = session.scalar(select(AuditEvent).where(AuditEvent.chain == head.chain, AuditEvent.seq == head.seq))
        if last is not None and hmac.compare_digest(entry_hash(key, last), last.hash):
            return None
    theirs = ", ".join(sorted(f[:12] for f in recorded))
    return (f"this is not the key the audit trail was written with (the trail's key has fingerprint {theirs}, "
            f"this key {mine[:12]}): set IMS_SECRET_KEY, or IMS_DATA_DIR to the data directory, of the server "
            "that wrote it. (If this is certainly that key, someone has edited the chain heads.)")


def verify(session: Session, key: bytes) -> Iterator[ChainProblem]:
    """Walk every chain: contiguous sequence, intact links, recomputed hashes, heads that match."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        # One snapshot for the whole walk: entries committed meanwhile must not look like tampering.
        # (SQLite's transactions are snapshots already.)
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    heads = {h.chain: h for h in session.scalars(select(AuditChainHead))}
    for chain in range(AUDIT_CHAINS):
        head = heads.get(chain)
        if head is None:
            yield ChainProblem(chain, None, "chain head is missing")
            continue
        expected_seq, prev = 1, GENESIS_HASH
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq).execution_options(
                yield_per=1000)
        )
        for row in rows:
            if row.seq != expected_seq:
                yield ChainProblem(chain, expected_seq, f"entries {expected_seq}..{row.seq - 1} are missing")
            elif row.prev_hash != prev:
                yield ChainProblem(chain, row.seq, "link to the previous entry is broken")
            if entry_hash(key, row) != row.hash:
                yield ChainProblem(chain, row.seq, f"entry {row.id} was altered")
            expected_seq, prev = row.seq + 1, row.hash
        if head.seq > expected_seq - 1:
            yield ChainProblem(chain, head.seq, f"entries after {expected_seq - 1} up to {head.seq} are missing")
        elif head.seq != expected_seq - 1 or head.hash != prev:
            yield ChainProblem(chain, head.seq, f"the chain head (entry {head.seq}) does not match the last entry "
                                                f"({expected_seq - 1})")
        elif head.seq > 0 and (head.signature is None or not hmac.compare_digest(
                head.signature, head_signature(key, chain, head.seq, head.hash))):
            yield ChainProblem(chain, head.seq, "the chain head's signature does not match: entries may have been "
                                                "removed from the end of the chain and the head rewritten")
    # INSERT is allowed, so a forged row could otherwise hide in a chain number the walk above never visits.
    strays = select(AuditEvent).where(or_(AuditEvent.chain < 0, AuditEvent.chain >= AUDIT_CHAINS))
    for row in session.scalars(strays.order_by(AuditEvent.chain, AuditEvent.seq)):
        yield ChainProblem(row.chain, row.seq, f"entry {row.id} is outside every chain")
