"""The one lifecycle of every clinical note: draft -> signed -> amended, with full history.

A draft is editable by its author only. Signing stamps signer, time and a content hash and writes
revision 1 to the append-only `clinical_revisions` table. A signed note is never edited in place:
an amendment (with a reason) writes the next revision and becomes the note's current content,
while every earlier revision stays readable. Drafts may be discarded (kept, hidden from lists).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, NoReturn, Protocol

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app.kit import audit
from app.kit.actor import Actor, clinician_id
from app.kit.errors import Conflict, DomainError, Forbidden, NotFound, field_error
from app.kit.etag import check_version, require_version
from app.kit.events import EventType, announce
from app.models.base import utcnow
from app.models.clinical import ClinicalRevision
from app.models.enums import RecordStatus, RevisionKind


class ClinicalRecord(Protocol):
    id: uuid.UUID
    patient_id: uuid.UUID
    status: str
    content: dict[str, Any]
    author_id: uuid.UUID
    signed_at: Any
    signed_by: uuid.UUID | None
    content_hash: str | None
    revision: int
    version: int
    discarded_at: Any
    discarded_by: uuid.UUID | None


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON: the same content always hashes the same on both engines."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def lock(record: ClinicalRecord) -> None:
    """Re-read the note under a row lock before deciding anything about its state.

    Two requests racing to sign (or amend) one note both read it before either wrote; without the
    lock both pass the status and version checks and the loser dies on the unique revision number
    (a 500). Under the lock (PostgreSQL: SELECT ... FOR UPDATE; SQLite: BEGIN IMMEDIATE already
    serialises writers) the loser waits, then sees the winner's state: 409 already signed, 412 stale.
    Idempotent: locking an already locked row in the same transaction is a no-op for the database.
    """
    session = object_session(record)
    if session is not None and record in session and not session.is_modified(record):
        session.refresh(record, with_for_update=True)


def ensure_draft_editable(record: ClinicalRecord, actor: Actor, expected_version: int | None, label: str, *,
                          record_type: str | None = None) -> None:
    """A draft, its author, then the version: a signed note answers 409 even without If-Match.

    `expected_version` None means If-Match was not sent (428, once the status allows an edit at all).
    """
    lock(record)
    resource_type = label_type(record_type) if record_type else type(record).__name__
    if record.status == RecordStatus.SIGNED:
        _refuse(record, actor, "update", resource_type,
                Conflict(f"This {label} is signed and can no longer be edited; add an amendment instead"))
    if record.status == RecordStatus.DISCARDED:
        _refuse(record, actor, "update", resource_type, Conflict(f"This {label} was discarded"))
    _author_only(record, actor, "update", resource_type, f"Only the author may edit a draft {label}")
    require_version(record.version, expected_version)


def sign(session: Session, record: ClinicalRecord, actor: Actor, record_type: str, label: str,
         expected_version: int | None = None) -> None:
    lock(record)
    resource_type = label_type(record_type)
    if record.status == RecordStatus.SIGNED:
        _refuse(record, actor, "sign", resource_type, Conflict(f"This {label} is already signed"))
    if record.status == RecordStatus.DISCARDED:
        _refuse(record, actor, "sign", resource_type, Conflict(f"A discarded {label} cannot be signed"))
    signer = _author_only(record, actor, "sign", resource_type, f"Only the author may sign this {label}")
    if expected_version is not None:
        check_version(record.version, expected_version)
    now = utcnow()
    record.status, record.signed_at, record.signed_by = RecordStatus.SIGNED, now, signer
    record.content_hash = content_hash(record.content)
    record.revision = 1
    _write_revision(session, record, record_type, signer, kind=RevisionKind.ORIGINAL, reason=None)
    session.flush()
    audit.record(session, actor, "sign", resource_type=resource_type, resource_id=record.id,
                 patient_id=record.patient_id, resource_version=record.version,
                 detail={"content_hash": record.content_hash})
    announce(session, EventType(f"{record_type}.signed"), record)


def amend(session: Session, record: ClinicalRecord, actor: Actor, record_type: str, label: str, reason: str,
          new_content: dict[str, Any], expected_version: int | None = None) -> None:
    lock(record)
    resource_type = label_type(record_type)
    if record.status != RecordStatus.SIGNED:
        _refuse(record, actor, "amend", resource_type,
                Conflict(f"Only a signed {label} is amended; edit the draft instead"))
    author = _clinician(record, actor, "amend", resource_type)
    if expected_version is not None:
        check_version(record.version, expected_version)
    if content_hash(new_content) == record.content_hash:
        _refuse(record, actor, "amend", resource_type, Conflict("The amendment changes nothing"))
    record.content = new_content
    record.content_hash = content_hash(new_content)
    record.revision += 1
    _write_revision(session, record, record_type, author, kind=RevisionKind.AMENDMENT, reason=reason)
    session.flush()
    audit.record(session, actor, "amend", resource_type=resource_type, resource_id=record.id,
                 patient_id=record.patient_id, resource_version=record.version,
                 detail={"revision": record.revision, "content_hash": record.content_hash})
    announce(session, EventType(f"{record_type}.amended"), record)


def discard(session: Session, record: ClinicalRecord, actor: Actor, record_type: str, label: str) -> None:
    lock(record)
    resource_type = label_type(record_type)
    if record.status == RecordStatus.SIGNED:
        _refuse(record, actor, "discard", resource_type,
                Conflict(f"A signed {label} is never deleted; add an amendment to correct it"))
    if record.status == RecordStatus.DISCARDED:
        return
    discarder = _author_only(record, actor, "discard", resource_type, f"Only the author may discard a draft {label}")
    record.status, record.discarded_at, record.discarded_by = RecordStatus.DISCARDED, utcnow(), discarder
    session.flush()
    audit.record(session, actor, "discard", resource_type=resource_type, resource_id=record.id,
                 patient_id=record.patient_id, resource_version=record.version)
    announce(session, EventType(f"{record_type}.deleted"), record)  # a discarded draft leaves the feed's view


def accountable(session: Session, actor: Actor, action: str, resource_type: str, patient_id: uuid.UUID,
                resource_id: uuid.UUID | None = None) -> uuid.UUID:
    """The clinician to stamp on a clinical entry; anyone else gets a 403 that is put on record."""
    try:
        return clinician_id(actor)
    except Forbidden:
        audit.record_failure(session, actor, action, outcome="denied", resource_type=resource_type,
                             resource_id=resource_id, patient_id=patient_id,
                             detail={"reason": "not a clinician"})
        raise


def _refuse(record: ClinicalRecord, actor: Actor, action: str, resource_type: str, error: DomainError,
            outcome: str = "refused") -> NoReturn:
    """Put a refused lifecycle step on record (committed on its own), then raise."""
    session = object_session(record)
    record_id, patient_id, version = record.id, record.patient_id, record.version  # rollback expires them
    if session is not None:
        audit.record_failure(session, actor, action, outcome=outcome, resource_type=resource_type,
                             resource_id=record_id, patient_id=patient_id, resource_version=version,
                             detail={"status": error.status, "reason": error.detail})
    raise error


def _clinician(record: ClinicalRecord, actor: Actor, action: str, resource_type: str) -> uuid.UUID:
    session = object_session(record)
    if session is None:  # a detached record: nothing to put on record with
        return clinician_id(actor)
    return accountable(session, actor, action, resource_type, record.patient_id, record.id)


def _author_only(record: ClinicalRecord, actor: Actor, action: str, resource_type: str, message: str
                 ) -> uuid.UUID:
    who = _clinician(record, actor, action, resource_type)
    if record.author_id != who:
        _refuse(record, actor, action, resource_type, Forbidden(message), outcome="denied")
    return who


def _write_revision(session: Session, record: ClinicalRecord, record_type: str, author_id: uuid.UUID, *,
                    kind: str, reason: str | None) -> None:
    session.add(ClinicalRevision(record_type=record_type, record_id=record.id, patient_id=record.patient_id,
                                 revision=record.revision, kind=kind, content=record.content,
                                 content_hash=record.content_hash, author_id=author_id, reason=reason))


def history(session: Session, record_type: str, record_id: uuid.UUID) -> list[ClinicalRevision]:
    return list(session.scalars(
        select(ClinicalRevision).where(ClinicalRevision.record_type == record_type,
                                       ClinicalRevision.record_id == record_id)
        .order_by(ClinicalRevision.revision)))


def revision(session: Session, record_type: str, record_id: uuid.UUID, number: int) -> ClinicalRevision:
    found = session.scalar(select(ClinicalRevision).where(
        ClinicalRevision.record_type == record_type, ClinicalRevision.record_id == record_id,
        ClinicalRevision.revision == number))
    if found is None:
        raise NotFound(f"No revision {number}")
    return found


def label_type(record_type: str) -> str:
    """'assessment' -> 'Assessment' (the resource_type used in audit rows and events)."""
    return record_type[:1].upper() + record_type[1:]


def merge_changes(current: dict[str, Any], changes: BaseModel, required: tuple[str, ...],
                  prefix: str) -> dict[str, Any]:
    """Apply a PATCH or an amendment's `changes`: only fields sent change; required ones may not be nulled."""
    merged = dict(current)
    for name in changes.model_fields_set:
        if getattr(changes, name) is None and name in required:
            raise field_error(prefix + name, "may not be null")
        merged[name] = changes.model_dump(mode="json", include={name})[name]
    return merged


def changed_paths(before: Any, after: Any, path: str = "", limit: int = 200) -> list[str]:
    """The fields an amendment changed, as paths (`neuro_screen[0].strength_mrc`). A field absent on one
    side and empty (null, [] or {}) on the other is unchanged: fields added to the schema later are not
    reported as changes of old notes."""
    out: list[str] = []
    _diff(before, after, path, out, limit)
    return out


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _diff(before: Any, after: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit or before == after or (_empty(before) and _empty(after)):
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _diff(before.get(key), after.get(key), f"{path}.{key}" if path else key, out, limit)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            _diff(old, new, f"{path}[{i}]", out, limit)
    else:
        out.append(path or "content")


def history_with_changes(session: Session, record_type: str, record_id: uuid.UUID
                         ) -> list[tuple[ClinicalRevision, list[str]]]:
    """Every revision with what it changed against the one before (the original changes nothing)."""
    revisions = history(session, record_type, record_id)
    return [(r, changed_paths(revisions[i - 1].content, r.content) if i else [])
            for i, r in enumerate(revisions)]
