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
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.kit import audit
from app.kit.actor import Actor
from app.kit.errors import Conflict, Forbidden, NotFound, field_error
from app.kit.etag import check_version
from app.models.base import utcnow
from app.models.clinical import ClinicalRevision


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


def ensure_draft_editable(record: ClinicalRecord, actor: Actor, expected_version: int, label: str) -> None:
    if record.status == "signed":
        raise Conflict(f"This {label} is signed and can no longer be edited; add an amendment instead")
    if record.status == "discarded":
        raise Conflict(f"This {label} was discarded")
    if record.author_id != actor.id:
        raise Forbidden(f"Only the author may edit a draft {label}")
    check_version(record.version, expected_version)


def sign(session: Session, record: ClinicalRecord, actor: Actor, record_type: str, label: str,
         expected_version: int | None = None) -> None:
    if record.status == "signed":
        raise Conflict(f"This {label} is already signed")
    if record.status == "discarded":
        raise Conflict(f"A discarded {label} cannot be signed")
    if record.author_id != actor.id:
        raise Forbidden(f"Only the author may sign this {label}")
    if expected_version is not None:
        check_version(record.version, expected_version)
    now = utcnow()
    record.status, record.signed_at, record.signed_by = "signed", now, actor.id
    record.content_hash = content_hash(record.content)
    record.revision = 1
    _write_revision(session, record, record_type, actor, kind="original", reason=None)
    session.flush()
    audit.record(session, actor, "sign", resource_type=label_type(record_type), resource_id=record.id,
                 patient_id=record.patient_id, resource_version=record.version,
                 detail={"content_hash": record.content_hash})


def amend(session: Session, record: ClinicalRecord, actor: Actor, record_type: str, label: str, reason: str,
          new_content: dict[str, Any], expected_version: int | None = None) -> None:
    if record.status != "signed":
        raise Conflict(f"Only a signed {label} is amended; edit the draft instead")
    if expected_version is not None:
        check_version(record.version, expected_version)
    if content_hash(new_content) == record.content_hash:
        raise Conflict("The amendment changes nothing")
    record.content = new_content
    record.content_hash = content_hash(new_content)
    record.revision += 1
    _write_revision(session, record, record_type, actor, kind="amendment", reason=reason)
    session.flush()
    audit.record(session, actor, "amend", resource_type=label_type(record_type), resource_id=record.id,
                 patient_id=record.patient_id, resource_version=record.version,
                 detail={"revision": record.revision, "content_hash": record.content_hash})


def discard(session: Session, record: ClinicalRecord, actor: Actor, record_type: str, label: str) -> None:
    if record.status == "signed":
        raise Conflict(f"A signed {label} is never deleted; add an amendment to correct it")
    if record.status == "discarded":
        return
    if record.author_id != actor.id:
        raise Forbidden(f"Only the author may discard a draft {label}")
    record.status, record.discarded_at, record.discarded_by = "discarded", utcnow(), actor.id
    session.flush()
    audit.record(session, actor, "discard", resource_type=label_type(record_type), resource_id=record.id,
                 patient_id=record.patient_id, resource_version=record.version)


def _write_revision(session: Session, record: ClinicalRecord, record_type: str, actor: Actor, *, kind: str,
                    reason: str | None) -> None:
    session.add(ClinicalRevision(record_type=record_type, record_id=record.id, patient_id=record.patient_id,
                                 revision=record.revision, kind=kind, content=record.content,
                                 content_hash=record.content_hash, author_id=actor.id, reason=reason))


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
