"""One service for the lifecycle every clinical note shares: load, read (audited), list, edit, sign, amend,
discard and history. A domain (`assessments/`, `treatments/`) keeps only what is its own: its content schema,
its validation and its safety rules, and calls an instance of `ClinicalNoteService` for the rest.

The state machine itself (who may sign, what a revision is) lives in `kit/clinical_record.py`; this module
adds what a service around it repeated: the 404, the audit row of every read, the patient's list with its
search audit, and content checked the same way on create, edit and amendment.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.kit import audit, clinical_record
from app.kit.actor import Actor
from app.kit.clinical_types import RevisionOut
from app.kit.dates import not_in_future
from app.kit.errors import FieldError, Unprocessable, loc_to_field
from app.kit.pagination import PageParams, paginate
from app.kit.repository import get_or_404
from app.models.clinical import Assessment, ClinicalRevision
from app.models.enums import RecordStatus
from app.models.treatment import Treatment

NoteT = TypeVar("NoteT", Assessment, Treatment)
ContentT = TypeVar("ContentT", bound=BaseModel)


def validated_content(schema: type[ContentT], values: dict[str, Any], time_field: str, prefix: str = "") -> ContentT:
    """A note's content as its schema, its time not in the future; field errors carry `prefix`
    (`changes.` for an amendment) so they name the field the caller sent."""
    try:
        content = schema.model_validate(values)
    except ValidationError as exc:  # pragma: no cover - every field was validated on the way in
        errors = [FieldError(field=prefix + loc_to_field(e["loc"]), message=e["msg"]) for e in exc.errors()]
        raise Unprocessable(errors[0].message, errors=errors) from exc
    not_in_future(prefix + time_field, getattr(content, time_field))
    return content


class ClinicalNoteService(Generic[NoteT]):
    """The shared lifecycle for one kind of note: `record_type` names its revisions, `label` its messages."""

    def __init__(self, model: type[NoteT], record_type: str, label: str,
                 charted_at: InstrumentedAttribute[datetime]) -> None:
        self.model: type[NoteT] = model
        self.record_type, self.label, self.charted_at = record_type, label, charted_at
        self.resource_type = clinical_record.label_type(record_type)

    def get(self, session: Session, note_id: uuid.UUID) -> NoteT:
        return get_or_404(session, self.model, note_id, self.label)

    def read(self, session: Session, actor: Actor, note_id: uuid.UUID, action: str = "read") -> NoteT:
        note = self.get(session, note_id)
        self.audit(session, actor, action, note)
        return note

    def audit(self, session: Session, actor: Actor, action: str, note: NoteT, **kwargs: Any) -> None:
        audit.record(session, actor, action, resource_type=self.resource_type, resource_id=note.id,
                     patient_id=note.patient_id, resource_version=note.version, **kwargs)

    def list_for_patient(self, session: Session, actor: Actor, patient_id: uuid.UUID, params: PageParams, *,
                         episode_id: uuid.UUID | None, include_discarded: bool, status: str | None = None,
                         detail: dict[str, Any] | None = None) -> tuple[list[NoteT], str | None]:
        """A page of the patient's notes, newest first; discarded drafts only when asked (or by status)."""
        model = self.model
        stmt = select(model).where(model.patient_id == patient_id)
        if episode_id:
            stmt = stmt.where(model.episode_id == episode_id)
        if status:
            stmt = stmt.where(model.status == status)
        elif not include_discarded:
            stmt = stmt.where(model.status != RecordStatus.DISCARDED)
        rows, cursor = paginate(session, stmt, [self.charted_at, model.id], params, descending=True)
        audit.record(session, actor, "search", resource_type=self.resource_type, patient_id=patient_id,
                     detail={"episode_id": str(episode_id) if episode_id else None, **(detail or {}),
                             "result_ids": [str(n.id) for n in rows]})
        return rows, cursor

    def recent(self, session: Session, patient_id: uuid.UUID, limit: int, episode_id: uuid.UUID | None = None
               ) -> Sequence[NoteT]:
        """The patient's latest notes that were not discarded (no audit: the caller's read covers them)."""
        model = self.model
        stmt = select(model).where(model.patient_id == patient_id, model.status != RecordStatus.DISCARDED)
        if episode_id:
            stmt = stmt.where(model.episode_id == episode_id)
        return session.scalars(stmt.order_by(self.charted_at.desc(), model.id.desc()).limit(limit)).all()

    def ensure_draft_editable(self, note: NoteT, actor: Actor, expected_version: int | None) -> None:
        clinical_record.ensure_draft_editable(note, actor, expected_version, self.label,
                                              record_type=self.record_type)

    def sign(self, session: Session, actor: Actor, note: NoteT, expected_version: int | None) -> NoteT:
        clinical_record.sign(session, note, actor, self.record_type, self.label, expected_version)
        return note

    def amend(self, session: Session, actor: Actor, note: NoteT, reason: str, content: BaseModel,
              expected_version: int | None) -> None:
        clinical_record.amend(session, note, actor, self.record_type, self.label, reason,
                              content.model_dump(mode="json"), expected_version)

    def discard(self, session: Session, actor: Actor, note: NoteT) -> None:
        clinical_record.discard(session, note, actor, self.record_type, self.label)

    def history(self, session: Session, actor: Actor, note_id: uuid.UUID) -> list[RevisionOut]:
        """Every signed revision with the fields it changed; reading it is audited as `read_history`."""
        note = self.read(session, actor, note_id, action="read_history")
        return [RevisionOut.model_validate(r).model_copy(update={"changed": changed})
                for r, changed in clinical_record.history_with_changes(session, self.record_type, note.id)]

    def revision(self, session: Session, actor: Actor, note_id: uuid.UUID, number: int) -> ClinicalRevision:
        """One earlier revision in full (404 when there is no such number); audited as `read_history`."""
        note = self.read(session, actor, note_id, action="read_history")
        return clinical_record.revision(session, self.record_type, note.id, number)
