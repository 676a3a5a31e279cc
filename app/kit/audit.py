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
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, or_, select, update
from sqlalchemy.orm import Session

from app.kit import events, last_use
from app.kit.actor import Actor
from app.kit.request_context import current_request
from app.models.audit import AUDIT_CHAINS, AuditChainHead, AuditEvent
from app.models.base import new_id, utcnow
from app.models.enums import ActorType

_EVENTS = cast(Table, AuditEvent.__table__)
_HEADS = cast(Table, AuditChainHead.__table__)
# Built once: building a statement and its cache key cost more than running it (the group commit runs these
# for every batch).
_HEAD_FOR_UPDATE = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.chain == bindparam("head")).with_for_update()
_INSERT_EVENTS = insert(_EVENTS)
_UPDATE_HEAD = update(_HEADS).where(_HEADS.c.chain == bindparam("head")).values(
    seq=bindparam("new_seq"), hash=bindparam("new_hash"), signature=bindparam("new_signature"),
    key_fingerprint=bindparam("new_fingerprint"))

GENESIS_HASH = "0" * 64
_PENDING = "audit_pending"
_KEY = "audit_key"
READ_REQUEST = "read_request"  # set by app.db.get_session on a GET/HEAD's session (SQLite: a deferred BEGIN)
GROUP_COMMIT = "audit_group_commit"  # the sessionmaker's GroupCommit, shared by its sessions
CHANGES_AT_BEGIN = "imschart_changes_at_begin"  # sqlite3 total_changes when the transaction began (app.db)
WROTE = "imschart_wrote"  # PostgreSQL: this transaction has run a statement other than SELECT (app.db)


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
        actor_id=actor.id if actor else None, actor_type=actor.type if actor else ActorType.ANONYMOUS,
        actor_role=actor.role if actor else None, actor_label=actor_label or (actor.label if actor else None),
        action=action, resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None, resource_version=resource_version,
        patient_id=patient_id, request_id=info.request_id if info else None,
        client_ip=info.client_ip if info else None, user_agent=info.user_agent if info else None,
        outcome=outcome, detail=detail,
    )
    session.info.setdefault(_PENDING, []).append(row)


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
    if session.info.get(READ_REQUEST) and session.in_transaction() and _wrote_nothing(session):
        if not (session.new or session.dirty or session.deleted or session.info.get(events._PENDING)):
            # A pure read: its audit rows (and its credential's "last used" stamp) go to the group commit;
            # this read transaction ends holding no lock.
            pending: list[AuditEvent] = session.info.pop(_PENDING, [])
            stamps = last_use.pop(session)
            if pending or stamps:
                committer: GroupCommit = session.info[GROUP_COMMIT]
                committer.write(pending, stamps)  # returns once durable; raises (and so fails the request) otherwise
            return
        _upgrade_to_writer(session)  # a read that also writes: SQLite takes the write lock now
    # Fixed lock order for every transaction: business rows (flush), "last used" stamps, change counter,
    # audit chain head.
    session.flush()
    last_use.write(session, last_use.pop(session))
    events.write_pending(session)
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    _chain(session, session.info[_KEY], pending)


def _chain(session: Session, key: bytes, pending: list[AuditEvent]) -> None:
    """Link `pending` onto one random chain under its head's row lock, in this transaction.

    Core statements, not the unit of work: one locked SELECT of the head, one multi-row INSERT, one UPDATE.
    The audit group commit runs this for every batch, and the ORM's flush of the same rows had been half of
    its CPU (a GET patient's profile under load: docs/performance.md round 8).
    """
    chain = random.randrange(AUDIT_CHAINS)
    seq, last = session.execute(_HEAD_FOR_UPDATE, {"head": chain}).one()
    for row in pending:
        seq += 1
        row.chain, row.seq, row.prev_hash = chain, seq, last
        row.hash = last = entry_hash(key, row)
    session.execute(_INSERT_EVENTS, [{column.key: getattr(row, column.key) for column in _EVENTS.columns}
                                     for row in pending])
    session.execute(_UPDATE_HEAD, {"head": chain, "new_seq": seq, "new_hash": last,
                                   "new_signature": head_signature(key, chain, seq, last),
                                   "new_fingerprint": key_fingerprint(key)})


@event.listens_for(Session, "before_flush")
def _writer_before_first_write(session: Session, _context: Any, _instances: Any) -> None:
    """A GET that writes mid-request (a FHIR bulk kick-off inserts its job) takes the write lock first."""
    if (session.info.get(READ_REQUEST) and session.in_transaction() and (session.new or session.dirty or
                                                                         session.deleted)
            and _sqlite_wrote_nothing(session)):
        _upgrade_to_writer(session)


def _sqlite_wrote_nothing(session: Session) -> bool:
    """True while this SQLite transaction has changed no row, so it holds no write lock (WAL read snapshot)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return False
    changes = conn.connection.dbapi_connection.total_changes  # type: ignore[union-attr]
    return bool(conn.info.get(CHANGES_AT_BEGIN) == changes)


def _wrote_nothing(session: Session) -> bool:
    """True while this transaction has written nothing: its audit rows may then commit apart from it."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return conn.info.get(WROTE) is False
    return _sqlite_wrote_nothing(session)


def _upgrade_to_writer(session: Session) -> None:
    """End the read snapshot and take the write lock on the same connection, waiting up to busy_timeout.

    Upgrading a deferred transaction in place fails at once (SQLITE_BUSY_SNAPSHOT) when another writer
    committed since it began; a GET's only writes are blind touches (token and API-key last use), which do
    not depend on what it read, so a fresh IMMEDIATE transaction is the safe way to write them.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL has no database-wide write lock to take: the transaction simply writes on
    raw = conn.connection.dbapi_connection
    raw.execute("COMMIT")  # type: ignore[union-attr]
    raw.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
    # Holding the write lock now: for the rest of this transaction its audit rows are written in it (the
    # group commit would wait for this very lock). The next BEGIN resets the mark (app.db).
    conn.info[CHANGES_AT_BEGIN] = None


class GroupCommit:
    """Audit rows of many reads in one write transaction: one chain-head update, one fsync per batch.

    A read request hands its rows (and its credential's "last used" stamp, app.kit.last_use) over and
    blocks until the batch that holds them has committed (SQLite: synchronous=FULL; PostgreSQL: its own
    durable commit), or raises what the batch raised: a read is never answered before its audit row is on
    disk, and fails if the row cannot be written. One writer thread and connection per sessionmaker,
    started on demand and gone after a second idle; while it writes a batch, the next one gathers. On
    PostgreSQL each batch links its rows onto one random chain (one head-row lock per batch, not per
    request); the rows go in as one multi-row INSERT.
    """

    MAX_BATCH = 500

    def __init__(self) -> None:
        self.factory: Any = None  # the sessionmaker: set by app.db.make_sessionmaker
        self._cond = threading.Condition()
        self._queue: list[tuple[list[AuditEvent], last_use.Stamps, Future[None]]] = []
        self._running = False

    def write(self, rows: list[AuditEvent], stamps: last_use.Stamps | None = None, timeout: float = 60.0) -> None:
        done: Future[None] = Future()
        with self._cond:
            self._queue.append((rows, stamps or {}, done))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="imschart-audit-commit", daemon=True).start()
            self._cond.notify()
        done.result(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait(1.0)
                if not self._queue:
                    self._running = False
                    self.factory.kw["bind"].dispose()  # idle: close the writer's connection until next time
                    return
                batch, self._queue = self._queue[:self.MAX_BATCH], self._queue[self.MAX_BATCH:]
            try:
                with self.factory() as session:
                    stamps: last_use.Stamps = {}
                    for _, more, _ in batch:
                        last_use.merge(stamps, more)
                    last_use.write(session, stamps)  # same lock order as a request: stamps, then chain head
                    rows = [row for rows, _, _ in batch for row in rows]
                    if rows:
                        _chain(session, session.info[_KEY], rows)
                    session.commit()
            except BaseException as exc:  # every waiter of the batch fails with it; the thread goes on
                for _, _, done in batch:
                    done.set_exception(exc)
                continue
            for _, _, done in batch:
                done.set_result(None)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    last_use.pop(session)
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
